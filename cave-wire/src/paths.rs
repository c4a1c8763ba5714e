//! The URL paths of CAVE's info, schema and materialization services, as templates that the
//! client fills and the devserver routes (docs/WIRE.md, "Endpoints").
//!
//! A template's placeholders are `{name}` (axum's syntax, so the devserver routes the very
//! strings the client fills); [`Template::url`] fills them in order, each value
//! percent-encoded as one path segment.

/// A URL path with `{placeholders}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Template(&'static str);

impl Template {
    /// The template itself, e.g. `/info/api/v2/datastack/full/{ds}` (a route for axum).
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// `base` (a server URL, trailing slashes ignored) joined with the path, its placeholders
    /// filled with `values` in order, each encoded by [`segment`]. Placeholders beyond
    /// `values` are left as they are.
    pub fn url(self, base: &str, values: &[&str]) -> String {
        let mut out = String::with_capacity(base.len() + self.0.len() + 32);
        out.push_str(base.trim_end_matches('/'));
        let mut rest = self.0;
        let mut values = values.iter();
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            out.push_str(&rest[..open]);
            match values.next() {
                Some(value) => out.push_str(&segment(value)),
                None => out.push_str(&rest[open..open + close + 1]),
            }
            rest = &rest[open + close + 1..];
        }
        debug_assert!(values.next().is_none(), "more values than placeholders");
        out.push_str(rest);
        out
    }
}

