//! Which SQL filters the service can apply, and how they are sent.
//!
//! A filter is pushed **exactly** where the service's answer then holds exactly the rows SQL
//! wants: `=` and `IN` on integer, boolean and string columns, `<`, `<=`, `>`, `>=` on integer
//! columns. It is pushed **inexactly** (DataFusion applies it again to what comes back) where the
//! service may return more rows than asked but never fewer: `NOT IN` and `<>` (sent as a not-in
//! filter, which the runtime applies client-side but keeps rows whose value is null), and ranges
//! on a position's `_x`/`_y`/`_z`, sent as one bounding box of the point, one voxel wider on each
//! side (the service compares the stored coordinates, which the answer rounds to integers).
//! Nothing else is pushed: float comparisons (the service compares the stored double, the answer
//! holds a float32), string ranges (the database's collation is not DataFusion's byte order),
//! timestamps, `OR`, functions.

use std::collections::BTreeMap;

use cave_runtime::{Compare, FilterOperand, FilterValue};
use cave_schema::WireType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};

use crate::columns::{Side, SqlColumn, TableColumns};

/// A literal as the service gets it.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Text(String),
}

impl FilterOperand for Literal {
    fn to_filter_value(&self) -> FilterValue {
        FilterValue::from(match self {
            Literal::Int(v) => serde_json::Value::from(*v),
            Literal::Bool(v) => serde_json::Value::from(*v),
            Literal::Text(v) => serde_json::Value::from(v.as_str()),
        })
    }
}

/// One filter the service applies.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// `column = value`.
    Equal(usize, Literal),
    /// `column IN values`.
    In(usize, Vec<Literal>),
    /// `column NOT IN values`.
    NotIn(usize, Vec<Literal>),
    /// `column <op> value`.
    Compare(usize, Compare, Literal),
    /// A bound on one axis of a point: (column of the axis, lowest, highest), inclusive.
    Axis(usize, Option<i64>, Option<i64>),
}

/// What the service will be sent for the filters DataFusion pushed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pushed {
    /// Filters by column.
    pub clauses: Vec<Clause>,
    /// Bounding boxes by (side, point): `[min, max]`, in the table's voxels.
    pub boxes: BTreeMap<(SideKey, String), ([i64; 3], [i64; 3])>,
}

/// [`Side`] as a map key.
pub type SideKey = u8;

fn side_key(side: Side) -> SideKey {
    match side {
        Side::Own => 0,
        Side::Target => 1,
    }
}

/// How well the service applies `expr` (DataFusion's `supports_filters_pushdown`).
pub fn support(table: &TableColumns, expr: &Expr) -> TableProviderFilterPushDown {
    match clause(table, expr) {
        None => TableProviderFilterPushDown::Unsupported,
        Some((_, true)) => TableProviderFilterPushDown::Exact,
        Some((_, false)) => TableProviderFilterPushDown::Inexact,
    }
}

/// The filters to send for `filters` (those not pushable are left to DataFusion).
pub fn plan(table: &TableColumns, filters: &[Expr]) -> Pushed {
    let mut pushed = Pushed::default();
    for expr in filters {
        let Some((clause, _)) = clause(table, expr) else {
            continue;
        };
        match clause {
            Clause::Axis(col, lo, hi) => {
                let c = &table.columns[col];
                let axis = c.axis.unwrap_or(0);
                let entry = pushed
                    .boxes
                    .entry((side_key(c.side), c.source.clone()))
                    .or_insert(([i32::MIN as i64; 3], [i32::MAX as i64; 3]));
                if let Some(lo) = lo {
                    entry.0[axis] = entry.0[axis].max(lo);
                }
                if let Some(hi) = hi {
                    entry.1[axis] = entry.1[axis].min(hi);
                }
            }
            other => pushed.clauses.push(other),
        }
    }
    pushed
}

