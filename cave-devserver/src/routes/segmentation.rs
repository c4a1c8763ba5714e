//! The chunkedgraph service (PyChunkedGraph's segmentation API v1) over the sample's edit
//! history (docs/WIRE.md, "Chunkedgraph"): query parameters and bodies read as PyChunkedGraph
//! reads them, the public table's timestamp cap, answers and errors in its shapes.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use cave_wire::chunkedgraph::{
    DeltaRootsAnswer, IsLatestAnswer, LeavesAnswer, LeavesManyAnswer, OldestTimestampAnswer,
    RootAnswer, RootTimestampsAnswer, ValidNodesAnswer,
};

use crate::chunkedgraph::answers::{Graph, Refusal, seconds};
use crate::chunkedgraph::{ROOT_LAYER, Service};
use crate::query_string::query_param;
use crate::state::AppState;

/// The PyChunkedGraph version the devserver reports (caveclient's version checks accept it).
pub const PCG_VERSION: &str = "2.18.3";

/// An answer or PyChunkedGraph's error.
type Answer = Result<Response, CgError>;

/// PyChunkedGraph's error: `{"timestamp", "duration", "code", "message": "[code]: text"}`.
#[derive(Debug)]
pub struct CgError(Refusal);

impl From<Refusal> for CgError {
    fn from(r: Refusal) -> Self {
        CgError(r)
    }
}

fn refuse(status: u16, message: impl Into<String>) -> CgError {
    CgError(Refusal {
        status,
        message: message.into(),
    })
}

impl IntoResponse for CgError {
    fn into_response(self) -> Response {
        let Refusal { status, message } = self.0;
        let body = json!({
            "timestamp": chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
            "duration": 0.1,
            "code": status,
            "message": format!("[{status}]: {message}"),
        });
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, compact(&body, false)).into_response()
    }
}

/// JSON as PyChunkedGraph writes it: compact, a newline after; ids as strings with
/// `int64_as_str` (numbers past 32 bits, which are the ids).
fn compact(value: &Value, int64_as_str: bool) -> Response {
    let value = if int64_as_str {
        ids_as_strings(value.clone())
    } else {
        value.clone()
    };
    let mut text = serde_json::to_string(&value).unwrap_or_else(|_| "null".into());
    text.push('\n');
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

fn ids_as_strings(v: Value) -> Value {
    match v {
        Value::Number(n) if n.as_u64().is_some_and(|x| x > u64::from(u32::MAX)) => {
            Value::String(n.to_string())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(ids_as_strings).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, ids_as_strings(v))).collect())
        }
        other => other,
    }
}

fn answer<T: serde::Serialize>(record: &T, query: &Query) -> Answer {
    let value = serde_json::to_value(record).map_err(|e| refuse(500, e.to_string()))?;
    Ok(compact(&value, query.flag("int64_as_str", false)))
}

/// The request's query string, read as PyChunkedGraph (flask) reads it.
struct Query(String);

impl Query {
    fn get(&self, name: &str) -> Option<String> {
        query_param(&self.0, name)
    }

    /// A `toboolean` flag: `true`/`1`/`false`/`0` in any case; anything else, or nothing, is
    /// the default (flask's `args.get(type=...)` returns the default when the type fails).
    fn flag(&self, name: &str, default: bool) -> bool {
        match self.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            _ => default,
        }
    }

    /// A float Unix-seconds parameter in ns, `default` (ns) when missing.
    fn time(&self, name: &str, default: Option<i64>) -> Result<Option<i64>, CgError> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && s.abs() < 1e11)
                // Whole microseconds: a float of seconds holds them exactly enough.
                .map(|s| Some((s * 1e6).round() as i64 * 1_000))
                .ok_or_else(|| {
                    refuse(
                        400,
                        format!("Timestamp parameter {name} is not a valid unix timestamp"),
                    )
                }),
        }
    }

    fn int(&self, name: &str) -> Result<Option<u32>, CgError> {
        self.get(name)
            .map(|v| {
                v.parse::<u32>()
                    .map_err(|_| refuse(400, format!("{name}: invalid literal for int(): '{v}'")))
            })
            .transpose()
    }

    /// `bounds=x0-x1_y0-y1_z0-z1`.
    fn bounds(&self) -> Result<Option<[[i64; 2]; 3]>, CgError> {
        let Some(text) = self.get("bounds") else {
            return Ok(None);
        };
        let bad = || {
            refuse(
                400,
                format!("bounds: cannot read {text:?} as x0-x1_y0-y1_z0-z1"),
            )
        };
        let axes: Vec<&str> = text.split('_').collect();
        if axes.len() != 3 {
            return Err(bad());
        }
        let mut out = [[0i64; 2]; 3];
        for (k, axis) in axes.iter().enumerate() {
            let (lo, hi) = axis.split_once('-').ok_or_else(bad)?;
            out[k] = [
                lo.parse().map_err(|_| bad())?,
                hi.parse().map_err(|_| bad())?,
            ];
        }
        Ok(Some(out))
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// What every table route starts with: the table checked, the graph, the query string.
struct Call<'a> {
    service: &'a Service,
    graph: &'a Graph,
    query: Query,
}

