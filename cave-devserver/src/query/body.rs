//! The JSON body of a query, validated the way the server's marshmallow schemas do (unknown
//! keys and wrong types answer HTTP 500 `{"schema_errors": {...}}`, docs/WIRE.md, "Server errors").

use serde_json::{Map, Value, json};

use crate::error::ApiError;

pub use cave_wire::FilterKind;

/// One filter: `table.column <kind> value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Which family.
    pub kind: FilterKind,
    /// The table the outer key names.
    pub table: String,
    /// The column.
    pub column: String,
    /// The value as sent.
    pub value: Value,
}

/// Which endpoint a body is for: each accepts its own keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `.../table/{t}/query` (and view queries).
    Simple,
    /// `.../version/{v}/query`.
    Join,
    /// `.../datastack/{ds}/query` (live_live_query).
    Live,
}

/// A parsed query body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryBody {
    /// All filters, in body order.
    pub filters: Vec<Filter>,
    /// `select_columns` as a list.
    pub select_columns: Option<Vec<String>>,
    /// `select_column_map` (or live `select_columns` as a dict): table → columns.
    pub select_column_map: Option<Vec<(String, Vec<String>)>>,
    /// `offset`.
    pub offset: Option<i64>,
    /// `limit`.
    pub limit: Option<i64>,
    /// `suffixes` as a list (deprecated).
    pub suffixes: Option<Vec<String>>,
    /// `suffix_map` (or live `suffixes` as a dict): table → suffix.
    pub suffix_map: Option<Vec<(String, String)>>,
    /// `desired_resolution`.
    pub desired_resolution: Option<[f64; 3]>,
    /// Join: `tables` `[[t1, c1], [t2, c2]]`.
    pub tables: Option<Vec<(String, String)>>,
    /// Live: `table`.
    pub table: Option<String>,
    /// Live: `timestamp`.
    pub timestamp: Option<String>,
    /// Live: `join_tables` `[[t1, c1, t2, c2]]`.
    pub join_tables: Option<Vec<[String; 4]>>,
}

/// Collects marshmallow-style messages per field.
#[derive(Default)]
struct Errors(Map<String, Value>);

impl Errors {
    fn add(&mut self, field: &str, message: &str) {
        self.0.insert(field.to_string(), json!([message]));
    }
}

/// Parse and validate a body for `endpoint`. An empty body counts as `{}`.
pub fn parse(bytes: &[u8], endpoint: Endpoint) -> Result<QueryBody, ApiError> {
    let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(bytes).map_err(|_| {
            ApiError::bad_request(
                "The browser (or proxy) sent a request that this server could not understand.",
            )
        })?
    };
    let Value::Object(map) = value else {
        return Err(ApiError::schema_error("_schema", "Invalid input type."));
    };
    let mut body = QueryBody::default();
    let mut errors = Errors::default();
    for (key, value) in &map {
        if value.is_null() {
            continue; // marshmallow fields here allow None
        }
        parse_key(&mut body, &mut errors, endpoint, key, value);
    }
    if errors.0.is_empty() {
        Ok(body)
    } else {
        Err(ApiError::SchemaErrors(Value::Object(errors.0)))
    }
}

fn parse_key(
    body: &mut QueryBody,
    errors: &mut Errors,
    endpoint: Endpoint,
    key: &str,
    value: &Value,
) {
    if let Some(kind) = FilterKind::ALL.into_iter().find(|k| k.body_key() == key) {
        match filters(kind, value) {
            Ok(mut f) => body.filters.append(&mut f),
            Err(message) => errors.add(key, message),
        }
        return;
    }
    let live = endpoint == Endpoint::Live;
    match key {
        "select_columns" if live => match table_lists(value) {
            Some(m) => body.select_column_map = Some(m),
            None => errors.add(key, "Not a valid mapping type."),
        },
        "select_columns" => match string_list(value) {
            Some(l) => body.select_columns = Some(l),
            None => errors.add(key, "Not a valid list."),
        },
        "select_column_map" if !live => match table_lists(value) {
            Some(m) => body.select_column_map = Some(m),
            None => errors.add(key, "Not a valid mapping type."),
        },
        "offset" => match integer(value) {
            Some(n) => body.offset = Some(n),
            None => errors.add(key, "Not a valid integer."),
        },
        "limit" => match integer(value) {
            Some(n) => body.limit = Some(n),
            None => errors.add(key, "Not a valid integer."),
        },
        "suffixes" if live => match string_map(value) {
            Some(m) => body.suffix_map = Some(m),
            None => errors.add(key, "Not a valid mapping type."),
        },
        "suffixes" => match string_list(value) {
            Some(l) => body.suffixes = Some(l),
            None => errors.add(key, "Not a valid list."),
        },
        "suffix_map" if !live => match string_map(value) {
            Some(m) => body.suffix_map = Some(m),
            None => errors.add(key, "Not a valid mapping type."),
        },
        "desired_resolution" => match resolution(value) {
            Ok(r) => body.desired_resolution = Some(r),
            Err(message) => errors.add(key, message),
        },
        "tables" if endpoint == Endpoint::Join => match join_pairs(value) {
            Some(t) => body.tables = Some(t),
            None => errors.add(key, "Not a valid list."),
        },
        "table" if live => match value.as_str() {
            Some(t) => body.table = Some(t.to_string()),
            None => errors.add(key, "Not a valid string."),
        },
        "timestamp" if live => match value.as_str() {
            Some(t) => body.timestamp = Some(t.to_string()),
            None => errors.add(key, "Not a valid datetime."),
        },
        "join_tables" if live => match join_quads(value) {
            Some(j) => body.join_tables = Some(j),
            None => errors.add(key, "Not a valid list."),
        },
        _ => errors.add(key, "Unknown field."),
    }
}

