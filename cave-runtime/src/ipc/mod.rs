//! Reading a query answer's Arrow IPC stream in chunks of rows, decompressing as it goes.
//!
//! arrow-ipc's `StreamReader` decompresses every buffer of a record batch whole, one after the
//! other, and trusts the uncompressed length each buffer declares when it allocates. This
//! reader instead streams each column's buffers (ZSTD, LZ4_FRAME or uncompressed) and hands
//! out record batches of at most `chunk_rows` rows, so that:
//! - memory above the body is one chunk of columns, whatever the answer's size (a typed query
//!   keeps only its rows, never the whole decompressed batch next to them);
//! - a chunk's columns are decompressed on several threads at once;
//! - a declared length is never allocated up front: a corrupt or hostile body costs at most
//!   what it really decompresses to, and ends in an error naming the batch and column.
//!
//! It reads the column types CAVE tables travel as (integers, floats, booleans, timestamps,
//! dates, strings, binary, nulls) in a flat schema, and refuses others with an error naming
//! the column. What an answer may cost is bounded ([`DecodeLimits`]): its columns, and the
//! bytes its buffers declare once decompressed, so that a small body cannot expand into
//! gigabytes; a chunk holds about [`CHUNK_BYTES`] whatever the width of a row. A stream must
//! end with its end-of-stream marker: one cut exactly between two record batches is an error,
//! not fewer rows.

use std::io::Read;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions, make_array};
use arrow_buffer::Buffer;
use arrow_data::ArrayData;
use arrow_ipc::{CompressionType, MessageHeader, MetadataVersion};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::{Buf, Bytes};

use buffers::buffer_pool::BufferPool;
use buffers::zstd_frame::{ZstdStream, decompress_small};

mod buffers {
    pub(super) mod buffer_pool;
    pub(super) mod zstd_frame;
}

/// Rows per chunk by default: a chunk of synapse columns (about 100 bytes a row) stays in the
/// CPU caches while rows are built from it.
pub const DEFAULT_CHUNK_ROWS: usize = 32_768;

/// Decode chunks ahead on a thread of their own ([`Chunks::prefetch`]) only for bodies at
/// least this big.
pub const PREFETCH_MIN_BYTES: usize = 1 << 20;

/// About how many bytes of columns a chunk holds: a chunk has fewer rows than asked when its
/// rows are wide (thousands of columns), so that its memory stays about this.
pub const CHUNK_BYTES: usize = 32 << 20;

/// What an answer may cost to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The most columns (pandas index columns included).
    pub max_columns: usize,
    /// The most bytes all its compressed buffers may declare, decompressed.
    pub max_decoded_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self::from(&crate::limits::Limits::default())
    }
}

impl From<&crate::limits::Limits> for DecodeLimits {
    fn from(l: &crate::limits::Limits) -> Self {
        DecodeLimits {
            max_columns: l.max_columns,
            max_decoded_bytes: l.max_decoded_bytes,
        }
    }
}

/// Decompress a chunk's columns on other threads only when it is at least this big
/// (compressed bytes): below it, starting a thread costs more than it saves.
const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// The record batches of an Arrow IPC stream, cut in chunks of at most `chunk_rows` rows, with
/// the columns named by the pandas metadata's `index_columns` left out.
pub struct Chunks {
    bytes: Bytes,
    pos: usize,
    stream_schema: SchemaRef,
    /// The fields handed out (index columns left out), as indexes into the stream's schema.
    keep: Vec<usize>,
    schema: SchemaRef,
    chunk_rows: usize,
    threads: usize,
    batch_no: usize,
    current: Option<BatchReader>,
    done: bool,
    limits: DecodeLimits,
    /// Decompressed bytes the buffers read so far declare.
    declared: u64,
}

impl Chunks {
    /// Start reading `bytes` with the default [`DecodeLimits`]: its first message must be the
    /// schema.
    pub fn new(bytes: Bytes, chunk_rows: usize) -> Result<Self, String> {
        Self::with_limits(bytes, chunk_rows, DecodeLimits::default())
    }

