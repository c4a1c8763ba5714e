//! The records the info and materialization services answer with (docs/WIRE.md, "Records"):
//! a datastack's info, its versions, its tables' metadata. One model, used by the client, the
//! `cave` tool (which stores the info record in a snapshot) and the devserver.
//!
//! Servers of different releases name some keys differently and leave many out, so every
//! field but the ones a record is about is optional, and keys this crate does not name are
//! kept. A value of the wrong type is an error naming its place (`[3].time_stamp`).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Why an answer is not the record it should be: where in the JSON, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The place in the answer, e.g. `[0].time_stamp` (`$` for the whole answer).
    pub at: String,
    /// What was expected and what came.
    pub message: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.at, self.message)
    }
}

impl std::error::Error for RecordError {}

impl RecordError {
    pub(crate) fn new(at: impl Into<String>, message: impl Into<String>) -> Self {
        RecordError {
            at: at.into(),
            message: message.into(),
        }
    }

    pub(crate) fn expected(at: impl Into<String>, what: &str, found: Option<&Value>) -> Self {
        let found = match found {
            None => "nothing".to_string(),
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                format!("{} `{v}`", json_kind(v))
            }
            Some(v) => json_kind(v).to_string(),
        };
        RecordError::new(at, format!("expected {what}, found {found}"))
    }
}

/// Any record of this module (or a list of them) from JSON, errors naming their place.
pub fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, RecordError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let at = e.path().to_string();
        let at = if at == "." { "$".to_string() } else { at };
        RecordError::new(at, e.into_inner().to_string())
    })
}

/// The JSON kind of a value, for messages (`a string`, `an object`, ...).
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A datastack's info record (`GET {global}/info/api/v2/datastack/full/{datastack}`). Any
/// field may be missing; fields this type does not name are kept in `extra`, so a record
/// written back (a snapshot's `info.json`) loses nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatastackInfo {
    /// The aligned volume (EM imagery) it is built on.
    #[serde(default)]
    pub aligned_volume: Option<AlignedVolume>,
    /// The analysis database, if any.
    #[serde(default)]
    pub analysis_database: Option<String>,
    /// The cell identification table, if the datastack names one.
    #[serde(default)]
    pub cell_identification_table: Option<String>,
    /// What the datastack is.
    #[serde(default)]
    pub description: Option<String>,
    /// The server of the materialization, chunkedgraph and annotation services.
    #[serde(default)]
    pub local_server: Option<String>,
    /// The proofreading review table, if the datastack names one.
    #[serde(default)]
    pub proofreading_review_table: Option<String>,
    /// The proofreading status table, if the datastack names one.
    #[serde(default)]
    pub proofreading_status_table: Option<String>,
    /// The segmentation (`graphene://...`).
    #[serde(default)]
    pub segmentation_source: Option<String>,
    /// Where skeletons are.
    #[serde(default)]
    pub skeleton_source: Option<String>,
    /// The default soma (nucleus) table.
    #[serde(default)]
    pub soma_table: Option<String>,
    /// The default synapse table.
    #[serde(default)]
    pub synapse_table: Option<String>,
    /// Viewer resolution along x (nm per voxel).
    #[serde(default)]
    pub viewer_resolution_x: Option<f64>,
    /// Viewer resolution along y.
    #[serde(default)]
    pub viewer_resolution_y: Option<f64>,
    /// Viewer resolution along z.
    #[serde(default)]
    pub viewer_resolution_z: Option<f64>,
    /// The neuroglancer deployment.
    #[serde(default)]
    pub viewer_site: Option<String>,
    /// Every other key of the record, as served.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl DatastackInfo {
    /// `[x, y, z]` nm per voxel of the viewer, when all three are given.
    pub fn viewer_resolution(&self) -> Option<[f64; 3]> {
        Some([
            self.viewer_resolution_x?,
            self.viewer_resolution_y?,
            self.viewer_resolution_z?,
        ])
    }
}

/// An aligned volume of the info service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlignedVolume {
    /// What it is.
    #[serde(default)]
    pub description: Option<String>,
    /// Its display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Its id.
    #[serde(default)]
    pub id: Option<i64>,
    /// Where the imagery is (`precomputed://...`).
    #[serde(default)]
    pub image_source: Option<String>,
    /// Its name, e.g. `minnie65_phase3`.
    #[serde(default)]
    pub name: Option<String>,
    /// Every other key, as served.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One materialization version (`GET .../metadata`, `GET .../version/{v}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VersionInfo {
    /// The version number.
    pub version: u32,
    /// When it was materialized (UTC).
    #[serde(deserialize_with = "crate::time::utc")]
    pub time_stamp: DateTime<Utc>,
    /// When it expires; `None` for versions kept for good.
    #[serde(default, deserialize_with = "crate::time::optional_utc")]
    pub expires_on: Option<DateTime<Utc>>,
    /// Whether it can be queried.
    #[serde(default)]
    pub valid: Option<bool>,
    /// AVAILABLE, RUNNING, FAILED or EXPIRED.
    #[serde(default)]
    pub status: Option<String>,
    /// The datastack that holds it (a public datastack's versions live in its parent).
    #[serde(default)]
    pub datastack: Option<String>,
    /// Whether root ids are merged into the annotation tables.
    #[serde(default)]
    pub is_merged: Option<bool>,
}