fn filters(kind: FilterKind, value: &Value) -> Result<Vec<Filter>, &'static str> {
    let outer = value.as_object().ok_or("Not a valid mapping type.")?;
    let mut out = Vec::new();
    for (table, inner) in outer {
        let inner = inner.as_object().ok_or("Not a valid mapping type.")?;
        for (column, v) in inner {
            out.push(Filter {
                kind,
                table: table.clone(),
                column: column.clone(),
                value: v.clone(),
            });
        }
    }
    Ok(out)
}

fn integer(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64)
        })
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn string_map(value: &Value) -> Option<Vec<(String, String)>> {
    value
        .as_object()?
        .iter()
        .map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

fn table_lists(value: &Value) -> Option<Vec<(String, Vec<String>)>> {
    value
        .as_object()?
        .iter()
        .map(|(k, v)| Some((k.clone(), string_list(v)?)))
        .collect()
}

fn resolution(value: &Value) -> Result<[f64; 3], &'static str> {
    let items = value.as_array().ok_or("Not a valid list.")?;
    if items.len() != 3 {
        return Err("Length must be 3.");
    }
    let mut out = [0.0; 3];
    for (slot, item) in out.iter_mut().zip(items) {
        let f = item.as_f64().ok_or("Not a valid number.")?;
        if !(f.is_finite() && f > 0.0) {
            return Err("Must be a positive number.");
        }
        *slot = f;
    }
    Ok(out)
}

fn join_pairs(value: &Value) -> Option<Vec<(String, String)>> {
    value
        .as_array()?
        .iter()
        .map(|pair| {
            let l = string_list(pair)?;
            (l.len() == 2).then(|| (l[0].clone(), l[1].clone()))
        })
        .collect()
}

fn join_quads(value: &Value) -> Option<Vec<[String; 4]>> {
    value
        .as_array()?
        .iter()
        .map(|quad| {
            let l = string_list(quad)?;
            (l.len() == 4).then(|| [l[0].clone(), l[1].clone(), l[2].clone(), l[3].clone()])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(body: &str, endpoint: Endpoint) -> Value {
        match parse(body.as_bytes(), endpoint) {
            Err(ApiError::SchemaErrors(v)) => v,
            other => panic!("expected schema errors, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_documented_example() {
        let body = r#"{"filter_in_dict": {"synapses": {"pre_pt_root_id": [864691135000000001, 2]}},
            "filter_notin_dict": {"synapses": {"post_pt_root_id": [3]}},
            "filter_spatial_dict": {"synapses": {"pre_pt_position": [[0, 0, 0], [1000, 1000, 100]]}},
            "select_columns": ["id", "pre_pt_root_id"], "offset": 5, "limit": 10, "desired_resolution": [1, 1, 1]}"#;
        let b = parse(body.as_bytes(), Endpoint::Simple).unwrap();
        assert_eq!(b.filters.len(), 3);
        assert_eq!(b.filters[0].kind, FilterKind::In);
        assert_eq!(b.limit, Some(10));
        assert_eq!(b.desired_resolution, Some([1.0, 1.0, 1.0]));
    }

    #[test]
    fn unknown_and_mistyped_fields_are_schema_errors() {
        let e = errors(r#"{"filter_out_dict": {}, "limit": "x"}"#, Endpoint::Simple);
        assert_eq!(e["filter_out_dict"][0], "Unknown field.");
        assert_eq!(e["limit"][0], "Not a valid integer.");
        let e = errors(r#"{"tables": [["a", "b"]]}"#, Endpoint::Simple);
        assert_eq!(e["tables"][0], "Unknown field.");
        let e = errors(r#"{"desired_resolution": [1, 1]}"#, Endpoint::Simple);
        assert_eq!(e["desired_resolution"][0], "Length must be 3.");
        let e = errors(r#"{"filter_in_dict": {"t": 5}}"#, Endpoint::Simple);
        assert_eq!(e["filter_in_dict"][0], "Not a valid mapping type.");
    }

    #[test]
    fn live_bodies_take_dicts() {
        let b = parse(
            br#"{"table": "t", "timestamp": "2025-01-02T03:04:05+00:00", "select_columns": {"t": ["id"]}, "suffixes": {"t": ""}}"#,
            Endpoint::Live,
        )
        .unwrap();
        assert_eq!(b.table.as_deref(), Some("t"));
        assert_eq!(b.select_column_map.unwrap()[0].1, vec!["id".to_string()]);
    }

    #[test]
    fn broken_json_is_a_wrapped_bad_request() {
        assert!(matches!(
            parse(b"{nope", Endpoint::Simple),
            Err(ApiError::Wrapped(m)) if m.starts_with("400 Bad Request")
        ));
        assert!(parse(b"", Endpoint::Simple).is_ok());
    }
}
