//! The chunkedgraph client end to end against a loopback mock server ([`mock`]) that records
//! every request and answers with canned JSON or bytes:
//! - `requests`: each call's method, path, query string, `Content-Type`, `Accept-Encoding`,
//!   token headers and body, byte for byte those caveclient 8.2.1 sent for the same calls
//!   (recorded from caveclient against a recording server; the strings are copied here), and
//!   caveclient's compositions (`latest_roots`, `original_roots`, `suggest_latest_root`)
//!   as their sequences of requests;
//! - `answers`: the typed results of the canned answers;
//! - `chunks`: big inputs in several requests, several at once, answers in input order;
//! - `errors`: wrong lengths, answers that are not JSON or of the wrong shape, ids as
//!   strings, PCG's 401 of a public table and its 500, setup errors, refused arguments.

mod answers;
mod chunks;
mod errors;
mod mock;
mod requests;

use chrono::{DateTime, Utc};
use mock::{Reply, Seen};
use serde_json::{Value, json};

/// The v1 path of minnie65_public's table.
pub const P: &str = "/segmentation/api/v1/table/minnie65_public";

/// Two roots.
pub const R1: i64 = 864691135000000001;
pub const R2: i64 = 864691135000000002;

/// 2025-01-13T10:10:01.286229Z, `1736763001.286229`.
pub fn t() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_736_763_001_286_229).unwrap()
}

/// 2024-01-01T00:00:00Z, `1704067200.0`.
pub fn t1() -> DateTime<Utc> {
    DateTime::from_timestamp(1_704_067_200, 0).unwrap()
}

/// The lineage of R1 (created 1600000000.5), edited into R2 (1700000000.0), edited into a
/// root of 1800000000.0 (after [`t`]).
pub fn lineage() -> Value {
    json!({
        "directed": true, "multigraph": false, "graph": {},
        "nodes": [
            {"id": R1, "timestamp": 1600000000.5},
            {"id": R2, "timestamp": 1700000000.0, "operation_id": 5},
            {"id": 864691135000000003i64, "timestamp": 1800000000.0, "operation_id": 6}
        ],
        "links": [
            {"source": R1, "target": R2},
            {"source": R2, "target": 864691135000000003i64}
        ]
    })
}

/// The canned answers of a healthy server.
pub fn canned(seen: &Seen) -> Reply {
    let body: Value = serde_json::from_slice(&seen.body).unwrap_or(Value::Null);
    let asked = body["node_ids"].as_array().map_or(0, Vec::len);
    let path = seen.path();
    let end = |suffix: &str| path.ends_with(suffix);
    if end("/api/versions") {
        Reply::json(json!([0, 1]))
    } else if end("/api/version") {
        Reply::json(json!("2.18.3"))
    } else if end("/roots_binary") {
        Reply::ids(&seen.ids().iter().map(|i| i + 1000).collect::<Vec<_>>())
    } else if end("/root") {
        Reply::json(json!({"root_id": 864691135000000009i64}))
    } else if end("/is_latest_roots") {
        Reply::json(json!({"is_latest": (0..asked).map(|i| i % 2 == 0).collect::<Vec<_>>()}))
    } else if end("/root_timestamps") {
        Reply::json(json!({"timestamp": vec![1600000000.5; asked]}))
    } else if end("/past_id_mapping") {
        Reply::json(json!({
            "past_id_map": {R1.to_string(): [7, "8"]},
            "future_id_map": {"7": R2, "8": R2.to_string()}
        }))
    } else if end("/lineage_graph_multiple") {
        Reply::json(lineage())
    } else if end("/delta_roots") {
        Reply::json(json!({"old_roots": [R1], "new_roots": [R2.to_string()]}))
    } else if end("/leaves") {
        Reply::json(json!({"leaf_ids": [11, 12, 13, 14]}))
    } else if end("/leaves_many") {
        Reply::json(json!({R1.to_string(): [11], R2.to_string(): ["12", 13]}))
    } else if end("/valid_nodes") {
        Reply::json(json!({"valid_roots": [R1]}))
    } else if end("/oldest_timestamp") {
        Reply::json(json!({"iso": "2020-06-01 00:00:00+00:00"}))
    } else if end("/change_log") {
        Reply::json(json!({
            "n_splits": 2, "n_mergers": 1,
            "user_info": {"42": {"n_splits": 2, "n_mergers": 1}},
            "operations_ids": [5, 6], "past_ids": [R1, R2]
        }))
    } else if end("/info") {
        Reply::json(json!({"graph": {"n_layers": 10, "chunk_size": [256, 256, 512]}}))
    } else {
        Reply::pcg_error(404, &format!("no route {path}"))
    }
}
