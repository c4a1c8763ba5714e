//! The URL map: info service, schema service and materialization service on one base URL.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::server::AppState;

mod info;
mod meta;
mod query;
mod schema;

/// Every route of the three services.
pub fn routes(state: Arc<AppState>) -> Router {
    let v3 = "/materialize/api/v3/datastack/{ds}";
    let v2 = "/materialize/api/v2/datastack/{ds}";
    Router::new()
        // Info service (API.md §4).
        .route("/info/version", get(info::version))
        .route("/info/api/versions", get(info::api_versions))
        .route("/info/api/v2/datastacks", get(info::datastacks))
        .route(
            "/info/api/v2/datastack/full/{ds}",
            get(info::datastack_full),
        )
        .route("/info/api/v2/aligned_volume", get(info::aligned_volumes))
        .route(
            "/info/api/v2/aligned_volume/{name}",
            get(info::aligned_volume),
        )
        .route(
            "/info/api/v2/aligned_volume/id/{id}",
            get(info::aligned_volume_by_id),
        )
        // Schema service (API.md §5).
        .route("/schema/versions", get(schema::versions))
        .route("/schema/api/v2/type", get(schema::types))
        .route("/schema/api/v2/type/{schema_type}", get(schema::type_doc))
        .route("/schema/api/v2/types_all", get(schema::types_all))
        .route("/schema/api/v2/types", post(schema::types_multi))
        // Materialization service metadata (API.md §6.1-§6.3, §6.7, §6.8).
        .route("/materialize/api/versions", get(meta::api_versions))
        .route("/materialize/version", get(meta::server_version))
        .route(&format!("{v3}/versions"), get(meta::versions))
        .route(&format!("{v2}/versions"), get(meta::versions))
        .route(&format!("{v3}/version/{{v}}"), get(meta::version))
        .route(&format!("{v2}/version/{{v}}"), get(meta::version))
        .route(&format!("{v3}/metadata"), get(meta::versions_metadata))
        .route(&format!("{v2}/metadata"), get(meta::versions_metadata))
        .route(&format!("{v2}/version/{{v}}/tables"), get(meta::tables))
        .route(&format!("{v3}/version/{{v}}/tables"), get(meta::tables))
        .route(
            &format!("{v2}/version/{{v}}/table/{{t}}/count"),
            get(meta::count),
        )
        .route(
            &format!("{v3}/version/{{v}}/table/{{t}}/count"),
            get(meta::count),
        )
        .route(
            &format!("{v3}/version/{{v}}/table/{{t}}/metadata"),
            get(meta::table_metadata),
        )
        .route(
            &format!("{v2}/version/{{v}}/table/{{t}}/metadata"),
            get(meta::table_metadata),
        )
        .route(
            &format!("{v3}/version/{{v}}/tables/metadata"),
            get(meta::tables_metadata),
        )
        .route(
            &format!("{v3}/table/{{t}}/unique_string_values"),
            get(meta::unique_string_values),
        )
        .route(&format!("{v3}/version/{{v}}/views"), get(meta::views))
        .route(
            &format!("{v3}/version/{{v}}/views/schemas"),
            get(meta::view_schemas),
        )
        .route(
            &format!("{v3}/version/{{v}}/views/{{view}}/metadata"),
            get(meta::view_missing),
        )
        .route(
            &format!("{v3}/version/{{v}}/views/{{view}}/schema"),
            get(meta::view_missing),
        )
        // Queries (API.md §6.4-§6.6).
        .route(
            &format!("{v3}/version/{{v}}/table/{{t}}/query"),
            post(query::simple),
        )
        .route(
            &format!("{v2}/version/{{v}}/table/{{t}}/query"),
            post(query::simple),
        )
        .route(&format!("{v3}/version/{{v}}/query"), post(query::join))
        .route(&format!("{v2}/version/{{v}}/query"), post(query::join))
        .route(&format!("{v3}/query"), post(query::live))
        .route(
            &format!("{v3}/version/{{v}}/views/{{view}}/query"),
            post(query::view),
        )
        .fallback(meta::not_found)
        .with_state(state)
}
