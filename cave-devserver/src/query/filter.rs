//! Evaluating one filter of a query body over a stored table, with the server's semantics
//! (docs/WIRE.md, "Query bodies"): SQL comparison (NULL never matches), bbox intersection inclusive of its
//! faces, `~` regex on strings only, and 500s with the server's messages for misuse.

use std::collections::HashSet;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, StringArray,
    TimestampNanosecondArray,
};
use serde_json::Value;

use crate::error::ApiError;
use crate::query::body::{Filter, FilterKind};
use crate::store::{TableData, Values};

/// A typed view of one stored array.
enum View<'a> {
    I64(&'a Int64Array),
    I32(&'a Int32Array),
    F32(&'a Float32Array),
    F64(&'a Float64Array),
    Bool(&'a BooleanArray),
    Str(&'a StringArray),
    Ts(&'a TimestampNanosecondArray),
}

impl<'a> View<'a> {
    fn of(array: &'a ArrayRef) -> Option<View<'a>> {
        let any = array.as_any();
        any.downcast_ref()
            .map(View::I64)
            .or_else(|| any.downcast_ref().map(View::I32))
            .or_else(|| any.downcast_ref().map(View::F32))
            .or_else(|| any.downcast_ref().map(View::F64))
            .or_else(|| any.downcast_ref().map(View::Bool))
            .or_else(|| any.downcast_ref().map(View::Str))
            .or_else(|| any.downcast_ref().map(View::Ts))
    }

    fn sql_type(&self) -> &'static str {
        match self {
            View::I64(_) => "bigint",
            View::I32(_) => "integer",
            View::F32(_) => "real",
            View::F64(_) => "double precision",
            View::Bool(_) => "boolean",
            View::Str(_) => "character varying",
            View::Ts(_) => "timestamp without time zone",
        }
    }
}

/// A literal from the body, coerced to what the column compares with.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

fn type_error(view: &View, value: &Value) -> ApiError {
    ApiError::Wrapped(format!(
        "(psycopg2.errors.InvalidTextRepresentation) invalid input syntax for type {}: {}",
        view.sql_type(),
        value
    ))
}

fn number(view: &View, value: &Value) -> Result<Num, ApiError> {
    if let Some(i) = value.as_i64() {
        return Ok(Num::Int(i));
    }
    if let Some(f) = value.as_f64() {
        return Ok(Num::Float(f));
    }
    // PostgreSQL casts a numeric string literal.
    if let Some(s) = value.as_str() {
        if let Ok(i) = s.trim().parse::<i64>() {
            return Ok(Num::Int(i));
        }
        if let Ok(f) = s.trim().parse::<f64>() {
            return Ok(Num::Float(f));
        }
    }
    Err(type_error(view, value))
}

fn timestamp_ns(view: &View, value: &Value) -> Result<i64, ApiError> {
    let text = value.as_str().ok_or_else(|| type_error(view, value))?;
    let parsed = cave_wire::parse_time(text).ok_or_else(|| type_error(view, value))?;
    parsed
        .timestamp_nanos_opt()
        .ok_or_else(|| type_error(view, value))
}

/// AND the filter into `mask` (one flag per stored row).
pub fn apply(data: &TableData, filter: &Filter, mask: &mut [bool]) -> Result<(), ApiError> {
    if filter.kind == FilterKind::NotIn {
        return Ok(()); // read as `filter_out_dict` by the server, so never applied (§11.5)
    }
    let column = data
        .column(&filter.column)
        .ok_or_else(|| ApiError::Wrapped(format!("'{}'", filter.column)))?;
    match (&column.values, filter.kind) {
        (Values::Position(xyz), FilterKind::Spatial) => spatial(xyz, &filter.value, mask),
        (Values::Position(_), _) => Err(ApiError::Wrapped(format!(
            "(psycopg2.errors.UndefinedFunction) operator does not exist: geometry = {} on column {}",
            json_type(&filter.value),
            filter.column
        ))),
        (Values::Single(_), FilterKind::Spatial) => Err(ApiError::Wrapped(format!(
            "'{}' is not a position column: a spatial filter needs a point column",
            filter.column
        ))),
        (Values::Single(array), kind) => {
            let view = View::of(array).ok_or_else(|| {
                ApiError::Wrapped(format!("unsupported column type for {}", filter.column))
            })?;
            scalar(&view, kind, &filter.value, mask)
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "numeric",
        Value::String(_) => "text",
        Value::Array(_) => "array",
        Value::Object(_) => "json",
    }
}

fn scalar(view: &View, kind: FilterKind, value: &Value, mask: &mut [bool]) -> Result<(), ApiError> {
    match kind {
        FilterKind::In => {
            let items = value.as_array().ok_or_else(|| {
                ApiError::Wrapped(format!("filter_in_dict value {value} is not a list"))
            })?;
            membership(view, items, mask)
        }
        FilterKind::Equal => membership(view, std::slice::from_ref(value), mask),
        FilterKind::Greater
        | FilterKind::Less
        | FilterKind::GreaterEqual
        | FilterKind::LessEqual => compare(view, kind, value, mask),
        FilterKind::Regex => regex(view, value, mask),
        FilterKind::NotIn | FilterKind::Spatial => Ok(()),
    }
}

/// Keep rows whose value is one of `items` (SQL `IN` / `=`).
fn membership(view: &View, items: &[Value], mask: &mut [bool]) -> Result<(), ApiError> {
    match view {
        View::I64(a) => {
            let set = integer_set(view, items)?;
            keep(mask, |i| a.is_valid(i) && set.contains(&a.value(i)))
        }
        View::I32(a) => {
            let set = integer_set(view, items)?;
            keep(mask, |i| {
                a.is_valid(i) && set.contains(&i64::from(a.value(i)))
            })
        }
        View::F32(a) => {
            let wanted: Vec<f32> = items
                .iter()
                .map(|v| number(view, v).map(|n| n.as_f64() as f32))
                .collect::<Result<_, _>>()?;
            keep(mask, |i| a.is_valid(i) && wanted.contains(&a.value(i)))
        }
        View::F64(a) => {
            let wanted: Vec<f64> = items
                .iter()
                .map(|v| number(view, v).map(Num::as_f64))
                .collect::<Result<_, _>>()?;
            keep(mask, |i| a.is_valid(i) && wanted.contains(&a.value(i)))
        }
        View::Bool(a) => {
            let wanted: Vec<bool> = items
                .iter()
                .map(|v| v.as_bool().ok_or_else(|| type_error(view, v)))
                .collect::<Result<_, _>>()?;
            keep(mask, |i| a.is_valid(i) && wanted.contains(&a.value(i)))
        }
        View::Str(a) => {
            let set: HashSet<&str> = items
                .iter()
                .map(|v| v.as_str().ok_or_else(|| type_error(view, v)))
                .collect::<Result<_, _>>()?;
            keep(mask, |i| a.is_valid(i) && set.contains(a.value(i)))
        }
        View::Ts(a) => {
            let set: HashSet<i64> = items
                .iter()
                .map(|v| timestamp_ns(view, v))
                .collect::<Result<_, _>>()?;
            keep(mask, |i| a.is_valid(i) && set.contains(&a.value(i)))
        }
    }
    Ok(())
}

fn integer_set(view: &View, items: &[Value]) -> Result<HashSet<i64>, ApiError> {
    let mut set = HashSet::with_capacity(items.len());
    for item in items {
        match number(view, item)? {
            Num::Int(i) => {
                set.insert(i);
            }
            // A non-integral number never equals an integer column.
            Num::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => {
                set.insert(f as i64);
            }
            Num::Float(_) => {}
        }
    }
    Ok(set)
}

fn compare(
    view: &View,
    kind: FilterKind,
    value: &Value,
    mask: &mut [bool],
) -> Result<(), ApiError> {
    let test = |ord: std::cmp::Ordering| match kind {
        FilterKind::Greater => ord.is_gt(),
        FilterKind::Less => ord.is_lt(),
        FilterKind::GreaterEqual => ord.is_ge(),
        _ => ord.is_le(),
    };
    let by_f64 = |x: f64, lit: f64| x.partial_cmp(&lit).is_some_and(test);
    match view {
        View::I64(a) => match number(view, value)? {
            Num::Int(lit) => keep(mask, |i| a.is_valid(i) && test(a.value(i).cmp(&lit))),
            Num::Float(lit) => keep(mask, |i| a.is_valid(i) && by_f64(a.value(i) as f64, lit)),
        },
        View::I32(a) => {
            let lit = number(view, value)?.as_f64();
            keep(mask, |i| {
                a.is_valid(i) && by_f64(f64::from(a.value(i)), lit)
            })
        }
        View::F32(a) => {
            let lit = number(view, value)?.as_f64();
            keep(mask, |i| {
                a.is_valid(i) && by_f64(f64::from(a.value(i)), lit)
            })
        }
        View::F64(a) => {
            let lit = number(view, value)?.as_f64();
            keep(mask, |i| a.is_valid(i) && by_f64(a.value(i), lit))
        }
        View::Str(a) => {
            let lit = value.as_str().ok_or_else(|| type_error(view, value))?;
            keep(mask, |i| a.is_valid(i) && test(a.value(i).cmp(lit)))
        }
        View::Ts(a) => {
            let lit = timestamp_ns(view, value)?;
            keep(mask, |i| a.is_valid(i) && test(a.value(i).cmp(&lit)))
        }
        View::Bool(_) => return Err(type_error(view, value)),
    }
    Ok(())
}

fn regex(view: &View, value: &Value, mask: &mut [bool]) -> Result<(), ApiError> {
    let View::Str(a) = view else {
        return Err(ApiError::Wrapped(
            "Regex filter is only supported on string columns".into(),
        ));
    };
    let pattern = value
        .as_str()
        .ok_or_else(|| ApiError::Wrapped(format!("regex pattern {value} is not a string")))?;
    let re = regex::Regex::new(pattern).map_err(|e| {
        ApiError::Wrapped(format!(
            "(psycopg2.errors.InvalidRegularExpression) invalid regular expression: {e}"
        ))
    })?;
    keep(mask, |i| a.is_valid(i) && re.is_match(a.value(i)));
    Ok(())
}

fn spatial(xyz: &[ArrayRef; 3], value: &Value, mask: &mut [bool]) -> Result<(), ApiError> {
    let shape_error = || {
        ApiError::Wrapped(format!(
            "spatial filter {value} is not [[min_x, min_y, min_z], [max_x, max_y, max_z]]"
        ))
    };
    let corners = value
        .as_array()
        .filter(|c| c.len() == 2)
        .ok_or_else(shape_error)?;
    let corner = |v: &Value| -> Option<[f64; 3]> {
        let a = v.as_array().filter(|a| a.len() == 3)?;
        Some([a[0].as_f64()?, a[1].as_f64()?, a[2].as_f64()?])
    };
    let min = corner(&corners[0]).ok_or_else(shape_error)?;
    let max = corner(&corners[1]).ok_or_else(shape_error)?;
    if (0..3).any(|k| min[k] >= max[k]) {
        return Err(ApiError::Wrapped(format!(
            "min bounds: {} must be less than max bounds: {}",
            corners[0], corners[1]
        )));
    }
    let axes: Vec<&Int32Array> = xyz
        .iter()
        .filter_map(|a| a.as_any().downcast_ref::<Int32Array>())
        .collect();
    if axes.len() != 3 {
        return Err(ApiError::Wrapped("position column is not int32".into()));
    }
    keep(mask, |i| {
        (0..3).all(|k| {
            let a = axes[k];
            a.is_valid(i) && {
                let v = f64::from(a.value(i));
                v >= min[k] && v <= max[k]
            }
        })
    });
    Ok(())
}

fn keep(mask: &mut [bool], test: impl Fn(usize) -> bool) {
    for (i, m) in mask.iter_mut().enumerate() {
        if *m && !test(i) {
            *m = false;
        }
    }
}