/// A URL path segment: letters, digits and `-._~` as they are, everything else
/// percent-encoded (so a table name can never add a path step or a query). `.` and `..`
/// are encoded too: URL parsers would resolve them as steps.
pub fn segment(name: &str) -> String {
    if name == "." || name == ".." {
        return name.replace('.', "%2E");
    }
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `base` (trailing slashes ignored) followed by `path`.
pub fn join_url(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// The info service, on the global server.
pub mod info {
    use super::Template;

    /// The info service's version.
    pub const VERSION: Template = Template("/info/version");
    /// The API versions it serves.
    pub const API_VERSIONS: Template = Template("/info/api/versions");
    /// The names of all datastacks.
    pub const DATASTACKS: Template = Template("/info/api/v2/datastacks");
    /// A datastack's full info record: `{ds}`.
    pub const DATASTACK_FULL: Template = Template("/info/api/v2/datastack/full/{ds}");
    /// The names of all aligned volumes.
    pub const ALIGNED_VOLUMES: Template = Template("/info/api/v2/aligned_volume");
    /// One aligned volume by name: `{name}`.
    pub const ALIGNED_VOLUME: Template = Template("/info/api/v2/aligned_volume/{name}");
    /// One aligned volume by id: `{id}`.
    pub const ALIGNED_VOLUME_BY_ID: Template = Template("/info/api/v2/aligned_volume/id/{id}");
}

/// The schema service, on the global server.
pub mod schema {
    use super::Template;

    /// The schema service's versions.
    pub const VERSIONS: Template = Template("/schema/versions");
    /// The names of all schema types.
    pub const TYPES: Template = Template("/schema/api/v2/type");
    /// One schema type's JSON Schema document: `{schema_type}`.
    pub const TYPE: Template = Template("/schema/api/v2/type/{schema_type}");
    /// Every schema type's document, by name.
    pub const TYPES_ALL: Template = Template("/schema/api/v2/types_all");
    /// Several types' documents (POST of a list of names).
    pub const TYPES_MANY: Template = Template("/schema/api/v2/types");
}

/// The materialization service, on the datastack's local server.
pub mod materialize {
    use super::Template;

    /// The server's version (MaterializationEngine's, e.g. `5.26.0`).
    pub const SERVER_VERSION: Template = Template("/materialize/version");
    /// The API versions it serves.
    pub const API_VERSIONS: Template = Template("/materialize/api/versions");

    macro_rules! api {
        ($api:literal) => {
            /// Version numbers: `{ds}` (query `expired=True|False`).
            pub const VERSIONS: Template = Template(concat!(
                "/materialize/api/",
                $api,
                "/datastack/{ds}/versions"
            ));
            /// One version's metadata: `{ds}`, `{v}`.
            pub const VERSION: Template = Template(concat!(
                "/materialize/api/",
                $api,
                "/datastack/{ds}/version/{v}"
            ));
            /// Every version's metadata: `{ds}` (query `expired=True|False`).
            pub const METADATA: Template = Template(concat!(
                "/materialize/api/",
                $api,
                "/datastack/{ds}/metadata"
            ));
            /// The tables of a version: `{ds}`, `{v}`.
            pub const TABLES: Template = Template(concat!(
                "/materialize/api/",
                $api,
                "/datastack/{ds}/version/{v}/tables"
            ));
            /// One table's metadata at a version: `{ds}`, `{v}`, `{t}`.
            pub const TABLE_METADATA: Template = Template(concat!(
                "/materialize/api/",
                $api,
                "/datastack/{ds}/version/{v}/table/{t}/metadata"
            ));
            /// One table's row count at a version: `{ds}`, `{v}`, `{t}`.
            pub const TABLE_COUNT: Template = Template(concat!(
                "/materialize/api/",
                $api,
                "/datastack/{ds}/version/{v}/table/{t}/count"
            ));
            /// A query of one table at a version (POST): `{ds}`, `{v}`, `{t}`.
            pub const TABLE_QUERY: Template = Template(concat!(
                "/materialize/api/",
                $api,
                "/datastack/{ds}/version/{v}/table/{t}/query"
            ));
            /// A query of joined tables at a version (POST): `{ds}`, `{v}`.
            pub const JOIN_QUERY: Template = Template(concat!(
                "/materialize/api/",
                $api,
                "/datastack/{ds}/version/{v}/query"
            ));
        };
    }

    /// API v2 (table lists and older clients).
    pub mod v2 {
        use super::Template;
        api!("v2");
    }

    /// API v3 (what caveclient 8 uses for metadata and queries).
    pub mod v3 {
        use super::Template;
        api!("v3");

        /// Every table's metadata at a version: `{ds}`, `{v}`.
        pub const TABLES_METADATA: Template =
            Template("/materialize/api/v3/datastack/{ds}/version/{v}/tables/metadata");
        /// The distinct values of a table's string columns: `{ds}`, `{t}`.
        pub const UNIQUE_STRING_VALUES: Template =
            Template("/materialize/api/v3/datastack/{ds}/table/{t}/unique_string_values");
        /// A live query (POST; the timestamp is in the body): `{ds}`.
        pub const LIVE_QUERY: Template = Template("/materialize/api/v3/datastack/{ds}/query");
        /// The views of a version: `{ds}`, `{v}`.
        pub const VIEWS: Template =
            Template("/materialize/api/v3/datastack/{ds}/version/{v}/views");
        /// Every view's schema at a version: `{ds}`, `{v}`.
        pub const VIEW_SCHEMAS: Template =
            Template("/materialize/api/v3/datastack/{ds}/version/{v}/views/schemas");
        /// One view's metadata: `{ds}`, `{v}`, `{view}`.
        pub const VIEW_METADATA: Template =
            Template("/materialize/api/v3/datastack/{ds}/version/{v}/views/{view}/metadata");
        /// One view's schema: `{ds}`, `{v}`, `{view}`.
        pub const VIEW_SCHEMA: Template =
            Template("/materialize/api/v3/datastack/{ds}/version/{v}/views/{view}/schema");
        /// A query of a view (POST): `{ds}`, `{v}`, `{view}`.
        pub const VIEW_QUERY: Template =
            Template("/materialize/api/v3/datastack/{ds}/version/{v}/views/{view}/query");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_in_order_and_encoded() {
        assert_eq!(
            materialize::v3::TABLE_QUERY
                .url("https://x.org/", &["minnie65_public", "1300", "a b/c"]),
            "https://x.org/materialize/api/v3/datastack/minnie65_public/version/1300/table/a%20b%2Fc/query"
        );
        assert_eq!(
            info::DATASTACK_FULL.url("http://127.0.0.1:5000", &["../x"]),
            "http://127.0.0.1:5000/info/api/v2/datastack/full/..%2Fx"
        );
        assert_eq!(
            schema::TYPES_ALL.url("http://h", &[]),
            "http://h/schema/api/v2/types_all"
        );
        assert_eq!(
            materialize::v2::TABLES.as_str(),
            "/materialize/api/v2/datastack/{ds}/version/{v}/tables"
        );
    }

    #[test]
    fn segments() {
        assert_eq!(segment("minnie65_public"), "minnie65_public");
        assert_eq!(segment("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("v1.2"), "v1.2");
        assert_eq!(join_url("http://h//", "/p"), "http://h/p");
    }
}

/// The chunkedgraph (PyChunkedGraph's segmentation service), on the datastack's local server;
/// `{table}` is the last path segment of the info record's `segmentation_source`
/// (docs/WIRE.md, "Chunkedgraph").
pub mod segmentation {
    use super::Template;

    /// The API versions it serves (a JSON list, e.g. `[0, 1]`).
    pub const API_VERSIONS: Template = Template("/segmentation/api/versions");
    /// The server's version (a JSON string, e.g. `"2.18.3"`).
    pub const VERSION: Template = Template("/segmentation/api/version");
    /// The segmentation's info (layers, chunk size, resolution): `{table}`.
    pub const INFO: Template = Template("/segmentation/table/{table}/info");

    macro_rules! v1 {
        ($($(#[$doc:meta])* $name:ident = $path:literal;)*) => {$(
            $(#[$doc])*
            pub const $name: Template =
                Template(concat!("/segmentation/api/v1/table/{table}", $path));
        )*};
    }

    v1! {
        /// The root of one node (GET, `timestamp`, `stop_layer`): `{table}`, `{node}`.
        ROOT = "/node/{node}/root";
        /// The roots of many nodes (POST, raw little-endian u64 in and out; `timestamp`,
        /// `stop_layer`): `{table}`.
        ROOTS_BINARY = "/roots_binary";
        /// The leaves of a node (GET, `bounds`, `stop_layer`): `{table}`, `{node}`.
        LEAVES = "/node/{node}/leaves";
        /// The leaves of many nodes (POST `{"node_ids": [...]}`; `bounds`, `stop_layer`):
        /// `{table}`.
        LEAVES_MANY = "/node/leaves_many";
        /// Whether roots are the latest at a time (POST `{"node_ids": [...]}`, `timestamp`):
        /// `{table}`.
        IS_LATEST_ROOTS = "/is_latest_roots";
        /// When roots were created, or (`latest`) until when they were the latest (POST
        /// `{"node_ids": [...]}`): `{table}`.
        ROOT_TIMESTAMPS = "/root_timestamps";
        /// The lineage graph of roots (POST `{"root_ids": [...]}`; `timestamp_past`,
        /// `timestamp_future`): `{table}`.
        LINEAGE_GRAPH_MULTIPLE = "/lineage_graph_multiple";
        /// Past and future ids of roots (a GET with a JSON body `{"root_ids": [...]}`;
        /// `timestamp_past`, `timestamp_future`): `{table}`.
        PAST_ID_MAPPING = "/past_id_mapping";
        /// The roots that an edit retired and created between two times (GET;
        /// `timestamp_past`, `timestamp_future`): `{table}`.
        DELTA_ROOTS = "/delta_roots";
        /// Which nodes existed in a time window (a GET with a JSON body `{"node_ids": [...]}`;
        /// `start_timestamp`, `end_timestamp`): `{table}`.
        VALID_NODES = "/valid_nodes";
        /// The time of the segmentation's first state (GET): `{table}`.
        OLDEST_TIMESTAMP = "/oldest_timestamp";
        /// A root's edit summary (GET, `filtered`): `{table}`, `{root}`.
        CHANGE_LOG = "/root/{root}/change_log";
        /// The edits of many roots as tables (a GET with a JSON body `{"root_ids": [...]}`,
        /// `filtered`): `{table}`.
        TABULAR_CHANGE_LOG_MANY = "/tabular_change_log_many";
    }
}
