//! What a fetch reads from the server, as the wire records of `cave_wire`, before anything is
//! merged; and the checks a snapshot needs beyond a record's shape.

use std::collections::BTreeMap;

use cave_wire::{DatastackInfo, TableMetadata, VersionInfo, ViewMetadata, ViewSchema};
use serde_json::Value;

use super::error::FetchError;

/// Everything a fetch read, in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerData {
    /// The global server the info and schema services were read from.
    pub server: String,
    /// The datastack record as served.
    pub info: DatastackInfo,
    /// Every version the server lists (`expired=True`), ascending, each with its tables.
    pub versions: Vec<ServerVersion>,
    /// The version whose table metadata was read (`--version`, or the newest valid one).
    pub chosen_version: u32,
    /// Metadata of the chosen version's tables, and of tables of other versions that the
    /// existing snapshot does not describe (read at the newest version that lists them).
    /// Each has its voxel resolution.
    pub tables: BTreeMap<String, TableMetadata>,
    /// `unique_string_values` of the chosen version's tables that have value-set columns:
    /// `table → column → values`.
    pub unique_values: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Views with their metadata and columns: those of the chosen version, and views of
    /// other versions the existing snapshot does not describe (read at the newest version that
    /// lists them).
    pub views: BTreeMap<String, ServerView>,
    /// The schema type documents the schema service returned, by name.
    pub types: BTreeMap<String, Value>,
    /// Where the type documents came from (a URL), for error messages.
    pub types_source: String,
    /// Things worth telling that are not errors (e.g. `types_all` failed and the types were
    /// read one by one).
    pub notes: Vec<String>,
}

/// A materialization version as a snapshot records it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerVersion {
    /// The server's record.
    pub record: VersionInfo,
    /// Whether it is still listed as valid (the record's `valid`, which a snapshot needs).
    pub valid: bool,
    /// Its tables (`GET .../version/{v}/tables`), sorted, without repeats.
    pub tables: Vec<String>,
    /// Its views (the keys of `GET .../version/{v}/views`), sorted.
    pub views: Vec<String>,
}

/// A view as a fetch read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerView {
    /// Its record (`GET .../version/{v}/views`).
    pub metadata: ViewMetadata,
    /// Its columns (`GET .../version/{v}/views/schemas`; none when the server has no schema
    /// for it).
    pub schema: ViewSchema,
}

impl ServerVersion {
    /// The version number.
    pub fn version(&self) -> u32 {
        self.record.version
    }
}

/// The version records, checked for what a snapshot needs (`valid`, no version twice), in
/// ascending order.
pub fn check_versions(
    url: &str,
    records: Vec<VersionInfo>,
) -> Result<Vec<ServerVersion>, FetchError> {
    let mut versions = records
        .into_iter()
        .enumerate()
        .map(|(i, record)| match record.valid {
            Some(valid) => Ok(ServerVersion {
                record,
                valid,
                tables: Vec::new(),
                views: Vec::new(),
            }),
            None => Err(FetchError::malformed(
                url,
                format!("at [{i}].valid: expected true or false, found nothing"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    versions.sort_by_key(ServerVersion::version);
    if let Some(w) = versions
        .windows(2)
        .find(|w| w[0].version() == w[1].version())
    {
        return Err(FetchError::malformed(
            url,
            format!("version {} is listed twice", w[0].version()),
        ));
    }
    Ok(versions)
}

/// A table's metadata, checked for what a snapshot needs: its voxel resolution.
pub fn check_table(url: &str, table: TableMetadata) -> Result<TableMetadata, FetchError> {
    match table.voxel_resolution {
        Some(_) => Ok(table),
        None => Err(FetchError::malformed(
            url,
            format!(
                "table `{}`: expected voxel_resolution_x/y/z (nm per voxel), found none",
                table.table_name
            ),
        )),
    }
}

/// A view's record, checked for what a snapshot needs: its voxel resolution.
pub fn check_view(url: &str, name: &str, view: &ViewMetadata) -> Result<(), FetchError> {
    cave_wire::untrusted::check_file_name(name)
        .map_err(|e| FetchError::malformed(url, format!("view {e}; nothing was written")))?;
    match view.voxel_resolution {
        Some(r) if r.iter().all(|x| x.is_finite() && *x > 0.0) => Ok(()),
        _ => Err(FetchError::malformed(
            url,
            format!(
                "view `{name}`: expected voxel_resolution_x/y/z (positive nm per voxel), found {}",
                view.voxel_resolution
                    .map_or("none".to_string(), |r| format!("{r:?}"))
            ),
        )),
    }
}

/// The most schema types a fetch accepts: each becomes a file.
pub const MAX_SCHEMA_TYPES: usize = 1000;

/// The types of a `types_all` answer checked before they can become files: at most
/// [`MAX_SCHEMA_TYPES`], each name fit for a file name.
pub fn check_types(url: &str, types: &BTreeMap<String, Value>) -> Result<(), FetchError> {
    if types.is_empty() {
        return Err(FetchError::malformed(
            url,
            "expected an object of schema type documents by name, found an empty object",
        ));
    }
    if types.len() > MAX_SCHEMA_TYPES {
        return Err(FetchError::malformed(
            url,
            format!(
                "the schema service lists {} types, more than the {MAX_SCHEMA_TYPES} a snapshot \
                 takes (the service has 57); nothing was written",
                types.len()
            ),
        ));
    }
    types.keys().try_for_each(|name| check_type_name(url, name))
}

/// A schema type name from a server, checked before it becomes a file name.
pub fn check_type_name(url: &str, name: &str) -> Result<(), FetchError> {
    cave_wire::untrusted::check_file_name(name)
        .map_err(|e| FetchError::malformed(url, format!("schema type {e}; nothing was written")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_need_valid_and_come_once() {
        let records: Vec<VersionInfo> = cave_wire::from_json(json!([
            {"version": 2, "time_stamp": "2024-06-12T10:10:01", "valid": false},
            {"version": 1, "time_stamp": "2024-06-11T10:10:01", "valid": true}
        ]))
        .unwrap();
        let v = check_versions("u", records.clone()).unwrap();
        assert_eq!(
            v.iter().map(ServerVersion::version).collect::<Vec<_>>(),
            [1, 2]
        );
        let mut twice = records.clone();
        twice[0].version = 1;
        let e = check_versions("u", twice).unwrap_err().to_string();
        assert!(e.contains("version 1 is listed twice"), "{e}");
        let mut no_valid = records;
        no_valid[1].valid = None;
        let e = check_versions("u", no_valid).unwrap_err().to_string();
        assert!(e.contains("at [1].valid: expected true or false"), "{e}");
    }

    #[test]
    fn tables_need_a_resolution() {
        let t = TableMetadata::from_json(json!({"table_name": "x"})).unwrap();
        let e = check_table("u", t).unwrap_err().to_string();
        assert!(
            e.contains("table `x`: expected voxel_resolution_x/y/z"),
            "{e}"
        );
    }
}
