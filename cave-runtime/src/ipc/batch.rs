//! One record batch, read a chunk of rows at a time: its header checked against the schema
//! (columns, lengths, null counts, buffers inside the body, what the buffers declare within
//! the answer's limit), then each chunk's columns read: here, or by [`Workers`] on all cores
//! when the batch is big enough to pay for them.

use arrow_array::ArrayRef;
use arrow_ipc::MetadataVersion;
use arrow_schema::{DataType, Schema};
use bytes::Bytes;

use super::buffers::{Codec, Decompression, Source, declared_length};
use super::columns::ColumnReader;
use super::error::Part;
use super::framing::within;
use super::schema::{buffer_count, row_bytes};
use super::workers::Workers;
use super::{CHUNK_BYTES, IpcError};

/// Decompress a batch's columns on worker threads ([`Workers`]) only when they are at least
/// this big (compressed bytes): below it, starting a thread costs
/// more than it saves.
pub(crate) const PARALLEL_MIN_BYTES: usize = 512 * 1024;

/// How a record batch is read: rows per chunk asked for, and how its buffers are
/// decompressed.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReadOptions {
    pub chunk_rows: usize,
    pub decompression: Decompression,
}

/// One record batch being read chunk by chunk.
pub(super) struct BatchReader {
    rows: usize,
    done: usize,
    /// Rows per chunk: as asked, fewer for wide rows ([`CHUNK_BYTES`]).
    chunk_rows: usize,
    /// The kept columns, in output order (until workers take them).
    columns: Vec<ColumnReader>,
    /// The columns' threads, for a batch worth decoding on several cores.
    workers: Option<Workers>,
    /// Decompressed bytes its compressed buffers declare.
    pub(super) declared: u64,
}

impl BatchReader {
    /// Check a record batch's header `fb` against the stream's `schema` and open the buffers
    /// of the columns `keep`, to be read as `options` say. `before` bytes were declared by the
    /// batches before it, and all may declare at most `max_declared`.
    pub(super) fn new(
        schema: &Schema,
        keep: &[usize],
        fb: arrow_ipc::RecordBatch<'_>,
        body: Bytes,
        version: MetadataVersion,
        options: ReadOptions,
        (before, max_declared): (u64, u64),
    ) -> Result<Self, IpcError> {
        let ReadOptions {
            chunk_rows,
            decompression,
        } = options;
        if version < MetadataVersion::V4 {
            return Err(format!("IPC metadata version {version:?} is too old").into());
        }
        let rows = usize::try_from(fb.length())
            .map_err(|_| format!("negative row count {}", fb.length()))?;
        let codec = Codec::of(fb.compression())?;
        let nodes: Vec<_> = fb
            .nodes()
            .map(|n| n.iter().copied().collect())
            .unwrap_or_default();
        let buffers: Vec<_> = fb
            .buffers()
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default();
        if nodes.len() != schema.fields().len() {
            return Err(format!(
                "{} field nodes for {} columns (nested columns are not supported)",
                nodes.len(),
                schema.fields().len()
            )
            .into());
        }
        let mut next_buffer = 0;
        let mut declared = 0u64;
        let mut row_width = 0usize;
        let mut columns = Vec::with_capacity(keep.len());
        for (i, (field, node)) in schema.fields().iter().zip(&nodes).enumerate() {
            let at = |what: String| IpcError::new(what).in_column(field.name());
            let count = buffer_count(field.data_type())
                .ok_or_else(|| at(format!("type {} is not supported", field.data_type())))?;
            let mine = buffers
                .get(next_buffer..next_buffer + count)
                .ok_or_else(|| at(format!("the batch lists only {} buffers", buffers.len())))?;
            next_buffer += count;
            if !keep.contains(&i) {
                continue;
            }
            let length = usize::try_from(node.length())
                .map_err(|_| at(format!("negative length {}", node.length())))?;
            if length != rows {
                return Err(at(format!("{length} values in a batch of {rows} rows")));
            }
            let null_count = usize::try_from(node.null_count())
                .ok()
                .filter(|&n| n <= rows)
                .ok_or_else(|| at(format!("null count {} out of range", node.null_count())))?;
            let mut sources = Vec::with_capacity(count);
            row_width += row_bytes(field.data_type());
            for (k, b) in mine.iter().enumerate() {
                let slice = within(body.len(), b.offset(), b.length())
                    .map(|r| body.slice(r))
                    .ok_or_else(|| {
                        at(format!(
                            "buffer {k} at {}+{} lies outside the {}-byte body",
                            b.offset(),
                            b.length(),
                            body.len()
                        ))
                    })?;
                declared = declared.saturating_add(declared_length(&slice, codec));
                let total = before.saturating_add(declared);
                if total > max_declared {
                    return Err(at(format!(
                        "the answer's buffers so far declare {total} bytes decompressed, more \
                         than the {} allowed (ClientBuilder::limits, Limits::max_decoded_bytes)",
                        crate::limits::size(max_declared)
                    )));
                }
                let source = Source::open(slice, codec, decompression)
                    .map_err(|e| e.in_buffer(Part::Numbered(k)).in_column(field.name()))?;
                sources.push(source);
            }
            columns.push(ColumnReader::new(field, null_count, sources));
        }
        if next_buffer != buffers.len() {
            return Err(format!(
                "the batch lists {} buffers, its columns use {next_buffer}",
                buffers.len()
            )
            .into());
        }
        // Chunks start at a multiple of 8 rows (validity bits start at a byte).
        let chunk_rows = (CHUNK_BYTES / row_width.max(1)).clamp(8, chunk_rows.max(8)) / 8 * 8;
        Ok(BatchReader {
            rows,
            done: 0,
            chunk_rows,
            columns,
            workers: None,
            declared,
        })
    }

    /// Whether workers decode its columns.
    pub(super) fn parallel(&self) -> bool {
        self.workers.is_some()
    }

    /// Rows not yet handed out (as the header says).
    pub(super) fn rows_left(&self) -> usize {
        self.rows - self.done
    }

    /// The next chunk's arrays and row count, or `None` when the batch is read.
    pub(super) fn next_chunk(
        &mut self,
        threads: usize,
    ) -> Result<Option<(Vec<ArrayRef>, usize)>, IpcError> {
        let chunk_rows = self.chunk_rows;
        if self.done >= self.rows {
            return Ok(None);
        }
        // Columns without data (type null, or none kept) cost nothing whatever the row count
        // says: one chunk for the whole batch, not 2^40 / chunk_rows empty ones.
        let no_data =
            self.workers.is_none() && self.columns.iter().all(|c| c.data_type == DataType::Null);
        let n = if no_data {
            self.rows - self.done
        } else {
            chunk_rows.min(self.rows - self.done)
        };
        let first = self.done == 0;
        self.done += n;
        if first && self.workers.is_none() && threads > 1 && self.columns.len() > 1 {
            let work: usize = self.columns.iter().map(|c| c.compressed).sum();
            if work >= PARALLEL_MIN_BYTES {
                let columns = std::mem::take(&mut self.columns);
                let threads = threads.min(columns.len());
                self.workers = Some(Workers::start(columns, self.rows, chunk_rows, threads));
            }
        }
        if let Some(workers) = &mut self.workers {
            return workers.next_chunk().map(|arrays| Some((arrays, n)));
        }
        let arrays = self
            .columns
            .iter_mut()
            .map(|c| c.read(n))
            .collect::<Result<_, _>>()?;
        Ok(Some((arrays, n)))
    }
}
