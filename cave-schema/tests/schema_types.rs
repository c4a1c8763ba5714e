//! Every real schema type parses and flattens; the tricky ones flatten exactly as
//! emannotationschemas builds their tables.

use std::collections::BTreeMap;
use std::path::PathBuf;

use cave_schema::{
    ColumnRole, EnumRepr, EnumValue, FieldKind, PointKind, SchemaType, TypeSet, WireType,
    canonical_json, parse_schema_type_str, parse_types_all_str,
};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn types() -> TypeSet {
    TypeSet::load(repo().join("schemas/types")).expect("the committed schema types load")
}

fn get(types: &TypeSet, name: &str) -> SchemaType {
    types
        .get(name)
        .unwrap_or_else(|| panic!("type {name} is in the snapshot"))
        .clone()
}

/// `(name, wire, nullable, role)` of every column.
fn cols(t: &SchemaType) -> Vec<(String, &'static str, bool, &'static str)> {
    t.columns()
        .into_iter()
        .map(|c| (c.name, c.wire.as_str(), c.nullable, c.role.as_str()))
        .collect()
}

fn names(t: &SchemaType) -> Vec<String> {
    t.columns().into_iter().map(|c| c.name).collect()
}

#[test]
fn all_57_types_parse_and_flatten() {
    let types = types();
    assert_eq!(types.len(), 57);
    let mut reference_types = 0;
    for t in types.iter() {
        let columns = t.columns();
        assert_eq!(&columns[0].name, "id", "{}", t.name);
        assert!(
            columns.len() >= 5,
            "{} has {} columns",
            t.name,
            columns.len()
        );
        let mut seen = std::collections::BTreeSet::new();
        for c in &columns {
            assert!(
                seen.insert(c.name.clone()),
                "{}: column {} twice",
                t.name,
                c.name
            );
        }
        if t.is_reference() {
            reference_types += 1;
        }
    }
    // docs/WIRE.md, "Schema documents": 19 reference annotation types.
    assert_eq!(reference_types, 19);
}

/// The ground truth: `models.create_table_dict` of emannotationschemas 5.26.3, recorded by
/// scripts/emannotationschemas_facts.py. Query columns are those minus `deleted`, in the same
/// order, with the wire type of each SQL type.
#[test]
fn columns_match_emannotationschemas_tables() {
    #[derive(serde::Deserialize)]
    struct Recorded {
        types: BTreeMap<String, Vec<(String, String, bool)>>,
    }
    let text = std::fs::read_to_string(
        repo().join("cave-schema/tests/fixtures/emannotationschemas-columns.json"),
    )
    .unwrap();
    let recorded: Recorded = serde_json::from_str(&text).unwrap();
    let types = types();
    assert_eq!(recorded.types.len(), types.len());
    for (name, sql_columns) in &recorded.types {
        let expected: Vec<(String, &str)> = sql_columns
            .iter()
            .filter(|(c, _, _)| c != "deleted")
            .map(|(c, sql, _)| {
                let wire = match sql.as_str() {
                    "BIGINT" => "int64",
                    "INTEGER" => "int32",
                    "FLOAT" => "float32",
                    "BOOLEAN" => "bool",
                    "VARCHAR" => "utf8",
                    "DATETIME" => "timestamp",
                    s if s.starts_with("geometry(POINTZ") => "position",
                    other => panic!("{name}.{c}: unexpected SQL type {other}"),
                };
                (c.clone(), wire)
            })
            .collect();
        let actual: Vec<(String, &str)> = get(&types, name)
            .columns()
            .into_iter()
            .map(|c| (c.name, c.wire.as_str()))
            .collect();
        assert_eq!(actual, expected, "columns of {name}");
    }
}

#[test]
fn types_all_form_parses_to_the_same_types() {
    let types = types();
    let mut all = serde_json::Map::new();
    for name in types.names() {
        all.insert(
            name.to_string(),
            types.get_doc(name).unwrap().document.clone(),
        );
    }
    let text = serde_json::to_string(&Value::Object(all)).unwrap();
    let parsed = parse_types_all_str(&text, "types_all.json").unwrap();
    assert_eq!(parsed.len(), 57);
    for t in parsed {
        assert_eq!(Some(&t), types.get(&t.name));
    }
}

