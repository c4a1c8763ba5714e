//! CAVE's Delta Lake exports: writing one from a materialization service (the devserver's
//! sample data in tests and benchmarks, or any server), and reading them into DataFusion.
//!
//! The layout is MaterializationEngine's (`workflows/deltalake_export.py`, shared/EXPORTS.md):
//! `<root>/<datastack>/v<version>/<table>/<spec>`, one Delta table per spec:
//! - `<column>` (`id`, `pre_pt_root_id`, ...): the rows partitioned by percentile ranges of that
//!   column, in an int32 column `<column>_partition` (bucket 0 the lowest values; a value equal
//!   to a bound in the lower bucket);
//! - `<point>_morton` (the first of `ctr`, `post`, `pre`, `pt`, `bb` points): an int64 column
//!   `<point>_morton` (21 bits per axis, [`morton`]), partitioned by uniform ranges of it in
//!   `<point>_morton_partition`.
//!
//! In every spec the Morton point is int32 `_x/_y/_z`, the other points WKB as CAVE's writer
//! leaves them ([`ExportSpec::wkb`]), and `created`, `deleted`, `superceded_id` are dropped.
//!
//! Exports are read from a folder or an object store: `gs://` anonymously (public buckets, as
//! CAVE's) unless [`StoreOptions`] or the environment give a credential.
//!
//! Reading gives the service's columns whichever form the export has: WKB points as int32
//! `_x/_y/_z` ([`wkb`]), the bucket and Morton columns hidden. So the same SQL runs on an export
//! and on the service. Written with delta-rs (`deltalake` 1.1), read with its DataFusion
//! provider, which skips files by their statistics: [`ExportTable`] picks per query the spec
//! whose files a filter skips (a set of `pre_pt_root_id`s reads few files of that spec; a box
//! on the Morton point gives a range of codes, and reads few files of the Morton spec).

pub mod morton;
mod read;
mod reference;
mod root;
pub mod wkb;
mod write;

pub use read::{
    EXPORT_BARE_SCHEMA, EXPORT_SCHEMA, ExportTable, Keyed, Spec, open_exports, open_exports_with,
    register_export, register_export_root, register_export_root_with, register_export_tables,
    register_export_with, register_exports, wkb_ensure_registered,
};
pub use reference::{reference_view_sql, register_reference_view};
pub use root::{ExportRoot, StoreOptions};
pub use write::{ExportSpec, Exported, Partitioning, export, export_dir};

/// The columns an export leaves out.
pub const DROPPED: &[&str] = &["created", "deleted", "superceded_id"];

/// The name of the bucket column of `column`.
pub fn partition_column(column: &str) -> String {
    format!("{column}_partition")
}

/// The name of the Morton-code column of `point`.
pub fn morton_column(point: &str) -> String {
    format!("{point}_morton")
}
