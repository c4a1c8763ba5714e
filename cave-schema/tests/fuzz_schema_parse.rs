//! Fuzzing the schema-service parser: `parse_schema_type`, `parse_schema_type_str` and
//! `parse_types_all_str` on
//!
//! - arbitrary JSON values (nested, with the schema vocabulary as keys and strings so that the
//!   parser gets past its first checks), schema-shaped documents with random properties, and
//!   arbitrary strings and bytes;
//! - mutated real documents of `schemas/types/*.json`: a key deleted, a value of another JSON
//!   kind, an unknown key added, a key written twice, the text truncated, bits flipped.
//!
//! Properties: nothing panics; an error names its source and type and says what is wrong, and
//! for a mutation of one node it names a key on the way to that node; whatever parses flattens
//! into columns. Mutations that must not change the meaning (unknown keys, reformatting, a
//! duplicate key whose last value is the original) parse to the same type, and a truncated
//! document is a JSON syntax error with line and column, so the test can fail.
//!
//! CI runs 1000 cases per property (about 2.5 s in debug; proptest picks a new seed each run).
//! Run longer with e.g.
//! `PROPTEST_CASES=100000 cargo test --release -p cave-schema --test fuzz_schema_parse`;
//! `FUZZ_VERBOSE=1` (with `-- --nocapture`) prints what each case came to.

use std::path::PathBuf;
use std::sync::OnceLock;

use cave_schema::{
    Field, FieldKind, SchemaError, SchemaType, canonical_json, parse_schema_type,
    parse_schema_type_str, parse_types_all_str,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value, json};

/// `PROPTEST_CASES` if set, else the CI default.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        // Failures are kept as explicit regression tests below, not in a proptest file.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One real document: type name, text, parsed JSON and parsed type.
struct Real {
    name: String,
    text: String,
    doc: Value,
    schema: SchemaType,
}

fn real() -> &'static [Real] {
    static REAL: OnceLock<Vec<Real>> = OnceLock::new();
    REAL.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/types");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|file| {
                let name = file.file_stem().unwrap().to_str().unwrap().to_string();
                let text = std::fs::read_to_string(&file).unwrap();
                let doc: Value = serde_json::from_str(&text).unwrap();
                let schema = parse_schema_type_str(&name, &text, "real.json")
                    .unwrap_or_else(|e| panic!("the real document {name} parses: {e}"));
                Real {
                    name,
                    text,
                    doc,
                    schema,
                }
            })
            .collect()
    })
}

const SOURCE: &str = "fuzz/doc.json";

/// The checks every result must pass: an error is well formed, a type flattens.
fn check(name: &str, result: &Result<SchemaType, SchemaError>) -> Result<(), TestCaseError> {
    if std::env::var_os("FUZZ_VERBOSE").is_some() {
        match result {
            Ok(t) => eprintln!("parsed {} fields", t.fields.len()),
            Err(e) => eprintln!("refused {}", e.message),
        }
    }
    match result {
        Ok(t) => {
            prop_assert_eq!(&t.name, name);
            // Flattening: the bookkeeping columns first, then at least one column per field.
            let columns = t.columns();
            prop_assert_eq!(&columns[0].name, "id");
            prop_assert!(columns.len() >= 3 + t.fields.len());
            for c in &columns {
                let _ = (c.wire_names(), c.description());
            }
            for f in &t.fields {
                let _ = f.kind.describe();
            }
        }
        Err(e) => check_error(e, Some(name))?,
    }
    Ok(())
}

