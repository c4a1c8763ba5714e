//! The committed snapshot of one datastack (docs/SNAPSHOT.md): load, validate, write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical_json;
use crate::columns::{Column, ColumnRole, WireType};
use crate::error::{SnapshotError, read_file};
use crate::schema::SchemaType;
use crate::suggest::did_you_mean;
use crate::types::TypeSet;
use cave_wire::{DatastackInfo, ViewColumnType};

/// The snapshot format this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The files of a datastack folder, in the order they are loaded. `views.json` may be missing
/// (a snapshot without views); the others must be there.
pub const FILES: [&str; 6] = [
    "snapshot.json",
    "info.json",
    "versions.json",
    "tables.json",
    "value_sets.json",
    "views.json",
];

/// The files of [`FILES`] a snapshot may leave out.
pub const OPTIONAL_FILES: [&str; 1] = ["views.json"];

/// How a fact in the snapshot is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// Read from a CAVE server by `cave fetch`.
    Server,
    /// Printed in a real response, or a fixture copied from one.
    Seen,
    /// Stated in official documentation.
    Doc,
    /// Derived from seen or documented facts.
    Inferred,
    /// An estimate.
    Guess,
}

/// `snapshot.json`: what this snapshot is and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The datastack name, e.g. `minnie65_public`.
    pub datastack: String,
    /// The folder of schema types, relative to the datastack folder.
    pub types_dir: String,
    /// How the snapshot was made.
    pub provenance: SnapshotProvenance,
}

/// How the whole snapshot was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotProvenance {
    /// Reconstructed from documentation, or fetched from a server.
    pub kind: SnapshotKind,
    /// The server a fetch read.
    pub server: Option<String>,
    /// A paragraph for humans.
    pub summary: String,
}

/// Reconstructed or fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotKind {
    /// Put together from public documentation; no live server was read.
    Reconstructed,
    /// Written by `cave fetch` from a server.
    Fetched,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionsFile {
    versions: Vec<Version>,
}

/// One materialization version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// The version number.
    pub version: u32,
    /// When it was taken (UTC).
    #[serde(with = "utc")]
    pub time_stamp: DateTime<Utc>,
    /// Whether the server still lists it as available.
    pub valid: bool,
    /// When it expires, if known.
    #[serde(with = "utc_opt")]
    pub expires_on: Option<DateTime<Utc>>,
    /// Merged (one table) or split (annotation + segmentation tables) layout, if known.
    pub is_merged: Option<bool>,
    /// The tables it has, sorted.
    pub tables: Vec<String>,
    /// How the table list is known.
    pub tables_provenance: Provenance,
    /// The views it has (`GET .../version/{v}/views`), sorted; each is described in
    /// `views.json`. Left out of the file when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<String>,
    /// How the view list is known; left out of the file when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub views_provenance: Option<Provenance>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TablesFile {
    tables: BTreeMap<String, TableMeta>,
}

/// Metadata of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableMeta {
    /// Its schema type; None when unknown (the table is then untyped).
    pub schema_type: Option<String>,
    /// The table a reference table's `target_id` points into.
    pub reference_table: Option<String>,
    /// The table description.
    pub description: Option<String>,
    /// The table owner's notice, shown with query results.
    pub notice_text: Option<String>,
    /// nm per voxel of the stored positions.
    pub voxel_resolution: [f64; 3],
    /// How the schema type and description are known.
    pub provenance: TableProvenance,
}

/// How a table's facts are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableProvenance {
    /// Of `schema_type`.
    pub schema_type: Option<Provenance>,
    /// Of `description`.
    pub description: Option<Provenance>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewsFile {
    views: BTreeMap<String, ViewMeta>,
}

/// Metadata and columns of one view (docs/SNAPSHOT.md, "`<datastack>/views.json`").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewMeta {
    /// The view description.
    pub description: Option<String>,
    /// The owner's notice, shown with query results.
    pub notice_text: Option<String>,
    /// nm per voxel of its positions.
    pub voxel_resolution: [f64; 3],
    /// Whether the view can be queried on the live database, if known.
    pub live_compatible: Option<bool>,
    /// Its columns, in the view's order (`GET .../views/{view}/schema`); empty when they are
    /// not known (the view then gets no types, as a table without a schema type).
    pub columns: Vec<ViewColumnEntry>,
    /// How its facts are known.
    pub provenance: ViewProvenance,
}

