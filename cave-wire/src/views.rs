//! The records of materialization views (docs/WIRE.md, "Views"): what `GET .../views` and
//! `GET .../views/{view}/metadata` answer (a view's metadata) and what
//! `GET .../views/{view}/schema` and `GET .../views/schemas` answer (its columns).
//!
//! MaterializationEngine 5.26.4 dumps the `analysisviews` row of DynamicAnnotationDB
//! (`id`, `table_name`, `description`, `datastack_name`, `voxel_resolution_x|y|z`,
//! `notice_text`, `live_compatible`); `views` keys the rows by `table_name` and removes it from
//! each. A view's schema is `{column: {"type": T}}` (plus `"format": "date-time"` for
//! timestamps), one key per column in the view's column order.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::records::RecordError;

/// The metadata of one view (`GET .../views/{view}/metadata`, or one value of `.../views`).
/// Every field the server may leave out is optional; keys this type does not name are in `raw`.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewMetadata {
    /// The view's name (`table_name`; `None` in the `views` list, whose keys are the names).
    pub name: Option<String>,
    /// The row id of the view's record.
    pub id: Option<i64>,
    /// What the view holds.
    pub description: Option<String>,
    /// The owner's notice, if any (sent with query answers as a `Warning`).
    pub notice_text: Option<String>,
    /// The datastack whose databases hold the view (a public datastack's parent).
    pub datastack_name: Option<String>,
    /// nm per voxel of its positions (`voxel_resolution_x/y/z`, or `voxel_resolution: [x, y, z]`).
    pub voxel_resolution: Option<[f64; 3]>,
    /// Whether the view can be queried on the live database (version 0).
    pub live_compatible: Option<bool>,
    /// Every key as the server sent it.
    pub raw: Map<String, Value>,
}

impl ViewMetadata {
    /// Read one view's record (`.../views/{view}/metadata`).
    pub fn from_json(value: Value) -> Result<Self, RecordError> {
        Self::read("$", value)
    }

    /// Read the `{view: record}` object of `.../views`; the names are the keys.
    pub fn map_from_json(value: Value) -> Result<BTreeMap<String, Self>, RecordError> {
        let Value::Object(views) = value else {
            return Err(RecordError::expected(
                "$",
                "an object of view records by name",
                Some(&value),
            ));
        };
        views
            .into_iter()
            .map(|(name, record)| {
                let mut meta = Self::read(&name, record)?;
                meta.name.get_or_insert_with(|| name.clone());
                Ok((name, meta))
            })
            .collect()
    }

    fn read(at: &str, value: Value) -> Result<Self, RecordError> {
        let raw = match value {
            Value::Object(raw) => raw,
            other => return Err(RecordError::expected(at, "a view record", Some(&other))),
        };
        let key = |k: &str| place(at, k);
        let text = |k: &str| -> Result<Option<String>, RecordError> {
            match raw.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                other => Err(RecordError::expected(key(k), "a string or null", other)),
            }
        };
        let id = match raw.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            other => return Err(RecordError::expected(key("id"), "an integer", other)),
        };
        let live_compatible = match raw.get("live_compatible") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            other => {
                return Err(RecordError::expected(
                    key("live_compatible"),
                    "a boolean or null",
                    other,
                ));
            }
        };
        Ok(ViewMetadata {
            name: text("table_name")?.filter(|s| !s.is_empty()),
            id,
            description: text("description")?,
            notice_text: text("notice_text")?,
            datastack_name: text("datastack_name")?,
            voxel_resolution: crate::records::voxel_resolution(&raw, &key)?,
            live_compatible,
            raw,
        })
    }
}