fn check_error(e: &SchemaError, name: Option<&str>) -> Result<(), TestCaseError> {
    prop_assert_eq!(&e.source, SOURCE);
    if let Some(name) = name {
        prop_assert_eq!(e.schema_type.as_deref(), Some(name));
    }
    prop_assert!(!e.message.trim().is_empty(), "empty message: {e:?}");
    let shown = e.to_string();
    prop_assert!(shown.starts_with(SOURCE), "{shown}");
    prop_assert!(shown.ends_with(&e.message), "{shown}");
    // A message says what was expected or found, not just "error".
    prop_assert!(
        [
            "expected", "missing", "unknown", "invalid", "names", "points", "twice", "empty",
            "lists", "not"
        ]
        .iter()
        .any(|w| e.message.contains(w)),
        "a message that does not say what is wrong: {shown}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generators

/// Keys and strings the parser looks at, so that random documents get past the first checks.
const VOCAB: &[&str] = &[
    "$ref",
    "definitions",
    "properties",
    "required",
    "type",
    "format",
    "enum",
    "items",
    "description",
    "desription",
    "order",
    "index",
    "default",
    "position",
    "root_id",
    "supervoxel_id",
    "dependent_chunk",
    "level",
    "valid",
    "target_id",
    "user_id",
    "integer",
    "number",
    "float",
    "string",
    "boolean",
    "array",
    "object",
    "null",
    "#/definitions/",
    "#/definitions/A",
    "#/definitions/B",
    "#/definitions/BoundSpatialPoint",
    "A",
    "B",
    "BoundSpatialPoint",
    "",
];

fn vocab() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(VOCAB).prop_map(str::to_string),
        1 => ".{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        prop::num::f64::NORMAL.prop_map(|f| json!(f)),
        prop::sample::select(&[0, 1, -1, 2147483647, 2147483648, -2147483649][..])
            .prop_map(|n: i64| json!(n)),
        vocab().prop_map(Value::String),
    ]
}

/// Arbitrary nested JSON whose keys and strings are mostly schema vocabulary.
fn arb_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((vocab(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// The property shapes the service emits, and some it does not.
fn arb_property() -> impl Strategy<Value = Value> {
    let shape = prop_oneof![
        Just(json!({"type": "integer"})),
        Just(json!({"type": ["integer", "null"]})),
        Just(json!({"type": ["null", "integer", "string"]})),
        Just(json!({"type": "number", "format": "integer"})),
        Just(json!({"type": "number", "format": "float"})),
        Just(json!({"type": ["number", "null"]})),
        Just(json!({"type": "string"})),
        Just(json!({"type": "string", "format": "date-time"})),
        Just(json!({"type": "boolean"})),
        Just(json!({"type": "array"})),
        Just(json!({"type": "array", "items": {"type": "number"}})),
        Just(json!({"type": "string", "enum": ["a", "b", "c"]})),
        Just(json!({"type": "string", "enum": ["a", "a"]})),
        Just(json!({"type": "number", "format": "integer", "enum": [1, 2, 3000000000u64]})),
        Just(json!({"type": "number", "format": "integer", "enum": [1, -2]})),
        Just(json!({"type": "integer", "enum": [1, -2, 9223372036854775807i64]})),
        Just(json!({"type": "integer", "enum": []})),
        Just(json!({"type": "boolean", "enum": [true]})),
        prop::sample::select(&POINTS[..])
            .prop_map(|d| json!({"$ref": format!("#/definitions/{d}"), "type": "object"})),
        prop::sample::select(&["A", "B", "Missing", ""][..])
            .prop_map(|d| json!({"$ref": format!("#/definitions/{d}")})),
        arb_json(),
    ];
    let description = prop_oneof![
        4 => ".{0,20}".prop_map(Value::String),
        1 => leaf(),
    ];
    let order = prop_oneof![
        4 => any::<i64>().prop_map(|n| json!(n)),
        1 => leaf(),
    ];
    (
        shape,
        prop::option::weighted(0.4, description),
        prop::option::weighted(0.2, order),
        prop::option::weighted(0.2, leaf()),
        any::<bool>(),
    )
        .prop_map(|(mut shape, description, order, default, index)| {
            if let Value::Object(m) = &mut shape {
                if let Some(d) = description {
                    m.insert("description".into(), d);
                }
                if let Some(o) = order {
                    m.insert("order".into(), o);
                }
                if let Some(d) = default {
                    m.insert("default".into(), d);
                }
                if index {
                    m.insert("index".into(), json!(true));
                }
            }
            shape
        })
}

const PROPERTY_NAMES: &[&str] = &[
    "position",
    "root_id",
    "supervoxel_id",
    "dependent_chunk",
    "level",
    "valid",
    "target_id",
    "user_id",
    "pt",
    "pre_pt",
    "tag",
    "id",
    "size",
    "gOSI",
    "",
];

fn arb_definition() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec((prop::sample::select(PROPERTY_NAMES), arb_property()), 0..7),
        prop::collection::vec(prop::sample::select(PROPERTY_NAMES), 0..4),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(props, required, only_existing)| {
            let properties: Map<String, Value> =
                props.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            // Mostly list only existing properties as required, so that deeper checks run.
            let required: Vec<&str> = if only_existing {
                required
                    .into_iter()
                    .filter(|r| properties.contains_key(*r))
                    .collect()
            } else {
                required
            };
            json!({"type": "object", "properties": properties, "required": required})
        })
}

/// The point definitions as the service writes them.
const POINTS: [&str; 3] = ["SpatialPoint", "BoundSpatialPoint", "DerivedSpatialPoint"];

fn point_definition(name: &str) -> Value {
    let mut properties = json!({"position": {"type": "array"}});
    if name != "SpatialPoint" {
        properties["supervoxel_id"] = json!({"type": "integer"});
        properties["root_id"] = json!({"type": "integer"});
    }
    if name == "DerivedSpatialPoint" {
        properties["dependent_chunk"] = json!({"type": "integer"});
        properties["level"] = json!({"type": "integer"});
    }
    json!({"type": "object", "additionalProperties": false, "properties": properties, "required": ["position"]})
}

/// A document shaped like the service's: a root `$ref` to a random definition (rarely to
/// something else), the point definitions (real, random or absent) and maybe other ones.
fn arb_schema_doc() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            8 => Just("Root".to_string()),
            1 => prop::sample::select(&["Missing", "", "A/B", "SpatialPoint"][..]).prop_map(str::to_string),
        ],
        arb_definition(),
        prop::collection::vec(
            prop_oneof![
                6 => Just(None),
                1 => arb_definition().prop_map(Some),
            ],
            3,
        ),
        prop::collection::vec((prop::sample::select(&["A", "B"][..]), arb_definition()), 0..2),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(root, root_def, points, others, no_points)| {
            let mut definitions = Map::new();
            definitions.insert("Root".into(), root_def);
            if !no_points {
                for (name, random) in POINTS.iter().zip(points) {
                    definitions.insert(
                        name.to_string(),
                        random.unwrap_or_else(|| point_definition(name)),
                    );
                }
            }
            for (k, v) in others {
                definitions.insert(k.to_string(), v);
            }
            json!({"$ref": format!("#/definitions/{root}"), "$schema": "http://json-schema.org/draft-07/schema#", "definitions": definitions})
        })
}

