//! Deterministic JSON text: the one way snapshot files are written.
//!
//! Keys are sorted by byte order whatever map type `serde_json` was built with (the
//! `preserve_order` feature may be switched on by another crate in the same build), two-space
//! indentation, one element per line, a trailing newline. Same value, same bytes.

use serde_json::Value;

/// Render `value` as canonical JSON text, ending with a newline.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out.push('\n');
    out
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_scalar(out, &Value::String(key.clone()));
                out.push_str(": ");
                write_value(out, item, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
        scalar => write_scalar(out, scalar),
    }
}

/// Scalars (and strings) use serde_json's own formatting, which is already deterministic.
fn write_scalar(out: &mut String, value: &Value) {
    out.push_str(&value.to_string());
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_indents() {
        let v = json!({"b": [1, {"z": null, "a": 4.0}], "a": {}, "c": [], "d": "é\"x"});
        let expected = "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"a\": 4.0,\n      \"z\": null\n    }\n  ],\n  \"c\": [],\n  \"d\": \"é\\\"x\"\n}\n";
        assert_eq!(to_string(&v), expected);
    }

    #[test]
    fn key_order_of_input_does_not_matter() {
        let a: Value = serde_json::from_str(r#"{"x": 1, "y": {"q": 1, "p": 2}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"y": {"p": 2, "q": 1}, "x": 1}"#).unwrap();
        assert_eq!(to_string(&a), to_string(&b));
    }
}
