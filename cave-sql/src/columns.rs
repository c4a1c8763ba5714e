//! The SQL columns of a table, a joined reference table or a view, from the snapshot: their
//! Arrow fields (positions as `<point>_x/_y/_z`), and for each the column of the query it comes
//! from (the table's own, or the reference target's), so that filters and projections can be
//! sent to the service by the names it knows.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use cave_schema::{Column, Snapshot, WireType};

use crate::error::SqlError;

/// Which side of a joined reference table a column is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The queried table (or view).
    Own,
    /// The table a reference table's `target_id` points into.
    Target,
}

/// One SQL column.
#[derive(Debug, Clone)]
pub struct SqlColumn {
    /// The column as SQL sees it (and as the service's answer names it).
    pub field: Arc<Field>,
    /// Its side.
    pub side: Side,
    /// The service's name of the column on its side, for filters and `select_columns`: the
    /// point's name for a position axis (`pt_position` for `pt_position_x`).
    pub source: String,
    /// For a position axis, which one (0, 1, 2 for x, y, z).
    pub axis: Option<usize>,
    /// How it travels.
    pub wire: WireType,
}

/// What is queried, and its SQL columns.
#[derive(Debug, Clone)]
pub struct TableColumns {
    /// The table or view name at the service.
    pub name: String,
    /// Whether it is a view (queried with `ViewQuery`).
    pub view: bool,
    /// A reference table joined with its target (the caveclient default), or queried alone.
    pub merged: bool,
    /// The columns in SQL order.
    pub columns: Vec<SqlColumn>,
    /// Their schema (every field nullable: the service's answers say so).
    pub schema: SchemaRef,
}

/// The Arrow type a column travels as (a position: one axis).
pub fn arrow_type(wire: WireType) -> DataType {
    match wire {
        WireType::Int64 => DataType::Int64,
        WireType::Int32 | WireType::Position => DataType::Int32,
        WireType::Float32 => DataType::Float32,
        WireType::Float64 => DataType::Float64,
        WireType::Bool => DataType::Boolean,
        WireType::Utf8 => DataType::Utf8,
        WireType::Timestamp => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
    }
}

/// The columns a join drops from both tables (`deleted`, `superceded_id`: docs/WIRE.md, "Join
/// queries").
const DROPPED_BY_JOINS: &[&str] = &["deleted", "superceded_id"];

impl TableColumns {
    /// A table alone, as `query_table(merge_reference=False)` gives it.
    pub fn bare(snapshot: &Snapshot, table: &str) -> Result<Self, SqlError> {
        let columns = schema_columns(snapshot, table)?;
        Ok(Self::build(
            table,
            false,
            false,
            sql_columns(&columns, Side::Own, &BTreeSet::new(), ""),
        ))
    }

    /// A reference table joined with its target (`merge_reference=True`): its own columns, then
    /// the target's; a name both have gets `_ref` on the target's side, as the service names it.
    pub fn merged(snapshot: &Snapshot, table: &str, target: &str) -> Result<Self, SqlError> {
        let own: Vec<Column> = schema_columns(snapshot, table)?
            .into_iter()
            .filter(|c| !DROPPED_BY_JOINS.contains(&c.name.as_str()))
            .collect();
        let theirs: Vec<Column> = schema_columns(snapshot, target)?
            .into_iter()
            .filter(|c| !DROPPED_BY_JOINS.contains(&c.name.as_str()))
            .collect();
        let names =
            |cols: &[Column]| -> BTreeSet<String> { cols.iter().map(|c| c.name.clone()).collect() };
        let both: BTreeSet<String> = names(&own).intersection(&names(&theirs)).cloned().collect();
        let mut columns = sql_columns(&own, Side::Own, &BTreeSet::new(), "");
        columns.extend(sql_columns(&theirs, Side::Target, &both, "_ref"));
        Ok(Self::build(table, false, true, columns))
    }