/// Type names: a made-up one, and real ones whose recorded declaration order is applied.
fn type_name() -> impl Strategy<Value = String> {
    prop::sample::select(&["fuzz", "synapse", "bound_tag", "cell_type_local", ""][..])
        .prop_map(str::to_string)
}

// ---------------------------------------------------------------------------------------------
// Paths into a document, for mutations of one node

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Idx(usize),
}

/// Every node of `v` (the root is the empty path), depth first.
fn nodes(v: &Value) -> Vec<Vec<Seg>> {
    fn walk(v: &Value, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
        out.push(path.clone());
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    path.push(Seg::Key(k.clone()));
                    walk(child, path, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    path.push(Seg::Idx(i));
                    walk(child, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

fn node_mut<'v>(v: &'v mut Value, path: &[Seg]) -> &'v mut Value {
    path.iter().fold(v, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k.as_str()).unwrap(),
        Seg::Idx(i) => v.get_mut(*i).unwrap(),
    })
}

fn keys_of(path: &[Seg]) -> Vec<&str> {
    path.iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Idx(_) => None,
        })
        .collect()
}

/// A value of another JSON kind than `v`.
fn other_kind(v: &Value, pick: usize) -> Value {
    let all = [
        Value::Null,
        json!(true),
        json!(7),
        json!(-1.5),
        json!("text"),
        json!([]),
        json!(["integer"]),
        json!({}),
        json!({"type": "integer"}),
    ];
    let kind = |x: &Value| std::mem::discriminant(x);
    let candidates: Vec<&Value> = all.iter().filter(|x| kind(x) != kind(v)).collect();
    candidates[pick % candidates.len()].clone()
}

/// After a one-node mutation at `path`, an error must name a key on the way there (the
/// definition, the property, or the key itself).
fn names_the_path(e: &SchemaError, path: &[Seg]) -> Result<(), TestCaseError> {
    let shown = e.to_string();
    let keys = keys_of(path);
    prop_assert!(
        keys.is_empty()
            || e.message.contains("invalid JSON")
            || keys.iter().any(|k| shown.contains(&format!("`{k}`"))),
        "an error after a change at {path:?} names none of {keys:?}: {shown}"
    );
    Ok(())
}

