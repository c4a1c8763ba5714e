//! Not-in filters applied to the rows that came back. caveclient sends them as
//! `filter_notin_dict`, which MaterializationEngine 5.26 validates and then ignores (docs/WIRE.md,
//! "Not-in filters"), so every row the server returns is checked here too. Nulls are kept: a missing
//! value is none of the listed values (pandas' `~isin`, which caveclient's own post-filter
//! uses).

use std::collections::HashSet;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_schema::DataType;
use serde_json::Value;

use crate::query::{Clause, Side};

/// The wire name of a not-in column: a target column that the queried table also has comes
/// back with the join's `_ref` suffix.
fn wire_name(batch: &RecordBatch, clause: &Clause, join: bool) -> String {
    let name = clause.column.as_ref();
    let suffixed = format!("{name}_ref");
    let schema = batch.schema_ref();
    if join
        && clause.side == Side::Target
        && schema.index_of(&suffixed).is_ok()
        && schema.index_of(name).is_ok()
    {
        suffixed
    } else {
        name.to_string()
    }
}

/// `batch` without the rows any not-in clause excludes; an error names a column that is not
/// there or cannot be compared.
pub(crate) fn apply(
    batch: RecordBatch,
    clauses: &[&Clause],
    join: bool,
) -> Result<RecordBatch, String> {
    if clauses.is_empty() || batch.num_rows() == 0 {
        return Ok(batch);
    }
    let mut keep = vec![true; batch.num_rows()];
    for clause in clauses {
        let name = wire_name(&batch, clause, join);
        let Ok(index) = batch.schema_ref().index_of(&name) else {
            return Err(format!(
                "the not-in filter on `{name}` needs that column, but the response does not have it \
                 (select it too)"
            ));
        };
        let values = match &clause.value {
            Value::Array(values) => values.as_slice(),
            _ => &[],
        };
        mark(batch.column(index).as_ref(), values, &mut keep)
            .map_err(|e| format!("the not-in filter on `{name}`: {e}"))?;
    }
    if keep.iter().all(|k| *k) {
        return Ok(batch);
    }
    arrow_select::filter::filter_record_batch(&batch, &BooleanArray::from(keep))
        .map_err(|e| format!("filtering the rows: {e}"))
}

/// Clear `keep[row]` where the column holds one of `values`.
fn mark(column: &dyn Array, values: &[Value], keep: &mut [bool]) -> Result<(), String> {
    fn each<T>(
        column: &dyn Array,
        keep: &mut [bool],
        value: impl Fn(usize) -> T,
        excluded: impl Fn(&T) -> bool,
    ) {
        for (row, k) in keep.iter_mut().enumerate() {
            if *k && column.is_valid(row) && excluded(&value(row)) {
                *k = false;
            }
        }
    }
    match column.data_type() {
        DataType::Int64 | DataType::Int32 => {
            let set: HashSet<i64> = values.iter().filter_map(Value::as_i64).collect();
            if column.data_type() == &DataType::Int64 {
                let a = column.as_primitive::<Int64Type>();
                each(column, keep, |r| a.value(r), |v| set.contains(v));
            } else {
                let a = column.as_primitive::<Int32Type>();
                each(column, keep, |r| i64::from(a.value(r)), |v| set.contains(v));
            }
        }
        DataType::Float32 => {
            // The filter values were written from f32s; compare as f32.
            let set: Vec<f32> = values
                .iter()
                .filter_map(Value::as_f64)
                .map(|v| v as f32)
                .collect();
            let a = column.as_primitive::<Float32Type>();
            each(column, keep, |r| a.value(r), |v| set.contains(v));
        }
        DataType::Float64 => {
            let set: Vec<f64> = values.iter().filter_map(Value::as_f64).collect();
            let a = column.as_primitive::<Float64Type>();
            each(column, keep, |r| a.value(r), |v| set.contains(v));
        }
        DataType::Boolean => {
            let set: Vec<bool> = values.iter().filter_map(Value::as_bool).collect();
            let a = column.as_boolean();
            each(column, keep, |r| a.value(r), |v| set.contains(v));
        }
        DataType::Utf8 => {
            let set: HashSet<&str> = values.iter().filter_map(Value::as_str).collect();
            let a = column.as_string::<i32>();
            each(column, keep, |r| a.value(r), |v| set.contains(v));
        }
        DataType::LargeUtf8 => {
            let set: HashSet<&str> = values.iter().filter_map(Value::as_str).collect();
            let a = column.as_string::<i64>();
            each(column, keep, |r| a.value(r), |v| set.contains(v));
        }
        DataType::Utf8View => {
            let set: HashSet<&str> = values.iter().filter_map(Value::as_str).collect();
            let a = column.as_string_view();
            each(column, keep, |r| a.value(r), |v| set.contains(v));
        }
        other => return Err(format!("cannot compare a column of type {other}")),
    }
    Ok(())
}
