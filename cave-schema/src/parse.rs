//! Parse the schema service's JSON (draft-07, marshmallow-jsonschema 0.10 style) into
//! [`SchemaType`]s.
//!
//! Tolerated on purpose: unknown keys, any key order, the `desription` typo, `enumNames`,
//! `title`, and older service output (no `["x","null"]` unions, bare `"number"` for floats).
//! Everything else that does not fit is an error naming the source, the definition and the
//! property; nothing here panics on any input.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

use cave_wire::json_kind;
use serde_json::{Map, Value};

use crate::schema::{
    EnumField, EnumRepr, EnumValue, Field, FieldKind, Point, PointKind, SchemaType,
};

/// A schema document that does not parse, with where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The file (or other source) the document came from.
    pub source: String,
    /// The schema type being parsed, when known.
    pub schema_type: Option<String>,
    /// The definition, when the problem is inside one.
    pub definition: Option<String>,
    /// The property, when the problem is inside one.
    pub property: Option<String>,
    /// What was wrong: what was expected and what was found.
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(t) = &self.schema_type {
            write!(f, ": schema type `{t}`")?;
        }
        if let Some(d) = &self.definition {
            write!(f, ", definition `{d}`")?;
        }
        if let Some(p) = &self.property {
            write!(f, ", property `{p}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SchemaError {}

/// Parse one schema type from its JSON text (`GET /schema/api/v2/type/<name>`).
/// `source` names where the text came from, for errors (usually the file path).
pub fn parse_schema_type_str(
    name: &str,
    text: &str,
    source: &str,
) -> Result<SchemaType, SchemaError> {
    parse_schema_type(name, &parse_json(name, text, source)?, source)
}

/// The JSON of one type's document; a syntax error names the source, line and column.
pub(crate) fn parse_json(name: &str, text: &str, source: &str) -> Result<Value, SchemaError> {
    serde_json::from_str(text).map_err(|e| SchemaError {
        source: source.to_string(),
        schema_type: Some(name.to_string()),
        definition: None,
        property: None,
        message: json_syntax_message(&e),
    })
}

/// Parse every type of a `types_all` (or `POST types`) response: `{name: document, ...}`.
/// The result is sorted by type name.
pub fn parse_types_all_str(text: &str, source: &str) -> Result<Vec<SchemaType>, SchemaError> {
    types_all_documents(text, source)?
        .iter()
        .map(|(name, doc)| parse_schema_type(name, doc, source))
        .collect()
}

/// The documents of a `types_all` response, by type name (sorted).
pub(crate) fn types_all_documents(
    text: &str,
    source: &str,
) -> Result<std::collections::BTreeMap<String, Value>, SchemaError> {
    let err = |message: String| SchemaError {
        source: source.to_string(),
        schema_type: None,
        definition: None,
        property: None,
        message,
    };
    match serde_json::from_str(text).map_err(|e| err(json_syntax_message(&e)))? {
        Value::Object(types) => Ok(types.into_iter().collect()),
        other => Err(err(format!(
            "expected an object of schema type name to document, found {}",
            json_kind(&other)
        ))),
    }
}

/// The message of a JSON syntax error, with its line and column (stated once).
pub fn json_syntax_message(e: &serde_json::Error) -> String {
    format!(
        "invalid JSON at line {}, column {}: {}",
        e.line(),
        e.column(),
        json_error_text(e)
    )
}

/// serde_json's message without the " at line L column C" it ends with (callers say where).
pub(crate) fn json_error_text(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    }
}

/// Parse one schema type from an already-parsed JSON document.
pub fn parse_schema_type(name: &str, doc: &Value, source: &str) -> Result<SchemaType, SchemaError> {
    let cx = Cx {
        source,
        schema_type: name,
        definition: None,
        property: None,
    };
    let Value::Object(root) = doc else {
        return Err(cx.err(format!(
            "expected a JSON Schema object, found {}",
            json_kind(doc)
        )));
    };
    let definitions = match root.get("definitions") {
        Some(Value::Object(d)) => d,
        Some(other) => {
            return Err(cx.err(format!(
                "expected `definitions` to be an object, found {}",
                json_kind(other)
            )));
        }
        None => return Err(cx.err("missing `definitions`".to_string())),
    };
    let class_name = match root.get("$ref") {
        Some(Value::String(r)) => ref_target(r).ok_or_else(|| {
            cx.err(format!(
                "expected the root `$ref` to look like `#/definitions/<Name>`, found `{r}`"
            ))
        })?,
        Some(other) => {
            return Err(cx.err(format!(
                "expected the root `$ref` to be a string, found {}",
                json_kind(other)
            )));
        }
        None => {
            return Err(
                cx.err("missing the root `$ref` (which definition is the schema)".to_string())
            );
        }
    };
    let def_cx = cx.definition(class_name);
    let root_def = definitions.get(class_name).ok_or_else(|| {
        def_cx.err(format!(
            "the root `$ref` names a definition that `definitions` does not have ({})",
            known(definitions)
        ))
    })?;
    let mut fields = parse_definition(&def_cx, root_def, definitions, true)?;
    order_fields(&mut fields, declared_order(name));
    let is_point = point_kind(&fields).is_some();
    Ok(SchemaType {
        name: name.to_string(),
        class_name: class_name.to_string(),
        fields,
        is_point,
    })
}

/// Error context: where in the document we are.
#[derive(Clone, Copy)]
struct Cx<'a> {
    source: &'a str,
    schema_type: &'a str,
    definition: Option<&'a str>,
    property: Option<&'a str>,
}

