//! A query answer (API.md §7): the Arrow IPC stream of the body (ZSTD, LZ4_FRAME or
//! uncompressed buffers), pandas index columns dropped, and what the headers say: warnings,
//! table owner notices, the resolution of positions, and whether the server capped the rows.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_schema::{Schema, SchemaRef};
use bytes::Bytes;
use reqwest::header::HeaderMap;

use crate::error::Error;
use crate::http::{Received, excerpt};
use crate::ipc;

/// The content type the materialization service sends Arrow streams with (literally).
pub const ARROW_CONTENT_TYPE: &str = "data.arrow";

/// One answer of the server: what its headers say. Its rows come from [`BodyBatches`].
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub schema: SchemaRef,
    pub warnings: Vec<String>,
    /// The `dataframe_resolution` header: nm per unit of the positions.
    pub resolution: Option<[f64; 3]>,
    /// The server stopped at its row limit (or the limit asked): there may be more rows.
    pub capped: bool,
}

/// Check the answer to a query POST to `url` and start reading its batches.
pub(crate) fn decode(
    url: &str,
    received: &Received,
    pace: Pace,
) -> Result<(Page, BodyBatches), Error> {
    let bad = |problem: String| Error::BadResponse {
        url: url.to_string(),
        problem,
    };
    let content_type = received
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != ARROW_CONTENT_TYPE {
        return Err(bad(format!(
            "expected an Arrow stream (Content-Type: {ARROW_CONTENT_TYPE}), got Content-Type `{content_type}` with {}",
            excerpt(&String::from_utf8_lossy(
                &received.bytes[..received.bytes.len().min(2000)]
            ))
        )));
    }
    let batches =
        BodyBatches::open(received.bytes.clone(), ipc::DEFAULT_CHUNK_ROWS, pace).map_err(bad)?;
    let warnings = warnings(&received.headers);
    let capped = warnings.iter().any(|w| is_cap_warning(w));
    let page = Page {
        schema: batches.schema().clone(),
        resolution: resolution(&received.headers).map_err(bad)?,
        warnings,
        capped,
    };
    Ok((page, batches))
}

/// The record batches of an answer's Arrow IPC stream, without the pandas index columns,
/// decoded as they are asked for: in chunks of at most [`ipc::DEFAULT_CHUNK_ROWS`] rows by
/// [`ipc::Chunks`], or, for column types that reader does not know, whole by arrow-ipc.
pub struct BodyBatches {
    schema: SchemaRef,
    inner: Inner,
}

/// When a body's chunks are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pace {
    /// Ahead, on a thread of their own, while the caller works on the last one (builds rows,
    /// or whatever a stream's user does): the two overlap.
    Ahead,
    /// When asked, each chunk's columns split across the cores: for a caller that only keeps
    /// the batches, where a decoding thread would only compete with the column threads
    /// (200,000 synapse rows: 10 ms instead of 16).
    OnDemand,
}

enum Inner {
    Chunks(ipc::Chunks),
    Prefetched(ipc::Prefetched),
    Whole(std::vec::IntoIter<RecordBatch>),
}

impl BodyBatches {
    /// Start reading an answer body (its schema is read now).
    pub fn new(body: impl Into<Bytes>) -> Result<Self, String> {
        Self::with_chunk_rows(body, ipc::DEFAULT_CHUNK_ROWS)
    }

    /// Start reading an answer body, in chunks of at most `chunk_rows` rows.
    pub fn with_chunk_rows(body: impl Into<Bytes>, chunk_rows: usize) -> Result<Self, String> {
        Self::open(body.into(), chunk_rows, Pace::Ahead)
    }

