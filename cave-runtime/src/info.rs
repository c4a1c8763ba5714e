//! What the info and materialization services say about a datastack: its info record
//! (API.md §4), its versions (§6.2) and its tables' metadata (§6.3).

use cave_schema::wire::parse_time;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// A datastack's info record (`GET {global}/info/api/v2/datastack/full/{datastack}`). Any field
/// may be missing; fields this type does not name are kept in `other`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DatastackInfo {
    /// What the datastack is.
    #[serde(default)]
    pub description: Option<String>,
    /// The aligned volume (EM imagery) it is built on.
    #[serde(default)]
    pub aligned_volume: Option<AlignedVolume>,
    /// The server of the materialization, chunkedgraph and annotation services.
    #[serde(default)]
    pub local_server: Option<String>,
    /// The segmentation (`graphene://...`).
    #[serde(default)]
    pub segmentation_source: Option<String>,
    /// Where skeletons are.
    #[serde(default)]
    pub skeleton_source: Option<String>,
    /// The default synapse table.
    #[serde(default)]
    pub synapse_table: Option<String>,
    /// The default soma (nucleus) table.
    #[serde(default)]
    pub soma_table: Option<String>,
    /// The neuroglancer deployment.
    #[serde(default)]
    pub viewer_site: Option<String>,
    /// The proofreading status table, if the datastack names one.
    #[serde(default)]
    pub proofreading_status_table: Option<String>,
    /// The cell identification table, if the datastack names one.
    #[serde(default)]
    pub cell_identification_table: Option<String>,
    /// The proofreading review table, if the datastack names one.
    #[serde(default)]
    pub proofreading_review_table: Option<String>,
    /// The analysis database, if any.
    #[serde(default)]
    pub analysis_database: Option<String>,
    /// Viewer resolution along x (nm per voxel).
    #[serde(default)]
    pub viewer_resolution_x: Option<f64>,
    /// Viewer resolution along y.
    #[serde(default)]
    pub viewer_resolution_y: Option<f64>,
    /// Viewer resolution along z.
    #[serde(default)]
    pub viewer_resolution_z: Option<f64>,
    /// Every other field of the record.
    #[serde(flatten)]
    pub other: Map<String, Value>,
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
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AlignedVolume {
    /// Its id.
    #[serde(default)]
    pub id: Option<i64>,
    /// Its name, e.g. `minnie65_phase3`.
    #[serde(default)]
    pub name: Option<String>,
    /// Its display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// What it is.
    #[serde(default)]
    pub description: Option<String>,
    /// Where the imagery is.
    #[serde(default)]
    pub image_source: Option<String>,
}

/// One materialization version (`GET .../metadata`, `GET .../version/{v}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VersionInfo {
    /// The version number.
    pub version: u32,
    /// When it was materialized (UTC).
    #[serde(deserialize_with = "utc")]
    pub time_stamp: DateTime<Utc>,
    /// When it expires; `None` for versions kept for good.
    #[serde(default, deserialize_with = "optional_utc")]
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

/// The metadata of one table at a version (`GET .../table/{t}/metadata`).
#[derive(Debug, Clone, PartialEq)]
pub struct TableMetadata {
    /// The table's name.
    pub table_name: String,
    /// Its schema type.
    pub schema_type: Option<String>,
    /// What it holds.
    pub description: Option<String>,
    /// The owner's notice, if any.
    pub notice_text: Option<String>,
    /// The table it references (`target_id`), for reference tables.
    pub reference_table: Option<String>,
    /// nm per voxel of its positions.
    pub voxel_resolution: Option<[f64; 3]>,
    /// Every field as the server sent it.
    pub raw: Map<String, Value>,
}

impl TableMetadata {
    /// Read the server's object (either naming convention of API.md §6.3).
    pub fn from_json(value: Value) -> Option<Self> {
        let Value::Object(raw) = value else {
            return None;
        };
        let text = |key: &str| {
            raw.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let number = |key: &str| raw.get(key).and_then(Value::as_f64);
        let table_name = text("annotation_table").or_else(|| text("table_name"))?;
        let voxel_resolution = match (
            number("voxel_resolution_x"),
            number("voxel_resolution_y"),
            number("voxel_resolution_z"),
        ) {
            (Some(x), Some(y), Some(z)) => Some([x, y, z]),
            _ => None,
        };
        Some(TableMetadata {
            table_name,
            schema_type: text("schema_type").or_else(|| text("schema")),
            description: text("description"),
            notice_text: text("notice_text"),
            reference_table: text("reference_table"),
            voxel_resolution,
            raw,
        })
    }
}

fn utc<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    parse_time(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not an ISO timestamp")))
}

fn optional_utc<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) => parse_time(&text)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not an ISO timestamp"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_with_and_without_microseconds() {
        let v: VersionInfo = serde_json::from_value(json!({
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
            serde_json::from_value(json!({"version": 2, "time_stamp": "2024-06-12T10:10:01"}))
                .unwrap();
        assert_eq!(v.time_stamp.to_rfc3339(), "2024-06-12T10:10:01+00:00");
    }

    #[test]
    fn metadata_of_both_conventions() {
        let m = TableMetadata::from_json(json!({
            "table_name": "allen_v1_column_types_slanted", "schema": "cell_type_local",
            "reference_table": "", "voxel_resolution_x": 4.0, "voxel_resolution_y": 4.0,
            "voxel_resolution_z": 40.0
        }))
        .unwrap();
        assert_eq!(m.reference_table, None);
        assert_eq!(m.schema_type.as_deref(), Some("cell_type_local"));
        assert_eq!(m.voxel_resolution, Some([4.0, 4.0, 40.0]));
        let m = TableMetadata::from_json(json!({
            "table_name": "nucleus_detection_v0__minnie3_v1",
            "annotation_table": "nucleus_detection_v0", "schema_type": "nucleus_detection"
        }))
        .unwrap();
        assert_eq!(m.table_name, "nucleus_detection_v0");
        assert!(TableMetadata::from_json(json!([1])).is_none());
    }
}