    /// Start reading `bytes` within `limits`: its first message must be the schema, of at
    /// most `limits.max_columns` columns of supported types with distinct names.
    pub fn with_limits(
        bytes: Bytes,
        chunk_rows: usize,
        limits: DecodeLimits,
    ) -> Result<Self, String> {
        let mut pos = 0;
        let Next::Message(message, _) = next_message(&bytes, &mut pos)? else {
            return Err("the Arrow stream is empty (no schema message)".to_string());
        };
        let fb = message.header_as_schema().ok_or_else(|| {
            format!(
                "the first message is a {:?}, not the schema",
                message.header_type()
            )
        })?;
        let fields = fb.fields().map_or(0, |f| f.len());
        if fields > limits.max_columns {
            return Err(format!(
                "the answer has {fields} columns, more than the {} allowed \
                 (ClientBuilder::limits, Limits::max_columns)",
                limits.max_columns
            ));
        }
        let schema = arrow_ipc::convert::try_fb_to_schema(fb)
            .map_err(|e| format!("the schema message is not valid Arrow: {e}"))?;
        check_schema(&schema)?;
        let index = crate::response::index_columns(&schema);
        let keep: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| !index.contains(schema.field(i).name()))
            .collect();
        let out_schema = Arc::new(
            schema
                .project(&keep)
                .map_err(|e| format!("cannot drop the index columns: {e}"))?,
        );
        Ok(Chunks {
            bytes,
            pos,
            stream_schema: Arc::new(schema),
            keep,
            schema: out_schema,
            chunk_rows: chunk_rows.clamp(8, 1 << 24) / 8 * 8,
            threads: cores().min(8),
            batch_no: 0,
            current: None,
            done: false,
            limits,
            declared: 0,
        })
    }

    /// Use at most `threads` threads per chunk (1: decompress on the calling thread only).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The schema of the chunks (index columns left out).
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows of the current record batch not yet handed out (as its header says: a hint for
    /// reserving room, not checked against the data yet).
    pub fn rows_left(&self) -> usize {
        self.current.as_ref().map_or(0, |r| r.rows - r.done)
    }

    /// The stream's schema as sent (index columns included).
    pub fn stream_schema(&self) -> &SchemaRef {
        &self.stream_schema
    }

    fn next_chunk(&mut self) -> Result<Option<RecordBatch>, String> {
        loop {
            if let Some(reader) = &mut self.current {
                if let Some(arrays) = reader.next_chunk(self.threads)? {
                    let rows = arrays.1;
                    return RecordBatch::try_new_with_options(
                        self.schema.clone(),
                        arrays.0,
                        &RecordBatchOptions::new().with_row_count(Some(rows)),
                    )
                    .map(Some)
                    .map_err(|e| format!("record batch {}: {e}", self.batch_no));
                }
                self.current = None;
                self.batch_no += 1;
            }
            let (message, body) = match next_message(&self.bytes, &mut self.pos)? {
                Next::Message(m, b) => (m, b),
                Next::End if self.pos < self.bytes.len() => {
                    return Err(format!(
                        "{} bytes follow the end-of-stream marker",
                        self.bytes.len() - self.pos
                    ));
                }
                Next::End => return Ok(None),
                Next::Eof => {
                    let after = match self.batch_no {
                        0 => "its schema".to_string(),
                        n => format!("record batch {}", n - 1),
                    };
                    return Err(format!(
                        "the Arrow stream ends after {after} without its end-of-stream marker: \
                         the answer was cut short"
                    ));
                }
            };
            match message.header_type() {
                MessageHeader::RecordBatch => {
                    let fb = message
                        .header_as_record_batch()
                        .ok_or_else(|| format!("record batch {}: no header", self.batch_no))?;
                    let reader = BatchReader::new(
                        &self.stream_schema,
                        &self.keep,
                        fb,
                        self.bytes.slice_ref(body),
                        message.version(),
                        self.chunk_rows,
                        (self.declared, self.limits.max_decoded_bytes),
                    )
                    .map_err(|e| format!("record batch {}: {e}", self.batch_no))?;
                    self.declared = self.declared.saturating_add(reader.declared);
                    self.current = Some(reader);
                }
                MessageHeader::DictionaryBatch => {
                    return Err("dictionary batches are not supported".to_string());
                }
                other => {
                    return Err(format!(
                        "unexpected {other:?} message after record batch {}",
                        self.batch_no
                    ));
                }
            }
        }
    }
}

impl Chunks {
    /// Decode the chunks on a thread of their own, at most `depth` chunks ahead of the
    /// consumer, so that decompressing the next chunk overlaps with using this one. The
    /// thread stops when the chunks are read, at the first error, or when the consumer
    /// drops the [`Prefetched`].
    pub fn prefetch(mut self, depth: usize) -> Prefetched {
        let schema = self.schema.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(depth.max(1));
        let spawned = std::thread::Builder::new()
            .name("cave-ipc-decode".into())
            .spawn(move || {
                while let Some(item) = self.next() {
                    let rows_left = self.rows_left();
                    if tx.send((item, rows_left)).is_err() {
                        break;
                    }
                }
            });
        match spawned {
            Ok(_) => Prefetched {
                schema,
                rx: Some(rx),
                rows_left: 0,
            },
            // No thread to be had: say so as the first item.
            Err(e) => {
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                let _ = tx.send((Err(format!("cannot start a decoding thread: {e}")), 0));
                Prefetched {
                    schema,
                    rx: Some(rx),
                    rows_left: 0,
                }
            }
        }
    }
}

/// Chunks decoded ahead on a thread of their own; from [`Chunks::prefetch`].
pub struct Prefetched {
    schema: SchemaRef,
    rx: Option<std::sync::mpsc::Receiver<(Result<RecordBatch, String>, usize)>>,
    rows_left: usize,
}

impl Prefetched {
    /// The schema of the chunks (index columns left out).
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows of the current record batch after the last chunk handed out (a hint).
    pub fn rows_left(&self) -> usize {
        self.rows_left
    }
}

impl Iterator for Prefetched {
    type Item = Result<RecordBatch, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let (item, rows_left) = self.rx.as_ref()?.recv().ok()?;
        self.rows_left = rows_left;
        if item.is_err() {
            self.rx = None;
        }
        Some(item)
    }
}

impl Iterator for Chunks {
    type Item = Result<RecordBatch, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_chunk().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

/// The cores this process may use, asked once (the answer reads cgroup files: tens of
/// microseconds a call, too much for every page of small queries).
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn supported(data_type: &DataType) -> bool {
    use DataType::*;
    matches!(
        data_type,
        Null | Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float16
            | Float32
            | Float64
            | Timestamp(_, _)
            | Date32
            | Date64
            | Utf8
            | LargeUtf8
            | Binary
            | LargeBinary
    )
}

/// The schema checks of [`Chunks::with_limits`]: supported types, distinct names (with two
/// columns of one name, which one a row's value comes from is a guess).
fn check_schema(schema: &Schema) -> Result<(), String> {
    let mut seen = std::collections::HashMap::new();
    for (i, f) in schema.fields().iter().enumerate() {
        if let Some(first) = seen.insert(f.name().as_str(), i) {
            return Err(format!(
                "the answer has the column `{}` twice (columns {first} and {i}): which one holds \
                 the values is unknown",
                f.name()
            ));
        }
        if !supported(f.data_type()) {
            return Err(format!(
                "column `{}`: type {} is not one CAVE tables use, and is not read",
                f.name(),
                f.data_type()
            ));
        }
    }
    Ok(())
}

/// What the stream holds at a position.
pub(crate) enum Next<'a> {
    /// A message: its flatbuffer header and its body.
    Message(arrow_ipc::Message<'a>, &'a [u8]),
    /// The end-of-stream marker.
    End,
    /// The end of the bytes, without the marker.
    Eof,
}

