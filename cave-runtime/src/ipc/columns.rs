//! A column of a record batch, read a chunk at a time: its next rows as an Arrow array, in
//! pooled memory; strings and binary with their offsets rebased and checked.

use arrow_array::{ArrayRef, make_array};
use arrow_buffer::Buffer;
use arrow_data::ArrayData;
use arrow_schema::{DataType, Field};

use super::IpcError;
use super::buffers::Source;
use super::buffers::buffer_pool::BufferPool;
use super::error::Part;

/// One column of a batch: its buffers' sources and where reading stands.
pub(super) struct ColumnReader {
    name: String,
    pub(super) data_type: DataType,
    null_count: usize,
    validity: Source,
    /// Values (fixed width), bits (boolean) or, for strings, the offsets.
    values: Source,
    /// String bytes.
    data: Source,
    /// Strings: the offset where the next chunk starts (the last one read), and the string
    /// bytes consumed so far.
    next_offset: Option<i64>,
    data_read: i64,
    /// Compressed bytes of its buffers (the share of work it brings).
    pub(super) compressed: usize,
}

impl ColumnReader {
    /// A column of `field`'s type over its buffers' `sources`, in the order the batch lists
    /// them (validity, then values or offsets, then string bytes).
    pub(super) fn new(field: &Field, null_count: usize, sources: Vec<Source>) -> Self {
        let mut sources = sources.into_iter();
        let mut next = || sources.next().unwrap_or(Source::Empty);
        let (validity, values, data) = (next(), next(), next());
        let compressed = validity.weight() + values.weight() + data.weight();
        ColumnReader {
            name: field.name().clone(),
            data_type: field.data_type().clone(),
            null_count,
            validity,
            values,
            data,
            next_offset: None,
            data_read: 0,
            compressed,
        }
    }

    fn error(&self, problem: impl std::fmt::Display) -> IpcError {
        IpcError::new(problem.to_string()).in_column(&self.name)
    }

    /// The next `n` values, as an array.
    pub(super) fn read(&mut self, n: usize) -> Result<ArrayRef, IpcError> {
        if self.data_type == DataType::Null {
            return Ok(arrow_array::new_null_array(&DataType::Null, n));
        }
        // Chunks start at a multiple of 8 rows, so validity and boolean bits start at a byte.
        let bits = n.div_ceil(8);
        let nulls = if self.null_count > 0 {
            Some(self.take(Part::Validity, bits)?)
        } else {
            None
        };
        let buffers = match &self.data_type {
            DataType::Boolean => vec![self.take(Part::Values, bits)?],
            DataType::Utf8 | DataType::Binary => self.strings::<4>(n)?,
            DataType::LargeUtf8 | DataType::LargeBinary => self.strings::<8>(n)?,
            t => {
                let width = t.primitive_width().ok_or_else(|| self.error("no width"))?;
                vec![self.take(Part::Values, n * width)?]
            }
        };
        let data = ArrayData::try_new(self.data_type.clone(), n, nulls, 0, buffers, vec![])
            .map_err(|e| self.error(e))?;
        Ok(make_array(data))
    }

    /// The source of the validity bits or the values (the others are read by
    /// [`ColumnReader::strings`]).
    fn source(&mut self, part: Part) -> &mut Source {
        match part {
            Part::Validity => &mut self.validity,
            _ => &mut self.values,
        }
    }

    /// The next `len` bytes of one buffer: a slice of it when it was decompressed whole, else
    /// in pooled memory.
    fn take(&mut self, part: Part, len: usize) -> Result<Buffer, IpcError> {
        let source = self.source(part);
        source
            .next_slice(len)
            .unwrap_or_else(|| BufferPool::shared().buffer(len, |out| source.fill(out)))
            .map_err(|e| e.in_buffer(part).in_column(&self.name))
    }

    /// The offsets (rebased to start at 0) and bytes of the next `n` strings; `W` is the
    /// offset width (4: utf8, 8: large_utf8).
    fn strings<const W: usize>(&mut self, n: usize) -> Result<Vec<Buffer>, IpcError> {
        let pool = BufferPool::shared();
        // The n + 1 offsets: the last one of the previous chunk, then n read now (all n + 1
        // for the first chunk); rebased in place.
        let mut first = 0;
        let mut last = 0;
        let mut backwards = None;
        let (values, next_offset, data_read) = (&mut self.values, self.next_offset, self.data_read);
        let offsets = pool
            .buffer((n + 1) * W, |out| {
                let read_from = match next_offset {
                    Some(o) => {
                        out[..W].copy_from_slice(&o.to_le_bytes()[..W]);
                        W
                    }
                    None => 0,
                };
                values
                    .fill(&mut out[read_from..])
                    .map_err(|e| e.in_buffer(Part::Offsets))?;
                let read = |c: &[u8]| match W {
                    4 => i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                    _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
                };
                first = read(&out[..W]);
                let mut previous = first;
                for c in out.chunks_exact_mut(W) {
                    let o = read(c);
                    if o < previous && backwards.is_none() {
                        backwards = Some((previous, o));
                    }
                    previous = o;
                    c.copy_from_slice(&(o - first).to_le_bytes()[..W]);
                }
                last = previous;
                Ok::<_, IpcError>(())
            })
            .map_err(|e| e.in_column(&self.name))?;
        if first < data_read {
            return Err(self.error(format!(
                "string offsets go backwards ({first} after {data_read} bytes)"
            )));
        }
        if let Some((a, b)) = backwards {
            return Err(self.error(format!("string offsets go backwards ({a} then {b})")));
        }
        let skip = usize::try_from(first - self.data_read).map_err(|e| self.error(e))?;
        let data_error = |e: IpcError| e.in_buffer(Part::StringBytes).in_column(&self.name);
        self.data.skip(skip).map_err(data_error)?;
        let len = usize::try_from(last - first).map_err(|e| self.error(e))?;
        let bytes = if let Some(slice) = self.data.next_slice(len) {
            slice.map_err(data_error)?
        } else if len <= STRING_PIECE {
            pool.buffer(len, |out| self.data.fill(out))
                .map_err(data_error)?
        } else {
            // The length comes from the (unchecked) offsets: read in pieces, so that what is
            // allocated is what the buffer really holds.
            let mut bytes = Vec::new();
            let mut left = len;
            while left > 0 {
                let k = left.min(STRING_PIECE);
                let at = bytes.len();
                bytes.resize(at + k, 0);
                self.data.fill(&mut bytes[at..]).map_err(data_error)?;
                left -= k;
            }
            Buffer::from_vec(bytes)
        };
        self.data_read = last;
        self.next_offset = Some(last);
        Ok(vec![offsets, bytes])
    }
}

/// String bytes above this are read piece by piece (see [`ColumnReader::strings`]).
const STRING_PIECE: usize = 1 << 20;