/// The metadata of one table at a version (`GET .../table/{t}/metadata`, or one item of
/// `.../tables/metadata`). Servers use two naming conventions; both are read.
#[derive(Debug, Clone, PartialEq)]
pub struct TableMetadata {
    /// The annotation table's name (`annotation_table` on older servers, else `table_name`).
    pub table_name: String,
    /// Its schema type (`schema_type`, or `schema`).
    pub schema_type: Option<String>,
    /// What it holds.
    pub description: Option<String>,
    /// The owner's notice, if any.
    pub notice_text: Option<String>,
    /// The table it references (`target_id`), for reference tables; `""` is read as none.
    pub reference_table: Option<String>,
    /// nm per voxel of its positions (`voxel_resolution_x/y/z`, or `voxel_resolution: [x, y, z]`).
    pub voxel_resolution: Option<[f64; 3]>,
    /// Every key as the server sent it.
    pub raw: Map<String, Value>,
}

impl TableMetadata {
    /// Read one table's record.
    pub fn from_json(value: Value) -> Result<Self, RecordError> {
        Self::read("$", value)
    }

    /// Read a list of them (`.../tables/metadata`).
    pub fn list_from_json(value: Value) -> Result<Vec<Self>, RecordError> {
        match value {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| Self::read(&format!("[{i}]"), item))
                .collect(),
            other => Err(RecordError::expected(
                "$",
                "a list of table metadata objects",
                Some(&other),
            )),
        }
    }

    fn read(at: &str, value: Value) -> Result<Self, RecordError> {
        let raw = match value {
            Value::Object(raw) => raw,
            other => {
                return Err(RecordError::expected(
                    at,
                    "a table metadata object",
                    Some(&other),
                ));
            }
        };
        let key = |k: &str| {
            if at == "$" {
                k.to_string()
            } else {
                format!("{at}.{k}")
            }
        };
        // Descriptions and notices are kept as served; in names, `""` means none.
        let text = |k: &str| -> Result<Option<String>, RecordError> {
            match raw.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                other => Err(RecordError::expected(key(k), "a string or null", other)),
            }
        };
        let name = |k: &str| Ok::<_, RecordError>(text(k)?.filter(|s| !s.is_empty()));
        let table_name = match name("annotation_table")? {
            Some(table) => table,
            None => name("table_name")?.ok_or_else(|| {
                RecordError::expected(key("table_name"), "a table name", raw.get("table_name"))
            })?,
        };
        let schema_type = match name("schema_type")? {
            Some(s) => Some(s),
            None => name("schema")?,
        };
        let voxel_resolution = voxel_resolution(&raw, &key)?;
        Ok(TableMetadata {
            table_name,
            schema_type,
            description: text("description")?,
            notice_text: text("notice_text")?,
            reference_table: name("reference_table")?,
            voxel_resolution,
            raw,
        })
    }
}

/// nm per voxel from `voxel_resolution_x/y/z`, or `voxel_resolution: [x, y, z]` (both
/// conventions: records on the wire, caveclient's rewritten fixtures).
pub(crate) fn voxel_resolution(
    raw: &Map<String, Value>,
    key: &dyn Fn(&str) -> String,
) -> Result<Option<[f64; 3]>, RecordError> {
    let axes = [
        "voxel_resolution_x",
        "voxel_resolution_y",
        "voxel_resolution_z",
    ];
    if axes.iter().any(|k| raw.contains_key(*k)) {
        let mut out = [0.0; 3];
        for (slot, k) in out.iter_mut().zip(axes) {
            *slot = raw.get(k).and_then(Value::as_f64).ok_or_else(|| {
                RecordError::expected(key(k), "a number (nm per voxel)", raw.get(k))
            })?;
        }
        return Ok(Some(out));
    }
    match raw.get("voxel_resolution") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(list)) if list.len() == 3 && list.iter().all(Value::is_number) => Ok(
            Some([0, 1, 2].map(|i| list[i].as_f64().unwrap_or(f64::NAN))),
        ),
        other => Err(RecordError::expected(
            key("voxel_resolution"),
            "three numbers (nm per voxel)",
            other,
        )),
    }
}