/// The next message of the stream at `*pos`, the end-of-stream marker, or the end of the bytes.
pub(crate) fn next_message<'a>(bytes: &'a [u8], pos: &mut usize) -> Result<Next<'a>, String> {
    let at = *pos;
    let rest = &bytes[at.min(bytes.len())..];
    if rest.is_empty() {
        return Ok(Next::Eof);
    }
    let word = |i: usize| -> Result<i32, String> {
        rest.get(i..i + 4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| {
                format!(
                    "the Arrow stream ends inside a message length at byte {}",
                    at + i
                )
            })
    };
    // A message starts with the continuation marker 0xFFFFFFFF (format 0.15+) or, in the
    // older format, directly with its length.
    let (len, start) = match word(0)? {
        -1 => (word(4)?, 8),
        len => (len, 4),
    };
    if len == 0 {
        *pos = at + start;
        return Ok(Next::End);
    }
    let len = usize::try_from(len)
        .map_err(|_| format!("message at byte {at}: negative metadata length {len}"))?;
    let meta = rest.get(start..start + len).ok_or_else(|| {
        format!("message at byte {at}: the stream ends inside its {len}-byte header")
    })?;
    let message = arrow_ipc::root_as_message(meta)
        .map_err(|e| format!("message at byte {at}: not an Arrow IPC message: {e}"))?;
    let body_len = usize::try_from(message.bodyLength()).map_err(|_| {
        format!(
            "message at byte {at}: negative body length {}",
            message.bodyLength()
        )
    })?;
    let body = rest
        .get(start + len..)
        .and_then(|b| b.get(..body_len))
        .ok_or_else(|| {
            format!(
                "message at byte {at}: its body is {body_len} bytes, but only {} remain: the stream was cut short",
                rest.len().saturating_sub(start + len)
            )
        })?;
    *pos = at + start + len + body_len;
    Ok(Next::Message(message, body))
}

/// One record batch being read chunk by chunk.
struct BatchReader {
    rows: usize,
    done: usize,
    /// Rows per chunk: as asked, fewer for wide rows ([`CHUNK_BYTES`]).
    chunk_rows: usize,
    /// The kept columns, in output order.
    columns: Vec<ColumnReader>,
    /// Decompressed bytes its compressed buffers declare.
    declared: u64,
}

impl BatchReader {
    fn new(
        schema: &Schema,
        keep: &[usize],
        fb: arrow_ipc::RecordBatch<'_>,
        body: Bytes,
        version: MetadataVersion,
        chunk_rows: usize,
        (before, max_declared): (u64, u64),
    ) -> Result<Self, String> {
        if version < MetadataVersion::V4 {
            return Err(format!("IPC metadata version {version:?} is too old"));
        }
        let rows = usize::try_from(fb.length())
            .map_err(|_| format!("negative row count {}", fb.length()))?;
        let codec = match fb.compression() {
            None => None,
            Some(c) => match c.codec() {
                CompressionType::ZSTD => Some(Codec::Zstd),
                CompressionType::LZ4_FRAME => Some(Codec::Lz4),
                other => return Err(format!("unknown buffer compression {other:?}")),
            },
        };
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
            ));
        }
        let mut next_buffer = 0;
        let mut declared = 0u64;
        let mut row_width = 0usize;
        let mut columns = Vec::with_capacity(keep.len());
        for (i, (field, node)) in schema.fields().iter().zip(&nodes).enumerate() {
            let count = buffer_count(field.data_type()).ok_or_else(|| {
                format!(
                    "column `{}`: type {} is not supported",
                    field.name(),
                    field.data_type()
                )
            })?;
            let mine = buffers
                .get(next_buffer..next_buffer + count)
                .ok_or_else(|| {
                    format!(
                        "column `{}`: the batch lists only {} buffers",
                        field.name(),
                        buffers.len()
                    )
                })?;
            next_buffer += count;
            if !keep.contains(&i) {
                continue;
            }
            let at = |what: &str| format!("column `{}`: {what}", field.name());
            let length = usize::try_from(node.length())
                .map_err(|_| at(&format!("negative length {}", node.length())))?;
            if length != rows {
                return Err(at(&format!("{length} values in a batch of {rows} rows")));
            }
            let null_count = usize::try_from(node.null_count())
                .ok()
                .filter(|&n| n <= rows)
                .ok_or_else(|| at(&format!("null count {} out of range", node.null_count())))?;
            let mut sources = Vec::with_capacity(count);
            row_width += row_bytes(field.data_type());
            for (k, b) in mine.iter().enumerate() {
                let slice = usize::try_from(b.offset())
                    .ok()
                    .zip(usize::try_from(b.length()).ok())
                    .filter(|(o, l)| o.checked_add(*l).is_some_and(|end| end <= body.len()))
                    .map(|(o, l)| body.slice(o..o + l))
                    .ok_or_else(|| {
                        at(&format!(
                            "buffer {k} at {}+{} lies outside the {}-byte body",
                            b.offset(),
                            b.length(),
                            body.len()
                        ))
                    })?;
                declared = declared.saturating_add(declared_length(&slice, codec));
                let total = before.saturating_add(declared);
                if total > max_declared {
                    return Err(at(&format!(
                        "the answer's buffers so far declare {total} bytes decompressed, more \
                         than the {} allowed (ClientBuilder::limits, Limits::max_decoded_bytes)",
                        crate::limits::size(max_declared)
                    )));
                }
                sources
                    .push(Source::open(slice, codec).map_err(|e| at(&format!("buffer {k}: {e}")))?);
            }
            columns.push(ColumnReader::new(field, null_count, sources));
        }
        if next_buffer != buffers.len() {
            return Err(format!(
                "the batch lists {} buffers, its columns use {next_buffer}",
                buffers.len()
            ));
        }
        // Chunks start at a multiple of 8 rows (validity bits start at a byte).
        let chunk_rows = (CHUNK_BYTES / row_width.max(1)).clamp(8, chunk_rows.max(8)) / 8 * 8;
        Ok(BatchReader {
            rows,
            done: 0,
            chunk_rows,
            columns,
            declared,
        })
    }

    /// The next chunk's arrays and row count, or `None` when the batch is read.
    fn next_chunk(&mut self, threads: usize) -> Result<Option<(Vec<ArrayRef>, usize)>, String> {
        let chunk_rows = self.chunk_rows;
        if self.done >= self.rows {
            return Ok(None);
        }
        // Columns without data (type null, or none kept) cost nothing whatever the row count
        // says: one chunk for the whole batch, not 2^40 / chunk_rows empty ones.
        let n = if self.columns.iter().all(|c| c.data_type == DataType::Null) {
            self.rows - self.done
        } else {
            chunk_rows.min(self.rows - self.done)
        };
        self.done += n;
        let work: usize = self.columns.iter().map(|c| c.compressed).sum();
        let per_chunk = work / self.rows.div_ceil(chunk_rows);
        let threads = if per_chunk >= PARALLEL_MIN_BYTES {
            threads.min(self.columns.len()).max(1)
        } else {
            1
        };
        if threads == 1 {
            let arrays = self
                .columns
                .iter_mut()
                .map(|c| c.read(n))
                .collect::<Result<_, _>>()?;
            return Ok(Some((arrays, n)));
        }
        // Contiguous groups of columns with about the same compressed bytes, one per thread.
        let per_thread = work.div_ceil(threads);
        let mut groups: Vec<&mut [ColumnReader]> = Vec::with_capacity(threads);
        let mut rest: &mut [ColumnReader] = &mut self.columns;
        while !rest.is_empty() {
            let mut take = 0;
            let mut bytes = 0;
            while take < rest.len()
                && (take == 0 || bytes + rest[take].compressed / 2 <= per_thread)
            {
                bytes += rest[take].compressed;
                take += 1;
            }
            if groups.len() + 1 == threads {
                take = rest.len();
            }
            let (group, tail) = rest.split_at_mut(take);
            groups.push(group);
            rest = tail;
        }
        let results: Vec<Result<Vec<ArrayRef>, String>> = std::thread::scope(|scope| {
            let mut groups = groups.into_iter();
            let first = groups.next().unwrap_or_default();
            let handles: Vec<_> = groups
                .map(|g| scope.spawn(move || g.iter_mut().map(|c| c.read(n)).collect()))
                .collect();
            let mut out = vec![first.iter_mut().map(|c| c.read(n)).collect()];
            out.extend(handles.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a decompression thread panicked".to_string()))
            }));
            out
        });
        let mut arrays = Vec::with_capacity(self.columns.len());
        for r in results {
            arrays.extend(r?);
        }
        Ok(Some((arrays, n)))
    }
}