impl Call<'_> {
    /// A timestamp parameter that defaults to now, capped for a public table (`remap_public`
    /// caps `timestamp` and `timestamp_future`).
    fn capped(&self, name: &str) -> Result<i64, CgError> {
        let t = self.query.time(name, None)?.unwrap_or_else(now_ns);
        Ok(self.service.cap(t))
    }

    /// A public table refuses a path id created after its release.
    fn check_released(&self, id: i64) -> Result<(), CgError> {
        let Some(release) = self.service.release else {
            return Ok(());
        };
        let created = match self.graph.history.root(id) {
            Some(r) => r.created,
            None => self.graph.history.oldest,
        };
        if created >= release {
            return Err(refuse(401, "root_id not valid at timestamp"));
        }
        Ok(())
    }
}

fn call<'a>(state: &'a AppState, table: &str, query: Option<String>) -> Result<Call<'a>, CgError> {
    let service = &state.chunkedgraph;
    if table != service.table {
        return Err(refuse(404, format!("table {table} not found")));
    }
    Ok(Call {
        service,
        graph: service.graph(&state.data),
        query: Query(query.unwrap_or_default()),
    })
}

/// A path node id.
fn node_id(text: &str) -> Result<i64, CgError> {
    text.parse::<u64>()
        .ok()
        .and_then(|n| i64::try_from(n).ok())
        .ok_or_else(|| {
            refuse(
                400,
                format!("invalid literal for int() with base 10: '{text}'"),
            )
        })
}

/// `{key: [ids]}` from a JSON body.
fn body_ids(bytes: &[u8], key: &str) -> Result<Vec<i64>, CgError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| refuse(400, format!("the body is not JSON: {e}")))?;
    let list = value
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| refuse(400, format!("the body has no list '{key}'")))?;
    list.iter()
        .map(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .and_then(|n| i64::try_from(n).ok())
                .ok_or_else(|| refuse(400, format!("'{key}' holds {v}, not a node id")))
        })
        .collect()
}

/// `GET /segmentation/api/versions`.
pub async fn api_versions() -> Response {
    compact(&json!([0, 1]), false)
}

/// `GET /segmentation/api/version`.
pub async fn version() -> Response {
    compact(&json!(PCG_VERSION), false)
}

/// `GET /segmentation/table/{table}/info`: the segmentation's layout (minnie65's).
pub async fn info(State(state): State<Arc<AppState>>, Path(table): Path<String>) -> Answer {
    if table != state.chunkedgraph.table {
        return Err(refuse(404, format!("table {table} not found")));
    }
    let info = json!({
        "app": {"supported_api_versions": [0, 1]},
        "chunks_start_at_voxel_offset": true,
        "data_dir": "gs://minnie65_pcg/ws",
        "data_type": "uint64",
        "graph": {
            "bounding_box": [2048, 2048, 512],
            "chunk_size": [256, 256, 512],
            "cv_mip": 0,
            "n_bits_for_layer_id": 8,
            "n_layers": ROOT_LAYER,
            "spatial_bit_masks": {},
        },
        "mesh": "graphene_meshes",
        "mesh_dir": "graphene_meshes",
        "num_channels": 1,
        "scales": [{
            "chunk_sizes": [[256, 256, 32]],
            "encoding": "raw",
            "key": "8_8_40",
            "resolution": [8, 8, 40],
            "size": [192424, 131051, 13008],
            "voxel_offset": [26385, 30308, 14850],
        }],
        "sharded_mesh": true,
        "type": "segmentation",
        "verify_mesh": false,
    });
    Ok(compact(&info, false))
}