/// One column of a view in `views.json`: `{"name": .., "type": .., "format": ..}` as the view
/// schema endpoint types it (`format` only for `date-time`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawViewColumn", into = "RawViewColumn")]
pub struct ViewColumnEntry {
    /// The column name (a point's name for a `SpatialPoint`).
    pub name: String,
    /// Its type.
    pub kind: ViewColumnType,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawViewColumn {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format: Option<String>,
}

impl TryFrom<RawViewColumn> for ViewColumnEntry {
    type Error = String;

    fn try_from(raw: RawViewColumn) -> Result<Self, String> {
        let kind =
            ViewColumnType::from_server(&raw.kind, raw.format.as_deref()).ok_or_else(|| {
                let known: Vec<String> = ViewColumnType::ALL
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect();
                format!(
                    "column `{}`: expected a type of {}, found `{}`{}",
                    raw.name,
                    known.join(", "),
                    raw.kind,
                    raw.format
                        .as_deref()
                        .map(|f| format!(" with format `{f}`"))
                        .unwrap_or_default()
                )
            })?;
        Ok(ViewColumnEntry {
            name: raw.name,
            kind,
        })
    }
}

impl From<ViewColumnEntry> for RawViewColumn {
    fn from(c: ViewColumnEntry) -> Self {
        let (kind, format) = c.kind.as_server();
        RawViewColumn {
            name: c.name,
            kind: kind.to_string(),
            format: format.map(str::to_string),
        }
    }
}

/// How a view's facts are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewProvenance {
    /// Of `description`.
    pub description: Option<Provenance>,
    /// Of `columns` (names and types).
    pub columns: Option<Provenance>,
    /// For hand-entered views: what the sources say and what they leave open (e.g. columns
    /// the view has that no source names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ViewMeta {
    /// The columns a query of the view returns, in the model tables use: wire type and role
    /// from the view column's type and name (docs/WIRE.md, "Views"). Every column is nullable:
    /// a view's schema says nothing about nulls.
    pub fn columns(&self) -> Vec<Column> {
        self.columns
            .iter()
            .map(|c| view_column(&c.name, c.kind))
            .collect()
    }
}

/// A view column in the table model. Roles come from names, as the view schema has no
/// points: `id` is an annotation id, `root_id`/`*_root_id` a root id, `*_supervoxel_id` a
/// supervoxel id (integers only), a `SpatialPoint` a position.
pub fn view_column(name: &str, kind: ViewColumnType) -> Column {
    let (wire, role) = match kind {
        ViewColumnType::Integer if name == "id" => (WireType::Int64, ColumnRole::AnnotationId),
        ViewColumnType::Integer if name == "root_id" || name.ends_with("_root_id") => {
            (WireType::Int64, ColumnRole::RootId)
        }
        ViewColumnType::Integer if name == "supervoxel_id" || name.ends_with("_supervoxel_id") => {
            (WireType::Int64, ColumnRole::SupervoxelId)
        }
        ViewColumnType::Integer => (WireType::Int64, ColumnRole::Payload),
        ViewColumnType::Float | ViewColumnType::Number => (WireType::Float64, ColumnRole::Payload),
        ViewColumnType::String => (WireType::Utf8, ColumnRole::Payload),
        ViewColumnType::DateTime => (WireType::Timestamp, ColumnRole::Payload),
        ViewColumnType::Boolean => (WireType::Bool, ColumnRole::Payload),
        ViewColumnType::SpatialPoint => (WireType::Position, ColumnRole::Position),
    };
    Column {
        name: name.to_string(),
        wire,
        nullable: true,
        role,
        point: None,
        field: None,
    }
}

/// `value_sets.json`: vocabularies of string columns.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueSets {
    /// `table → column → value set name`.
    pub columns: BTreeMap<String, BTreeMap<String, String>>,
    /// The value sets by name.
    pub value_sets: BTreeMap<String, ValueSet>,
}

/// A closed (but growable) vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueSet {
    /// What the values classify.
    pub doc: String,
    /// How the vocabulary is known.
    pub provenance: Provenance,
    /// The values, in their meaningful order.
    pub values: Vec<ValueDoc>,
}

/// One value of a vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueDoc {
    /// The string as the server sends it.
    pub value: String,
    /// What it means.
    pub doc: String,
}

