//! Reading a query answer's Arrow IPC stream in chunks of rows, decompressing as it goes.
//!
//! arrow-ipc's `StreamReader` decompresses every buffer of a record batch whole, one after the
//! other, and trusts the uncompressed length each buffer declares when it allocates. This
//! reader instead streams each column's buffers (ZSTD, LZ4_FRAME or uncompressed) and hands
//! out record batches of at most `chunk_rows` rows, so that:
//! - memory above the body is one chunk of columns, whatever the answer's size (a typed query
//!   keeps only its rows, never the whole decompressed batch next to them); a caller that keeps
//!   every batch asks for [`Decompression::Whole`] instead, and a ZSTD buffer is then decompressed in
//!   one call and its chunks are slices of it (faster: no copy through the streaming window);
//! - a big batch's columns are decompressed on all cores, ahead of the consumer and with it
//!   ([`workers`]);
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
//!
//! The parts, outside in: [`framing`] (messages), [`schema`] (columns and their types),
//! [`batch`] (a record batch into chunks), [`workers`] (its columns on all cores),
//! [`columns`] (a column's next rows as an array),
//! [`buffers`] (a buffer's bytes, sliced or decompressed); errors are [`IpcError`]s.

use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;
use bytes::Bytes;

mod baseline;
mod batch;
mod buffers;
mod columns;
mod error;
mod framing;
mod schema;
#[cfg(test)]
mod tests;
mod workers;

pub(crate) use baseline::decompress_only;
pub(crate) use batch::PARALLEL_MIN_BYTES;
use batch::{BatchReader, ReadOptions};
pub(crate) use buffers::Decompression;
pub(crate) use error::IpcError;

/// Rows per chunk by default: a chunk of synapse columns (about 100 bytes a row) stays in the
/// CPU caches while rows are built from it.
pub(crate) const DEFAULT_CHUNK_ROWS: usize = 32_768;

/// About how many bytes of columns a chunk holds: a chunk has fewer rows than asked when its
/// rows are wide (thousands of columns), so that its memory stays about this.
pub(crate) const CHUNK_BYTES: usize = 32 << 20;

/// What an answer may cost to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodeLimits {
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

/// The record batches of an Arrow IPC stream, cut in chunks of at most `chunk_rows` rows, with
/// the columns named by the pandas metadata's `index_columns` left out.
pub(crate) struct Chunks {
    bytes: Bytes,
    pos: usize,
    stream_schema: SchemaRef,
    /// The fields handed out (index columns left out), as indexes into the stream's schema.
    keep: Vec<usize>,
    schema: SchemaRef,
    chunk_rows: usize,
    threads: usize,
    decompression: Decompression,
    batch_no: usize,
    current: Option<BatchReader>,
    done: bool,
    limits: DecodeLimits,
    /// Decompressed bytes the buffers read so far declare.
    declared: u64,
    /// Record batches read so far whose columns were decoded by workers (for tests).
    #[cfg_attr(not(test), allow(dead_code))]
    parallel_batches: usize,
}

impl Chunks {
    /// Start reading `bytes` with the default [`DecodeLimits`]: its first message must be the
    /// schema.
    #[cfg(test)]
    pub(crate) fn new(bytes: Bytes, chunk_rows: usize) -> Result<Self, IpcError> {
        Self::with_limits(bytes, chunk_rows, DecodeLimits::default())
    }

    /// Start reading `bytes` within `limits`: its first message must be the schema, of at
    /// most `limits.max_columns` columns of supported types with distinct names.
    pub(crate) fn with_limits(
        bytes: Bytes,
        chunk_rows: usize,
        limits: DecodeLimits,
    ) -> Result<Self, IpcError> {
        let mut pos = 0;
        let fb = framing::schema_message(&bytes, &mut pos)?;
        let schema = schema::read(fb, &limits)?;
        let (keep, out_schema) = schema::without_index_columns(&schema)?;
        Ok(Chunks {
            bytes,
            pos,
            stream_schema: Arc::new(schema),
            keep,
            schema: Arc::new(out_schema),
            chunk_rows: chunk_rows.clamp(8, 1 << 24) / 8 * 8,
            threads: cores().min(8),
            decompression: Decompression::Streamed,
            batch_no: 0,
            current: None,
            done: false,
            limits,
            declared: 0,
            parallel_batches: 0,
        })
    }

    /// Use at most `threads` threads per record batch, the caller's included (1: decompress
    /// on the calling thread only).
    pub(crate) fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Read compressed buffers as `decompression` says (by default [`Decompression::Streamed`]).
    pub(crate) fn decompression(mut self, decompression: Decompression) -> Self {
        self.decompression = decompression;
        self
    }

    /// Record batches read to their end so far whose columns were decoded by workers.
    #[cfg(test)]
    pub(crate) fn parallel_batches(&self) -> usize {
        self.parallel_batches
    }

    /// The schema of the chunks (index columns left out).
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows of the current record batch not yet handed out (as its header says: a hint for
    /// reserving room, not checked against the data yet).
    pub(crate) fn rows_left(&self) -> usize {
        self.current.as_ref().map_or(0, BatchReader::rows_left)
    }

    fn next_chunk(&mut self) -> Result<Option<RecordBatch>, IpcError> {
        loop {
            if let Some(reader) = &mut self.current {
                if let Some((arrays, rows)) = reader.next_chunk(self.threads)? {
                    return RecordBatch::try_new_with_options(
                        self.schema.clone(),
                        arrays,
                        &RecordBatchOptions::new().with_row_count(Some(rows)),
                    )
                    .map(Some)
                    .map_err(|e| IpcError::new(e.to_string()).in_batch(self.batch_no));
                }
                self.parallel_batches += usize::from(reader.parallel());
                self.current = None;
                self.batch_no += 1;
            }
            let Some(message) =
                framing::next_record_batch(&self.bytes, &mut self.pos, self.batch_no)?
            else {
                return Ok(None);
            };
            let reader = BatchReader::new(
                &self.stream_schema,
                &self.keep,
                message.header,
                self.bytes.slice_ref(message.body),
                message.version,
                ReadOptions {
                    chunk_rows: self.chunk_rows,
                    decompression: self.decompression,
                },
                (self.declared, self.limits.max_decoded_bytes),
            )
            .map_err(|e| e.in_batch(self.batch_no))?;
            self.declared = self.declared.saturating_add(reader.declared);
            self.current = Some(reader);
        }
    }
}

impl Iterator for Chunks {
    type Item = Result<RecordBatch, IpcError>;

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