/// The clause of `expr` and whether it is exact, if the service can apply it.
fn clause(table: &TableColumns, expr: &Expr) -> Option<(Clause, bool)> {
    match expr {
        // DataFusion writes `b = true` as `b`, `b = false` as `NOT b`.
        Expr::Column(_) => boolean(table, expr, true),
        Expr::Not(inner) => boolean(table, inner, false),
        // ... and `c IN (a, b)` as `c = a OR c = b`.
        Expr::BinaryExpr(BinaryExpr {
            op: Operator::Or, ..
        }) => {
            let mut values = Vec::new();
            let col = disjunction(table, expr, &mut values)?;
            Some((Clause::In(col, values), true))
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (col, lit, op) = match (column(table, left), literal(right)) {
                (Some(col), Some(lit)) => (col, lit, *op),
                _ => (column(table, right)?, literal(left)?, flip(*op)?),
            };
            comparison(table, col, op, lit)
        }
        Expr::InList(list) => {
            let col = column(table, &list.expr)?;
            let values = list.list.iter().map(literal).collect::<Option<Vec<_>>>()?;
            let c = &table.columns[col];
            if !values.iter().all(|v| fits(c, v)) || c.axis.is_some() {
                return None;
            }
            if list.negated {
                Some((Clause::NotIn(col, values), false))
            } else {
                Some((Clause::In(col, values), true))
            }
        }
        _ => None,
    }
}

/// A boolean column as a filter: `column = value`.
fn boolean(table: &TableColumns, expr: &Expr, value: bool) -> Option<(Clause, bool)> {
    let col = column(table, expr)?;
    (table.columns[col].wire == WireType::Bool)
        .then_some((Clause::Equal(col, Literal::Bool(value)), true))
}

/// The column of an `OR` of `=` and `IN` filters all on one column (not a position's), and
/// their values; `None` for any other `OR`.
fn disjunction(table: &TableColumns, expr: &Expr, values: &mut Vec<Literal>) -> Option<usize> {
    let (col, more) = match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Or,
            right,
        }) => {
            let a = disjunction(table, left, values)?;
            let b = disjunction(table, right, values)?;
            return (a == b).then_some(a);
        }
        _ => match clause(table, expr)? {
            (Clause::Equal(col, v), true) => (col, vec![v]),
            (Clause::In(col, v), true) => (col, v),
            _ => return None,
        },
    };
    values.extend(more);
    Some(col)
}

/// `column <op> literal` for the column at `col`.
fn comparison(
    table: &TableColumns,
    col: usize,
    op: Operator,
    lit: Literal,
) -> Option<(Clause, bool)> {
    let c = &table.columns[col];
    if !fits(c, &lit) {
        return None;
    }
    if c.axis.is_some() {
        let Literal::Int(v) = lit else { return None };
        // One voxel wider: the answer rounds the stored coordinate.
        let (lo, hi) = match op {
            Operator::Eq => (Some(v - 1), Some(v + 1)),
            Operator::Lt | Operator::LtEq => (None, Some(v + 1)),
            Operator::Gt | Operator::GtEq => (Some(v - 1), None),
            _ => return None,
        };
        return Some((Clause::Axis(col, lo, hi), false));
    }
    let ordered = matches!(c.wire, WireType::Int64 | WireType::Int32);
    Some(match op {
        Operator::Eq => (Clause::Equal(col, lit), true),
        Operator::NotEq => (Clause::NotIn(col, vec![lit]), false),
        Operator::Lt if ordered => (Clause::Compare(col, Compare::Less, lit), true),
        Operator::LtEq if ordered => (Clause::Compare(col, Compare::LessEqual, lit), true),
        Operator::Gt if ordered => (Clause::Compare(col, Compare::Greater, lit), true),
        Operator::GtEq if ordered => (Clause::Compare(col, Compare::GreaterEqual, lit), true),
        _ => return None,
    })
}

/// Whether a literal can be compared with a column at the service: an integer with an integer
/// column, a boolean with a boolean, a string with a string.
fn fits(c: &SqlColumn, lit: &Literal) -> bool {
    matches!(
        (c.wire, lit),
        (
            WireType::Int64 | WireType::Int32 | WireType::Position,
            Literal::Int(_)
        ) | (WireType::Bool, Literal::Bool(_))
            | (WireType::Utf8, Literal::Text(_))
    )
}

/// `a <op> b` as `b <op'> a`.
fn flip(op: Operator) -> Option<Operator> {
    Some(match op {
        Operator::Eq => Operator::Eq,
        Operator::NotEq => Operator::NotEq,
        Operator::Lt => Operator::Gt,
        Operator::LtEq => Operator::GtEq,
        Operator::Gt => Operator::Lt,
        Operator::GtEq => Operator::LtEq,
        _ => return None,
    })
}