/// Compact JSON text of `v`, with the object at `dup` writing its key `key` twice: first
/// `first`, then the real value (or the other way round when `real_first`).
fn write_with_duplicate(
    v: &Value,
    dup: &[Seg],
    key: &str,
    other: &Value,
    real_first: bool,
) -> String {
    fn write(
        v: &Value,
        here: &mut Vec<Seg>,
        dup: &[Seg],
        key: &str,
        other: &Value,
        real_first: bool,
        out: &mut String,
    ) {
        match v {
            Value::Object(m) => {
                out.push('{');
                let mut first = true;
                let mut entry = |k: &str, value: &Value, here: &mut Vec<Seg>, out: &mut String| {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push(':');
                    here.push(Seg::Key(k.to_string()));
                    write(value, here, dup, key, other, real_first, out);
                    here.pop();
                };
                for (k, child) in m {
                    if here.as_slice() == dup && k == key {
                        let (a, b) = if real_first {
                            (child, other)
                        } else {
                            (other, child)
                        };
                        entry(k, a, here, out);
                        entry(k, b, here, out);
                    } else {
                        entry(k, child, here, out);
                    }
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, child) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    here.push(Seg::Idx(i));
                    write(child, here, dup, key, other, real_first, out);
                    here.pop();
                }
                out.push(']');
            }
            leaf => out.push_str(&leaf.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut Vec::new(), dup, key, other, real_first, &mut out);
    out
}

/// Equal types, except that float `default`s may differ in the last place.
fn same_type(a: &SchemaType, b: &SchemaType) -> bool {
    fn fields(a: &[Field], b: &[Field]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                let kinds = match (&x.kind, &y.kind) {
                    (FieldKind::Point(p), FieldKind::Point(q)) => {
                        p.kind == q.kind
                            && p.definition == q.definition
                            && fields(&p.fields, &q.fields)
                    }
                    (k, l) => k == l,
                };
                let defaults = match (&x.default, &y.default) {
                    (Some(d), Some(e)) => json_close(d, e),
                    (d, e) => d == e,
                };
                kinds
                    && defaults
                    && (&x.name, x.required, &x.description, x.order, x.indexed)
                        == (&y.name, y.required, &y.description, y.order, y.indexed)
            })
    }
    (&a.name, &a.class_name, a.is_point) == (&b.name, &b.class_name, b.is_point)
        && fields(&a.fields, &b.fields)
}

/// Equal JSON, except that floats may differ in the last place.
fn json_close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x != y => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= x.abs().max(y.abs()) * 4.0 * f64::EPSILON,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_close(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_close(v, w)))
        }
        (x, y) => x == y,
    }
}

fn real_index() -> impl Strategy<Value = usize> {
    (0..real().len()).boxed()
}

// ---------------------------------------------------------------------------------------------
// Properties

