//! A query answer (docs/WIRE.md, "Answers"): the Arrow IPC stream of the body (ZSTD, LZ4_FRAME or
//! uncompressed buffers), pandas index columns dropped, and what the headers say: warnings,
//! table owner notices, the resolution of positions, and whether the server capped the rows.
//!
//! The headers are read by `headers`, the body by `body` (on the reader of `crate::ipc`),
//! and [`read_rows`] / [`read_stream`] decode a body saved to a file.

use arrow_schema::SchemaRef;
use cave_wire::untrusted::Redactor;

use crate::error::Error;
use crate::http::Received;
use crate::ipc::{self, DecodeLimits, Decompression};

mod body;
mod headers;

pub use body::{BodyBatches, read_rows, read_stream, rows_from_batches};
pub(crate) use body::{decode_rows, reserve_rows};
pub(crate) use headers::{is_cap_warning, is_notice};

/// What an answer's headers say of the row cap: whether the rows stopped at a limit, and the
/// limit the warning names (the server's cap, or the request's own `limit`).
pub(crate) fn cap_of(received: &Received) -> (bool, Option<u64>) {
    let mut capped = false;
    let mut limit = None;
    for w in received.headers.get_all(reqwest::header::WARNING) {
        let w = String::from_utf8_lossy(w.as_bytes());
        if headers::is_cap_warning(&w) {
            capped = true;
            limit = limit.or_else(|| headers::cap_limit(&w));
        }
    }
    (capped, limit)
}

/// The number a `count=True` query answers: an Arrow stream of one row, column `count`.
pub(crate) fn read_count(
    url: &str,
    received: &Received,
    limits: DecodeLimits,
    redactor: &Redactor,
) -> Result<u64, Error> {
    let (_, mut batches) = decode(url, received, limits, Decompression::Streamed, redactor)?;
    let bad = |problem: String| Error::BadResponse {
        url: url.to_string(),
        problem,
    };
    let mut counts = Vec::new();
    while let Some(batch) = batches.next_batch() {
        let batch = batch.map_err(|e| e.at(url))?;
        let column = batch
            .column_by_name("count")
            .ok_or_else(|| bad("the count answer has no `count` column".into()))?;
        use arrow_array::{Array, Int32Array, Int64Array, UInt64Array};
        let any = column.as_any();
        let values: Vec<Option<i128>> = if let Some(v) = any.downcast_ref::<Int64Array>() {
            v.iter().map(|n| n.map(i128::from)).collect()
        } else if let Some(v) = any.downcast_ref::<UInt64Array>() {
            v.iter().map(|n| n.map(i128::from)).collect()
        } else if let Some(v) = any.downcast_ref::<Int32Array>() {
            v.iter().map(|n| n.map(i128::from)).collect()
        } else {
            return Err(bad(format!(
                "the count is {}, not an integer",
                column.data_type()
            )));
        };
        counts.extend(values);
    }
    match counts.as_slice() {
        [Some(n)] if (0..=i128::from(u64::MAX)).contains(n) => Ok(*n as u64),
        _ => Err(bad(format!(
            "the count answer should be one number, not {counts:?}"
        ))),
    }
}

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

/// Check the answer to a query POST to `url` and start reading its batches (their buffers as
/// `decompression` says). Warnings come
/// cleaned by `redactor` (errors are cleaned by the caller; excerpts are redacted here, before
/// they are cut).
pub(crate) fn decode(
    url: &str,
    received: &Received,
    limits: DecodeLimits,
    decompression: Decompression,
    redactor: &Redactor,
) -> Result<(Page, BodyBatches), Error> {
    let bad = |problem: String| Error::BadResponse {
        url: url.to_string(),
        problem,
    };
    headers::check_content_type(&received.headers, &received.bytes, redactor).map_err(bad)?;
    let batches = BodyBatches::open(
        received.bytes.clone(),
        ipc::DEFAULT_CHUNK_ROWS,
        limits,
        decompression,
    )
    .map_err(|e| e.at(url))?;
    let (warnings, capped) = headers::kept_warnings(&received.headers, redactor);
    let page = Page {
        schema: batches.schema().clone(),
        resolution: headers::resolution(&received.headers).map_err(bad)?,
        warnings,
        capped,
    };
    Ok((page, batches))
}
