//! Query routes (docs/WIRE.md: "Query bodies", "Join queries", "Live queries", "Endpoints"): parse the query string and body, answer from the sample,
//! and send the answer with the server's headers.

use std::io::Write;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::answer_cache::AnswerCache;
use crate::error::ApiError;
use crate::query::body::{self, Endpoint, QueryBody};
use crate::query::encode::{self, Compression};
use crate::query::engine::{self, Answer, JoinSide, Options};
use crate::query_string::url_pairs;
use crate::routes::meta::table_data;
use crate::state::AppState;
use crate::store::TableData;

/// The query-string flags of the query routes.
#[derive(Debug, Clone, Copy)]
struct Flags {
    return_pyarrow: bool,
    arrow_format: bool,
    count: bool,
    random_sample: Option<u64>,
    ipc_compress: bool,
    direct_sql_pandas: bool,
}

fn flags(query: Option<&str>) -> Result<Flags, ApiError> {
    let mut f = Flags {
        return_pyarrow: true,
        arrow_format: false,
        count: false,
        random_sample: None,
        ipc_compress: true,
        direct_sql_pandas: false,
    };
    for (key, value) in url_pairs(query.unwrap_or_default()) {
        let boolean = || -> Result<bool, ApiError> {
            match value.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(ApiError::bad_request(format!(
                    "{key}: Invalid literal for boolean(): {value}"
                ))),
            }
        };
        match key.as_str() {
            "return_pyarrow" => f.return_pyarrow = boolean()?,
            "arrow_format" => f.arrow_format = boolean()?,
            "count" => f.count = boolean()?,
            "ipc_compress" => f.ipc_compress = boolean()?,
            "direct_sql_pandas" => f.direct_sql_pandas = boolean()?,
            "random_sample" => {
                f.random_sample = Some(value.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "random_sample: invalid literal for int(): {value}"
                    ))
                })?)
            }
            // split_positions (always split), merge_reference, allow_* and anything else.
            _ => {}
        }
    }
    Ok(f)
}

fn options(state: &AppState, flags: &Flags) -> Options {
    Options {
        row_limit: state.row_limit,
        count: flags.count,
        random_sample: flags.random_sample,
        shuffle: state.row_order.seed_for(
            state
                .queries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        ),
    }
}

fn notice<'a>(state: &'a AppState, table: &str) -> Option<&'a str> {
    state.snapshot.table(table)?.notice_text.as_deref()
}