#[test]
fn every_real_document_parses_and_round_trips() {
    assert!(real().len() > 40, "the types folder has its documents");
    for r in real() {
        let again = parse_schema_type(&r.name, &r.doc, SOURCE).unwrap();
        assert_eq!(again, r.schema, "{}", r.name);
        let compact = serde_json::to_string(&r.doc).unwrap();
        assert_eq!(
            parse_schema_type_str(&r.name, &compact, SOURCE).unwrap(),
            r.schema
        );
        assert_eq!(
            parse_schema_type_str(&r.name, &canonical_json::to_string(&r.doc), SOURCE).unwrap(),
            r.schema
        );
        assert!(!r.schema.columns().is_empty());
    }
    // All documents together as one `types_all` answer.
    let all: Map<String, Value> = real()
        .iter()
        .map(|r| (r.name.clone(), r.doc.clone()))
        .collect();
    let parsed = parse_types_all_str(&Value::Object(all).to_string(), SOURCE).unwrap();
    assert_eq!(parsed.len(), real().len());
    for (p, r) in parsed.iter().zip(real()) {
        assert_eq!(p, &r.schema);
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// Arbitrary JSON values as a schema document.
    #[test]
    fn arbitrary_json(doc in arb_json(), name in type_name()) {
        check(&name, &parse_schema_type(&name, &doc, SOURCE))?;
        check(&name, &parse_schema_type_str(&name, &doc.to_string(), SOURCE))?;
    }

    /// Documents shaped like the service's, with random definitions and properties.
    #[test]
    fn schema_shaped_documents(doc in arb_schema_doc(), name in type_name()) {
        let result = parse_schema_type(&name, &doc, SOURCE);
        check(&name, &result)?;
        // The text form gives the same answer (floats in `default` may move by one unit in
        // the last place: serde_json is built without `float_roundtrip`).
        let again = parse_schema_type_str(&name, &doc.to_string(), SOURCE);
        match (&again, &result) {
            (Ok(a), Ok(b)) => prop_assert!(same_type(a, b), "{a:?}\n{b:?}"),
            // The same error; a float it quotes may differ in its last digits.
            (Err(a), Err(b)) => {
                let digitless = |m: &str| m.replace(|c: char| c.is_ascii_digit(), "");
                prop_assert_eq!(
                    (&a.source, &a.schema_type, &a.definition, &a.property),
                    (&b.source, &b.schema_type, &b.definition, &b.property)
                );
                prop_assert_eq!(digitless(&a.message), digitless(&b.message));
            }
            _ => prop_assert_eq!(again, result),
        }
    }

    /// Arbitrary text and bytes (read as lossy UTF-8).
    #[test]
    fn arbitrary_text(text in ".{0,200}", bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check("fuzz", &parse_schema_type_str("fuzz", &text, SOURCE))?;
        let lossy = String::from_utf8_lossy(&bytes);
        check("fuzz", &parse_schema_type_str("fuzz", &lossy, SOURCE))?;
        for t in [text.as_str(), &*lossy] {
            if let Err(e) = parse_types_all_str(t, SOURCE) {
                check_error(&e, None)?;
            }
        }
    }

    /// `types_all` answers whose documents are arbitrary or schema-shaped.
    #[test]
    fn types_all_of_random_documents(
        docs in prop::collection::vec((type_name(), prop_oneof![arb_json(), arb_schema_doc()]), 0..4)
    ) {
        let map: Map<String, Value> = docs.into_iter().collect();
        match parse_types_all_str(&Value::Object(map.clone()).to_string(), SOURCE) {
            Ok(types) => {
                prop_assert_eq!(types.len(), map.len());
                for t in &types {
                    check(&t.name, &Ok(t.clone()))?;
                }
            }
            Err(e) => {
                check_error(&e, None)?;
                prop_assert!(e.schema_type.as_deref().is_some_and(|t| map.contains_key(t)));
            }
        }
    }

    /// A real document with one key deleted.
    #[test]
    fn real_document_with_a_key_deleted(i in real_index(), at in any::<Index>()) {
        let r = &real()[i];
        let mut doc = r.doc.clone();
        let objects: Vec<(Vec<Seg>, String)> = nodes(&doc)
            .into_iter()
            .filter_map(|p| {
                let node = node_mut(&mut doc.clone(), &p).clone();
                node.as_object().map(|m| m.keys().map(|k| (p.clone(), k.clone())).collect::<Vec<_>>())
            })
            .flatten()
            .collect();
        let (parent, key) = at.get(&objects).clone();
        node_mut(&mut doc, &parent).as_object_mut().unwrap().remove(&key);
        let result = parse_schema_type(&r.name, &doc, SOURCE);
        check(&r.name, &result)?;
        let mut path = parent.clone();
        path.push(Seg::Key(key.clone()));
        if let Err(e) = &result {
            names_the_path(e, &path)?;
        }
        // The keys every document needs.
        if parent.is_empty() && (key == "$ref" || key == "definitions") {
            let e = result.as_ref().unwrap_err();
            prop_assert!(e.message.contains(&format!("`{key}`")), "{e}");
        }
    }

    /// A real document with one value replaced by one of another JSON kind.
    #[test]
    fn real_document_with_a_value_of_another_kind(i in real_index(), at in any::<Index>(), pick in 0usize..16) {
        let r = &real()[i];
        let mut doc = r.doc.clone();
        let all = nodes(&doc);
        let path = at.get(&all).clone();
        let node = node_mut(&mut doc, &path);
        *node = other_kind(node, pick);
        let result = parse_schema_type(&r.name, &doc, SOURCE);
        check(&r.name, &result)?;
        if let Err(e) = &result {
            names_the_path(e, &path)?;
        }
        if path.is_empty() {
            prop_assert!(result.is_err(), "a document that is not an object parses");
        }
    }

    /// Unknown keys are tolerated at the root and in properties: the parse does not change.
    #[test]
    fn real_document_with_an_unknown_key(i in real_index(), at in any::<Index>(), value in arb_json()) {
        let r = &real()[i];
        let mut doc = r.doc.clone();
        // The root and every property object (`definitions.D.properties.P`).
        let places: Vec<Vec<Seg>> = nodes(&doc)
            .into_iter()
            .filter(|p| {
                p.is_empty()
                    || (p.len() == 4
                        && p[0] == Seg::Key("definitions".into())
                        && p[2] == Seg::Key("properties".into()))
            })
            .collect();
        let place = at.get(&places).clone();
        if let Value::Object(m) = node_mut(&mut doc, &place) {
            m.insert("x_fuzz_unknown".into(), value);
        }
        prop_assert_eq!(parse_schema_type(&r.name, &doc, SOURCE), Ok(r.schema.clone()));
    }

    /// A key written twice: the last value counts (as in Python's `json`). When the last one
    /// is the real value the parse does not change; otherwise it must not panic.
    #[test]
    fn real_document_with_a_duplicate_key(
        i in real_index(),
        at in any::<Index>(),
        other in leaf(),
        real_first in any::<bool>(),
    ) {
        let r = &real()[i];
        let keyed: Vec<(Vec<Seg>, String)> = nodes(&r.doc)
            .into_iter()
            .filter_map(|p| match p.split_last() {
                Some((Seg::Key(k), parent)) => Some((parent.to_vec(), k.clone())),
                _ => None,
            })
            .collect();
        let (parent, key) = at.get(&keyed).clone();
        let text = write_with_duplicate(&r.doc, &parent, &key, &other, real_first);
        let result = parse_schema_type_str(&r.name, &text, SOURCE);
        check(&r.name, &result)?;
        if !real_first {
            prop_assert_eq!(result, Ok(r.schema.clone()));
        }
    }

    /// A real document cut short is a JSON syntax error naming line and column.
    #[test]
    fn real_document_truncated(i in real_index(), at in any::<Index>()) {
        let r = &real()[i];
        let end = r.text.rfind('}').unwrap();
        let mut cut = at.index(end);
        while !r.text.is_char_boundary(cut) {
            cut -= 1;
        }
        let result = parse_schema_type_str(&r.name, &r.text[..cut], SOURCE);
        check(&r.name, &result)?;
        let e = result.unwrap_err();
        prop_assert!(e.message.starts_with("invalid JSON at line "), "{e}");
        prop_assert!(e.message.contains(", column "), "{e}");
    }

    /// A real document with some bits flipped (read as lossy UTF-8).
    #[test]
    fn real_document_with_flipped_bits(
        i in real_index(),
        flips in prop::collection::vec((any::<Index>(), 0u8..8), 1..8),
    ) {
        let r = &real()[i];
        let mut bytes = r.text.clone().into_bytes();
        for (at, bit) in &flips {
            let k = at.index(bytes.len());
            bytes[k] ^= 1 << bit;
        }
        let text = String::from_utf8_lossy(&bytes);
        let result = parse_schema_type_str(&r.name, &text, SOURCE);
        check(&r.name, &result)?;
        // And as part of a `types_all` answer.
        let all = format!("{{\"{}\": {text}}}", r.name);
        if let Err(e) = parse_types_all_str(&all, SOURCE) {
            check_error(&e, None)?;
        }
    }

    /// Several random byte-level edits (overwrite, delete, duplicate a slice) of a real document.
    #[test]
    fn real_document_with_byte_edits(
        i in real_index(),
        edits in prop::collection::vec((0u8..3, any::<Index>(), 0usize..40, any::<u8>()), 1..5),
    ) {
        let r = &real()[i];
        let mut bytes = r.text.clone().into_bytes();
        for (op, at, len, byte) in &edits {
            if bytes.is_empty() {
                break;
            }
            let k = at.index(bytes.len());
            let end = (k + len).min(bytes.len());
            match op {
                0 => bytes[k] = *byte,
                1 => {
                    bytes.drain(k..end);
                }
                _ => {
                    let copy = bytes[k..end].to_vec();
                    bytes.splice(k..k, copy);
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        check(&r.name, &parse_schema_type_str(&r.name, &text, SOURCE))?;
    }
}