#[test]
fn key_order_does_not_matter() {
    // The service reorders keys from one process to the next; the parse must not care.
    let types = types();
    let doc = &types.get_doc("synapse").unwrap().document;
    let canonical = canonical_json::to_string(doc);
    let compact = serde_json::to_string(doc).unwrap();
    let reversed = reversed_text(doc);
    assert!(
        reversed.starts_with(r#"{"definitions""#),
        "keys really are reversed"
    );
    for text in [canonical, compact, reversed] {
        assert_eq!(
            parse_schema_type_str("synapse", &text, "x").unwrap(),
            get(&types, "synapse")
        );
    }
}

/// The document's JSON text with every object's keys in reverse order (built as text, so the
/// order survives whatever map type serde_json uses).
fn reversed_text(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            keys.reverse();
            let body: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), reversed_text(&m[*k])))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(reversed_text).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

#[test]
fn derived_spatial_point_is_an_unprefixed_point_without_valid() {
    let t = get(&types(), "derived_spatial_point");
    assert!(t.is_point);
    assert!(!t.is_reference());
    assert_eq!(
        cols(&t),
        [
            ("id".into(), "int64", false, "annotation_id"),
            ("created".into(), "timestamp", false, "bookkeeping"),
            ("superceded_id".into(), "int64", true, "bookkeeping"),
            ("position".into(), "position", false, "position"),
            ("supervoxel_id".into(), "int64", true, "supervoxel_id"),
            ("root_id".into(), "int64", true, "root_id"),
            ("dependent_chunk".into(), "int64", false, "payload"),
            ("level".into(), "int64", true, "payload"),
        ]
    );
    assert!(t.columns().iter().all(|c| {
        c.name == "id"
            || c.field.is_none()
            || c.point
                .as_ref()
                .is_some_and(|p| p.kind == PointKind::Derived)
    }));
}

#[test]
fn derived_tag_flattens_a_nested_derived_point() {
    let t = get(&types(), "derived_tag");
    let pt: Vec<String> = names(&t)
        .into_iter()
        .filter(|n| n.starts_with("pt_"))
        .collect();
    assert_eq!(
        pt,
        [
            "pt_position",
            "pt_supervoxel_id",
            "pt_root_id",
            "pt_dependent_chunk",
            "pt_level"
        ]
    );
    let FieldKind::Point(p) = &t.field("pt").unwrap().kind else {
        panic!("pt is a point")
    };
    assert_eq!(p.kind, PointKind::Derived);
}

#[test]
fn reference_point_is_a_reference_with_a_bound_point() {
    let t = get(&types(), "reference_point");
    assert_eq!(t.class_name, "FlatSegmentationReferenceSinglePoint");
    assert!(t.is_reference());
    assert_eq!(
        names(&t),
        [
            "id",
            "created",
            "superceded_id",
            "valid",
            "target_id",
            "pt_position",
            "pt_supervoxel_id",
            "pt_root_id"
        ]
    );
    let target = t.column("target_id").unwrap();
    assert_eq!(
        (target.wire, target.role, target.nullable),
        (WireType::Int64, ColumnRole::ReferenceTarget, false)
    );
}

#[test]
fn reference_tags_put_tag_before_valid() {
    let types = types();
    assert_eq!(
        names(&get(&types, "reference_tag")),
        [
            "id",
            "created",
            "superceded_id",
            "tag",
            "valid",
            "target_id"
        ]
    );
    let float = get(&types, "reference_tag_float");
    assert_eq!(
        names(&float),
        [
            "id",
            "created",
            "superceded_id",
            "tag",
            "valid",
            "target_id",
            "value"
        ]
    );
    // `value` is described under the service's `desription` typo.
    let value = float.field("value").unwrap();
    assert_eq!(value.kind, FieldKind::Float);
    assert!(value.description.as_deref().is_some_and(|d| !d.is_empty()));
}

