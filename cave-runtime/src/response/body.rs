//! An answer's body: its Arrow IPC stream read chunk by chunk by the reader (`crate::ipc`,
//! which decompresses a big batch on all cores, ahead of the caller), and the chunks decoded
//! into typed rows; also for bodies saved to a file.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;

use crate::error::Error;
use crate::ipc::{self, DecodeLimits, Decompression, IpcError};
use crate::position::Resolution;
use crate::table::Table;

/// The record batches of an answer's Arrow IPC stream, without the pandas index columns,
/// decoded as they are asked for, in chunks of at most 32,768 rows (fewer when rows are wide).
pub struct BodyBatches {
    schema: SchemaRef,
    chunks: ipc::Chunks,
}

impl BodyBatches {
    /// Start reading an answer body (its schema is read now).
    pub fn new(body: impl Into<Bytes>) -> Result<Self, String> {
        Self::with_chunk_rows(body, ipc::DEFAULT_CHUNK_ROWS)
    }

    /// Start reading an answer body, in chunks of at most `chunk_rows` rows.
    pub fn with_chunk_rows(body: impl Into<Bytes>, chunk_rows: usize) -> Result<Self, String> {
        Self::saved(body.into(), chunk_rows, Decompression::Streamed).map_err(|e| e.to_string())
    }

    /// A saved body, read within the default limits.
    fn saved(
        body: Bytes,
        chunk_rows: usize,
        decompression: Decompression,
    ) -> Result<Self, IpcError> {
        Self::open(body, chunk_rows, DecodeLimits::default(), decompression)
    }

    /// Start reading an answer body within `limits`, its buffers as `decompression` says.
    pub(crate) fn open(
        body: Bytes,
        chunk_rows: usize,
        limits: DecodeLimits,
        decompression: Decompression,
    ) -> Result<Self, IpcError> {
        let chunks = ipc::Chunks::with_limits(body, chunk_rows, limits)?
            .threads(ipc::cores())
            .decompression(decompression);
        let schema = chunks.schema().clone();
        Ok(BodyBatches { schema, chunks })
    }

    /// The schema of the batches (index columns left out).
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows still to come in the record batch being read (a hint for reserving room: it is
    /// what the stream's header says, checked only as the data is read).
    pub fn rows_left(&self) -> usize {
        self.chunks.rows_left()
    }

    /// The next batch, or `None` after the last one or an error.
    pub(crate) fn next_batch(&mut self) -> Option<Result<RecordBatch, IpcError>> {
        self.chunks.next()
    }
}

/// Reserve room for `more` rows, within reason: the hint comes from the body, and a bad one
/// must not abort the process (rows that never come cost only address space).
pub(crate) fn reserve_rows<T>(rows: &mut Vec<T>, more: usize) {
    const MAX_HINT: usize = 1 << 28;
    let before = rows.capacity();
    if rows.try_reserve(more.min(MAX_HINT)).is_ok() && rows.capacity() != before {
        crate::memory::advise_huge_pages(rows);
    }
}

impl Iterator for BodyBatches {
    type Item = Result<RecordBatch, String>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().map(|r| r.map_err(|e| e.to_string()))
    }
}

/// The batches of an Arrow IPC stream, without the columns pandas metadata names as the index.
pub fn read_stream(body: impl Into<Bytes>) -> Result<(SchemaRef, Vec<RecordBatch>), String> {
    let read = || -> Result<_, IpcError> {
        // Every batch is kept: buffers decompressed whole, chunks sliced from them.
        let mut batches =
            BodyBatches::saved(body.into(), ipc::DEFAULT_CHUNK_ROWS, Decompression::Whole)?;
        let schema = batches.schema().clone();
        let all = std::iter::from_fn(|| batches.next_batch()).collect::<Result<_, _>>()?;
        Ok((schema, all))
    };
    read().map_err(|e| e.to_string())
}

/// Decode a saved Arrow IPC response body of table `T` into typed rows, e.g. one written by
/// `curl -o` or by a proxy's log. `resolution` is the response's `dataframe_resolution` (nm per
/// unit of the positions); `None` means the table's voxel resolution. Pandas index columns are
/// ignored, as in queries; not-in filters are not applied (the body does not say what they were).
pub fn read_rows<T: Table>(
    body: impl Into<Bytes>,
    resolution: Option<[f64; 3]>,
) -> Result<Vec<T>, Error> {
    const SAVED: &str = "(a saved response body)";
    let mut rows = Vec::new();
    let mut batches = BodyBatches::saved(
        body.into(),
        ipc::DEFAULT_CHUNK_ROWS,
        Decompression::Streamed,
    )
    .map_err(|e| e.at(SAVED))?;
    while let Some(batch) = batches.next_batch() {
        let batch = batch.map_err(|e| e.at(SAVED))?;
        reserve_rows(&mut rows, batch.num_rows() + batches.rows_left());
        decode_rows(&batch, resolution, T::VOXEL_RESOLUTION, &mut rows)?;
    }
    Ok(rows)
}

/// Decode a batch of an answer into typed rows, appended to `rows`: the positions in the
/// answer's `resolution`, else in `fallback` (what the query asked, or the table's own).
pub(crate) fn decode_rows<T: Table>(
    batch: &RecordBatch,
    resolution: Option<[f64; 3]>,
    fallback: [f64; 3],
    rows: &mut Vec<T>,
) -> Result<(), Error> {
    let resolution = Resolution::from_f64(resolution.unwrap_or(fallback));
    Ok(T::decode_into(
        &crate::decode::Batch::new(batch, T::NAME, resolution),
        T::WIRE_NAMES,
        rows,
    )?)
}

/// Typed rows of record batches that hold a table's columns under the service's names, from
/// anywhere: a Delta Lake export read with DataFusion, a Parquet file, a saved query. Positions
/// are read in `resolution` (nm per unit), else in the table's voxels (an export's).
pub fn rows_from_batches<T: Table>(
    batches: &[RecordBatch],
    resolution: Option<[f64; 3]>,
) -> Result<Vec<T>, Error> {
    let mut rows = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for batch in batches {
        decode_rows(batch, resolution, T::VOXEL_RESOLUTION, &mut rows)?;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read_stream(&b"<html>nope</html>"[..]).is_err());
        assert!(read_stream(&[0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0, 1, 2][..]).is_err());
        assert!(read_stream(&[][..]).is_err());
    }
}