fn place(at: &str, key: &str) -> String {
    if at == "$" {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

/// The type of a view column, as `get_table_schema` of MaterializationEngine 5.26.4 names the
/// SQL type of the reflected view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ViewColumnType {
    /// `{"type": "integer"}`: any SQL integer. Queries send `int64`.
    Integer,
    /// `{"type": "float"}`: REAL or DOUBLE PRECISION. Queries send `double` (float64).
    Float,
    /// `{"type": "number"}`: NUMERIC. Queries send `double` (float64).
    Number,
    /// `{"type": "string"}`: text. Queries send `utf8`.
    String,
    /// `{"type": "string", "format": "date-time"}`: a timestamp.
    DateTime,
    /// `{"type": "boolean"}`.
    Boolean,
    /// `{"type": "SpatialPoint"}`: a PostGIS point. Queries send it split, as three `int32`
    /// columns `<name>_x`, `<name>_y`, `<name>_z`.
    SpatialPoint,
}

impl ViewColumnType {
    /// Every type, in declaration order.
    pub const ALL: [ViewColumnType; 7] = [
        ViewColumnType::Integer,
        ViewColumnType::Float,
        ViewColumnType::Number,
        ViewColumnType::String,
        ViewColumnType::DateTime,
        ViewColumnType::Boolean,
        ViewColumnType::SpatialPoint,
    ];

    /// The type from the schema's `type` and `format` (`None` for an unknown pair).
    pub fn from_server(kind: &str, format: Option<&str>) -> Option<Self> {
        Some(match (kind, format) {
            ("integer", None) => ViewColumnType::Integer,
            ("float", None) => ViewColumnType::Float,
            ("number", None) => ViewColumnType::Number,
            ("string", None) => ViewColumnType::String,
            ("string", Some("date-time")) => ViewColumnType::DateTime,
            ("boolean", None) => ViewColumnType::Boolean,
            ("SpatialPoint", None) => ViewColumnType::SpatialPoint,
            _ => return None,
        })
    }

    /// The schema's `type` and `format` for this type.
    pub fn as_server(self) -> (&'static str, Option<&'static str>) {
        match self {
            ViewColumnType::Integer => ("integer", None),
            ViewColumnType::Float => ("float", None),
            ViewColumnType::Number => ("number", None),
            ViewColumnType::String => ("string", None),
            ViewColumnType::DateTime => ("string", Some("date-time")),
            ViewColumnType::Boolean => ("boolean", None),
            ViewColumnType::SpatialPoint => ("SpatialPoint", None),
        }
    }

    /// The schema's JSON for a column of this type: `{"type": ..}` (with `format` for timestamps).
    pub fn to_json(self) -> Value {
        let (kind, format) = self.as_server();
        let mut out = Map::new();
        out.insert("type".into(), Value::from(kind));
        if let Some(format) = format {
            out.insert("format".into(), Value::from(format));
        }
        Value::Object(out)
    }
}

impl fmt::Display for ViewColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_server() {
            (kind, None) => f.write_str(kind),
            (kind, Some(format)) => write!(f, "{kind} ({format})"),
        }
    }
}

/// One column of a view's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewColumn {
    /// The column name (a point's name, e.g. `pt_position`, whose values arrive as
    /// `pt_position_x`, `_y`, `_z`).
    pub name: String,
    /// Its type.
    pub kind: ViewColumnType,
}

/// A view's columns (`GET .../views/{view}/schema`), in the order the JSON object lists them
/// (the view's column order when the JSON reader keeps key order, as the runtime's does).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ViewSchema {
    /// The columns.
    pub columns: Vec<ViewColumn>,
}

impl ViewSchema {
    /// Read one view's schema.
    pub fn from_json(value: Value) -> Result<Self, RecordError> {
        Self::read("$", value)
    }

    /// Read the `{view: schema}` object of `.../views/schemas`.
    pub fn map_from_json(value: Value) -> Result<BTreeMap<String, Self>, RecordError> {
        let Value::Object(views) = value else {
            return Err(RecordError::expected(
                "$",
                "an object of view schemas by view name",
                Some(&value),
            ));
        };
        views
            .into_iter()
            .map(|(name, schema)| Ok((name.clone(), Self::read(&name, schema)?)))
            .collect()
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&ViewColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The schema as the server writes it: `{column: {"type": ..}}`, in column order (when
    /// serde_json keeps key order).
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.columns
                .iter()
                .map(|c| (c.name.clone(), c.kind.to_json()))
                .collect(),
        )
    }