/// How many buffers a column of this type has in an IPC record batch, if supported.
fn buffer_count(data_type: &DataType) -> Option<usize> {
    match data_type {
        DataType::Null => Some(0),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary => Some(3),
        t if supported(t) => Some(2),
        _ => None,
    }
}

/// The bytes a row of this type takes in a chunk, variable-length values left out (they are
/// bounded by what the buffers declare).
fn row_bytes(data_type: &DataType) -> usize {
    match data_type {
        DataType::Null => 0,
        DataType::Boolean => 1,
        DataType::Utf8 | DataType::Binary => 4,
        DataType::LargeUtf8 | DataType::LargeBinary => 8,
        t => t.primitive_width().unwrap_or(8),
    }
}

/// The decompressed length a buffer declares (its length prefix; a stored or uncompressed
/// buffer takes what it is).
fn declared_length(slice: &[u8], codec: Option<Codec>) -> u64 {
    match (codec, slice.first_chunk::<8>()) {
        (Some(_), Some(prefix)) => match i64::from_le_bytes(*prefix) {
            -1 => slice.len() as u64 - 8,
            n => u64::try_from(n).unwrap_or(0),
        },
        _ => slice.len() as u64,
    }
}

#[derive(Debug, Clone, Copy)]
enum Codec {
    Zstd,
    Lz4,
}

/// Buffers declaring at most this many bytes are decompressed whole, at once.
const SMALL_BUFFER: usize = 256 * 1024;

/// The bytes of one buffer, decompressed as they are read.
enum Source {
    /// No buffer (length 0).
    Empty,
    /// Uncompressed bytes still to read.
    Raw(Bytes),
    /// A ZSTD frame; `left` is the uncompressed length still declared.
    Zstd { frame: ZstdStream, left: usize },
    /// An LZ4 frame.
    Lz4 {
        decoder: Box<lz4_flex::frame::FrameDecoder<bytes::buf::Reader<Bytes>>>,
        left: usize,
    },
}

impl Source {
    /// A buffer as it lies in the body: with compression, an 8-byte little-endian
    /// uncompressed length (-1: stored uncompressed) then the frame.
    fn open(slice: Bytes, codec: Option<Codec>) -> Result<Self, String> {
        let Some(codec) = codec else {
            return Ok(if slice.is_empty() {
                Source::Empty
            } else {
                Source::Raw(slice)
            });
        };
        if slice.is_empty() {
            return Ok(Source::Empty);
        }
        let prefix = slice.first_chunk::<8>().ok_or_else(|| {
            format!(
                "{} bytes, shorter than the 8-byte length prefix",
                slice.len()
            )
        })?;
        let declared = i64::from_le_bytes(*prefix);
        let frame = slice.slice(8..);
        if declared == -1 {
            return Ok(Source::Raw(frame));
        }
        let left = usize::try_from(declared)
            .map_err(|_| format!("uncompressed length {declared} is negative"))?;
        if left == 0 {
            return Ok(Source::Empty);
        }
        Ok(match codec {
            // Small buffers whole, with this thread's decompression context: a streaming
            // decoder costs a context and its buffers each (most of a small query's time).
            Codec::Zstd if left <= SMALL_BUFFER => Source::Raw(decompress_small(&frame, left)?),
            Codec::Zstd => Source::Zstd {
                frame: ZstdStream::new(frame)?,
                left,
            },
            Codec::Lz4 => Source::Lz4 {
                decoder: Box::new(lz4_flex::frame::FrameDecoder::new(frame.reader())),
                left,
            },
        })
    }