#[test]
fn synapse_family_has_pre_post_and_center_points() {
    let types = types();
    let synapse = get(&types, "synapse");
    assert_eq!(
        cols(&synapse),
        [
            ("id".into(), "int64", false, "annotation_id"),
            ("created".into(), "timestamp", false, "bookkeeping"),
            ("superceded_id".into(), "int64", true, "bookkeeping"),
            ("valid".into(), "bool", false, "bookkeeping"),
            ("pre_pt_position".into(), "position", false, "position"),
            (
                "pre_pt_supervoxel_id".into(),
                "int64",
                true,
                "supervoxel_id"
            ),
            ("pre_pt_root_id".into(), "int64", true, "root_id"),
            ("post_pt_position".into(), "position", false, "position"),
            (
                "post_pt_supervoxel_id".into(),
                "int64",
                true,
                "supervoxel_id"
            ),
            ("post_pt_root_id".into(), "int64", true, "root_id"),
            ("ctr_pt_position".into(), "position", false, "position"),
            ("size".into(), "float32", true, "payload"),
        ]
    );
    assert_eq!(synapse.field("pre_pt").unwrap().order, Some(0));
    assert_eq!(synapse.field("ctr_pt").unwrap().order, Some(1));
    assert_eq!(synapse.field("post_pt").unwrap().order, Some(2));
    for name in [
        "nocleft_synapse",
        "nocenter_synapse",
        "fly_synapse",
        "fly_nt_synapse",
        "plastic_synapse",
    ] {
        let t = get(&types, name);
        for point in ["pre_pt", "post_pt"] {
            let FieldKind::Point(p) = &t
                .field(point)
                .unwrap_or_else(|| panic!("{name}.{point}"))
                .kind
            else {
                panic!("{name}.{point} is a point")
            };
            assert_eq!(p.kind, PointKind::Bound, "{name}.{point}");
        }
        let roots = t
            .columns()
            .iter()
            .filter(|c| c.role == ColumnRole::RootId)
            .count();
        assert_eq!(roots, 2, "{name} has pre and post root ids");
    }
    assert!(get(&types, "nocenter_synapse").field("ctr_pt").is_none());
}

#[test]
fn plastic_synapse_plasticity_is_an_int_enum() {
    let t = get(&types(), "plastic_synapse");
    let FieldKind::Enum(e) = &t.field("plasticity").unwrap().kind else {
        panic!("plasticity is an enum")
    };
    assert_eq!(e.repr, EnumRepr::Int32);
    assert_eq!(e.values, (0..=4).map(EnumValue::Int).collect::<Vec<_>>());
    let c = t.column("plasticity").unwrap();
    assert_eq!((c.wire, c.nullable), (WireType::Int32, false));
}

#[test]
fn string_enums_keep_their_values() {
    let types = types();
    let fly = get(&types, "fly_cell_type");
    let FieldKind::Enum(e) = &fly.field("hemisphere").unwrap().kind else {
        panic!()
    };
    assert_eq!(e.repr, EnumRepr::Utf8);
    assert_eq!(
        e.values,
        ["L", "R", "M", "U"].map(|v| EnumValue::Str(v.into()))
    );
    assert_eq!(
        get(&types, "fly_cell_type")
            .field("hemisphere")
            .unwrap()
            .default,
        Some(Value::from("U"))
    );
    let status = get(&types, "compartment_proofread_status");
    for f in ["status_axon", "status_dendrite"] {
        assert!(
            matches!(&status.field(f).unwrap().kind, FieldKind::Enum(e) if e.values.len() == 3),
            "{f}"
        );
    }
    let enums = types
        .iter()
        .flat_map(|t| t.fields.iter())
        .filter(|f| matches!(f.kind, FieldKind::Enum(_)))
        .count();
    assert_eq!(
        enums, 10,
        "docs/WIRE.md, 'Schema documents', counts 10 enum properties"
    );
}

#[test]
fn mixed_case_columns_keep_their_case() {
    let types = types();
    let bcm = names(&get(&types, "func_properties_bcm"));
    assert!(
        bcm.contains(&"gOSI".to_string()) && bcm.contains(&"gDSI".to_string()),
        "{bcm:?}"
    );
    let twin = names(&get(&types, "digital_twin_properties"));
    assert!(
        twin.contains(&"OSI".to_string()) && twin.contains(&"DSI".to_string()),
        "{twin:?}"
    );
}