    /// Start reading an answer body, its chunks decoded at `pace`.
    pub(crate) fn open(body: Bytes, chunk_rows: usize, pace: Pace) -> Result<Self, String> {
        let chunks = ipc::Chunks::new(body.clone(), chunk_rows)?;
        if ipc::Chunks::supports(chunks.stream_schema()) {
            let cores = ipc::cores();
            let schema = chunks.schema().clone();
            // Big bodies: decompress the next chunk on another thread while this one is used
            // (and a chunk's columns split over the cores).
            let ahead = pace == Pace::Ahead && cores > 1 && body.len() >= ipc::PREFETCH_MIN_BYTES;
            let inner = if ahead {
                Inner::Prefetched(chunks.threads(cores).prefetch(2))
            } else {
                Inner::Chunks(chunks)
            };
            return Ok(BodyBatches { schema, inner });
        }
        let (schema, batches) = read_whole(&body)?;
        Ok(BodyBatches {
            schema,
            inner: Inner::Whole(batches.into_iter()),
        })
    }

    /// The schema of the batches (index columns left out).
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows still to come in the record batch being read (a hint for reserving room: it is
    /// what the stream's header says, checked only as the data is read).
    pub fn rows_left(&self) -> usize {
        match &self.inner {
            Inner::Chunks(c) => c.rows_left(),
            Inner::Prefetched(c) => c.rows_left(),
            Inner::Whole(b) => b.as_slice().iter().map(RecordBatch::num_rows).sum(),
        }
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
        match &mut self.inner {
            Inner::Chunks(c) => c.next(),
            Inner::Prefetched(c) => c.next(),
            Inner::Whole(b) => b.next().map(Ok),
        }
    }
}

/// The batches of an Arrow IPC stream, without the columns pandas metadata names as the index.
pub fn read_stream(body: impl Into<Bytes>) -> Result<(SchemaRef, Vec<RecordBatch>), String> {
    let batches = BodyBatches::open(body.into(), ipc::DEFAULT_CHUNK_ROWS, Pace::OnDemand)?;
    let schema = batches.schema().clone();
    Ok((schema, batches.collect::<Result<_, _>>()?))
}

/// Decode a saved Arrow IPC response body of table `T` into typed rows, e.g. one written by
/// `curl -o` or by a proxy's log. `resolution` is the response's `dataframe_resolution` (nm per
/// unit of the positions); `None` means the table's voxel resolution. Pandas index columns are
/// ignored, as in queries; not-in filters are not applied (the body does not say what they were).
pub fn read_rows<T: crate::Table>(
    body: impl Into<Bytes>,
    resolution: Option<[f64; 3]>,
) -> Result<Vec<T>, Error> {
    let bad = |problem: String| Error::BadResponse {
        url: "(a saved response body)".to_string(),
        problem,
    };
    let resolution =
        crate::position::Resolution::from_f64(resolution.unwrap_or(T::VOXEL_RESOLUTION));
    let mut rows = Vec::new();
    let mut batches = BodyBatches::new(body).map_err(bad)?;
    while let Some(batch) = batches.next() {
        let batch = batch.map_err(bad)?;
        reserve_rows(&mut rows, batch.num_rows() + batches.rows_left());
        T::decode_into(
            &crate::decode::Batch::new(&batch, T::NAME, resolution),
            T::WIRE_NAMES,
            &mut rows,
        )?;
    }
    Ok(rows)
}

/// The whole stream by arrow-ipc's reader (schemas [`ipc::Chunks`] does not read), after
/// checking what that reader trusts; a panic inside it (a bug of arrow-ipc's on input it did
/// not expect) is an error here, not the end of the caller's program.
fn read_whole(bytes: &[u8]) -> Result<(SchemaRef, Vec<RecordBatch>), String> {
    ipc::check_declared_lengths(bytes)?;
    std::panic::catch_unwind(|| read_whole_unchecked(bytes)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        Err(format!("arrow-ipc could not read the stream: {what}"))
    })
}