    /// Compressed bytes (the share of work it brings).
    fn weight(&self) -> usize {
        match self {
            Source::Empty => 0,
            Source::Raw(b) => b.len() / 8,
            Source::Zstd { frame, .. } => frame.compressed_len(),
            Source::Lz4 { decoder, .. } => decoder.get_ref().get_ref().len(),
        }
    }

    /// Fill `out` with the next bytes.
    fn fill(&mut self, out: &mut [u8]) -> Result<(), String> {
        let short = |have: usize| {
            format!(
                "the buffer ends after {have} more bytes where {} were needed",
                out.len()
            )
        };
        match self {
            Source::Empty => {
                if out.is_empty() {
                    Ok(())
                } else {
                    Err(short(0))
                }
            }
            Source::Raw(rest) => {
                let head = rest.get(..out.len()).ok_or_else(|| short(rest.len()))?;
                out.copy_from_slice(head);
                rest.advance(out.len());
                Ok(())
            }
            Source::Zstd { frame, left } => within_declared(left, out, |out| frame.fill(out)),
            Source::Lz4 { decoder, left } => within_declared(left, out, |out| {
                decoder.read_exact(out).map_err(|e| match e.kind() {
                    std::io::ErrorKind::UnexpectedEof => format!(
                        "the lz4 frame ends before its declared length ({} bytes still needed)",
                        out.len()
                    ),
                    _ => format!("lz4: {e}"),
                })
            }),
        }
    }

    /// Read and drop `n` bytes.
    fn skip(&mut self, mut n: usize) -> Result<(), String> {
        let mut scratch = [0u8; 4096];
        while n > 0 {
            let k = n.min(scratch.len());
            self.fill(&mut scratch[..k])?;
            n -= k;
        }
        Ok(())
    }
}

/// Fill `out` by `read` from a buffer that declares `left` more bytes: asking for more than
/// it declares is an error.
fn within_declared(
    left: &mut usize,
    out: &mut [u8],
    read: impl FnOnce(&mut [u8]) -> Result<(), String>,
) -> Result<(), String> {
    if out.len() > *left {
        return Err(format!(
            "{} bytes needed, but the buffer declares only {left} more",
            out.len()
        ));
    }
    read(out)?;
    *left -= out.len();
    Ok(())
}

/// One column of a batch: its buffers' sources and where reading stands.
struct ColumnReader {
    name: String,
    data_type: DataType,
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
    compressed: usize,
}