#[test]
fn user_id_is_64_bit_even_when_it_looks_like_int32() {
    let types = types();
    let mut seen = 0;
    for t in types.iter() {
        if let Some(f) = t.field("user_id") {
            assert_eq!(f.kind, FieldKind::Int64, "{}.user_id", t.name);
            assert_eq!(t.column("user_id").unwrap().wire, WireType::Int64);
            seen += 1;
        }
    }
    assert_eq!(
        seen, 6,
        "docs/WIRE.md, 'Schema documents': six AutoUserIdFields"
    );
    // One of them is written as ["number", "null"].
    let nullable = types.iter().filter(|t| {
        let doc = &types.get_doc(&t.name).unwrap().document;
        let root = doc["$ref"]
            .as_str()
            .unwrap()
            .trim_start_matches("#/definitions/");
        doc["definitions"][root]["properties"]["user_id"]["type"].is_array()
    });
    assert_eq!(nullable.count(), 1);
}

#[test]
fn optional_bounding_box_points_are_nullable() {
    let t = get(&types(), "nucleus_detection");
    let c = |n: &str| t.column(n).unwrap_or_else(|| panic!("{n}"));
    assert!(
        !c("pt_position").nullable,
        "pt is required, and so is its position"
    );
    assert!(c("bb_start_position").nullable && c("bb_end_position").nullable);
    assert_eq!(c("bb_start_position").wire, WireType::Position);
    assert_eq!(c("volume").wire, WireType::Float32);
    assert_eq!(
        c("bb_start_position").wire_names(),
        [
            "bb_start_position_x",
            "bb_start_position_y",
            "bb_start_position_z"
        ]
    );
}

#[test]
fn the_proofreading_schema_has_free_string_strategies() {
    let t = get(&types(), "compartment_proofread_status_strategy");
    assert_eq!(
        names(&t),
        [
            "id",
            "created",
            "superceded_id",
            "valid",
            "pt_position",
            "pt_supervoxel_id",
            "pt_root_id",
            "valid_id",
            "status_dendrite",
            "status_axon",
            "strategy_dendrite",
            "strategy_axon"
        ]
    );
    assert_eq!(t.field("strategy_axon").unwrap().kind, FieldKind::String);
    assert_eq!(t.column("status_axon").unwrap().wire, WireType::Bool);
    // valid_id is a NumericField: a root id at assessment time, not a segmentation column.
    assert_eq!(t.column("valid_id").unwrap().role, ColumnRole::Payload);
}

/// Older services: no `["x","null"]` unions, bare `"number"` for floats (CAVEclient's 2024 fixture
/// of the production `nucleus_detection`).
#[test]
fn older_service_output_parses_the_same() {
    let old = r##"{"$schema": "http://json-schema.org/draft-07/schema#",
      "definitions": {
        "SpatialPoint": {"type": "object", "properties": {"position": {"type": "array"}}, "required": ["position"], "additionalProperties": false},
        "BoundSpatialPoint": {"type": "object", "properties": {"position": {"type": "array"}, "supervoxel_id": {"type": "integer"}, "root_id": {"type": "integer"}}, "required": ["position"], "additionalProperties": false},
        "NucleusDetection": {"type": "object", "properties": {
            "valid": {"title": "valid", "type": "boolean", "default": false, "description": "is this annotation valid"},
            "volume": {"title": "volume", "type": "number", "description": "the volume of the nucleus detected"},
            "pt": {"type": "object", "$ref": "#/definitions/BoundSpatialPoint", "description": "location of the nucleus center"},
            "bb_start": {"type": "object", "$ref": "#/definitions/SpatialPoint", "description": "bounding box start"},
            "bb_end": {"type": "object", "$ref": "#/definitions/SpatialPoint", "description": "bounding box end"}},
          "required": ["pt"], "additionalProperties": true, "x-unknown": [1, 2]}},
      "$ref": "#/definitions/NucleusDetection"}"##;
    let parsed = parse_schema_type_str("nucleus_detection", old, "old.json").unwrap();
    let current = get(&types(), "nucleus_detection");
    assert_eq!(cols(&parsed), cols(&current));
}