    fn read(at: &str, value: Value) -> Result<Self, RecordError> {
        let Value::Object(columns) = value else {
            return Err(RecordError::expected(
                at,
                "an object of column types by column name",
                Some(&value),
            ));
        };
        let mut out = Vec::with_capacity(columns.len());
        for (name, spec) in columns {
            let here = place(at, &name);
            let Value::Object(spec) = spec else {
                return Err(RecordError::expected(
                    here,
                    "a column type object like {\"type\": \"integer\"}",
                    Some(&spec),
                ));
            };
            let kind = match spec.get("type") {
                Some(Value::String(s)) => s.as_str(),
                other => {
                    return Err(RecordError::expected(
                        format!("{here}.type"),
                        "a type name",
                        other,
                    ));
                }
            };
            let format = match spec.get("format") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.as_str()),
                other => {
                    return Err(RecordError::expected(
                        format!("{here}.format"),
                        "a format name or null",
                        other,
                    ));
                }
            };
            let kind = ViewColumnType::from_server(kind, format).ok_or_else(|| {
                let known: Vec<String> = ViewColumnType::ALL
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect();
                RecordError::new(
                    format!("{here}.type"),
                    format!(
                        "expected one of {}, found `{kind}`{}",
                        known.join(", "),
                        format
                            .map(|f| format!(" with format `{f}`"))
                            .unwrap_or_default()
                    ),
                )
            })?;
            out.push(ViewColumn { name, kind });
        }
        Ok(ViewSchema { columns: out })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The `views` answer as CAVEclient 8.2.1's test fixture copied it from minnie65.
    #[test]
    fn views_list_of_the_fixture() {
        let views = ViewMetadata::map_from_json(json!({
            "nucleus_detection_lookup_v1": {
                "notice_text": null, "datastack_name": "minnie65_phase3_v1", "id": 3,
                "voxel_resolution_x": 4.0, "description": "A table that merges ...",
                "voxel_resolution_z": 40.0, "live_compatible": true, "voxel_resolution_y": 4.0
            }
        }))
        .unwrap();
        let v = &views["nucleus_detection_lookup_v1"];
        assert_eq!(v.name.as_deref(), Some("nucleus_detection_lookup_v1"));
        assert_eq!(v.id, Some(3));
        assert_eq!(v.voxel_resolution, Some([4.0, 4.0, 40.0]));
        assert_eq!(v.live_compatible, Some(true));
        assert_eq!(v.datastack_name.as_deref(), Some("minnie65_phase3_v1"));
        assert_eq!(v.notice_text, None);
        // A record with only an id and a description (what a whitelisted dump sends).
        let m = ViewMetadata::from_json(json!({"id": 1, "description": "d"})).unwrap();
        assert_eq!(m.voxel_resolution, None);
        assert_eq!(m.name, None);
    }

    #[test]
    fn view_metadata_errors_name_their_place() {
        let e = ViewMetadata::map_from_json(json!({"v": {"live_compatible": "yes"}})).unwrap_err();
        assert_eq!(e.at, "v.live_compatible");
        let e = ViewMetadata::from_json(json!({"voxel_resolution_x": 4})).unwrap_err();
        assert_eq!(e.at, "voxel_resolution_y");
        let e = ViewMetadata::from_json(json!({"id": 1.5})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "at id: expected an integer, found a number `1.5`"
        );
        assert_eq!(ViewMetadata::map_from_json(json!([])).unwrap_err().at, "$");
        assert_eq!(
            ViewMetadata::map_from_json(json!({"v": 1})).unwrap_err().at,
            "v"
        );
    }

    #[test]
    fn schemas_every_type_and_back() {
        let schema = ViewSchema::from_json(json!({
            "id": {"type": "integer"}, "volume": {"type": "float"},
            "pt_position": {"type": "SpatialPoint"}, "n": {"type": "number"},
            "name": {"type": "string"}, "t": {"type": "string", "format": "date-time"},
            "ok": {"type": "boolean"}
        }))
        .unwrap();
        let kind = |c: &str| schema.column(c).unwrap().kind;
        assert_eq!(kind("id"), ViewColumnType::Integer);
        assert_eq!(kind("volume"), ViewColumnType::Float);
        assert_eq!(kind("pt_position"), ViewColumnType::SpatialPoint);
        assert_eq!(kind("n"), ViewColumnType::Number);
        assert_eq!(kind("name"), ViewColumnType::String);
        assert_eq!(kind("t"), ViewColumnType::DateTime);
        assert_eq!(kind("ok"), ViewColumnType::Boolean);
        assert_eq!(ViewSchema::from_json(schema.to_json()).unwrap(), schema);
        for t in ViewColumnType::ALL {
            let (k, f) = t.as_server();
            assert_eq!(ViewColumnType::from_server(k, f), Some(t));
        }
    }

    #[test]
    fn schema_errors_name_view_column_and_type() {
        let e = ViewSchema::map_from_json(json!({"v": {"c": {"type": "geometry"}}})).unwrap_err();
        assert_eq!(e.at, "v.c.type");
        assert!(e.message.contains("found `geometry`"), "{e}");
        assert!(e.message.contains("`SpatialPoint`"), "{e}");
        let e =
            ViewSchema::from_json(json!({"c": {"type": "string", "format": "uuid"}})).unwrap_err();
        assert!(e.message.contains("with format `uuid`"), "{e}");
        let e = ViewSchema::from_json(json!({"c": "integer"})).unwrap_err();
        assert_eq!(e.at, "c");
        let e = ViewSchema::from_json(json!({"c": {"format": null}})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "at c.type: expected a type name, found nothing"
        );
        assert_eq!(
            ViewSchema::map_from_json(json!({"v": []})).unwrap_err().at,
            "v"
        );
    }
}
