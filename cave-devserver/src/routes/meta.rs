//! Materialization metadata routes: versions, tables, table metadata, counts, unique string
//! values and views (docs/WIRE.md: "Endpoints", "Records"), answered from the snapshot and the sample.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::{Array, StringArray};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use cave_schema::snapshot::Version;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, json_response};
use crate::query_string::query_param;
use crate::state::AppState;
use crate::store::{TableData, Values};

/// The materialization engine version the devserver claims (caveclient needs >= 5.13.0).
pub const SERVER_VERSION: &str = "5.26.4";

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, &body)
}

/// A datetime as marshmallow writes it: naive ISO in UTC, `.ffffff` only when non-zero.
pub fn naive_iso(t: &DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// The engine's own name for a datastack (`minnie65_public` is served from `minnie65_phase3_v1`).
fn internal_datastack(ds: &str) -> String {
    match ds {
        "minnie65_public" => "minnie65_phase3_v1".to_string(),
        other => other.to_string(),
    }
}

/// `GET /materialize/api/versions`.
pub async fn api_versions() -> Response {
    ok(json!([2, 3]))
}

/// `GET /materialize/version`.
pub async fn server_version() -> Response {
    ok(json!(SERVER_VERSION))
}

/// Parse a `{v}` path segment as flask's `int(signed=True)` converter does.
pub fn parse_version(v: &str) -> Option<i64> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// The snapshot version `v`, or the wrapped 500 of `validate_datastack`.
pub fn known_version<'a>(state: &'a AppState, ds: &str, v: &str) -> Result<&'a Version, ApiError> {
    parse_version(v)
        .and_then(|n| u32::try_from(n).ok())
        .and_then(|n| state.snapshot.version(n))
        .ok_or_else(|| ApiError::not_found(format!("version {v} not found in {ds}")))
}

/// The stored data of table `t` at version `v`, or the error the real server would give.
pub fn table_data<'a>(
    state: &'a AppState,
    ds: &str,
    v: &str,
    t: &str,
) -> Result<&'a TableData, ApiError> {
    let version = known_version(state, ds, v)?;
    if !version.tables.iter().any(|x| x == t) {
        return Err(ApiError::not_found(format!(
            "Analysis table '{t}' not found for version {} in datastack {ds}",
            version.version
        )));
    }
    if let Some(data) = state.data.table(version.version, t) {
        return Ok(data);
    }
    let with_data: Vec<String> = state.data.versions.keys().map(u32::to_string).collect();
    let why = if state.snapshot.schema_of(t).is_none() {
        format!(
            "table '{t}' has no schema type in the snapshot, so cave-devserver has no sample data for it"
        )
    } else {
        format!(
            "cave-devserver has sample data for versions {} only",
            with_data.join(", ")
        )
    };
    Err(ApiError::Wrapped(format!(
        "410 Gone: This materialization version is not available ({why})"
    )))
}

fn expired_flag(query: &Option<String>) -> bool {
    query
        .as_deref()
        .and_then(|q| query_param(q, "expired"))
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1"))
}

/// `GET .../versions?expired=`: version numbers (only valid ones unless `expired=True`).
pub async fn versions(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let expired = expired_flag(&query);
    let list: Vec<u32> = state
        .snapshot
        .versions
        .iter()
        .filter(|v| expired || v.valid)
        .map(|v| v.version)
        .collect();
    ok(json!(list))
}

/// A version object as `AnalysisVersionSchema` dumps it (docs/WIRE.md, "Records").
pub fn version_object(ds: &str, index: usize, v: &Version) -> Value {
    json!({
        "id": 100 + index,
        "datastack": internal_datastack(ds),
        "version": v.version,
        "time_stamp": naive_iso(&v.time_stamp),
        "valid": v.valid,
        "expires_on": v.expires_on.as_ref().map(naive_iso),
        "status": if v.valid { "AVAILABLE" } else { "EXPIRED" },
        "is_merged": v.is_merged.unwrap_or(false),
    })
}