/// `POST .../version/{v}/table/{t}/query`.
pub async fn simple(
    State(state): State<Arc<AppState>>,
    Path((ds, v, t)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let flags = flags(query.as_deref())?;
    let body = body::parse(&bytes, Endpoint::Simple)?;
    let route = AnswerCache::key(&[b"table", ds.as_bytes(), v.as_bytes(), t.as_bytes()]);
    let request = Request {
        flags,
        query,
        headers,
        body: bytes,
    };
    cached(state, route, request, move |state| {
        let data = table_data(state, &ds, &v, &t)?;
        engine::simple(data, &body, &options(state, &flags), notice(state, &t))
    })
    .await
}

/// What the answer of a cacheable request depends on, besides its route.
struct Request {
    flags: Flags,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

/// The answer of a request that may be in the answer cache ([`crate::answer_cache`]): the
/// stored one, or `answer`'s, made and encoded on a blocking thread, and stored when the cache
/// is on and the answer cannot differ between two equal requests (rows in the stored order, no
/// random sample).
async fn cached<F>(
    state: Arc<AppState>,
    route: Vec<u8>,
    request: Request,
    answer: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&AppState) -> Result<Answer, ApiError> + Send + 'static,
{
    use crate::answer_cache::Cached;
    let Request {
        flags,
        query,
        headers,
        body,
    } = request;
    let cacheable = state.answer_cache.is_some()
        && flags.random_sample.is_none()
        && state.row_order == crate::state::RowOrder::Stored;
    let key = cacheable.then(|| {
        let accept = headers
            .get(header::ACCEPT_ENCODING)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        AnswerCache::key(&[&route, query.unwrap_or_default().as_bytes(), accept, &body])
    });
    if let Some((cache, key)) = state.answer_cache.as_ref().zip(key.as_ref())
        && let Some(hit) = cache.get(key)
    {
        return Ok(cached_response(hit.headers, hit.body, "hit"));
    }
    let worker_state = state.clone();
    let (answer_headers, bytes) = tokio::task::spawn_blocking(move || {
        answer_parts(answer(&worker_state)?, &flags, &headers, None)
    })
    .await
    .map_err(|e| ApiError::Wrapped(e.to_string()))??;
    let Some((cache, key)) = state.answer_cache.as_ref().zip(key) else {
        return Ok(ok_response((answer_headers, bytes)));
    };
    let bytes = Bytes::from(bytes);
    cache.put(
        key,
        Cached {
            headers: answer_headers.clone(),
            body: bytes.clone(),
        },
    );
    Ok(cached_response(answer_headers, bytes, "miss"))
}

/// A 200 answer of a server with the answer cache on, saying whether it was stored.
fn cached_response(mut headers: HeaderMap, body: Bytes, hit: &'static str) -> Response {
    headers.insert(
        HeaderName::from_static(crate::answer_cache::CACHE_HEADER),
        HeaderValue::from_static(hit),
    );
    (StatusCode::OK, headers, Body::from(body)).into_response()
}

/// `POST .../version/{v}/query`: a join of two tables.
pub async fn join(
    State(state): State<Arc<AppState>>,
    Path((ds, v)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let flags = flags(query.as_deref())?;
    let body = body::parse(&bytes, Endpoint::Join)?;
    let tables = body.tables.clone().unwrap_or_default();
    if tables.len() < 2 {
        return Err(ApiError::bad_request(
            "a join query needs `tables` with two [table, column] pairs",
        ));
    }
    let parts = tokio::task::spawn_blocking(move || {
        let answer = run_join(
            &state,
            &ds,
            &v,
            [&tables[0], &tables[1]],
            &body,
            &flags,
            None,
        )?;
        answer_parts(answer, &flags, &headers, None)
    })
    .await
    .map_err(|e| ApiError::Wrapped(e.to_string()))??;
    Ok(ok_response(parts))
}

fn run_join(
    state: &AppState,
    ds: &str,
    v: &str,
    pairs: [&(String, String); 2],
    body: &QueryBody,
    flags: &Flags,
    live: Option<Live>,
) -> Result<Answer, ApiError> {
    let (left_data, right_data) = (
        table_data(state, ds, v, &pairs[0].0)?,
        table_data(state, ds, v, &pairs[1].0)?,
    );
    let (left_now, right_now) = (
        live.and_then(|l| l.table(state, left_data)),
        live.and_then(|l| l.table(state, right_data)),
    );
    let left = JoinSide {
        data: left_now.as_ref().unwrap_or(left_data),
        column: &pairs[0].1,
        notice: notice(state, &pairs[0].0),
    };
    let right = JoinSide {
        data: right_now.as_ref().unwrap_or(right_data),
        column: &pairs[1].1,
        notice: notice(state, &pairs[1].0),
    };
    engine::join(&left, &right, body, &options(state, flags))
}

/// A live query's times: the version its rows come from, and the query's (ns).
#[derive(Debug, Clone, Copy)]
struct Live {
    version_ts: i64,
    t: i64,
}

impl Live {
    /// The table with its roots brought to the query's time, when an edit changed any.
    fn table(self, state: &AppState, data: &TableData) -> Option<TableData> {
        state
            .chunkedgraph
            .table_at(&state.data, data, self.version_ts, self.t)
    }
}

/// `POST .../datastack/{ds}/query`: live_live_query, answered from the version the timestamp
/// falls in, its root ids brought to the timestamp with the chunkedgraph (the edits between).
pub async fn live(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let flags = flags(query.as_deref())?;
    let body = body::parse(&bytes, Endpoint::Live)?;
    let table = body
        .table
        .clone()
        .ok_or_else(|| ApiError::Wrapped("'table'".into()))?;
    let timestamp = body
        .timestamp
        .as_deref()
        .ok_or_else(|| ApiError::Wrapped("'timestamp'".into()))
        .and_then(parse_timestamp)?;
    let version_number = live_version(&state, timestamp)?;
    let version = version_number.to_string();
    let live = state
        .snapshot
        .version(version_number)
        .and_then(|v| v.time_stamp.timestamp_nanos_opt())
        .zip(timestamp.timestamp_nanos_opt())
        .map(|(version_ts, t)| Live { version_ts, t });
    let parts = tokio::task::spawn_blocking(move || {
        let answer = match body.join_tables.as_deref() {
            Some([j, ..]) => {
                let pairs = [(j[0].clone(), j[1].clone()), (j[2].clone(), j[3].clone())];
                run_join(
                    &state,
                    &ds,
                    &version,
                    [&pairs[0], &pairs[1]],
                    &body,
                    &flags,
                    live,
                )
            }
            _ => {
                let stored = table_data(&state, &ds, &version, &table)?;
                let now = live.and_then(|l| l.table(&state, stored));
                let data = now.as_ref().unwrap_or(stored);
                let mut simple_body = body.clone();
                simple_body.select_columns = body
                    .select_column_map
                    .as_ref()
                    .and_then(|m| m.iter().find(|(t, _)| *t == table))
                    .map(|(_, c)| c.clone());
                engine::simple(
                    data,
                    &simple_body,
                    &options(&state, &flags),
                    notice(&state, &table),
                )
            }
        }?;
        answer_parts(
            live_frame(answer),
            &flags,
            &headers,
            Some("__index_level_0__"),
        )
    })
    .await
    .map_err(|e| ApiError::Wrapped(e.to_string()))??;
    Ok(ok_response(parts))
}

/// A live query's answer as `live_live_query` sends it: id first, the 201 warning in its own
/// words and the index written as a column.
fn live_frame(mut answer: Answer) -> Answer {
    // `combine_queries` sets and resets the index on id: id moves first.
    if let Some(i) = answer.frame.columns.iter().position(|(n, _)| n == "id") {
        let id = answer.frame.columns.remove(i);
        answer.frame.columns.insert(0, id);
    }
    let limit = answer.limit;
    for w in &mut answer.warnings {
        if let Some(l) = limit.filter(|_| w.starts_with("201 - ")) {
            *w = format!(
                "result has {} entries, which is equal or more         than limit of {l} there may be more results which are not shown",
                answer.frame.rows
            );
        }
    }
    // Boolean indexing leaves a non-range index, which pyarrow writes as a column.
    let index: arrow_array::ArrayRef = Arc::new(arrow_array::Int64Array::from_iter_values(
        0..answer.frame.rows as i64,
    ));
    answer
        .frame
        .columns
        .push(("__index_level_0__".to_string(), index));
    answer
}

/// `POST .../version/{v}/views/{view}/query`: a simple query of a view (MaterializationEngine
/// 5.26.4's `assemble_view_dataframe`): the simple query's body, filters under the view's name,
/// `random_sample` ignored (the server never reads it for views), `count=True` counted.
pub async fn view(
    State(state): State<Arc<AppState>>,
    Path((ds, v, view)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let mut flags = flags(query.as_deref())?;
    flags.random_sample = None;
    let body = body::parse(&bytes, Endpoint::Simple)?;
    let route = AnswerCache::key(&[b"view", ds.as_bytes(), v.as_bytes(), view.as_bytes()]);
    let request = Request {
        flags,
        query,
        headers,
        body: bytes,
    };
    cached(state, route, request, move |state| {
        let data = crate::routes::meta::view_data(state, &ds, &v, &view)?;
        let notice = state
            .snapshot
            .view(&view)
            .and_then(|m| m.notice_text.as_deref());
        engine::simple(data, &body, &options(state, &flags), notice)
    })
    .await
}

fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, ApiError> {
    cave_wire::parse_time(text).ok_or_else(|| {
        ApiError::SchemaErrors(serde_json::json!({"timestamp": ["Not a valid datetime."]}))
    })
}

/// The closest version with sample data at or before `t`, else the first after it.
fn live_version(state: &AppState, t: DateTime<Utc>) -> Result<u32, ApiError> {
    let candidates: Vec<_> = state
        .snapshot
        .versions
        .iter()
        .filter(|v| state.data.versions.contains_key(&v.version))
        .collect();
    if candidates.iter().any(|v| v.time_stamp == t) {
        return Err(ApiError::bad_request(
            "do not use live live query to query a materialized timestamp",
        ));
    }
    candidates
        .iter()
        .filter(|v| v.time_stamp < t)
        .max_by_key(|v| v.time_stamp)
        .or_else(|| {
            candidates
                .iter()
                .filter(|v| v.time_stamp > t)
                .min_by_key(|v| v.time_stamp)
        })
        .map(|v| v.version)
        .ok_or_else(|| ApiError::Wrapped("No valid versions found".into()))
}

/// A float as Python's `str(float)` writes it (`4.0`, `0.5`).
fn python_float(f: f64) -> String {
    format!("{f:?}")
}

/// A string as Python's `repr` writes it.
fn python_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `column_names` as `str(dict)` of `{table: {model_col: df_col}}`.
fn column_names_repr(names: &[(String, Vec<(String, String)>)]) -> String {
    let tables: Vec<String> = names
        .iter()
        .map(|(table, cols)| {
            let inner: Vec<String> = cols
                .iter()
                .map(|(k, v)| format!("{}: {}", python_str(k), python_str(v)))
                .collect();
            format!("{}: {{{}}}", python_str(table), inner.join(", "))
        })
        .collect();
    format!("{{{}}}", tables.join(", "))
}

fn header_value(text: &str) -> HeaderValue {
    // Werkzeug sends latin-1; anything unsendable becomes '?' rather than failing.
    HeaderValue::from_str(&text.replace(['\n', '\r'], " ")).unwrap_or_else(|_| {
        let ascii: String = text
            .chars()
            .map(|c| {
                if c.is_ascii() && !c.is_ascii_control() {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        HeaderValue::from_str(&ascii).unwrap_or(HeaderValue::from_static(""))
    })
}

/// A 200 answer from its headers and body.
fn ok_response((headers, bytes): (HeaderMap, Vec<u8>)) -> Response {
    (StatusCode::OK, headers, Body::from(bytes)).into_response()
}

/// The headers and body of a 200 answer.
fn answer_parts(
    mut answer: Answer,
    flags: &Flags,
    request_headers: &HeaderMap,
    index: Option<&str>,
) -> Result<(HeaderMap, Vec<u8>), ApiError> {
    let accept = request_headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !flags.arrow_format {
        answer
            .warnings
            .push("Using arrow_format=False is deprecated; pass arrow_format=True for faster, type-preserving responses".into());
    }
    if !flags.direct_sql_pandas {
        answer.warnings.push(
            "Queries without direct_sql_pandas=True go through CSV and may change column types"
                .into(),
        );
    }
    let (content_type, mut bytes) = if flags.return_pyarrow {
        let compression = Compression::from_accept_encoding(&accept, flags.ipc_compress);
        (
            "data.arrow",
            encode::arrow_stream(&answer.frame, compression, index)?,
        )
    } else {
        let mut frame = answer.frame.clone();
        if let Some(index) = index {
            frame.columns.retain(|(n, _)| n != index);
        }
        (
            "application/json",
            encode::json_records(&frame).into_bytes(),
        )
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    for w in &answer.warnings {
        headers.append(header::WARNING, header_value(w));
    }
    let resolution = HeaderName::from_static("dataframe_resolution");
    for r in answer.resolution {
        headers.append(resolution.clone(), header_value(&python_float(r)));
    }
    if !answer.column_names.is_empty() {
        headers.insert(
            HeaderName::from_static("column_names"),
            header_value(&column_names_repr(&answer.column_names)),
        );
    }
    if accept.contains("gzip") {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes)
            .and_then(|_| gz.finish().map(|b| bytes = b))
            .map_err(|e| ApiError::Wrapped(format!("gzip: {e}")))?;
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    Ok((headers, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_reprs() {
        assert_eq!(python_float(4.0), "4.0");
        assert_eq!(python_float(0.5), "0.5");
        assert_eq!(python_str("it's"), "\"it's\"");
        assert_eq!(
            column_names_repr(&[(
                "t".into(),
                vec![
                    ("id".into(), "id".into()),
                    ("pt_position".into(), "pt_position".into())
                ]
            )]),
            "{'t': {'id': 'id', 'pt_position': 'pt_position'}}"
        );
    }

    #[test]
    fn flags_default_and_parse() {
        let f = flags(Some("return_pyarrow=True&arrow_format=True&split_positions=True&direct_sql_pandas=True&random_sample=5")).unwrap();
        assert!(f.return_pyarrow && f.arrow_format && f.direct_sql_pandas && !f.count);
        assert_eq!(f.random_sample, Some(5));
        assert!(flags(Some("count=maybe")).is_err());
    }
}
