//! A synapse query's autapses (rows whose pre- and post-synaptic root ids are the same) dropped
//! from the rows that came back. caveclient's `synapse_query(remove_autapses=True)` drops them
//! from its data frame (`df.query("pre_pt_root_id!=post_pt_root_id")`); the server has no
//! filter that compares two columns, so the client does it for every answer.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_schema::DataType;

/// `batch` without the rows whose columns `a` and `b` hold the same value. A null equals
/// nothing, so a row with one is kept (as pandas' `!=` keeps NaN rows). An error names a
/// column that is not there or is not of integers.
pub(crate) fn drop_equal(batch: RecordBatch, a: &str, b: &str) -> Result<RecordBatch, String> {
    if batch.num_rows() == 0 {
        return Ok(batch);
    }
    let column = |name: &str| {
        batch.column_by_name(name).cloned().ok_or_else(|| {
            format!(
                "removing autapses needs the column `{name}`, but the response does not have it"
            )
        })
    };
    let (left, right) = (column(a)?, column(b)?);
    let keep: BooleanArray = match (left.data_type(), right.data_type()) {
        (DataType::Int64, DataType::Int64) => {
            let (l, r) = (
                left.as_primitive::<Int64Type>(),
                right.as_primitive::<Int64Type>(),
            );
            keep_where(l, r, |i| l.value(i) != r.value(i))
        }
        (DataType::Int32, DataType::Int32) => {
            let (l, r) = (
                left.as_primitive::<Int32Type>(),
                right.as_primitive::<Int32Type>(),
            );
            keep_where(l, r, |i| l.value(i) != r.value(i))
        }
        (x, y) => {
            return Err(format!(
                "removing autapses compares `{a}` ({x}) with `{b}` ({y}); both must be integers of one type"
            ));
        }
    };
    if keep.true_count() == batch.num_rows() {
        return Ok(batch);
    }
    arrow_select::filter::filter_record_batch(&batch, &keep)
        .map_err(|e| format!("removing autapses: {e}"))
}

fn keep_where(l: &dyn Array, r: &dyn Array, differ: impl Fn(usize) -> bool) -> BooleanArray {
    (0..l.len())
        .map(|i| Some(l.is_null(i) || r.is_null(i) || differ(i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{Field, Schema};

    use super::*;

    fn batch(pre: Vec<Option<i64>>, post: Vec<Option<i64>>) -> RecordBatch {
        let n = pre.len();
        let schema = Schema::new(vec![
            Field::new("pre", DataType::Int64, true),
            Field::new("post", DataType::Int64, true),
            Field::new("tag", DataType::Utf8, false),
        ]);
        let tags: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(pre)),
                Arc::new(Int64Array::from(post)),
                Arc::new(StringArray::from(tags)),
            ],
        )
        .unwrap()
    }

    fn tags(b: &RecordBatch) -> Vec<String> {
        let a = b.column(2).as_string::<i32>();
        (0..b.num_rows()).map(|i| a.value(i).to_string()).collect()
    }

    #[test]
    fn rows_with_equal_roots_go_and_nulls_stay() {
        let b = batch(
            vec![Some(1), Some(2), None, Some(0), Some(5)],
            vec![Some(1), Some(3), Some(4), Some(0), None],
        );
        let kept = drop_equal(b, "pre", "post").unwrap();
        assert_eq!(tags(&kept), ["r1", "r2", "r4"]);
    }

    #[test]
    fn a_missing_or_mistyped_column_is_named() {
        let b = batch(vec![Some(1)], vec![Some(1)]);
        let e = drop_equal(b.clone(), "pre", "nope").unwrap_err();
        assert!(e.contains("`nope`"), "{e}");
        let e = drop_equal(b, "pre", "tag").unwrap_err();
        assert!(e.contains("`tag` (Utf8)"), "{e}");
    }
}