/// A datastack snapshot: everything the code generator needs, no network.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `snapshot.json`.
    pub manifest: Manifest,
    /// `info.json`.
    pub info: DatastackInfo,
    /// `versions.json`, ascending.
    pub versions: Vec<Version>,
    /// `tables.json`.
    pub tables: BTreeMap<String, TableMeta>,
    /// `value_sets.json`.
    pub value_sets: ValueSets,
    /// `views.json` (empty when the file is missing).
    pub views: BTreeMap<String, ViewMeta>,
    /// The schema types of `types_dir`.
    pub types: TypeSet,
}

impl Snapshot {
    /// Load and validate the datastack folder `dir` (e.g. `schemas/minnie65_public`) and the
    /// schema types its `snapshot.json` points to.
    ///
    /// A snapshot a crash interrupted while it was being written is read as its journal says
    /// (the whole new one, see [`crate::commit`]).
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, SnapshotError> {
        let logical = dir.as_ref();
        let journal_dir = crate::commit::parent(logical);
        let read_dir = crate::commit::view(logical, &journal_dir);
        let dir = read_dir.as_path();
        let manifest_file = dir.join("snapshot.json");
        let manifest: Manifest = read_json(&manifest_file)?;
        if manifest.format_version != FORMAT_VERSION {
            return Err(SnapshotError::invalid(
                &manifest_file,
                "$.format_version",
                format!(
                    "expected format version {FORMAT_VERSION}, found {}",
                    manifest.format_version
                ),
            ));
        }
        let types_dir = crate::commit::view(&logical.join(&manifest.types_dir), &journal_dir);
        if !types_dir.is_dir() {
            return Err(SnapshotError::invalid(
                &manifest_file,
                "$.types_dir",
                format!(
                    "expected a folder of schema types, but `{}` is not a folder",
                    types_dir.display()
                ),
            ));
        }
        let types = TypeSet::load(&types_dir)?;
        let info: DatastackInfo = read_json(&dir.join("info.json"))?;
        let versions: VersionsFile = read_json(&dir.join("versions.json"))?;
        let tables: TablesFile = read_json(&dir.join("tables.json"))?;
        let value_sets: ValueSets = read_json(&dir.join("value_sets.json"))?;
        let views_path = dir.join("views.json");
        let views: ViewsFile = if views_path.exists() {
            read_json(&views_path)?
        } else {
            ViewsFile::default()
        };
        let snapshot = Snapshot {
            manifest,
            info,
            versions: versions.versions,
            tables: tables.tables,
            value_sets,
            views: views.views,
            types,
        };
        snapshot.validate(dir)?;
        Ok(snapshot)
    }

    /// The datastack files as canonical JSON text, by file name ([`FILES`]).
    pub fn render(&self) -> BTreeMap<&'static str, String> {
        let files: [(&'static str, Value); 6] = [
            ("snapshot.json", to_value(&self.manifest)),
            ("info.json", to_value(&self.info)),
            (
                "versions.json",
                to_value(&VersionsFile {
                    versions: self.versions.clone(),
                }),
            ),
            (
                "tables.json",
                to_value(&TablesFile {
                    tables: self.tables.clone(),
                }),
            ),
            ("value_sets.json", to_value(&self.value_sets)),
            (
                "views.json",
                to_value(&ViewsFile {
                    views: self.views.clone(),
                }),
            ),
        ];
        files
            .into_iter()
            .map(|(name, v)| (name, canonical_json::to_string(&v)))
            .collect()
    }