    /// A view, with the columns its schema gives in the snapshot.
    pub fn view(snapshot: &Snapshot, view: &str) -> Result<Self, SqlError> {
        let meta = snapshot
            .view(view)
            .ok_or_else(|| SqlError::NotInSnapshot(view.to_string()))?;
        if meta.columns.is_empty() {
            return Err(SqlError::NoColumns(view.to_string()));
        }
        let columns = sql_columns(&meta.columns(), Side::Own, &BTreeSet::new(), "");
        Ok(Self::build(view, true, false, columns))
    }

    /// The columns of an Arrow schema (an export's), for reading filters by the same rules:
    /// int32 `p_x/_y/_z` as a point's axes; columns of other types left out.
    pub fn from_schema(name: &str, schema: &Schema) -> Self {
        let has = |n: String| {
            schema
                .field_with_name(&n)
                .is_ok_and(|f| f.data_type() == &DataType::Int32)
        };
        let mut columns = Vec::new();
        for f in schema.fields() {
            let point = ["_x", "_y", "_z"].iter().enumerate().find_map(|(axis, s)| {
                let p = f.name().strip_suffix(s)?;
                (has(format!("{p}_x")) && has(format!("{p}_y")) && has(format!("{p}_z")))
                    .then(|| (p.to_string(), axis))
            });
            let wire = match (f.data_type(), &point) {
                (DataType::Int32, Some(_)) => WireType::Position,
                (DataType::Int32, None) => WireType::Int32,
                (DataType::Int64, _) => WireType::Int64,
                (DataType::Float32, _) => WireType::Float32,
                (DataType::Float64, _) => WireType::Float64,
                (DataType::Boolean, _) => WireType::Bool,
                (DataType::Utf8, _) => WireType::Utf8,
                (DataType::Timestamp(..), _) => WireType::Timestamp,
                _ => continue,
            };
            columns.push(SqlColumn {
                field: f.clone(),
                side: Side::Own,
                source: point
                    .as_ref()
                    .map_or_else(|| f.name().clone(), |(p, _)| p.clone()),
                axis: point.map(|(_, a)| a),
                wire,
            });
        }
        Self::build(name, false, false, columns)
    }

    fn build(name: &str, view: bool, merged: bool, columns: Vec<SqlColumn>) -> Self {
        let schema = Arc::new(Schema::new(
            columns.iter().map(|c| c.field.clone()).collect::<Vec<_>>(),
        ));
        TableColumns {
            name: name.to_string(),
            view,
            merged,
            columns,
            schema,
        }
    }

    /// The column of this SQL name.
    pub fn find(&self, name: &str) -> Option<(usize, &SqlColumn)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.field.name() == name)
    }
}

/// The flat columns of a table's schema type.
fn schema_columns(snapshot: &Snapshot, table: &str) -> Result<Vec<Column>, SqlError> {
    if snapshot.table(table).is_none() {
        return Err(SqlError::NotInSnapshot(table.to_string()));
    }
    let schema = snapshot
        .schema_of(table)
        .ok_or_else(|| SqlError::NoColumns(table.to_string()))?;
    Ok(schema.columns())
}

/// SQL columns of one side; names in `suffixed` get `suffix` (before a position's axis).
fn sql_columns(
    columns: &[Column],
    side: Side,
    suffixed: &BTreeSet<String>,
    suffix: &str,
) -> Vec<SqlColumn> {
    let mut out = Vec::new();
    for c in columns {
        let name = if suffixed.contains(&c.name) {
            format!("{}{suffix}", c.name)
        } else {
            c.name.clone()
        };
        let ty = arrow_type(c.wire);
        if c.wire == WireType::Position {
            for (axis, a) in ["x", "y", "z"].iter().enumerate() {
                out.push(SqlColumn {
                    field: Arc::new(Field::new(format!("{name}_{a}"), ty.clone(), true)),
                    side,
                    source: c.name.clone(),
                    axis: Some(axis),
                    wire: c.wire,
                });
            }
        } else {
            out.push(SqlColumn {
                field: Arc::new(Field::new(name, ty, true)),
                side,
                source: c.name.clone(),
                axis: None,
                wire: c.wire,
            });
        }
    }
    out
}
