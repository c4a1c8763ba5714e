//! Responses that do not match the snapshot give errors naming table, column, row, expected
//! and found, and the `cave check` command; never wrong data.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray};
use cave_runtime::__private::Batch;
use cave_runtime::{DecodeProblem, Resolution, Table};

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["proofreading_status_and_strategy"]
    );
}
use minnie::ProofreadingStatusAndStrategy as P;

/// A response batch of `P` with its columns in an unusual order (decoding is by name).
fn batch(replace: Option<(&str, ArrayRef)>, drop: Option<&str>) -> RecordBatch {
    let ts = arrow_array::TimestampNanosecondArray::from(vec![1_600_000_000_000_000_000_i64; 2])
        .with_timezone("UTC");
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        (
            "strategy_axon",
            Arc::new(StringArray::from(vec!["none", "axon_brand_new"])),
        ),
        (
            "strategy_dendrite",
            Arc::new(StringArray::from(vec!["dendrite_clean", "none"])),
        ),
        (
            "status_axon",
            Arc::new(BooleanArray::from(vec![true, false])),
        ),
        (
            "status_dendrite",
            Arc::new(BooleanArray::from(vec![true, true])),
        ),
        ("valid_id", Arc::new(Int64Array::from(vec![11, 12]))),
        (
            "pt_root_id",
            Arc::new(Int64Array::from(vec![Some(864691135000000001), None])),
        ),
        (
            "pt_supervoxel_id",
            Arc::new(Int64Array::from(vec![Some(5), None])),
        ),
        ("pt_position_x", Arc::new(Int32Array::from(vec![1, 4]))),
        ("pt_position_y", Arc::new(Int32Array::from(vec![2, 5]))),
        ("pt_position_z", Arc::new(Int32Array::from(vec![3, 6]))),
        ("valid", Arc::new(BooleanArray::from(vec![true, true]))),
        (
            "superceded_id",
            Arc::new(Int64Array::from(vec![None, None])),
        ),
        ("created", Arc::new(ts)),
        ("id", Arc::new(Int64Array::from(vec![1, 2]))),
    ];
    if let Some((name, array)) = replace {
        for c in &mut columns {
            if c.0 == name {
                c.1 = array.clone();
            }
        }
    }
    columns.retain(|c| Some(c.0) != drop);
    RecordBatch::try_from_iter(columns).unwrap()
}

fn decode(b: &RecordBatch) -> Result<Vec<P>, cave_runtime::DecodeError> {
    let batch = Batch::new(b, P::NAME, Resolution([4.0, 4.0, 40.0]));
    <P as cave_runtime::Row>::decode(&batch, P::WIRE_NAMES)
}

#[test]
fn decodes_by_name_with_nulls_and_unknown_values() {
    let rows = decode(&batch(None, None)).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].pt_root_id.map(|r| r.0), Some(864691135000000001));
    assert_eq!(rows[1].pt_root_id, None);
    assert_eq!(rows[1].pt_position.voxels(), [4, 5, 6]);
    assert_eq!(rows[1].pt_position.nm(), [16.0, 20.0, 240.0]);
    assert_eq!(rows[1].strategy_axon.as_str(), "axon_brand_new");
    assert_eq!(rows[0].created.map(|t| t.timestamp()), Some(1_600_000_000));
    assert_eq!(rows[0].id.0, 1);
}

#[test]
fn a_missing_column_is_named() {
    let e = decode(&batch(None, Some("status_axon"))).unwrap_err();
    assert_eq!(
        (e.table.as_str(), e.column.as_str(), e.row),
        (P::NAME, "status_axon", None)
    );
    assert!(matches!(
        e.problem,
        DecodeProblem::Missing {
            expected: "bool",
            ..
        }
    ));
    let text = e.to_string();
    assert!(text.contains("cave check"), "{text}");
    let e = decode(&batch(None, Some("pt_position_y"))).unwrap_err();
    assert_eq!(e.column, "pt_position_y");
}

#[test]
fn a_wrong_type_is_named_with_expected_and_found() {
    let e = decode(&batch(
        Some(("valid_id", Arc::new(Int32Array::from(vec![1, 2])))),
        None,
    ))
    .unwrap_err();
    assert_eq!(e.column, "valid_id");
    assert_eq!(
        e.problem,
        DecodeProblem::WrongType {
            expected: "int64",
            found: "Int32".into()
        }
    );
    assert!(e.to_string().contains("expected int64, found Int32"), "{e}");
}

#[test]
fn a_null_in_a_required_column_names_the_row() {
    let ids: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None]));
    let e = decode(&batch(Some(("id", ids)), None)).unwrap_err();
    assert_eq!(
        (e.column.as_str(), e.row, &e.problem),
        ("id", Some(1), &DecodeProblem::Null)
    );
    assert!(e.to_string().contains("row 1"), "{e}");
}

/// `created` and `superceded_id` may be missing (a Delta Lake export drops both): `None`. Where
/// `created` is there, a null in it is an error, as in any required column.
#[test]
fn created_may_be_missing_but_not_null() {
    let without = batch(None, Some("created"));
    let rows = decode(&without).unwrap();
    assert!(rows.iter().all(|r| r.created.is_none()));
    assert_eq!(rows[1].pt_position.voxels(), [4, 5, 6]);
    let nulls: ArrayRef = Arc::new(
        arrow_array::TimestampNanosecondArray::from(vec![Some(1_600_000_000_000_000_000), None])
            .with_timezone("UTC"),
    );
    let e = decode(&batch(Some(("created", nulls)), None)).unwrap_err();
    assert_eq!(
        (e.column.as_str(), e.row, &e.problem),
        ("created", Some(1), &DecodeProblem::Null)
    );
}

#[test]
fn wrong_number_of_names_is_an_error_not_a_panic() {
    let b = batch(None, None);
    let batch = Batch::new(&b, P::NAME, Resolution::NM);
    let e = <P as cave_runtime::Row>::decode(&batch, &["id"]).unwrap_err();
    assert!(matches!(
        e.problem,
        DecodeProblem::ColumnNames { found: 1, .. }
    ));
}

/// Ids are the server's int64 values as sent, negative ones included (no CAVE service makes
/// them: a server that sends one is wrong, as it could be about any value, and the row shows
/// what it sent rather than a value the client made up). Documented in `ids`.
#[test]
fn negative_ids_are_passed_through_as_sent() {
    let roots: ArrayRef = Arc::new(Int64Array::from(vec![Some(-5), Some(i64::MIN)]));
    let ids: ArrayRef = Arc::new(Int64Array::from(vec![-1, 0]));
    let mut b = batch(Some(("pt_root_id", roots)), None);
    let i = b.schema().index_of("id").unwrap();
    let mut columns = b.columns().to_vec();
    columns[i] = ids;
    b = RecordBatch::try_new(b.schema(), columns).unwrap();
    let rows = decode(&b).unwrap();
    assert_eq!(rows[0].pt_root_id.map(|r| r.get()), Some(-5));
    assert_eq!(rows[1].pt_root_id.map(|r| r.get()), Some(i64::MIN));
    assert_eq!((rows[0].id.get(), rows[1].id.get()), (-1, 0));
}
