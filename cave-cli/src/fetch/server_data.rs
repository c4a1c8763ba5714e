//! What a fetch reads from the server, parsed from the answers of API.md §4-§6 into plain
//! records, before anything is merged.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::error::FetchError;
use cave_schema::snapshot::DatastackInfo;

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
    pub tables: BTreeMap<String, ServerTable>,
    /// `unique_string_values` of the chosen version's tables that have value-set columns:
    /// `table → column → values`.
    pub unique_values: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// The schema type documents the schema service returned, by name.
    pub types: BTreeMap<String, Value>,
    /// Where the type documents came from (a URL), for error messages.
    pub types_source: String,
    /// Things worth telling that are not errors (e.g. `types_all` failed and the types were
    /// read one by one).
    pub notes: Vec<String>,
}

/// A materialization version (API.md §6.2) and its tables.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerVersion {
    /// The version number.
    pub version: u32,
    /// Its timestamp.
    pub time_stamp: DateTime<Utc>,
    /// Whether it is still listed with `expired=False`.
    pub valid: bool,
    /// When it expires.
    pub expires_on: Option<DateTime<Utc>>,
    /// Merged or split layout, when the server says.
    pub is_merged: Option<bool>,
    /// Its tables (`GET .../version/{v}/tables`), sorted, without repeats.
    pub tables: Vec<String>,
}

/// One table's metadata (API.md §6.3).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerTable {
    /// The annotation table name (`annotation_table` on older servers, else `table_name`).
    pub name: String,
    /// `schema_type` (or `schema`).
    pub schema_type: Option<String>,
    /// The reference target; `""` is read as none.
    pub reference_table: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The owner's notice.
    pub notice_text: Option<String>,
    /// `voxel_resolution_x/y/z`.
    pub voxel_resolution: [f64; 3],
}

/// The datastack record.
pub fn parse_info(url: &str, value: Value) -> Result<DatastackInfo, FetchError> {
    if !value.is_object() {
        return Err(FetchError::malformed(
            url,
            format!(
                "expected the datastack record (a JSON object), found {}",
                kind(&value)
            ),
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        FetchError::malformed(
            url,
            format!("the datastack record at `{}`: {}", e.path(), e.inner()),
        )
    })
}

/// `GET .../metadata?expired=True`: the version objects, ascending (tables still empty).
pub fn parse_versions(url: &str, value: &Value) -> Result<Vec<ServerVersion>, FetchError> {
    let list = value.as_array().ok_or_else(|| {
        FetchError::malformed(
            url,
            format!("expected a list of version objects, found {}", kind(value)),
        )
    })?;
    let mut versions = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let at = |key: &str| format!("[{i}].{key}");
        let object = item.as_object().ok_or_else(|| {
            FetchError::malformed(
                url,
                format!("[{i}]: expected an object, found {}", kind(item)),
            )
        })?;
        let version = object
            .get("version")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| {
                expected(
                    url,
                    &at("version"),
                    "a version number",
                    object.get("version"),
                )
            })?;
        let time_stamp = match object.get("time_stamp") {
            Some(Value::String(s)) => parse_time(s).ok_or_else(|| {
                expected(
                    url,
                    &at("time_stamp"),
                    "a timestamp",
                    object.get("time_stamp"),
                )
            })?,
            other => return Err(expected(url, &at("time_stamp"), "a timestamp", other)),
        };
        let expires_on = match object.get("expires_on") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(parse_time(s).ok_or_else(|| {
                expected(
                    url,
                    &at("expires_on"),
                    "a timestamp or null",
                    object.get("expires_on"),
                )
            })?),
            other => {
                return Err(expected(
                    url,
                    &at("expires_on"),
                    "a timestamp or null",
                    other,
                ));
            }
        };
        let valid = object
            .get("valid")
            .and_then(Value::as_bool)
            .ok_or_else(|| expected(url, &at("valid"), "true or false", object.get("valid")))?;
        let is_merged = match object.get("is_merged") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            other => {
                return Err(expected(
                    url,
                    &at("is_merged"),
                    "true, false or null",
                    other,
                ));
            }
        };
        versions.push(ServerVersion {
            version,
            time_stamp,
            valid,
            expires_on,
            is_merged,
            tables: Vec::new(),
        });
    }
    versions.sort_by_key(|v| v.version);
    if let Some(w) = versions.windows(2).find(|w| w[0].version == w[1].version) {
        return Err(FetchError::malformed(
            url,
            format!("version {} is listed twice", w[0].version),
        ));
    }
    Ok(versions)
}