/// `GET .../node/{node}/root`.
pub async fn root(
    State(state): State<Arc<AppState>>,
    Path((table, node)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Answer {
    let c = call(&state, &table, query)?;
    let node = node_id(&node)?;
    c.check_released(node)?;
    let t = c.capped("timestamp")?;
    let stop = c.query.int("stop_layer")?;
    let root = c.graph.root_of(node, t, stop);
    if root == 0 {
        return Err(refuse(400, format!("node {node} not found")));
    }
    answer(&RootAnswer { root_id: root }, &c.query)
}

/// `POST .../roots_binary`: little-endian u64 in, the same out.
pub async fn roots_binary(
    State(state): State<Arc<AppState>>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    let c = call(&state, &table, query)?;
    if !body.len().is_multiple_of(8) {
        return Err(refuse(
            400,
            format!(
                "buffer size {} must be a multiple of element size 8",
                body.len()
            ),
        ));
    }
    let t = c.capped("timestamp")?;
    let stop = c.query.int("stop_layer")?;
    let mut out = Vec::with_capacity(body.len());
    for chunk in body.chunks_exact(8) {
        let node = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) as i64;
        out.extend_from_slice(&(c.graph.root_of(node, t, stop) as u64).to_le_bytes());
    }
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], out).into_response())
}

/// `POST .../is_latest_roots`.
pub async fn is_latest_roots(
    State(state): State<Arc<AppState>>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    let c = call(&state, &table, query)?;
    let ids = body_ids(&body, "node_ids")?;
    let t = c.capped("timestamp")?;
    answer(
        &IsLatestAnswer {
            is_latest: c.graph.is_latest(&ids, t),
        },
        &c.query,
    )
}

/// `POST .../root_timestamps`.
pub async fn root_timestamps(
    State(state): State<Arc<AppState>>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    let c = call(&state, &table, query)?;
    let ids = body_ids(&body, "node_ids")?;
    let t = c.capped("timestamp")?;
    let latest = c.query.flag("latest", false);
    let ns = c.graph.root_timestamps(&ids, latest, t)?;
    answer(
        &RootTimestampsAnswer {
            timestamp: ns.into_iter().map(seconds).collect(),
        },
        &c.query,
    )
}

/// `POST .../lineage_graph_multiple`.
pub async fn lineage_graph_multiple(
    State(state): State<Arc<AppState>>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    let c = call(&state, &table, query)?;
    let ids = body_ids(&body, "root_ids")?;
    let past = c.query.time("timestamp_past", Some(0))?.unwrap_or(0);
    let future = c.capped("timestamp_future")?;
    answer(&c.graph.lineage(&ids, past, future)?, &c.query)
}

/// `GET .../past_id_mapping` (a JSON body on a GET). The server ignores `timestamp_future`
/// here (`SegmentHistory` keeps now): so does the devserver, capped for a public table.
pub async fn past_id_mapping(
    State(state): State<Arc<AppState>>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    let c = call(&state, &table, query)?;
    let ids = body_ids(&body, "root_ids")?;
    let past = c
        .query
        .time("timestamp_past", Some(c.graph.history.oldest))?
        .unwrap_or(0);
    let future = c.service.cap(now_ns());
    answer(&c.graph.past_id_mapping(&ids, past, future)?, &c.query)
}

/// `GET .../delta_roots`.
pub async fn delta_roots(
    State(state): State<Arc<AppState>>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let c = call(&state, &table, query)?;
    let past = c
        .query
        .time("timestamp_past", None)?
        .ok_or_else(|| refuse(400, "Timestamp parameter timestamp_past is mandatory"))?;
    let future = c.capped("timestamp_future")?;
    let (old_roots, new_roots) = c.graph.delta_roots(past, future);
    answer(
        &DeltaRootsAnswer {
            old_roots,
            new_roots,
        },
        &c.query,
    )
}

