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
use cave_wire::DatastackInfo;

/// The snapshot format this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The files of a datastack folder, in the order they are loaded.
pub const FILES: [&str; 5] = [
    "snapshot.json",
    "info.json",
    "versions.json",
    "tables.json",
    "value_sets.json",
];

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
        let snapshot = Snapshot {
            manifest,
            info,
            versions: versions.versions,
            tables: tables.tables,
            value_sets,
            types,
        };
        snapshot.validate(dir)?;
        Ok(snapshot)
    }

    /// The datastack files as canonical JSON text, by file name ([`FILES`]).
    pub fn render(&self) -> BTreeMap<&'static str, String> {
        let files: [(&'static str, Value); 5] = [
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