/// `GET .../version/{v}/tables`: the names, sorted, without repeats.
pub fn parse_table_list(url: &str, value: &Value) -> Result<Vec<String>, FetchError> {
    let list = value.as_array().ok_or_else(|| {
        FetchError::malformed(
            url,
            format!("expected a list of table names, found {}", kind(value)),
        )
    })?;
    let mut names = list
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| expected(url, &format!("[{i}]"), "a table name", Some(v)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    names.sort();
    names.dedup();
    Ok(names)
}

/// `GET .../version/{v}/tables/metadata`: one record per table.
pub fn parse_tables_metadata(url: &str, value: &Value) -> Result<Vec<ServerTable>, FetchError> {
    let list = value.as_array().ok_or_else(|| {
        FetchError::malformed(
            url,
            format!(
                "expected a list of table metadata objects, found {}",
                kind(value)
            ),
        )
    })?;
    list.iter()
        .enumerate()
        .map(|(i, item)| parse_table_at(url, &format!("[{i}]"), item))
        .collect()
}

/// `GET .../version/{v}/table/{t}/metadata`: one record.
pub fn parse_table_metadata(url: &str, value: &Value) -> Result<ServerTable, FetchError> {
    parse_table_at(url, "$", value)
}

fn parse_table_at(url: &str, at: &str, value: &Value) -> Result<ServerTable, FetchError> {
    let object = value.as_object().ok_or_else(|| {
        FetchError::malformed(
            url,
            format!(
                "{at}: expected a table metadata object, found {}",
                kind(value)
            ),
        )
    })?;
    let key = |k: &str| format!("{at}.{k}");
    let text = |k: &str| -> Result<Option<String>, FetchError> {
        match object.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            other => Err(expected(url, &key(k), "a string or null", other)),
        }
    };
    let name = match text("annotation_table")?.filter(|s| !s.is_empty()) {
        Some(name) => name,
        None => text("table_name")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                expected(
                    url,
                    &key("table_name"),
                    "a table name",
                    object.get("table_name"),
                )
            })?,
    };
    let schema_type = match text("schema_type")? {
        Some(s) if !s.is_empty() => Some(s),
        _ => text("schema")?.filter(|s| !s.is_empty()),
    };
    let mut voxel_resolution = [0.0; 3];
    for (slot, axis) in voxel_resolution.iter_mut().zip(["x", "y", "z"]) {
        let k = format!("voxel_resolution_{axis}");
        *slot = resolution(object, &k)
            .ok_or_else(|| expected(url, &key(&k), "a number (nm per voxel)", object.get(&k)))?;
    }
    Ok(ServerTable {
        schema_type,
        reference_table: text("reference_table")?.filter(|s| !s.is_empty()),
        description: text("description")?,
        notice_text: text("notice_text")?,
        voxel_resolution,
        name,
    })
}

/// `voxel_resolution_x` etc., or the client-side `voxel_resolution: [x, y, z]` form.
fn resolution(object: &Map<String, Value>, key: &str) -> Option<f64> {
    if let Some(v) = object.get(key) {
        return v.as_f64();
    }
    let axis = match key.chars().last()? {
        'x' => 0,
        'y' => 1,
        _ => 2,
    };
    object.get("voxel_resolution")?.get(axis)?.as_f64()
}