impl<'a> Cx<'a> {
    fn definition(self, d: &'a str) -> Self {
        Cx {
            definition: Some(d),
            property: None,
            ..self
        }
    }
    fn property(self, p: &'a str) -> Self {
        Cx {
            property: Some(p),
            ..self
        }
    }
    fn err(self, message: String) -> SchemaError {
        SchemaError {
            source: self.source.to_string(),
            schema_type: Some(self.schema_type.to_string()),
            definition: self.definition.map(str::to_string),
            property: self.property.map(str::to_string),
            message,
        }
    }
}

/// Parse the fields of one definition (`{"type":"object","properties":{..},"required":[..]}`).
/// `allow_nested` is false inside a point: nesting deeper than the point leaves is not a shape
/// the service emits.
fn parse_definition(
    cx: &Cx<'_>,
    def: &Value,
    definitions: &Map<String, Value>,
    allow_nested: bool,
) -> Result<Vec<Field>, SchemaError> {
    let Value::Object(def) = def else {
        return Err(cx.err(format!(
            "expected the definition to be an object, found {}",
            json_kind(def)
        )));
    };
    let properties = match def.get("properties") {
        Some(Value::Object(p)) => p,
        Some(other) => {
            return Err(cx.err(format!(
                "expected `properties` to be an object, found {}",
                json_kind(other)
            )));
        }
        None => return Err(cx.err("missing `properties`".to_string())),
    };
    let required = parse_required(cx, def.get("required"), properties)?;
    let mut fields = Vec::with_capacity(properties.len());
    for (name, prop) in properties {
        let pcx = cx.property(name);
        let Value::Object(prop) = prop else {
            return Err(pcx.err(format!(
                "expected the property to be an object, found {}",
                json_kind(prop)
            )));
        };
        let kind = parse_kind(&pcx, name, prop, definitions, allow_nested)?;
        fields.push(Field {
            name: name.clone(),
            kind,
            required: required.contains(name.as_str()),
            description: string_key(&pcx, prop, "description")?.or(string_key(
                &pcx,
                prop,
                "desription",
            )?),
            default: prop.get("default").cloned(),
            order: match prop.get("order") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_i64().ok_or_else(|| {
                    pcx.err(format!(
                        "expected `order` to be an integer, found {}",
                        json_kind(v)
                    ))
                })?),
            },
            indexed: matches!(prop.get("index"), Some(Value::Bool(true))),
        });
    }
    Ok(fields)
}

fn parse_required<'p>(
    cx: &Cx<'_>,
    required: Option<&'p Value>,
    properties: &Map<String, Value>,
) -> Result<BTreeSet<&'p str>, SchemaError> {
    let rcx = cx.property("required");
    let items = match required {
        None | Some(Value::Null) => return Ok(BTreeSet::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(rcx.err(format!(
                "expected `required` to be an array of property names, found {}",
                json_kind(other)
            )));
        }
    };
    let mut names = BTreeSet::new();
    for item in items {
        let Value::String(name) = item else {
            return Err(rcx.err(format!(
                "expected `required` to list property names (strings), found {}",
                json_kind(item)
            )));
        };
        if !properties.contains_key(name) {
            return Err(rcx.err(format!(
                "`required` lists `{name}`, which is not among the properties ({})",
                known(properties)
            )));
        }
        names.insert(name.as_str());
    }
    Ok(names)
}