/// `GET .../table/{t}/unique_string_values`: `column → values`. Values that are not strings
/// are skipped (a server may list nulls).
pub fn unique_string_values(value: Value) -> Result<BTreeMap<String, Vec<String>>, RecordError> {
    let Value::Object(object) = value else {
        return Err(RecordError::expected(
            "$",
            "an object of columns and their values",
            Some(&value),
        ));
    };
    object
        .into_iter()
        .map(|(column, values)| match values {
            Value::Array(list) => {
                let strings = list
                    .into_iter()
                    .filter_map(|v| match v {
                        Value::String(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                Ok((column, strings))
            }
            other => Err(RecordError::expected(
                column.clone(),
                "a list of values",
                Some(&other),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_with_and_without_microseconds() {
        let v: VersionInfo = from_json(json!({
            "id": 84, "datastack": "minnie65_phase3_v1", "version": 1,
            "time_stamp": "2021-04-12T08:10:00.255735", "valid": true,
            "expires_on": null, "status": "AVAILABLE", "is_merged": true
        }))
        .unwrap();
        assert_eq!(
            v.time_stamp.to_rfc3339(),
            "2021-04-12T08:10:00.255735+00:00"
        );
        assert_eq!(v.expires_on, None);
        let v: VersionInfo =
            from_json(json!({"version": 2, "time_stamp": "2024-06-12T10:10:01"})).unwrap();
        assert_eq!(v.time_stamp.to_rfc3339(), "2024-06-12T10:10:01+00:00");
    }

    #[test]
    fn errors_name_their_place() {
        let e = from_json::<Vec<VersionInfo>>(json!([
            {"version": 1, "time_stamp": "2024-06-12T10:10:01"},
            {"version": 2, "time_stamp": "13 Jan 2025"}
        ]))
        .unwrap_err();
        assert_eq!(e.at, "[1].time_stamp");
        assert!(
            e.to_string()
                .contains("expected a timestamp, found `13 Jan 2025`"),
            "{e}"
        );
        let e = from_json::<Vec<VersionInfo>>(json!({"a": 1})).unwrap_err();
        assert_eq!(e.at, "$");
    }

    #[test]
    fn table_metadata_of_both_conventions() {
        let m = TableMetadata::from_json(json!({
            "table_name": "allen_v1_column_types_slanted", "schema": "cell_type_local",
            "reference_table": "", "voxel_resolution_x": 4.0, "voxel_resolution_y": 4.0,
            "voxel_resolution_z": 40
        }))
        .unwrap();
        assert_eq!(m.reference_table, None);
        assert_eq!(m.schema_type.as_deref(), Some("cell_type_local"));
        assert_eq!(m.voxel_resolution, Some([4.0, 4.0, 40.0]));
        let m = TableMetadata::from_json(json!({
            "table_name": "nucleus_detection_v0__minnie3_v1",
            "annotation_table": "nucleus_detection_v0", "schema_type": "nucleus_detection",
            "voxel_resolution": [4.0, 4.0, 40.0]
        }))
        .unwrap();
        assert_eq!(m.table_name, "nucleus_detection_v0");
        assert_eq!(m.voxel_resolution, Some([4.0, 4.0, 40.0]));
        let e =
            TableMetadata::list_from_json(json!([{"table_name": "x", "voxel_resolution_x": 4}]))
                .unwrap_err();
        assert_eq!(e.at, "[0].voxel_resolution_y");
        let e = TableMetadata::from_json(json!({"table_name": 5})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "at table_name: expected a string or null, found a number `5`"
        );
        assert!(TableMetadata::from_json(json!([1])).is_err());
    }

    #[test]
    fn info_keeps_unknown_keys_and_writes_them_back() {
        let value = json!({"aligned_volume": {"name": "v", "other": 1}, "local_server": "https://m",
            "new_key": [1, 2]});
        let info: DatastackInfo = from_json(value).unwrap();
        assert_eq!(info.extra["new_key"], json!([1, 2]));
        assert_eq!(
            info.aligned_volume.as_ref().unwrap().extra["other"],
            json!(1)
        );
        let back = serde_json::to_value(&info).unwrap();
        assert_eq!(back["new_key"], json!([1, 2]));
        assert_eq!(back["aligned_volume"]["other"], json!(1));
    }

    #[test]
    fn unique_values_skip_non_strings() {
        let v = unique_string_values(json!({"cell_type": ["a", null, "b"]})).unwrap();
        assert_eq!(v["cell_type"], ["a", "b"]);
        assert!(
            unique_string_values(json!({"c": 1}))
                .unwrap_err()
                .to_string()
                .contains("at c")
        );
    }
}
