//! The schema service (docs/WIRE.md, "Schema documents"), answering from the snapshot's type documents.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, json_response};
use crate::query_string::query_param;
use crate::state::AppState;

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, &body)
}

/// `GET /schema/versions`.
pub async fn versions() -> Response {
    ok(json!([2]))
}

/// `GET /schema/api/v2/type`: every schema type name.
pub async fn types(State(state): State<Arc<AppState>>) -> Response {
    ok(json!(state.snapshot.types.names().collect::<Vec<_>>()))
}

fn unknown_type(name: &str) -> ApiError {
    ApiError::Returned(
        StatusCode::NOT_FOUND,
        json!({"message": format!(
            "Schema type '{name}' not found. You have requested this URI [/schema/api/v2/type/{name}] but did you mean /schema/api/v2/type/<string:annotation_type> ?"
        )}),
    )
}

/// `GET /schema/api/v2/type/{t}`: one document; 404 for an unknown type.
pub async fn type_doc(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let doc = state
        .snapshot
        .types
        .get_doc(&name)
        .ok_or_else(|| unknown_type(&name))?;
    Ok(ok(doc.document.clone()))
}

/// `GET /schema/api/v2/types_all`.
pub async fn types_all(State(state): State<Arc<AppState>>) -> Response {
    let all: Map<String, Value> = state
        .snapshot
        .types
        .names()
        .filter_map(|n| {
            Some((
                n.to_string(),
                state.snapshot.types.get_doc(n)?.document.clone(),
            ))
        })
        .collect();
    ok(Value::Object(all))
}

/// `POST /schema/api/v2/types?schema_names=a,b`: the named documents.
pub async fn types_multi(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let names = query
        .as_deref()
        .and_then(|q| query_param(q, "schema_names"))
        .unwrap_or_default();
    let mut out = Map::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let doc = state
            .snapshot
            .types
            .get_doc(name)
            .ok_or_else(|| unknown_type(name))?;
        out.insert(name.to_string(), doc.document.clone());
    }
    Ok(ok(Value::Object(out)))
}