/// `GET .../table/{t}/unique_string_values`: `column → values` (non-strings skipped).
pub fn parse_unique_values(
    url: &str,
    value: &Value,
) -> Result<BTreeMap<String, Vec<String>>, FetchError> {
    let object = value.as_object().ok_or_else(|| {
        FetchError::malformed(
            url,
            format!(
                "expected an object of columns and their values, found {}",
                kind(value)
            ),
        )
    })?;
    object
        .iter()
        .map(|(column, values)| {
            let list = values.as_array().ok_or_else(|| {
                expected(
                    url,
                    &format!("$.{column}"),
                    "a list of values",
                    Some(values),
                )
            })?;
            let strings = list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            Ok((column.clone(), strings))
        })
        .collect()
}

/// `GET /schema/api/v2/types_all`: `name → document`.
pub fn parse_types_all(url: &str, value: Value) -> Result<BTreeMap<String, Value>, FetchError> {
    match value {
        Value::Object(map) if !map.is_empty() => Ok(map.into_iter().collect()),
        other => Err(FetchError::malformed(
            url,
            format!(
                "expected an object of schema type documents by name, found {}",
                kind(&other)
            ),
        )),
    }
}

/// The most schema types a fetch accepts: each becomes a file.
pub const MAX_SCHEMA_TYPES: usize = 1000;

/// The types of a `types_all` answer checked before they can become files: at most
/// [`MAX_SCHEMA_TYPES`], each name fit for a file name.
pub fn check_types(url: &str, types: &BTreeMap<String, Value>) -> Result<(), FetchError> {
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
    cave_schema::untrusted::check_file_name(name)
        .map_err(|e| FetchError::malformed(url, format!("schema type {e}; nothing was written")))
}

pub use cave_schema::wire::parse_time;

fn expected(url: &str, at: &str, what: &str, found: Option<&Value>) -> FetchError {
    let found = match found {
        None => "nothing".to_string(),
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null)) => {
            format!("{} `{v}`", kind(v))
        }
        Some(v) => kind(v).to_string(),
    };
    FetchError::malformed(url, format!("at {at}: expected {what}, found {found}"))
}

fn kind(v: &Value) -> &'static str {
    cave_schema::parse::json_kind(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_with_and_without_microseconds() {
        let a = parse_time("2024-06-12T10:10:01").unwrap();
        let b = parse_time("2024-06-12T10:10:01.000000").unwrap();
        let c = parse_time("2024-06-12T10:10:01Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        let d = parse_time("2025-01-13T10:10:01.286229").unwrap();
        assert_eq!(d.timestamp_subsec_micros(), 286_229);
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn table_metadata_of_old_and_new_servers() {
        let old = json!({"table_name": "nucleus_detection_v0__minnie3_v1", "annotation_table": "nucleus_detection_v0",
            "schema": "nucleus_detection", "schema_type": "nucleus_detection", "reference_table": null,
            "description": "d", "notice_text": null, "voxel_resolution": [4.0, 4.0, 40.0]});
        let t = parse_table_metadata("u", &old).unwrap();
        assert_eq!(t.name, "nucleus_detection_v0");
        assert_eq!(t.voxel_resolution, [4.0, 4.0, 40.0]);
        let new = json!({"table_name": "x", "schema": "cell_type_local", "reference_table": "",
            "voxel_resolution_x": 4.0, "voxel_resolution_y": 4.0, "voxel_resolution_z": 40});
        let t = parse_table_metadata("u", &new).unwrap();
        assert_eq!(t.schema_type.as_deref(), Some("cell_type_local"));
        assert_eq!(t.reference_table, None);
        assert_eq!(t.voxel_resolution[2], 40.0);
        let e = parse_table_metadata("u", &json!({"table_name": "x"})).unwrap_err();
        assert!(e.to_string().contains("voxel_resolution_x"), "{e}");
    }
}