/// Decide the kind of one property from its JSON.
fn parse_kind(
    cx: &Cx<'_>,
    name: &str,
    prop: &Map<String, Value>,
    definitions: &Map<String, Value>,
    allow_nested: bool,
) -> Result<FieldKind, SchemaError> {
    if let Some(r) = prop.get("$ref") {
        return parse_nested(cx, r, definitions, allow_nested);
    }
    let base = base_type(cx, prop.get("type"))?;
    let format = string_key(cx, prop, "format")?;
    if let Some(values) = prop.get("enum") {
        return parse_enum(cx, name, base, format.as_deref(), values);
    }
    match (base, format.as_deref()) {
        ("array", _) if !prop.contains_key("items") => Ok(FieldKind::Position),
        ("integer", None | Some("integer")) => Ok(FieldKind::Int64),
        // AutoUserIdField looks like a 32-bit Int in JSON but is BIGINT in the database.
        ("number", Some("integer")) if name == "user_id" => Ok(FieldKind::Int64),
        ("number", Some("integer")) => Ok(FieldKind::Int32),
        // Older services wrote floats as a bare `"number"`.
        ("number", None | Some("float")) => Ok(FieldKind::Float),
        ("string", None) => Ok(FieldKind::String),
        ("boolean", None) => Ok(FieldKind::Bool),
        (t, f) => Err(cx.err(format!(
            "unknown field shape: type `{t}`{}{}; expected a point `$ref`, a position array, integer, number (integer or float), string or boolean",
            f.map(|f| format!(" with format `{f}`")).unwrap_or_default(),
            if prop.contains_key("items") { " with `items`" } else { "" },
        ))),
    }
}

/// The one non-null type of `type`, which may be a string or a list with `"null"`.
fn base_type<'v>(cx: &Cx<'_>, ty: Option<&'v Value>) -> Result<&'v str, SchemaError> {
    match ty {
        Some(Value::String(t)) => Ok(t),
        Some(Value::Array(items)) => {
            let mut non_null = items.iter().filter(|t| t.as_str() != Some("null"));
            match (non_null.next(), non_null.next()) {
                (Some(Value::String(t)), None) => Ok(t),
                _ => Err(cx.err(format!(
                    "expected `type` to be one type name, optionally with \"null\", found {}",
                    Value::Array(items.clone())
                ))),
            }
        }
        Some(other) => Err(cx.err(format!(
            "expected `type` to be a string, found {}",
            json_kind(other)
        ))),
        None => Err(cx.err("unknown field shape: no `type` and no `$ref`".to_string())),
    }
}

fn parse_nested(
    cx: &Cx<'_>,
    r: &Value,
    definitions: &Map<String, Value>,
    allow_nested: bool,
) -> Result<FieldKind, SchemaError> {
    let Value::String(r) = r else {
        return Err(cx.err(format!(
            "expected `$ref` to be a string, found {}",
            json_kind(r)
        )));
    };
    if !allow_nested {
        return Err(cx.err(format!(
            "unknown field shape: `$ref` to `{r}` inside a point definition"
        )));
    }
    let target = ref_target(r).ok_or_else(|| {
        cx.err(format!(
            "expected `$ref` to look like `#/definitions/<Name>`, found `{r}`"
        ))
    })?;
    let def = definitions.get(target).ok_or_else(|| {
        cx.err(format!(
            "`$ref` points to a missing definition `{target}` ({})",
            known(definitions)
        ))
    })?;
    let mut fields = parse_definition(&cx.definition(target), def, definitions, false)?;
    let kind = point_kind(&fields).ok_or_else(|| {
        cx.err(format!(
            "unknown field shape: nested definition `{target}` is not a spatial point (expected a `position` array property)"
        ))
    })?;
    order_fields(&mut fields, None);
    Ok(FieldKind::Point(Point {
        kind,
        definition: target.to_string(),
        fields,
    }))
}

