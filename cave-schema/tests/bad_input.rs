//! Bad schema documents give errors that say where (file, definition, property) and what; no
//! input panics.

use std::path::PathBuf;

use cave_schema::{
    SchemaError, TypeSet, canonical_json, parse_schema_type, parse_schema_type_str,
    parse_types_all_str,
};
use serde_json::{Value, json};

fn types() -> TypeSet {
    TypeSet::load(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/types")).unwrap()
}

fn synapse_doc() -> Value {
    types().get_doc("synapse").unwrap().document.clone()
}

fn parse(doc: &Value) -> Result<cave_schema::SchemaType, SchemaError> {
    parse_schema_type("synapse", doc, "schemas/types/synapse.json")
}

#[test]
fn truncated_json_names_file_line_and_column() {
    let text = canonical_json::to_string(&synapse_doc());
    let cut = &text[..text.len() / 2];
    let err = parse_schema_type_str("synapse", cut, "schemas/types/synapse.json").unwrap_err();
    assert_eq!(err.source, "schemas/types/synapse.json");
    assert_eq!(err.schema_type.as_deref(), Some("synapse"));
    let shown = err.to_string();
    assert!(
        shown.starts_with(
            "schemas/types/synapse.json: schema type `synapse`: invalid JSON at line "
        ),
        "{shown}"
    );
    assert!(shown.contains("column"), "{shown}");
    // The position is said once, not again by serde_json's own message.
    assert_eq!(shown.matches("line").count(), 1, "{shown}");
}

#[test]
fn ref_to_a_missing_definition_names_the_property() {
    let mut doc = synapse_doc();
    doc["definitions"]["SynapseSchema"]["properties"]["pre_pt"]["$ref"] =
        json!("#/definitions/NoSuchPoint");
    let err = parse(&doc).unwrap_err();
    assert_eq!(err.definition.as_deref(), Some("SynapseSchema"));
    assert_eq!(err.property.as_deref(), Some("pre_pt"));
    assert!(
        err.message.contains("missing definition `NoSuchPoint`"),
        "{err}"
    );
    assert!(
        err.message.contains("BoundSpatialPoint"),
        "lists the known definitions: {err}"
    );
    assert_eq!(
        err.to_string().split(": ").take(2).collect::<Vec<_>>(),
        [
            "schemas/types/synapse.json",
            "schema type `synapse`, definition `SynapseSchema`, property `pre_pt`"
        ]
    );
}

#[test]
fn root_ref_to_a_missing_definition() {
    let mut doc = synapse_doc();
    doc["$ref"] = json!("#/definitions/Nope");
    let err = parse(&doc).unwrap_err();
    assert_eq!(err.definition.as_deref(), Some("Nope"));
    assert!(err.message.contains("root `$ref`"), "{err}");
}

#[test]
fn unknown_field_shapes_are_refused_by_name() {
    let cases = [
        (json!({"type": "object"}), "no `type`"),
        (json!({"title": "size"}), "no `type` and no `$ref`"),
        (
            json!({"type": "string", "format": "date-time"}),
            "format `date-time`",
        ),
        (
            json!({"type": "array", "items": {"type": "integer"}}),
            "with `items`",
        ),
        (json!({"type": ["string", "integer"]}), "one type name"),
        (
            json!({"type": "number", "format": "integer", "enum": ["a"]}),
            "integer",
        ),
        (json!({"type": "string", "enum": []}), "empty"),
        (
            json!({"type": "string", "order": "first"}),
            "`order` to be an integer",
        ),
        (json!(7), "expected the property to be an object"),
    ];
    for (shape, expected) in cases {
        let mut doc = synapse_doc();
        doc["definitions"]["SynapseSchema"]["properties"]["size"] = shape.clone();
        let err = parse(&doc).unwrap_err();
        assert_eq!(err.property.as_deref(), Some("size"), "{shape}: {err}");
        assert_eq!(err.definition.as_deref(), Some("SynapseSchema"));
        // `{"type":"object"}` without `$ref` reads as an unknown shape of type `object`.
        let expected = if expected == "no `type`" {
            "type `object`"
        } else {
            expected
        };
        assert!(err.message.contains(expected), "{shape}: {err}");
    }
}

#[test]
fn a_nested_definition_that_is_not_a_point_is_refused() {
    let mut doc = synapse_doc();
    doc["definitions"]["BoundSpatialPoint"]["properties"] = json!({"x": {"type": "integer"}});
    doc["definitions"]["BoundSpatialPoint"]["required"] = json!(["x"]);
    let err = parse(&doc).unwrap_err();
    // Both pre_pt and post_pt use it; either may be reported first.
    assert!(
        matches!(err.property.as_deref(), Some("pre_pt" | "post_pt")),
        "{err}"
    );
    assert!(
        err.message
            .contains("nested definition `BoundSpatialPoint` is not a spatial point"),
        "{err}"
    );
}

#[test]
fn wrong_type_for_required() {
    for (required, expected) in [
        (json!("pre_pt"), "array of property names, found a string"),
        (json!([1]), "property names (strings), found a number"),
        (
            json!(["pre_pt", "nope"]),
            "`nope`, which is not among the properties",
        ),
    ] {
        let mut doc = synapse_doc();
        doc["definitions"]["SynapseSchema"]["required"] = required.clone();
        let err = parse(&doc).unwrap_err();
        assert_eq!(
            err.definition.as_deref(),
            Some("SynapseSchema"),
            "{required}"
        );
        assert_eq!(err.property.as_deref(), Some("required"), "{required}");
        assert!(err.message.contains(expected), "{required}: {err}");
    }
}

#[test]
fn types_all_must_be_an_object() {
    let err = parse_types_all_str("[1, 2]", "types_all.json").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("types_all.json: expected an object"),
        "{err}"
    );
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const JUNK: [&str; 12] = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "-1",
    "1e400",
    "\\u0000",
    "#/definitions/",
];