    /// Write the datastack files into `dir` (not the shared types folder: see
    /// [`TypeSet::write`] and [`Snapshot::write_with_types`]), touching only files whose content
    /// changes, all or none of them ([`crate::commit`]). Returns the files written.
    pub fn write(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, SnapshotError> {
        crate::commit::write_folders(&[(dir.as_ref().to_path_buf(), self.files())])
    }

    /// Write the datastack files into `dir` and the schema types into its `types_dir`, as one
    /// commit: after a crash at any moment, both folders are old or both are new. Returns the
    /// files written.
    pub fn write_with_types(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, SnapshotError> {
        let dir = dir.as_ref();
        crate::commit::write_folders(&[
            (dir.to_path_buf(), self.files()),
            (dir.join(&self.manifest.types_dir), self.types.files()?),
        ])
    }

    fn files(&self) -> BTreeMap<String, String> {
        self.render()
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect()
    }

    /// The version `v`, if the snapshot has it.
    pub fn version(&self, v: u32) -> Option<&Version> {
        self.versions.iter().find(|x| x.version == v)
    }

    /// The newest version.
    pub fn latest_version(&self) -> Option<&Version> {
        self.versions.last()
    }

    /// The metadata of `table`.
    pub fn table(&self, table: &str) -> Option<&TableMeta> {
        self.tables.get(table)
    }

    /// The metadata and columns of `view`.
    pub fn view(&self, view: &str) -> Option<&ViewMeta> {
        self.views.get(view)
    }

    /// The schema type of `table`, when the table and its type are known.
    pub fn schema_of(&self, table: &str) -> Option<&SchemaType> {
        self.types
            .get(self.tables.get(table)?.schema_type.as_deref()?)
    }

    /// The value set of a column, with its name, when the snapshot has one.
    pub fn value_set(&self, table: &str, column: &str) -> Option<(&str, &ValueSet)> {
        let name = self.value_sets.columns.get(table)?.get(column)?;
        Some((name.as_str(), self.value_sets.value_sets.get(name)?))
    }

    /// The cross-checks of [`Snapshot::load`], for a snapshot made in memory (`fetch`);
    /// errors name the files of `dir`.
    pub fn validate(&self, dir: &Path) -> Result<(), SnapshotError> {
        let versions_file = dir.join("versions.json");
        let tables_file = dir.join("tables.json");
        let values_file = dir.join("value_sets.json");
        let info_file = dir.join("info.json");

        for (i, v) in self.versions.iter().enumerate() {
            if i > 0 && self.versions[i - 1].version >= v.version {
                return Err(SnapshotError::invalid(
                    &versions_file,
                    format!("$.versions[{i}].version"),
                    format!(
                        "expected versions in ascending order without repeats, found {} after {}",
                        v.version,
                        self.versions[i - 1].version
                    ),
                ));
            }
            for (j, t) in v.tables.iter().enumerate() {
                if j > 0 && v.tables[j - 1] >= *t {
                    return Err(SnapshotError::invalid(
                        &versions_file,
                        format!("$.versions[{i}].tables[{j}]"),
                        format!(
                            "expected table names sorted without repeats, found `{t}` after `{}`",
                            v.tables[j - 1]
                        ),
                    ));
                }
                if !self.tables.contains_key(t) {
                    return Err(SnapshotError::invalid(
                        &versions_file,
                        format!("$.versions[{i}].tables[{j}]"),
                        format!(
                            "expected a table described in tables.json, found `{t}`{}",
                            did_you_mean(t, self.tables.keys())
                        ),
                    ));
                }
            }
        }

        for (name, meta) in &self.tables {
            let at = |key: &str| format!("$.tables.{name}.{key}");
            let schema = match &meta.schema_type {
                None => None,
                Some(t) => Some(self.types.get(t).ok_or_else(|| {
                    SnapshotError::invalid(
                        &tables_file,
                        at("schema_type"),
                        format!(
                            "expected a schema type of the types folder, found `{t}`{}",
                            did_you_mean(t, self.types.names())
                        ),
                    )
                })?),
            };
            if let Some(target) = &meta.reference_table
                && !self.tables.contains_key(target)
            {
                return Err(SnapshotError::invalid(
                    &tables_file,
                    at("reference_table"),
                    format!(
                        "expected a table described in tables.json, found `{target}`{}",
                        did_you_mean(target, self.tables.keys())
                    ),
                ));
            }
            match (schema.map(SchemaType::is_reference), &meta.reference_table) {
                (Some(true), None) => {
                    return Err(SnapshotError::invalid(
                        &tables_file,
                        at("reference_table"),
                        format!(
                            "expected a table name: schema type `{}` is a reference annotation (it has `target_id`), found null",
                            schema.map(|s| s.name.as_str()).unwrap_or_default()
                        ),
                    ));
                }
                (Some(false), Some(target)) => {
                    return Err(SnapshotError::invalid(
                        &tables_file,
                        at("reference_table"),
                        format!(
                            "expected null: schema type `{}` is not a reference annotation, found `{target}`",
                            schema.map(|s| s.name.as_str()).unwrap_or_default()
                        ),
                    ));
                }
                _ => {}
            }
            if let Some(i) = meta
                .voxel_resolution
                .iter()
                .position(|r| !(r.is_finite() && *r > 0.0))
            {
                return Err(SnapshotError::invalid(
                    &tables_file,
                    format!("$.tables.{name}.voxel_resolution[{i}]"),
                    format!(
                        "expected a positive number of nm per voxel, found {}",
                        meta.voxel_resolution[i]
                    ),
                ));
            }
        }

        self.validate_views(dir)?;

        if self.info.aligned_volume.is_none() {
            return Err(SnapshotError::invalid(
                &info_file,
                "$.aligned_volume",
                "expected the datastack's aligned volume (an object), found nothing".to_string(),
            ));
        }

        for (key, table) in [
            ("soma_table", &self.info.soma_table),
            ("synapse_table", &self.info.synapse_table),
        ] {
            if let Some(t) = table
                && !self.tables.contains_key(t)
            {
                return Err(SnapshotError::invalid(
                    &info_file,
                    format!("$.{key}"),
                    format!("expected a table described in tables.json, found `{t}`"),
                ));
            }
        }

        for (set_name, set) in &self.value_sets.value_sets {
            if set.values.is_empty() {
                return Err(SnapshotError::invalid(
                    &values_file,
                    format!("$.value_sets.{set_name}.values"),
                    "expected at least one value, found none".to_string(),
                ));
            }
            for (i, v) in set.values.iter().enumerate() {
                if set.values[..i].iter().any(|w| w.value == v.value) {
                    return Err(SnapshotError::invalid(
                        &values_file,
                        format!("$.value_sets.{set_name}.values[{i}].value"),
                        format!("expected each value once, found `{}` again", v.value),
                    ));
                }
            }
        }
        for (table, columns) in &self.value_sets.columns {
            if let Some(view) = self.views.get(table) {
                self.validate_view_value_sets(&values_file, table, view, columns)?;
                continue;
            }
            let Some(schema) = self.schema_of(table) else {
                return Err(SnapshotError::invalid(
                    &values_file,
                    format!("$.columns.{table}"),
                    format!(
                        "expected a table of tables.json with a known schema type, found `{table}`{}",
                        did_you_mean(table, self.tables.keys())
                    ),
                ));
            };
            let all: Vec<Column> = schema.columns();
            for (column, set) in columns {
                let at = format!("$.columns.{table}.{column}");
                match all.iter().find(|c| c.name == *column) {
                    Some(c) if c.wire == WireType::Utf8 && c.role == ColumnRole::Payload => {}
                    Some(c) => {
                        return Err(SnapshotError::invalid(
                            &values_file,
                            at,
                            format!(
                                "expected a utf8 payload column, found a {} {} column",
                                c.wire.as_str(),
                                c.role.as_str()
                            ),
                        ));
                    }
                    None => {
                        return Err(SnapshotError::invalid(
                            &values_file,
                            at,
                            format!(
                                "expected a column of `{table}` (schema type `{}`), found `{column}`{}",
                                schema.name,
                                did_you_mean(column, all.iter().map(|c| &c.name))
                            ),
                        ));
                    }
                }
                if !self.value_sets.value_sets.contains_key(set) {
                    return Err(SnapshotError::invalid(
                        &values_file,
                        at,
                        format!(
                            "expected a value set of `value_sets`, found `{set}`{}",
                            did_you_mean(set, self.value_sets.value_sets.keys())
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Snapshot {
    /// The views of every version are described in `views.json`, listed sorted; each view's
    /// columns are unique and its resolution positive.
    fn validate_views(&self, dir: &Path) -> Result<(), SnapshotError> {
        let versions_file = dir.join("versions.json");
        let views_file = dir.join("views.json");
        for (i, v) in self.versions.iter().enumerate() {
            for (j, name) in v.views.iter().enumerate() {
                let at = format!("$.versions[{i}].views[{j}]");
                if j > 0 && v.views[j - 1] >= *name {
                    return Err(SnapshotError::invalid(
                        &versions_file,
                        at,
                        format!(
                            "expected view names sorted without repeats, found `{name}` after `{}`",
                            v.views[j - 1]
                        ),
                    ));
                }
                if !self.views.contains_key(name) {
                    return Err(SnapshotError::invalid(
                        &versions_file,
                        at,
                        format!(
                            "expected a view described in views.json, found `{name}`{}",
                            did_you_mean(name, self.views.keys())
                        ),
                    ));
                }
            }
            if !v.views.is_empty() && v.views_provenance.is_none() {
                return Err(SnapshotError::invalid(
                    &versions_file,
                    format!("$.versions[{i}].views_provenance"),
                    "expected how the view list is known (a provenance), found nothing".to_string(),
                ));
            }
        }
        for (name, view) in &self.views {
            if let Some(i) = view
                .voxel_resolution
                .iter()
                .position(|r| !(r.is_finite() && *r > 0.0))
            {
                return Err(SnapshotError::invalid(
                    &views_file,
                    format!("$.views.{name}.voxel_resolution[{i}]"),
                    format!(
                        "expected a positive number of nm per voxel, found {}",
                        view.voxel_resolution[i]
                    ),
                ));
            }
            if view.columns.is_empty() != view.provenance.columns.is_none() {
                return Err(SnapshotError::invalid(
                    &views_file,
                    format!("$.views.{name}.provenance.columns"),
                    if view.columns.is_empty() {
                        "expected null: a view without columns is one whose columns are unknown"
                    } else {
                        "expected how the columns are known (a provenance), found null"
                    }
                    .to_string(),
                ));
            }
            for (k, c) in view.columns.iter().enumerate() {
                let at = format!("$.views.{name}.columns[{k}].name");
                if c.name.is_empty() {
                    return Err(SnapshotError::invalid(
                        &views_file,
                        at,
                        "expected a column name, found an empty string".to_string(),
                    ));
                }
                if view.columns[..k].iter().any(|d| d.name == c.name) {
                    return Err(SnapshotError::invalid(
                        &views_file,
                        at,
                        format!("expected each column once, found `{}` again", c.name),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Value sets of a view's columns: string columns of the view, known sets.
    fn validate_view_value_sets(
        &self,
        values_file: &Path,
        view_name: &str,
        view: &ViewMeta,
        columns: &BTreeMap<String, String>,
    ) -> Result<(), SnapshotError> {
        for (column, set) in columns {
            let at = format!("$.columns.{view_name}.{column}");
            match view.columns.iter().find(|c| c.name == *column) {
                Some(c) if c.kind == ViewColumnType::String => {}
                Some(c) => {
                    return Err(SnapshotError::invalid(
                        values_file,
                        at,
                        format!(
                            "expected a string column of the view, found a column of type {}",
                            c.kind
                        ),
                    ));
                }
                None => {
                    return Err(SnapshotError::invalid(
                        values_file,
                        at,
                        format!(
                            "expected a column of view `{view_name}`, found `{column}`{}",
                            did_you_mean(column, view.columns.iter().map(|c| &c.name))
                        ),
                    ));
                }
            }
            if !self.value_sets.value_sets.contains_key(set) {
                return Err(SnapshotError::invalid(
                    values_file,
                    at,
                    format!(
                        "expected a value set of `value_sets`, found `{set}`{}",
                        did_you_mean(set, self.value_sets.value_sets.keys())
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Read and deserialize a snapshot file; errors carry the JSON path of the offending value.
fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, SnapshotError> {
    let text = read_file(path)?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            // Not a JSON document: the line and column say where, a JSON path would not.
            let at = format!("line {}, column {}", inner.line(), inner.column());
            let message = crate::parse::json_error_text(inner);
            return SnapshotError::invalid(path, at, format!("invalid JSON: {message}"));
        }
        let json_path = match e.path().to_string().as_str() {
            "." => "$".to_string(),
            p => format!("$.{p}"),
        };
        SnapshotError::invalid(path, json_path, e.into_inner().to_string())
    })?;
    de.end().map_err(|e| {
        SnapshotError::invalid(path, "$", format!("expected the end of the document: {e}"))
    })?;
    Ok(value)
}

fn to_value<T: Serialize>(v: &T) -> Value {
    // The snapshot types hold only strings, numbers, bools, maps with string keys and vectors,
    // which always serialize; Null would only hide a bug, and the round-trip test would see it.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Timestamps as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
mod utc {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    pub fn parse(s: &str) -> Result<DateTime<Utc>, String> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                format!(
                    "expected a UTC timestamp like `2025-01-13T10:10:01.286229Z`, found `{s}` ({e})"
                )
            })
    }
}

mod utc_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::utc::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| super::utc::parse(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}