fn parse_enum(
    cx: &Cx<'_>,
    name: &str,
    base: &str,
    format: Option<&str>,
    values: &Value,
) -> Result<FieldKind, SchemaError> {
    let repr = match (base, format) {
        ("string", None) => EnumRepr::Utf8,
        ("number", Some("integer")) if name != "user_id" => EnumRepr::Int32,
        ("integer", _) | ("number", Some("integer")) => EnumRepr::Int64,
        (t, _) => {
            return Err(cx.err(format!(
                "unknown field shape: `enum` on type `{t}`; expected string or integer values"
            )));
        }
    };
    let Value::Array(items) = values else {
        return Err(cx.err(format!(
            "expected `enum` to be an array of values, found {}",
            json_kind(values)
        )));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let value = match (repr, item) {
            (EnumRepr::Utf8, Value::String(s)) => EnumValue::Str(s.clone()),
            (EnumRepr::Int32, Value::Number(n))
                if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) =>
            {
                EnumValue::Int(n.as_i64().unwrap_or_default())
            }
            (EnumRepr::Int64, Value::Number(n)) if n.as_i64().is_some() => {
                EnumValue::Int(n.as_i64().unwrap_or_default())
            }
            (_, other) => {
                return Err(cx.err(format!(
                    "expected every `enum` value to be {}, found {other}",
                    if repr == EnumRepr::Utf8 {
                        "a string"
                    } else {
                        "an integer that fits the column"
                    }
                )));
            }
        };
        if out.contains(&value) {
            return Err(cx.err(format!("`enum` lists `{value}` twice")));
        }
        out.push(value);
    }
    if out.is_empty() {
        return Err(cx.err("`enum` is empty".to_string()));
    }
    Ok(FieldKind::Enum(EnumField { repr, values: out }))
}

/// A string-valued key of a property, or None when absent or null.
fn string_key(
    cx: &Cx<'_>,
    prop: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, SchemaError> {
    match prop.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(cx.err(format!(
            "expected `{key}` to be a string, found {}",
            json_kind(other)
        ))),
    }
}

/// `#/definitions/Name` → `Name`.
fn ref_target(r: &str) -> Option<&str> {
    r.strip_prefix("#/definitions/").filter(|t| !t.is_empty())
}

/// Which point a set of fields is, if any: it needs a `position` array; `root_id` makes it bound,
/// `dependent_chunk` derived.
fn point_kind(fields: &[Field]) -> Option<PointKind> {
    let has = |n: &str| fields.iter().any(|f| f.name == n);
    let position = fields
        .iter()
        .any(|f| f.name == "position" && f.kind == FieldKind::Position);
    match (position, has("dependent_chunk"), has("root_id")) {
        (false, _, _) => None,
        (true, true, _) => Some(PointKind::Derived),
        (true, false, true) => Some(PointKind::Bound),
        (true, false, false) => Some(PointKind::Spatial),
    }
}

/// The declaration order of point fields (SpatialPoint → BoundSpatialPoint → DerivedSpatialPoint).
const POINT_ORDER: [&str; 5] = [
    "position",
    "supervoxel_id",
    "root_id",
    "dependent_chunk",
    "level",
];

/// Put fields in declaration order: the recorded order of the type when there is one (fields it
/// does not list go after, alphabetically); otherwise the point order for point fields, `valid`
/// first, the rest alphabetically (the service's property order).
fn order_fields(fields: &mut [Field], declared: Option<&[String]>) {
    let rank = |name: &str| -> (usize, usize) {
        if let Some(pos) = declared.and_then(|d| d.iter().position(|n| n == name)) {
            return (0, pos);
        }
        if let Some(pos) = POINT_ORDER.iter().position(|n| *n == name) {
            return (1, pos);
        }
        (if name == "valid" { 1 } else { 2 }, 0)
    };
    // Stable: ties keep the (alphabetical) property order.
    fields.sort_by_key(|f| rank(&f.name));
}

/// The declaration order of a type's root fields, as recorded from emannotationschemas by
/// `scripts/emannotationschemas_facts.py` (the JSON sorts properties alphabetically).
fn declared_order(type_name: &str) -> Option<&'static [String]> {
    static ORDER: OnceLock<std::collections::BTreeMap<String, Vec<String>>> = OnceLock::new();
    let order = ORDER.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct Recorded {
            types: std::collections::BTreeMap<String, Vec<String>>,
        }
        // The file is part of this crate; a test checks it parses.
        serde_json::from_str::<Recorded>(include_str!("../data/declaration_order.json"))
            .map(|r| r.types)
            .unwrap_or_default()
    });
    order.get(type_name).map(Vec::as_slice)
}

/// `(a, b, c)` list of the keys of a map, for "did you mean" context in errors.
fn known(map: &Map<String, Value>) -> String {
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys.is_empty() {
        "there are none".to_string()
    } else {
        format!("known: {}", keys.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaration_order_data_parses() {
        assert!(declared_order("synapse").is_some_and(|o| o.len() == 5));
    }
}