/// The table column `expr` names, seen through a widening integer cast (DataFusion compares an
/// int32 column with an int64 literal as `CAST(col AS Int64)`).
fn column(table: &TableColumns, expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Column(c) => table.find(&c.name).map(|(i, _)| i),
        Expr::Cast(cast)
            if *cast.field.data_type() == datafusion::arrow::datatypes::DataType::Int64 =>
        {
            let i = column(table, &cast.expr)?;
            matches!(
                table.columns[i].wire,
                WireType::Int32 | WireType::Int64 | WireType::Position
            )
            .then_some(i)
        }
        _ => None,
    }
}

/// A non-null literal the service can compare with.
fn literal(expr: &Expr) -> Option<Literal> {
    let Expr::Literal(value, _) = expr else {
        return None;
    };
    Some(match value {
        ScalarValue::Int8(Some(v)) => Literal::Int(i64::from(*v)),
        ScalarValue::Int16(Some(v)) => Literal::Int(i64::from(*v)),
        ScalarValue::Int32(Some(v)) => Literal::Int(i64::from(*v)),
        ScalarValue::Int64(Some(v)) => Literal::Int(*v),
        ScalarValue::UInt8(Some(v)) => Literal::Int(i64::from(*v)),
        ScalarValue::UInt16(Some(v)) => Literal::Int(i64::from(*v)),
        ScalarValue::UInt32(Some(v)) => Literal::Int(i64::from(*v)),
        ScalarValue::UInt64(Some(v)) => Literal::Int(i64::try_from(*v).ok()?),
        ScalarValue::Boolean(Some(v)) => Literal::Bool(*v),
        ScalarValue::Utf8(Some(v))
        | ScalarValue::LargeUtf8(Some(v))
        | ScalarValue::Utf8View(Some(v)) => Literal::Text(v.clone()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{col, lit};
    use datafusion::prelude::Expr;

    fn nuclei() -> TableColumns {
        let snapshot = cave_schema::Snapshot::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schemas/minnie65_public"
        ))
        .unwrap();
        TableColumns::bare(&snapshot, "nucleus_detection_v0").unwrap()
    }

    fn how(e: Expr) -> TableProviderFilterPushDown {
        support(&nuclei(), &e)
    }

    use TableProviderFilterPushDown::{Exact, Inexact, Unsupported};

    #[test]
    fn what_is_sent_exactly_inexactly_or_not_at_all() {
        // Integers: equality, lists, ranges; either side of the operator.
        assert_eq!(how(col("pt_root_id").eq(lit(5i64))), Exact);
        assert_eq!(how(lit(5i64).lt(col("id"))), Exact);
        assert_eq!(
            how(col("id").in_list(vec![lit(1i64), lit(2i64)], false)),
            Exact
        );
        assert_eq!(
            how(col("id").eq(lit(1i64)).or(col("id").eq(lit(2i64)))),
            Exact
        );
        // Not-in and <> may let rows with nulls through: DataFusion filters again.
        assert_eq!(how(col("id").in_list(vec![lit(1i64)], true)), Inexact);
        assert_eq!(how(col("id").not_eq(lit(1i64))), Inexact);
        // A position axis: part of a box, one voxel wider.
        assert_eq!(how(col("pt_position_x").gt(lit(10i32))), Inexact);
        // Floats, an OR over two columns, a null literal, functions: not sent.
        assert_eq!(how(col("volume").gt(lit(10.0f32))), Unsupported);
        assert_eq!(how(col("volume").eq(lit(10.0f32))), Unsupported);
        assert_eq!(
            how(col("id").eq(lit(1i64)).or(col("pt_root_id").eq(lit(2i64)))),
            Unsupported
        );
        assert_eq!(
            how(col("id").eq(lit(ScalarValue::Int64(None)))),
            Unsupported
        );
        assert_eq!(how(col("id").is_null()), Unsupported);
        // A column the table does not have.
        assert_eq!(how(col("cell_type").eq(lit("23P"))), Unsupported);
    }

    #[test]
    fn boxes_gather_the_bounds_of_each_axis() {
        let t = nuclei();
        let pushed = plan(
            &t,
            &[
                col("pt_position_x").gt_eq(lit(10i32)),
                col("pt_position_x").lt(lit(20i32)),
                col("pt_position_z").eq(lit(7i32)),
                col("id").gt(lit(3i64)),
            ],
        );
        let (min, max) = pushed.boxes[&(0, "pt_position".to_string())];
        assert_eq!(min, [9, i64::from(i32::MIN), 6]);
        assert_eq!(max, [21, i64::from(i32::MAX), 8]);
        assert_eq!(pushed.clauses.len(), 1);
    }
}