fn random_value(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(rng.next() as i64),
        3 => json!(-1.5e300),
        4 => json!("#/definitions/BoundSpatialPoint"),
        5 => json!(["number", "null"]),
        6 => json!({"type": "integer"}),
        7 => json!({"$ref": "#/definitions/SynapseSchema"}),
        _ => json!("array"),
    }
}

/// Replace, delete or retype one random node of the tree.
fn mutate_value(v: &mut Value, rng: &mut Rng, depth: usize) {
    let descend = depth < 6 && rng.below(4) != 0;
    match v {
        Value::Object(m) if descend && !m.is_empty() => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let key = &keys[rng.below(keys.len())];
            match rng.below(5) {
                0 => {
                    m.remove(key);
                }
                1 => {
                    m.insert(format!("{key}_x"), random_value(rng));
                }
                _ => mutate_value(m.get_mut(key).unwrap(), rng, depth + 1),
            }
        }
        Value::Array(a) if descend && !a.is_empty() => {
            let i = rng.below(a.len());
            if rng.below(3) == 0 {
                a.remove(i);
            } else {
                mutate_value(&mut a[i], rng, depth + 1);
            }
        }
        _ => *v = random_value(rng),
    }
}

/// Text-level damage: cut, delete, insert, duplicate.
fn mutate_text(text: &str, rng: &mut Rng) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len());
        match rng.below(4) {
            0 => bytes.truncate(at),
            1 => {
                let end = (at + rng.below(40)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let junk = JUNK[rng.below(JUNK.len())].as_bytes();
                bytes.splice(at..at, junk.iter().copied());
            }
            _ => {
                let end = (at + rng.below(60)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Thousands of random mutations of every real document: each must parse or fail with an
/// error, never panic; whatever parses must flatten.
#[test]
fn random_mutations_never_panic() {
    let types = types();
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let (mut ok, mut failed) = (0, 0);
    for name in types.names() {
        let doc = &types.get_doc(name).unwrap().document;
        let text = canonical_json::to_string(doc);
        for _ in 0..60 {
            let mut v = doc.clone();
            for _ in 0..=rng.below(3) {
                mutate_value(&mut v, &mut rng, 0);
            }
            let damaged = mutate_text(&text, &mut rng);
            for result in [
                parse_schema_type(name, &v, "m.json"),
                parse_schema_type_str(name, &damaged, "m.json"),
            ] {
                match result {
                    Ok(t) => {
                        let _ = t.columns();
                        ok += 1;
                    }
                    Err(e) => {
                        assert!(!e.to_string().is_empty());
                        failed += 1;
                    }
                }
            }
        }
    }
    eprintln!("mutated documents: {ok} parsed, {failed} refused with an error");
    // Both outcomes must occur, or the mutations are not exercising anything.
    assert!(ok > 100 && failed > 1000, "ok={ok} failed={failed}");
}
