//! The info service (docs/WIRE.md, "Records"): the datastack record from the snapshot, with `local_server`
//! pointing at this server so that clients send their materialization requests here.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::{ApiError, json_response};
use crate::state::AppState;

/// The info service version the real deployment reports.
pub const INFO_VERSION: &str = "4.3.3";

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, &body)
}

/// `GET /info/version`.
pub async fn version() -> Response {
    ok(json!(INFO_VERSION))
}

/// `GET /info/api/versions`.
pub async fn api_versions() -> Response {
    ok(json!([2]))
}

/// `GET /info/api/v2/datastacks`.
pub async fn datastacks(State(state): State<Arc<AppState>>) -> Response {
    ok(json!([state.snapshot.manifest.datastack]))
}

/// The datastack record as this server serves it.
pub fn datastack_record(state: &AppState) -> Value {
    let mut record = serde_json::to_value(&state.snapshot.info).unwrap_or(Value::Null);
    if let Some(map) = record.as_object_mut() {
        map.insert("local_server".into(), json!(state.local_server));
    }
    record
}

/// `GET /info/api/v2/datastack/full/{ds}` (the auth layer has checked `ds`).
pub async fn datastack_full(
    State(state): State<Arc<AppState>>,
    Path(_ds): Path<String>,
) -> Response {
    ok(datastack_record(&state))
}

/// `GET /info/api/v2/aligned_volume`.
pub async fn aligned_volumes(State(state): State<Arc<AppState>>) -> Response {
    let names: Vec<&String> = aligned_volume(&state)
        .and_then(|v| v.name.as_ref())
        .into_iter()
        .collect();
    ok(json!(names))
}

/// The snapshot's aligned volume (a loaded snapshot always has one).
fn aligned_volume(state: &AppState) -> Option<&cave_wire::AlignedVolume> {
    state.snapshot.info.aligned_volume.as_ref()
}

fn aligned_volume_value(state: &AppState) -> Value {
    serde_json::to_value(&state.snapshot.info.aligned_volume).unwrap_or(Value::Null)
}

/// `GET /info/api/v2/aligned_volume/{name}`.
pub async fn aligned_volume_by_name(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    if aligned_volume(&state).and_then(|v| v.name.as_deref()) == Some(name.as_str()) {
        Ok(ok(aligned_volume_value(&state)))
    } else {
        Err(ApiError::Returned(
            StatusCode::NOT_FOUND,
            json!({"message": format!("aligned_volume {name} not found")}),
        ))
    }
}

/// `GET /info/api/v2/aligned_volume/id/{id}`.
pub async fn aligned_volume_by_id(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let known = aligned_volume(&state).and_then(|v| v.id);
    if id.parse::<i64>().ok().is_some_and(|id| Some(id) == known) {
        Ok(ok(aligned_volume_value(&state)))
    } else {
        Err(ApiError::Returned(
            StatusCode::NOT_FOUND,
            json!({"message": format!("aligned_volume id {id} not found")}),
        ))
    }
}