/// `GET .../node/{node}/leaves`.
pub async fn leaves(
    State(state): State<Arc<AppState>>,
    Path((table, node)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Answer {
    let c = call(&state, &table, query)?;
    let node = node_id(&node)?;
    c.check_released(node)?;
    let stop = c.query.int("stop_layer")?.unwrap_or(1);
    let leaf_ids = c.graph.leaves(node, c.query.bounds()?, stop)?;
    answer(&LeavesAnswer { leaf_ids }, &c.query)
}

/// `POST .../node/leaves_many`.
pub async fn leaves_many(
    State(state): State<Arc<AppState>>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    let c = call(&state, &table, query)?;
    let ids = body_ids(&body, "node_ids")?;
    if ids.iter().any(|&id| c.check_released(id).is_err()) {
        return Err(refuse(401, "node_ids are all not valid at timestamp"));
    }
    let stop = c.query.int("stop_layer")?.unwrap_or(1);
    let bounds = c.query.bounds()?;
    let mut leaves = std::collections::BTreeMap::new();
    for id in ids {
        leaves.insert(id, c.graph.leaves(id, bounds, stop)?);
    }
    answer(&LeavesManyAnswer { leaves }, &c.query)
}

/// `GET .../valid_nodes` (a JSON body on a GET).
pub async fn valid_nodes(
    State(state): State<Arc<AppState>>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    let c = call(&state, &table, query)?;
    let ids = body_ids(&body, "node_ids")?;
    let start = c.query.time("start_timestamp", None)?;
    let end = c.query.time("end_timestamp", None)?;
    answer(
        &ValidNodesAnswer {
            valid_roots: c.graph.valid_nodes(&ids, start, end),
        },
        &c.query,
    )
}

/// `GET .../oldest_timestamp`.
pub async fn oldest_timestamp(
    State(state): State<Arc<AppState>>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let c = call(&state, &table, query)?;
    let oldest = chrono::DateTime::from_timestamp_nanos(c.graph.history.oldest);
    // Python's isoformat(" "): microseconds only when there are some.
    let iso = if oldest.timestamp_subsec_micros() == 0 {
        oldest.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
    } else {
        oldest.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string()
    };
    answer(&OldestTimestampAnswer { iso }, &c.query)
}

/// `GET .../root/{root}/change_log`.
pub async fn change_log(
    State(state): State<Arc<AppState>>,
    Path((table, root)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Answer {
    let c = call(&state, &table, query)?;
    let root = node_id(&root)?;
    c.check_released(root)?;
    answer(&c.graph.change_log(root)?, &c.query)
}

/// `GET .../tabular_change_log_many` (a JSON body on a GET): per root, its edits as a data
/// frame written by pandas' `to_json()` (columns of `{"row": value}`), inside a JSON string.
pub async fn tabular_change_log_many(
    State(state): State<Arc<AppState>>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    let c = call(&state, &table, query)?;
    let ids = body_ids(&body, "root_ids")?;
    let h = &c.graph.history;
    let mut out = serde_json::Map::new();
    for id in ids {
        let r = c.graph.known_root(id)?;
        let ops = c.graph.past_ops(r);
        let column = |f: &dyn Fn(&crate::chunkedgraph::Operation) -> Value| -> Value {
            Value::Object(
                ops.iter()
                    .enumerate()
                    .map(|(i, &op)| (i.to_string(), f(&h.ops[op])))
                    .collect(),
            )
        };
        let ids_of = |v: &[usize]| json!(v.iter().map(|&x| h.roots[x].id).collect::<Vec<_>>());
        let frame = json!({
            "operation_id": column(&|o| json!(o.id)),
            "timestamp": column(&|o| json!(o.ts / 1_000_000)),
            "user_id": column(&|o| json!(o.user_id.to_string())),
            "before_root_ids": column(&|o| ids_of(&o.before)),
            "after_root_ids": column(&|o| ids_of(&o.after)),
            "is_merge": column(&|o| json!(o.is_merge)),
            "user_name": column(&|o| json!(format!("user {}", o.user_id))),
            "user_affiliation": column(&|_| json!("cave-devserver")),
        });
        out.insert(id.to_string(), Value::String(frame.to_string()));
    }
    Ok(compact(&Value::Object(out), false))
}