impl ColumnReader {
    fn new(field: &Field, null_count: usize, sources: Vec<Source>) -> Self {
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

    fn error(&self, problem: impl std::fmt::Display) -> String {
        format!("column `{}`: {problem}", self.name)
    }

    /// The next `n` values, as an array.
    fn read(&mut self, n: usize) -> Result<ArrayRef, String> {
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

    fn source(&mut self, part: Part) -> &mut Source {
        match part {
            Part::Validity => &mut self.validity,
            Part::Values => &mut self.values,
        }
    }

    /// The next `len` bytes of one buffer, in pooled memory.
    fn take(&mut self, part: Part, len: usize) -> Result<Buffer, String> {
        let source = self.source(part);
        BufferPool::shared()
            .buffer(len, |out| source.fill(out))
            .map_err(|e| format!("column `{}`, {}: {e}", self.name, part.name()))
    }

    /// The offsets (rebased to start at 0) and bytes of the next `n` strings; `W` is the
    /// offset width (4: utf8, 8: large_utf8).
    fn strings<const W: usize>(&mut self, n: usize) -> Result<Vec<Buffer>, String> {
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
                    .map_err(|e| format!("offsets: {e}"))?;
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
                Ok::<_, String>(())
            })
            .map_err(|e| self.error(e))?;
        if first < data_read {
            return Err(self.error(format!(
                "string offsets go backwards ({first} after {data_read} bytes)"
            )));
        }
        if let Some((a, b)) = backwards {
            return Err(self.error(format!("string offsets go backwards ({a} then {b})")));
        }
        let skip = usize::try_from(first - self.data_read).map_err(|e| self.error(e))?;
        self.data
            .skip(skip)
            .map_err(|e| format!("column `{}`, string bytes: {e}", self.name))?;
        let len = usize::try_from(last - first).map_err(|e| self.error(e))?;
        let data_error = |e| format!("column `{}`, string bytes: {e}", self.name);
        let bytes = if len <= STRING_PIECE {
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

#[derive(Clone, Copy)]
enum Part {
    Validity,
    Values,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Validity => "validity",
            Part::Values => "values",
        }
    }
}

/// Benchmark baseline: decompress every buffer of every record batch of `bytes`, serially, in
/// one call each (the time zstd or lz4 alone needs), and return the bytes produced. Trusts the
/// declared lengths up to 1 GiB per buffer. Returns the rows of the batches and the bytes.
#[doc(hidden)]
pub fn decompress_only(bytes: &[u8]) -> Result<(usize, usize), String> {
    let mut pos = 0;
    let mut total = 0;
    let mut rows = 0;
    let mut scratch: Vec<u8> = Vec::new();
    let mut zstd = zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?;
    while let Next::Message(message, body) = next_message(bytes, &mut pos)? {
        let Some(fb) = message.header_as_record_batch() else {
            continue;
        };
        rows += usize::try_from(fb.length()).unwrap_or(0);
        let codec = fb.compression().map(|c| c.codec());
        for b in fb.buffers().iter().flat_map(|b| b.iter()) {
            let slice = body
                .get(b.offset() as usize..(b.offset() + b.length()) as usize)
                .ok_or("a buffer outside the body")?;
            let Some(codec) = codec else {
                total += slice.len();
                continue;
            };
            let Some((prefix, frame)) = slice.split_first_chunk::<8>() else {
                continue;
            };
            let declared = i64::from_le_bytes(*prefix);
            if declared <= 0 {
                total += frame.len();
                continue;
            }
            let declared = usize::try_from(declared)
                .ok()
                .filter(|&d| d <= 1 << 30)
                .ok_or("a declared length over 1 GiB")?;
            scratch.clear();
            scratch.reserve(declared);
            total += match codec {
                CompressionType::ZSTD => zstd
                    .decompress_to_buffer(frame, &mut scratch)
                    .map_err(|e| e.to_string())?,
                _ => {
                    let mut d = lz4_flex::frame::FrameDecoder::new(frame);
                    d.read_to_end(&mut scratch).map_err(|e| e.to_string())?
                }
            };
        }
    }
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{
        Array, BinaryArray, BooleanArray, Date32Array, Float32Array, Int32Array, Int64Array,
        LargeBinaryArray, LargeStringArray, NullArray, StringArray, TimestampNanosecondArray,
    };
    use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
    use std::collections::HashMap;

    /// Batches of every supported type, with nulls, empty strings, non-ASCII text.
    fn batches(sizes: &[usize]) -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("root", DataType::Int64, true),
            Field::new("x", DataType::Int32, true),
            Field::new("size", DataType::Float32, true),
            Field::new("valid", DataType::Boolean, true),
            Field::new(
                "created",
                DataType::Timestamp(arrow_schema::TimeUnit::Nanosecond, Some("UTC".into())),
                true,
            ),
            Field::new("tag", DataType::Utf8, true),
            Field::new("note", DataType::LargeUtf8, true),
            Field::new("day", DataType::Date32, true),
            Field::new("nothing", DataType::Null, true),
            Field::new("blob", DataType::Binary, true),
            Field::new("big_blob", DataType::LargeBinary, true),
        ]));
        let mut start = 0i64;
        let batches = sizes
            .iter()
            .map(|&n| {
                let ids: Vec<i64> = (start..start + n as i64).collect();
                start += n as i64;
                let opt = |i: &i64, every: i64| (i % every != 0).then_some(*i);
                let cols: Vec<ArrayRef> = vec![
                    Arc::new(Int64Array::from(ids.clone())),
                    Arc::new(Int64Array::from_iter(
                        ids.iter().map(|i| opt(i, 7).map(|v| v * 1_000_003)),
                    )),
                    Arc::new(Int32Array::from_iter(
                        ids.iter().map(|i| opt(i, 5).map(|v| v as i32 - 40)),
                    )),
                    Arc::new(Float32Array::from_iter(
                        ids.iter().map(|i| opt(i, 3).map(|v| v as f32 / 3.0)),
                    )),
                    Arc::new(BooleanArray::from_iter(
                        ids.iter().map(|i| opt(i, 11).map(|v| v % 2 == 0)),
                    )),
                    Arc::new(
                        TimestampNanosecondArray::from_iter(
                            ids.iter().map(|i| opt(i, 13).map(|v| v * 1_000_000_007)),
                        )
                        .with_timezone("UTC"),
                    ),
                    Arc::new(StringArray::from_iter(ids.iter().map(|i| {
                        opt(i, 4).map(|v| match v % 3 {
                            0 => String::new(),
                            1 => format!("L2/3 café {v}"),
                            _ => "x".repeat((v % 50) as usize),
                        })
                    }))),
                    Arc::new(LargeStringArray::from_iter(
                        ids.iter().map(|i| opt(i, 6).map(|v| format!("µ{v}"))),
                    )),
                    Arc::new(Date32Array::from_iter(
                        ids.iter().map(|i| opt(i, 9).map(|v| v as i32)),
                    )),
                    Arc::new(NullArray::new(n)),
                    Arc::new(BinaryArray::from_iter(ids.iter().map(|i| {
                        opt(i, 8).map(|v| vec![(v % 256) as u8; (v % 9) as usize])
                    }))),
                    Arc::new(LargeBinaryArray::from_iter(
                        ids.iter()
                            .map(|i| opt(i, 10).map(|v| v.to_le_bytes().to_vec())),
                    )),
                ];
                RecordBatch::try_new(schema.clone(), cols).unwrap()
            })
            .collect();
        (schema, batches)
    }

    fn write(schema: &SchemaRef, batches: &[RecordBatch], codec: Option<CompressionType>) -> Bytes {
        let options = IpcWriteOptions::default()
            .try_with_compression(codec)
            .unwrap();
        let mut out = Vec::new();
        let mut w = StreamWriter::try_new_with_options(&mut out, schema, options).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
        drop(w);
        Bytes::from(out)
    }

    fn read_all(
        body: Bytes,
        chunk_rows: usize,
        threads: usize,
    ) -> Result<Vec<RecordBatch>, String> {
        Chunks::new(body, chunk_rows)?.threads(threads).collect()
    }

    fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> RecordBatch {
        arrow_select::concat::concat_batches(schema, batches).unwrap()
    }

    #[test]
    fn chunks_equal_arrow_ipc_for_every_compression_and_chunk_size() {
        let (schema, expected) = batches(&[1000, 0, 77, 4096]);
        let whole = concat(&schema, &expected);
        for codec in [
            None,
            Some(CompressionType::LZ4_FRAME),
            Some(CompressionType::ZSTD),
        ] {
            let body = write(&schema, &expected, codec);
            for chunk_rows in [8, 64, 1000, 1024, 100_000] {
                for threads in [1, 3] {
                    let got = read_all(body.clone(), chunk_rows, threads)
                        .unwrap_or_else(|e| panic!("{codec:?} {chunk_rows}: {e}"));
                    assert!(got.iter().all(|b| b.num_rows() <= chunk_rows.max(8)));
                    assert_eq!(
                        concat(&schema, &got),
                        whole,
                        "{codec:?} chunks of {chunk_rows}"
                    );
                }
            }
            // Prefetched on a thread: the same.
            let got: Vec<_> = Chunks::new(body.clone(), 512)
                .unwrap()
                .prefetch(2)
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(concat(&schema, &got), whole);
        }
    }

    /// Chunks dropped as soon as they are checked, so that the next ones are written into
    /// reused memory (buffers of the pool, zstd contexts mid-way through other frames): each
    /// must still hold exactly its own rows. Big enough that columns are streamed through
    /// zstd, not decompressed whole.
    #[test]
    fn chunks_in_reused_memory_hold_their_own_rows() {
        let (schema, expected) = batches(&[150_000, 3, 70_000]);
        let whole = concat(&schema, &expected);
        for codec in [
            Some(CompressionType::ZSTD),
            Some(CompressionType::LZ4_FRAME),
        ] {
            let body = write(&schema, &expected, codec);
            for (chunk_rows, threads) in [(4096, 1), (10_000, 2), (65_536, 3)] {
                let mut at = 0;
                for chunk in Chunks::new(body.clone(), chunk_rows)
                    .unwrap()
                    .threads(threads)
                {
                    let chunk = chunk.unwrap();
                    assert_eq!(
                        chunk,
                        whole.slice(at, chunk.num_rows()),
                        "{codec:?}, chunks of {chunk_rows}, rows from {at}"
                    );
                    at += chunk.num_rows();
                }
                assert_eq!(at, whole.num_rows());
            }
        }
    }

    #[test]
    fn pandas_index_columns_are_left_out() {
        let schema = Arc::new(Schema::new_with_metadata(
            vec![
                Field::new("id", DataType::Int64, false),
                Field::new("__index_level_0__", DataType::Int64, false),
            ],
            HashMap::from([(
                "pandas".to_string(),
                r#"{"index_columns": ["__index_level_0__"]}"#.to_string(),
            )]),
        ));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![5, 6, 7])),
                Arc::new(Int64Array::from(vec![0, 1, 2])),
            ],
        )
        .unwrap();
        let body = write(&schema, &[batch], Some(CompressionType::ZSTD));
        let chunks = Chunks::new(body, 64).unwrap();
        assert_eq!(chunks.schema().fields().len(), 1);
        let got: Vec<_> = chunks.collect::<Result<_, _>>().unwrap();
        assert_eq!(got[0].num_columns(), 1);
        assert_eq!(
            got[0].column(0).as_ref(),
            &Int64Array::from(vec![5, 6, 7]) as &dyn Array
        );
    }

    #[test]
    fn every_cut_of_a_body_is_an_error_not_a_panic() {
        let (schema, b) = batches(&[300]);
        for codec in [
            None,
            Some(CompressionType::LZ4_FRAME),
            Some(CompressionType::ZSTD),
        ] {
            let body = write(&schema, &b, codec);
            // Without its 8-byte end-of-stream marker, the stream is cut exactly after its
            // last record batch: an error too, not fewer rows.
            let e = Chunks::new(body.slice(..body.len() - 8), 64)
                .and_then(|c| c.collect::<Result<Vec<_>, _>>())
                .unwrap_err();
            assert!(
                e.contains("after record batch 0 without its end-of-stream marker"),
                "{e}"
            );
            let schema_only = write(&schema, &[], codec);
            let e = Chunks::new(schema_only.slice(..schema_only.len() - 8), 64)
                .and_then(|c| c.collect::<Result<Vec<_>, _>>())
                .unwrap_err();
            assert!(e.contains("after its schema without"), "{e}");
            let mut longer = body.to_vec();
            longer.extend_from_slice(b"junk");
            let e = Chunks::new(Bytes::from(longer), 64)
                .and_then(|c| c.collect::<Result<Vec<_>, _>>())
                .unwrap_err();
            assert!(e.contains("4 bytes follow the end-of-stream marker"), "{e}");
            for cut in (0..body.len()).step_by(7) {
                let r = Chunks::new(body.slice(..cut), 64)
                    .and_then(|c| c.collect::<Result<Vec<_>, _>>());
                let rows: usize = r
                    .as_ref()
                    .map_or(0, |b| b.iter().map(RecordBatch::num_rows).sum());
                assert!(
                    r.is_err() || rows == 0,
                    "{codec:?} cut at {cut}: {rows} rows"
                );
            }
        }
    }

    /// Absurd declared lengths are never allocated: a buffer declaring 2^60 bytes is refused
    /// by the decode limit, one declaring less than that but more than it holds costs what the
    /// rows need, and a row count of 2^40 in a tiny body is an error at the first chunk.
    #[test]
    fn a_huge_declared_length_is_refused_not_allocated() {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![7; 1000]))],
        )
        .unwrap();
        let body = write(&schema, &[batch], Some(CompressionType::ZSTD)).to_vec();
        // Every 8-byte length prefix of the body's buffers: find the values buffer's prefix
        // (uncompressed length 8000) and make it 2^60.
        let at = body
            .windows(8)
            .rposition(|w| w == 8000i64.to_le_bytes())
            .expect("the values buffer's length prefix");
        let mut bad = body.clone();
        bad[at..at + 8].copy_from_slice(&(1i64 << 60).to_le_bytes());
        let e = Chunks::new(Bytes::from(bad.clone()), 64)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(e.contains("Limits::max_decoded_bytes"), "{e}");
        bad[at..at + 8].copy_from_slice(&(1i64 << 31).to_le_bytes());
        let got: Result<Vec<_>, _> = Chunks::new(Bytes::from(bad), 64).unwrap().collect();
        let rows: usize = got.unwrap().iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 1000, "only the 8000 bytes needed are read");
        // And a row count of 2^40 in a tiny body ends at the first chunk, with an error.
        let mut bad = body.clone();
        let rows_at = bad
            .windows(8)
            .position(|w| w == 1000i64.to_le_bytes())
            .unwrap();
        bad[rows_at..rows_at + 8].copy_from_slice(&(1i64 << 40).to_le_bytes());
        let e = read_all(Bytes::from(bad), 64, 1).unwrap_err();
        assert!(e.contains("record batch 0"), "{e}");
    }

    #[test]
    fn string_offsets_that_go_backwards_are_an_error() {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec!["ab", "cd", "ef"]))],
        )
        .unwrap();
        let mut body = write(&schema, &[batch], None).to_vec();
        // The offsets 0, 2, 4, 6 as i32: make the third 1.
        let at = body
            .windows(16)
            .position(|w| w == [0, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0])
            .unwrap();
        body[at + 8] = 1;
        let e = read_all(Bytes::from(body), 64, 1).unwrap_err();
        assert!(e.contains("column `s`") && e.contains("backwards"), "{e}");
    }

    #[test]
    fn decompress_only_counts_every_byte() {
        let (schema, b) = batches(&[5000]);
        let (rows, plain) = decompress_only(&write(&schema, &b, None)).unwrap();
        assert_eq!(rows, 5000);
        for codec in [CompressionType::LZ4_FRAME, CompressionType::ZSTD] {
            let (_, n) = decompress_only(&write(&schema, &b, Some(codec))).unwrap();
            // Uncompressed buffers are padded to 8 bytes in the body, decompressed ones not.
            assert!(
                n <= plain && n + 8 * 30 >= plain,
                "{codec:?}: {n} vs {plain}"
            );
        }
    }

    fn one_column(name: &str, array: ArrayRef) -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![Field::new(
            name,
            array.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![array]).unwrap();
        (schema, batch)
    }

    #[test]
    fn two_columns_of_one_name_are_an_error() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("pt_root_id", DataType::Int64, false),
            Field::new("id", DataType::Int64, false),
            Field::new("pt_root_id", DataType::Int64, false),
        ]));
        let a: ArrayRef = Arc::new(Int64Array::from(vec![42, 42]));
        let batch = RecordBatch::try_new(schema.clone(), vec![a.clone(), a.clone(), a]).unwrap();
        let e = Chunks::new(write(&schema, &[batch], None), 64)
            .err()
            .expect("an error");
        assert!(
            e.contains("the column `pt_root_id` twice (columns 0 and 2)"),
            "{e}"
        );
    }

    #[test]
    fn types_cave_does_not_use_are_refused_by_name() {
        let list = arrow_array::ListArray::from_iter_primitive::<arrow_array::types::Int8Type, _, _>(
            vec![Some(vec![Some(1)])],
        );
        let (schema, batch) = one_column("blob", Arc::new(list));
        let e = Chunks::new(write(&schema, &[batch], Some(CompressionType::ZSTD)), 64)
            .err()
            .expect("an error");
        assert!(
            e.contains("column `blob`: type List") && e.contains("not read"),
            "{e}"
        );
    }

    #[test]
    fn too_many_columns_are_refused_before_reading() {
        let fields: Vec<Field> = (0..10)
            .map(|i| Field::new(format!("c{i}"), DataType::Int64, true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let cols: Vec<ArrayRef> = (0..10)
            .map(|_| Arc::new(Int64Array::from(vec![1])) as ArrayRef)
            .collect();
        let body = write(
            &schema,
            &[RecordBatch::try_new(schema.clone(), cols).unwrap()],
            None,
        );
        let limits = DecodeLimits {
            max_columns: 9,
            ..DecodeLimits::default()
        };
        let e = Chunks::with_limits(body.clone(), 64, limits)
            .err()
            .expect("an error");
        assert!(e.contains("10 columns, more than the 9 allowed"), "{e}");
        assert!(
            Chunks::with_limits(
                body,
                64,
                DecodeLimits {
                    max_columns: 10,
                    ..limits
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn what_the_buffers_declare_is_bounded_over_the_whole_body() {
        // Three batches of 1,000 int64 values: 8,000 bytes declared each.
        let (schema, b1) = one_column("id", Arc::new(Int64Array::from(vec![3; 1000])));
        let body = write(
            &schema,
            &[b1.clone(), b1.clone(), b1],
            Some(CompressionType::ZSTD),
        );
        let limits = |max| DecodeLimits {
            max_decoded_bytes: max,
            ..DecodeLimits::default()
        };
        let read = |max| {
            Chunks::with_limits(body.clone(), 4096, limits(max))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
        };
        assert_eq!(read(24_000).unwrap().len(), 3);
        let e = read(23_999).unwrap_err();
        assert!(
            e.starts_with("record batch 2: column `id`: ") && e.contains("24000 bytes"),
            "{e}"
        );
    }

    #[test]
    fn wide_rows_make_chunks_of_fewer_rows() {
        let n = 5000;
        let fields: Vec<Field> = (0..1000)
            .map(|i| Field::new(format!("c{i}"), DataType::Int64, true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let col: ArrayRef = Arc::new(Int64Array::from(vec![1; n]));
        let batch = RecordBatch::try_new(schema.clone(), vec![col; 1000]).unwrap();
        let body = write(&schema, &[batch], Some(CompressionType::ZSTD));
        let chunks = read_all(body, 32_768, 1).unwrap();
        // 8,000 bytes a row: 32 MiB hold 4,194 rows, rounded down to a multiple of 8.
        let per_chunk = (CHUNK_BYTES / 8000) / 8 * 8;
        assert!(per_chunk < n);
        assert_eq!(chunks[0].num_rows(), per_chunk);
        assert_eq!(chunks.iter().map(RecordBatch::num_rows).sum::<usize>(), n);
    }
}