/// `GET .../version/{v}`: one version object; 404 `"No version found"`.
pub async fn version(
    State(state): State<Arc<AppState>>,
    Path((ds, v)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let found = parse_version(&v).and_then(|n| {
        state
            .snapshot
            .versions
            .iter()
            .enumerate()
            .find(|(_, x)| i64::from(x.version) == n)
    });
    match found {
        Some((i, x)) => Ok(ok(version_object(&ds, i, x))),
        None => Err(ApiError::Returned(
            StatusCode::NOT_FOUND,
            json!("No version found"),
        )),
    }
}

/// `GET .../metadata?expired=`: every (valid) version object; 404 when there is none.
pub async fn versions_metadata(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let expired = expired_flag(&query);
    let list: Vec<Value> = state
        .snapshot
        .versions
        .iter()
        .enumerate()
        .filter(|(_, v)| expired || v.valid)
        .map(|(i, v)| version_object(&ds, i, v))
        .collect();
    if list.is_empty() {
        return Err(ApiError::Returned(
            StatusCode::NOT_FOUND,
            json!("No valid versions found"),
        ));
    }
    Ok(ok(Value::Array(list)))
}

/// `GET .../version/{v}/tables`: the version's table names.
pub async fn tables(
    State(state): State<Arc<AppState>>,
    Path((ds, v)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let version = known_version(&state, &ds, &v)?;
    Ok(ok(json!(version.tables)))
}

/// `GET .../version/{v}/table/{t}/count`: valid rows.
pub async fn count(
    State(state): State<Arc<AppState>>,
    Path((ds, v, t)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let data = table_data(&state, &ds, &v, &t)?;
    Ok(ok(json!(data.valid_rows())))
}

/// The metadata object of table `t` at `version` (docs/WIRE.md, "Records"). The snapshot holds the facts
/// that matter (schema type, reference, description, notice, resolution); the bookkeeping
/// fields are stable made-up values of the real shape.
pub fn table_metadata_object(state: &AppState, version: &Version, t: &str) -> Option<Value> {
    let meta = state.snapshot.table(t)?;
    let first_seen = state
        .snapshot
        .versions
        .iter()
        .find(|v| v.tables.iter().any(|x| x == t))
        .map(|v| naive_iso(&v.time_stamp));
    let id = 20_000
        + u64::from(version.version) * 64
        + state
            .snapshot
            .tables
            .keys()
            .position(|x| x == t)
            .unwrap_or(0) as u64;
    let aligned_volume = state
        .snapshot
        .info
        .aligned_volume
        .as_ref()
        .and_then(|v| v.name.clone());
    let pcg_table = state
        .snapshot
        .info
        .segmentation_source
        .as_deref()
        .and_then(|s| s.rsplit('/').next())
        .map(|s| {
            if s == "minnie65_public" {
                "minnie3_v1"
            } else {
                s
            }
        })
        .unwrap_or_default()
        .to_string();
    Some(json!({
        "id": id,
        "aligned_volume": aligned_volume,
        "schema": meta.schema_type,
        "schema_type": meta.schema_type,
        "table_name": t,
        "valid": true,
        "created": first_seen,
        "user_id": "56",
        "description": meta.description,
        "notice_text": meta.notice_text,
        "reference_table": meta.reference_table,
        "flat_segmentation_source": null,
        "voxel_resolution_x": meta.voxel_resolution[0],
        "voxel_resolution_y": meta.voxel_resolution[1],
        "voxel_resolution_z": meta.voxel_resolution[2],
        "write_permission": "PRIVATE",
        "read_permission": "PUBLIC",
        "last_modified": first_seen,
        "segmentation_source": "",
        "pcg_table_name": pcg_table,
        "last_updated": naive_iso(&version.time_stamp),
    }))
}

/// `GET .../version/{v}/table/{t}/metadata`; 404 JSON string for an unknown table.
///
/// Tables the snapshot knows but the version does not list (deprecated ones such as
/// `nucleus_neuron_svm`) still answer: `bodor_pt_target_proofread` references it at v1300, and
/// caveclient's table manager fetches a reference target's metadata at the pinned version and
/// fails on a 404, while the real MICrONS tutorial builds the table manager at v1300 fine.
pub async fn table_metadata(
    State(state): State<Arc<AppState>>,
    Path((ds, v, t)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let version = known_version(&state, &ds, &v)?;
    let object = table_metadata_object(&state, version, &t).ok_or_else(|| {
        ApiError::Returned(
            StatusCode::NOT_FOUND,
            json!(format!(
                "No table named '{t}' found for version '{}' in datastack '{ds}'",
                version.version
            )),
        )
    })?;
    Ok(ok(object))
}

/// `GET .../version/{v}/tables/metadata`: every table's metadata object.
pub async fn tables_metadata(
    State(state): State<Arc<AppState>>,
    Path((ds, v)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let version = known_version(&state, &ds, &v)?;
    let list: Vec<Value> = version
        .tables
        .iter()
        .filter_map(|t| table_metadata_object(&state, version, t))
        .collect();
    Ok(ok(Value::Array(list)))
}

/// `GET .../table/{t}/unique_string_values`: for each string column, its distinct values among
/// valid rows of the newest version that has sample data for the table.
pub async fn unique_string_values(
    State(state): State<Arc<AppState>>,
    Path((ds, t)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Some(data) = state
        .data
        .versions
        .values()
        .rev()
        .find_map(|tables| tables.get(&t))
    else {
        // A table the datastack has, but the sample has no rows for: no values to report.
        return if state.snapshot.table(&t).is_some() {
            Ok(ok(json!({})))
        } else {
            Err(ApiError::not_found(format!("table {t} not found in {ds}")))
        };
    };
    let valid = data.valid();
    let mut out = Map::new();
    for column in &data.columns {
        let Values::Single(array) = &column.values else {
            continue;
        };
        let Some(strings) = array.as_any().downcast_ref::<StringArray>() else {
            continue;
        };
        let distinct: BTreeSet<&str> = (0..strings.len())
            .filter(|&i| strings.is_valid(i) && valid.is_none_or(|v| v.value(i)))
            .map(|i| strings.value(i))
            .collect();
        out.insert(column.name.clone(), json!(distinct));
    }
    Ok(ok(Value::Object(out)))
}

/// The record of view `name` as `AnalysisViewSchema` dumps it (every column of the
/// `analysisviews` row), `id` its place among the snapshot's views.
fn view_record(state: &AppState, ds: &str, name: &str, with_name: bool) -> Option<Value> {
    let (index, view) = state
        .snapshot
        .views
        .iter()
        .enumerate()
        .find(|(_, (n, _))| n.as_str() == name)
        .map(|(i, (_, v))| (i, v))?;
    let [x, y, z] = view.voxel_resolution;
    let mut record = json!({
        "id": index + 1,
        "description": view.description,
        "datastack_name": ds,
        "voxel_resolution_x": x,
        "voxel_resolution_y": y,
        "voxel_resolution_z": z,
        "notice_text": view.notice_text,
        "live_compatible": view.live_compatible,
    });
    if with_name && let Value::Object(map) = &mut record {
        map.insert("table_name".into(), Value::from(name));
    }
    Some(record)
}

/// The views of version `v`, or the server's error for an unknown version.
fn listed_views<'a>(state: &'a AppState, ds: &str, v: &str) -> Result<&'a [String], ApiError> {
    Ok(&known_version(state, ds, v)?.views)
}

/// A view the version does not list: the server's `query.one()` finds no row (metadata) or
/// its reflection finds no view (schema, query); both are wrapped 500s.
fn unknown_view(view: &str) -> ApiError {
    ApiError::Wrapped(format!(
        "No row was found when one was required (view `{view}`)"
    ))
}

/// `GET .../version/{v}/views`: `{view: record}` of the version's views (without
/// `table_name`, which keys them).
pub async fn views(
    State(state): State<Arc<AppState>>,
    Path((ds, v)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut out = Map::new();
    for name in listed_views(&state, &ds, &v)? {
        if let Some(record) = view_record(&state, &ds, name, false) {
            out.insert(name.clone(), record);
        }
    }
    Ok(ok(Value::Object(out)))
}

/// `GET .../version/{v}/views/{view}/metadata`: the view's record, `table_name` included.
pub async fn view_metadata(
    State(state): State<Arc<AppState>>,
    Path((ds, v, view)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    if !listed_views(&state, &ds, &v)?.contains(&view) {
        return Err(unknown_view(&view));
    }
    let record = view_record(&state, &ds, &view, true).ok_or_else(|| unknown_view(&view))?;
    Ok(ok(record))
}

/// A view's schema as JSON text, its columns in the view's order (the server's answer keeps
/// the reflected order, as caveclient's fixture of minnie65 shows; every other answer here
/// has sorted keys).
fn schema_text(state: &AppState, view: &str) -> String {
    let columns: Vec<String> = state
        .snapshot
        .view(view)
        .map(|v| {
            v.columns
                .iter()
                .map(|c| {
                    let name = serde_json::to_string(&c.name).unwrap_or_default();
                    let kind = serde_json::to_string(&crate::error::sorted(&c.kind.to_json()))
                        .unwrap_or_default();
                    format!("{name}: {kind}")
                })
                .collect()
        })
        .unwrap_or_default();
    format!("{{{}}}", columns.join(", "))
}

fn json_text(status: StatusCode, mut text: String) -> Response {
    use axum::response::IntoResponse;
    text.push('\n');
    let mut response = (status, text).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// `GET .../version/{v}/views/{view}/schema`: `{column: {"type": ..}}`.
pub async fn view_schema(
    State(state): State<Arc<AppState>>,
    Path((ds, v, view)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    if !listed_views(&state, &ds, &v)?.contains(&view) {
        return Err(unknown_view(&view));
    }
    Ok(json_text(StatusCode::OK, schema_text(&state, &view)))
}

/// `GET .../version/{v}/views/schemas`: `{view: schema}`; 404 `{}` when there are no views,
/// as the server does.
pub async fn view_schemas(
    State(state): State<Arc<AppState>>,
    Path((ds, v)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let views = listed_views(&state, &ds, &v)?;
    if views.is_empty() {
        return Err(ApiError::Returned(StatusCode::NOT_FOUND, json!({})));
    }
    let parts: Vec<String> = views
        .iter()
        .map(|name| {
            let key = serde_json::to_string(name).unwrap_or_default();
            format!("{key}: {}", schema_text(&state, name))
        })
        .collect();
    Ok(json_text(
        StatusCode::OK,
        format!("{{{}}}", parts.join(", ")),
    ))
}

/// The rows of view `view` at version `v`, or the error the real server would give.
pub fn view_data<'a>(
    state: &'a AppState,
    ds: &str,
    v: &str,
    view: &str,
) -> Result<&'a TableData, ApiError> {
    let version = known_version(state, ds, v)?;
    if !version.views.iter().any(|x| x == view) {
        return Err(unknown_view(view));
    }
    if let Some(data) = state.data.view(version.version, view) {
        return Ok(data);
    }
    let with_data: Vec<String> = state.data.views.keys().map(u32::to_string).collect();
    Err(ApiError::Wrapped(format!(
        "410 Gone: This materialization version is not available (cave-devserver computes the \
         views {} at versions {} only)",
        crate::sample::COMPUTED_VIEWS.join(", "),
        with_data.join(", ")
    )))
}

/// Any other URL: werkzeug's 404 text, as JSON the way flask-restx sends it.
pub async fn not_found() -> ApiError {
    ApiError::Returned(
        StatusCode::NOT_FOUND,
        json!({"message": "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."}),
    )
}