fn read_whole_unchecked(bytes: &[u8]) -> Result<(SchemaRef, Vec<RecordBatch>), String> {
    let reader = StreamReader::try_new(Cursor::new(bytes), None)
        .map_err(|e| format!("the body is not an Arrow IPC stream: {e}"))?;
    let schema = reader.schema();
    let index = index_columns(&schema);
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !index.contains(schema.field(i).name()))
        .collect();
    let out_schema = Arc::new(
        schema
            .project(&keep)
            .map_err(|e| format!("cannot drop the index columns: {e}"))?,
    );
    let mut batches = Vec::new();
    for (n, batch) in reader.enumerate() {
        let batch = batch.map_err(|e| format!("record batch {n} of the Arrow stream: {e}"))?;
        let batch = if keep.len() == batch.num_columns() {
            batch
        } else {
            batch
                .project(&keep)
                .map_err(|e| format!("record batch {n}: {e}"))?
        };
        batches.push(batch);
    }
    Ok((out_schema, batches))
}

/// The names in the pandas metadata's `index_columns` (a `RangeIndex` is a dict there and has
/// no column).
pub(crate) fn index_columns(schema: &Schema) -> Vec<String> {
    let Some(pandas) = schema.metadata().get("pandas") else {
        return Vec::new();
    };
    let Ok(meta) = serde_json::from_str::<serde_json::Value>(pandas) else {
        return Vec::new();
    };
    meta.get("index_columns")
        .and_then(|v| v.as_array())
        .map(|cols| {
            cols.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Every `Warning` header line (a proxy may have joined them with `, `; they are kept as sent).
fn warnings(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(reqwest::header::WARNING)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

/// Whether a warning says the rows stopped at a limit: `201 - "Limited query to N rows` for
/// materialized queries, `result has N entries, which is equal or more than limit of L` for
/// live ones (API.md §0, §6.6).
pub(crate) fn is_cap_warning(warning: &str) -> bool {
    warning.contains("Limited query to") || warning.contains("which is equal or more")
}

/// Whether a warning is a table owner's notice.
pub(crate) fn is_notice(warning: &str) -> bool {
    warning.starts_with("Table Owner Notice")
}

/// `dataframe_resolution`: one header line per axis, or one line `4.0, 4.0, 40.0`.
fn resolution(headers: &HeaderMap) -> Result<Option<[f64; 3]>, String> {
    let values: Vec<&str> = headers
        .get_all("dataframe_resolution")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        return Ok(None);
    }
    let parsed: Result<Vec<f64>, _> = values.iter().map(|v| v.parse::<f64>()).collect();
    match parsed.as_deref() {
        Ok([x, y, z]) if [x, y, z].iter().all(|v| v.is_finite() && **v > 0.0) => {
            Ok(Some([*x, *y, *z]))
        }
        _ => Err(format!(
            "the dataframe_resolution header is `{}`, not three positive numbers",
            values.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn resolution_from_lines_or_one_joined_line() {
        let mut h = HeaderMap::new();
        for v in ["4.0", "4.0", "40.0"] {
            h.append("dataframe_resolution", HeaderValue::from_static(v));
        }
        assert_eq!(resolution(&h), Ok(Some([4.0, 4.0, 40.0])));
        let mut h = HeaderMap::new();
        h.insert("dataframe_resolution", HeaderValue::from_static("1, 1, 1"));
        assert_eq!(resolution(&h), Ok(Some([1.0, 1.0, 1.0])));
        h.insert("dataframe_resolution", HeaderValue::from_static("1, x, 1"));
        assert!(resolution(&h).unwrap_err().contains("`1, x, 1`"));
        assert_eq!(resolution(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn cap_warnings() {
        assert!(is_cap_warning("201 - \"Limited query to 200000 rows"));
        assert!(is_cap_warning(
            "result has 5 entries, which is equal or more         than limit of 5 there may be more results which are not shown"
        ));
        assert!(!is_cap_warning("Table Owner Notice on t: careful"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read_stream(&b"<html>nope</html>"[..]).is_err());
        assert!(read_stream(&[0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0, 1, 2][..]).is_err());
        assert!(read_stream(&[][..]).is_err());
    }
}
