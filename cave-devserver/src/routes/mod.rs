//! The URL map: info, schema, materialization and chunkedgraph services on one base URL.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

mod info;
mod meta;
mod query;
mod schema;
pub mod segmentation;

/// Every route of the three services, at the paths of `cave_wire::paths` (the ones the client
/// fills in).
pub fn routes(state: Arc<AppState>) -> Router {
    use cave_wire::paths::materialize::{self as mat, v2, v3};
    use cave_wire::paths::{info as i, schema as s, segmentation as g};
    Router::new()
        // Info service.
        .route(i::VERSION.as_str(), get(info::version))
        .route(i::API_VERSIONS.as_str(), get(info::api_versions))
        .route(i::DATASTACKS.as_str(), get(info::datastacks))
        .route(i::DATASTACK_FULL.as_str(), get(info::datastack_full))
        .route(i::ALIGNED_VOLUMES.as_str(), get(info::aligned_volumes))
        .route(
            i::ALIGNED_VOLUME.as_str(),
            get(info::aligned_volume_by_name),
        )
        .route(
            i::ALIGNED_VOLUME_BY_ID.as_str(),
            get(info::aligned_volume_by_id),
        )
        // Schema service.
        .route(s::VERSIONS.as_str(), get(schema::versions))
        .route(s::TYPES.as_str(), get(schema::types))
        .route(s::TYPE.as_str(), get(schema::type_doc))
        .route(s::TYPES_ALL.as_str(), get(schema::types_all))
        .route(s::TYPES_MANY.as_str(), post(schema::types_multi))
        // Materialization service metadata.
        .route(mat::API_VERSIONS.as_str(), get(meta::api_versions))
        .route(mat::SERVER_VERSION.as_str(), get(meta::server_version))
        .route(v3::VERSIONS.as_str(), get(meta::versions))
        .route(v2::VERSIONS.as_str(), get(meta::versions))
        .route(v3::VERSION.as_str(), get(meta::version))
        .route(v2::VERSION.as_str(), get(meta::version))
        .route(v3::METADATA.as_str(), get(meta::versions_metadata))
        .route(v2::METADATA.as_str(), get(meta::versions_metadata))
        .route(v2::TABLES.as_str(), get(meta::tables))
        .route(v3::TABLES.as_str(), get(meta::tables))
        .route(v2::TABLE_COUNT.as_str(), get(meta::count))
        .route(v3::TABLE_COUNT.as_str(), get(meta::count))
        .route(v3::TABLE_METADATA.as_str(), get(meta::table_metadata))
        .route(v2::TABLE_METADATA.as_str(), get(meta::table_metadata))
        .route(v3::TABLES_METADATA.as_str(), get(meta::tables_metadata))
        .route(
            v3::UNIQUE_STRING_VALUES.as_str(),
            get(meta::unique_string_values),
        )
        .route(v3::VIEWS.as_str(), get(meta::views))
        .route(v3::VIEW_SCHEMAS.as_str(), get(meta::view_schemas))
        .route(v3::VIEW_METADATA.as_str(), get(meta::view_metadata))
        .route(v3::VIEW_SCHEMA.as_str(), get(meta::view_schema))
        // Queries.
        .route(v3::TABLE_QUERY.as_str(), post(query::simple))
        .route(v2::TABLE_QUERY.as_str(), post(query::simple))
        .route(v3::JOIN_QUERY.as_str(), post(query::join))
        .route(v2::JOIN_QUERY.as_str(), post(query::join))
        .route(v3::LIVE_QUERY.as_str(), post(query::live))
        .route(v3::VIEW_QUERY.as_str(), post(query::view))
        // Chunkedgraph.
        .route(g::API_VERSIONS.as_str(), get(segmentation::api_versions))
        .route(g::VERSION.as_str(), get(segmentation::version))
        .route(g::INFO.as_str(), get(segmentation::info))
        .route(g::ROOT.as_str(), get(segmentation::root))
        .route(g::ROOTS_BINARY.as_str(), post(segmentation::roots_binary))
        .route(
            g::IS_LATEST_ROOTS.as_str(),
            post(segmentation::is_latest_roots),
        )
        .route(
            g::ROOT_TIMESTAMPS.as_str(),
            post(segmentation::root_timestamps),
        )
        .route(
            g::LINEAGE_GRAPH_MULTIPLE.as_str(),
            post(segmentation::lineage_graph_multiple),
        )
        .route(
            g::PAST_ID_MAPPING.as_str(),
            get(segmentation::past_id_mapping),
        )
        .route(g::DELTA_ROOTS.as_str(), get(segmentation::delta_roots))
        .route(g::LEAVES.as_str(), get(segmentation::leaves))
        .route(g::LEAVES_MANY.as_str(), post(segmentation::leaves_many))
        .route(g::VALID_NODES.as_str(), get(segmentation::valid_nodes))
        .route(
            g::OLDEST_TIMESTAMP.as_str(),
            get(segmentation::oldest_timestamp),
        )
        .route(g::CHANGE_LOG.as_str(), get(segmentation::change_log))
        .route(
            g::TABULAR_CHANGE_LOG_MANY.as_str(),
            get(segmentation::tabular_change_log_many),
        )
        .fallback(meta::not_found)
        .with_state(state)
}
