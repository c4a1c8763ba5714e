//! A query answer (API.md §7): the Arrow IPC stream of the body (ZSTD, LZ4_FRAME or
//! uncompressed buffers), pandas index columns dropped, and what the headers say: warnings,
//! table owner notices, the resolution of positions, and whether the server capped the rows.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use cave_wire::untrusted::Redactor;
use reqwest::header::HeaderMap;

use crate::error::Error;
use crate::http::Received;
use crate::ipc::{self, DecodeLimits};

/// Warnings kept per answer (a server could send thousands of header lines).
const MAX_WARNINGS: usize = 32;

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

/// Check the answer to a query POST to `url` and start reading its batches. Warnings come
/// cleaned by `redactor` (errors are cleaned by the caller; excerpts are redacted here, before
/// they are cut).
pub(crate) fn decode(
    url: &str,
    received: &Received,
    pace: Pace,
    limits: DecodeLimits,
    redactor: &Redactor,
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
            redactor.excerpt(&received.bytes, 300)
        )));
    }
    let batches = BodyBatches::open(
        received.bytes.clone(),
        ipc::DEFAULT_CHUNK_ROWS,
        pace,
        limits,
    )
    .map_err(bad)?;
    let (warnings, capped) = kept_warnings(&received.headers, redactor);
    let page = Page {
        schema: batches.schema().clone(),
        resolution: resolution(&received.headers).map_err(bad)?,
        warnings,
        capped,
    };
    Ok((page, batches))
}

/// The record batches of an answer's Arrow IPC stream, without the pandas index columns,
/// decoded as they are asked for, in chunks of at most [`ipc::DEFAULT_CHUNK_ROWS`] rows by
/// [`ipc::Chunks`].
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
}

impl BodyBatches {
    /// Start reading an answer body (its schema is read now).
    pub fn new(body: impl Into<Bytes>) -> Result<Self, String> {
        Self::with_chunk_rows(body, ipc::DEFAULT_CHUNK_ROWS)
    }

    /// Start reading an answer body, in chunks of at most `chunk_rows` rows.
    pub fn with_chunk_rows(body: impl Into<Bytes>, chunk_rows: usize) -> Result<Self, String> {
        Self::open(
            body.into(),
            chunk_rows,
            Pace::Ahead,
            DecodeLimits::default(),
        )
    }

    /// Start reading an answer body within `limits`, its chunks decoded at `pace`.
    pub(crate) fn open(
        body: Bytes,
        chunk_rows: usize,
        pace: Pace,
        limits: DecodeLimits,
    ) -> Result<Self, String> {
        let chunks = ipc::Chunks::with_limits(body.clone(), chunk_rows, limits)
            .map_err(|e| e.to_string())?;
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
        Ok(BodyBatches { schema, inner })
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
            Inner::Chunks(c) => c.next().map(|r| r.map_err(|e| e.to_string())),
            Inner::Prefetched(c) => c.next().map(|r| r.map_err(|e| e.to_string())),
        }
    }
}

/// The batches of an Arrow IPC stream, without the columns pandas metadata names as the index.
pub fn read_stream(body: impl Into<Bytes>) -> Result<(SchemaRef, Vec<RecordBatch>), String> {
    let batches = BodyBatches::open(
        body.into(),
        ipc::DEFAULT_CHUNK_ROWS,
        Pace::OnDemand,
        DecodeLimits::default(),
    )?;
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

/// The first [`MAX_WARNINGS`] warnings, cleaned, and whether any line (kept or not) says the
/// rows were capped.
fn kept_warnings(headers: &HeaderMap, redactor: &Redactor) -> (Vec<String>, bool) {
    let all = warnings(headers);
    let capped = all.iter().any(|w| is_cap_warning(w));
    let kept = all
        .iter()
        .take(MAX_WARNINGS)
        .map(|w| redactor.clean(w))
        .collect();
    (kept, capped)
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
    // Resolutions are kept as f32 (positions' `Resolution`): a value beyond f32 would be inf.
    let fits = |v: &f64| v.is_finite() && *v > 0.0 && (*v as f32).is_finite() && *v as f32 > 0.0;
    match parsed.as_deref() {
        Ok([x, y, z]) if [x, y, z].into_iter().all(fits) => Ok(Some([*x, *y, *z])),
        _ => Err(format!(
            "the dataframe_resolution header is `{}`, not three positive numbers of a size an \
             f32 holds",
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
        // Beyond f32: inf once stored, so refused; as is a value that rounds to 0.
        for beyond in ["1e300, 4, 40", "4, 1e-300, 40", "4, 4, 3.5e38"] {
            h.insert(
                "dataframe_resolution",
                HeaderValue::from_str(beyond).unwrap(),
            );
            assert!(resolution(&h).is_err(), "{beyond}");
        }
        assert_eq!(resolution(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn warnings_are_bounded_and_cleaned_but_a_late_cap_warning_counts() {
        let token = "0123456789abcdef0123456789abcdef";
        let mut h = HeaderMap::new();
        for i in 0..40 {
            h.append(
                reqwest::header::WARNING,
                HeaderValue::from_str(&format!("299 - \"note {i} {token}\"")).unwrap(),
            );
        }
        h.append(
            reqwest::header::WARNING,
            HeaderValue::from_static("201 - \"Limited query to 1000 rows"),
        );
        let (kept, capped) = kept_warnings(&h, &Redactor::new(Some(token)));
        assert!(capped);
        assert_eq!(kept.len(), MAX_WARNINGS);
        assert!(
            kept.iter()
                .all(|w| w.contains("<token>") && !w.contains(token))
        );
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
