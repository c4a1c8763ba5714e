//! The in-memory tables the server queries: one [`TableData`] per (version, table), each column
//! an Arrow array in the wire type of docs/WIRE.md, "Wire types", so that answering a query is selecting rows
//! (`take`) and writing the arrays out.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Int32Array, Int64Array, StringArray,
    TimestampNanosecondArray,
};
use arrow_schema::DataType;
use cave_schema::{Snapshot, WireType};

/// A column's values: one array, or three `int32` arrays (x, y, z) for a position.
#[derive(Debug, Clone)]
pub enum Values {
    /// Any non-position column.
    Single(ArrayRef),
    /// A position, stored split as the server sends it.
    Position([ArrayRef; 3]),
}

/// One column of a stored table.
#[derive(Debug, Clone)]
pub struct StoredColumn {
    /// The model column name (`pt_position`, `pt_root_id`, `id`).
    pub name: String,
    /// Its wire type.
    pub wire: WireType,
    /// Its values, one per row.
    pub values: Values,
}

/// One table at one materialization version.
#[derive(Debug, Clone)]
pub struct TableData {
    /// The table name.
    pub name: String,
    /// The table's schema type (empty for a view, whose columns keep their stored order in
    /// answers: the server reflects a view as it is, with no split layout).
    pub schema_type: String,
    /// The voxel resolution positions are stored in (nm per voxel).
    pub voxel_resolution: [f64; 3],
    /// The columns, in the order a query returns them when nothing is selected.
    pub columns: Vec<StoredColumn>,
    /// Number of rows (valid and invalid).
    pub rows: usize,
}

impl TableData {
    /// The column named `name` (a model name such as `pt_position`).
    pub fn column(&self, name: &str) -> Option<&StoredColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The `valid` column as booleans, if the table has one.
    pub fn valid(&self) -> Option<&BooleanArray> {
        match &self.column("valid")?.values {
            Values::Single(a) => a.as_any().downcast_ref::<BooleanArray>(),
            Values::Position(_) => None,
        }
    }

    /// Number of rows with `valid = true` (what the count endpoint reports).
    pub fn valid_rows(&self) -> usize {
        match self.valid() {
            Some(v) => (0..v.len())
                .filter(|&i| v.is_valid(i) && v.value(i))
                .count(),
            None => self.rows,
        }
    }
}

/// The sample data of every version that has any.
#[derive(Debug, Default, Clone)]
pub struct Dataset {
    /// version → table name → data.
    pub versions: BTreeMap<u32, BTreeMap<String, Arc<TableData>>>,
    /// version → view name → its rows (a stored query over that version's tables).
    pub views: BTreeMap<u32, BTreeMap<String, Arc<TableData>>>,
}

impl Dataset {
    /// The data of `table` at `version`, if the sample has it.
    pub fn table(&self, version: u32, table: &str) -> Option<&Arc<TableData>> {
        self.versions.get(&version)?.get(table)
    }

    /// The rows of `view` at `version`, if the sample computes it.
    pub fn view(&self, version: u32, view: &str) -> Option<&Arc<TableData>> {
        self.views.get(&version)?.get(view)
    }
}

/// Why a table could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The table is not in the snapshot or has no schema type there.
    #[error("table `{0}` has no schema type in the snapshot")]
    NoSchema(String),
    /// A column that the schema does not have.
    #[error("table `{table}`: no column `{column}` in schema type `{schema_type}`")]
    UnknownColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Its schema type.
        schema_type: String,
    },
    /// A column with the wrong Arrow type or length.
    #[error("table `{table}`, column `{column}`: {message}")]
    BadColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// A non-nullable column that was never set.
    #[error("table `{table}`: column `{column}` was not set and may not be null")]
    Missing {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
}

/// The Arrow type of a (non-position) wire type.
pub fn arrow_type(wire: WireType) -> DataType {
    match wire {
        WireType::Int64 => DataType::Int64,
        WireType::Int32 | WireType::Position => DataType::Int32,
        WireType::Float32 => DataType::Float32,
        WireType::Float64 => DataType::Float64,
        WireType::Bool => DataType::Boolean,
        WireType::Utf8 => DataType::Utf8,
        WireType::Timestamp => {
            DataType::Timestamp(arrow_schema::TimeUnit::Nanosecond, Some("UTC".into()))
        }
    }
}

/// Builds a [`TableData`] column by column, checking every column against the table's schema
/// in the snapshot. Columns the schema declares nullable may be left unset (all null).
pub struct TableBuilder {
    table: String,
    schema_type: String,
    voxel_resolution: [f64; 3],
    rows: usize,
    /// Schema columns in flat-model order, with what has been set.
    slots: Vec<(cave_schema::Column, Option<Values>)>,
}

impl TableBuilder {
    /// Start a table of `rows` rows; its columns come from the snapshot's schema type.
    pub fn new(snapshot: &Snapshot, table: &str, rows: usize) -> Result<Self, BuildError> {
        let meta = snapshot
            .table(table)
            .ok_or_else(|| BuildError::NoSchema(table.to_string()))?;
        let schema = snapshot
            .schema_of(table)
            .ok_or_else(|| BuildError::NoSchema(table.to_string()))?;
        Ok(TableBuilder {
            table: table.to_string(),
            schema_type: schema.name.clone(),
            voxel_resolution: meta.voxel_resolution,
            rows,
            slots: schema.columns().into_iter().map(|c| (c, None)).collect(),
        })
    }

    /// Start the rows of view `view`; its columns come from the snapshot's `views.json`.
    pub fn view(snapshot: &Snapshot, view: &str, rows: usize) -> Result<Self, BuildError> {
        let meta = snapshot
            .view(view)
            .ok_or_else(|| BuildError::NoSchema(view.to_string()))?;
        Ok(TableBuilder {
            table: view.to_string(),
            schema_type: String::new(),
            voxel_resolution: meta.voxel_resolution,
            rows,
            slots: meta.columns().into_iter().map(|c| (c, None)).collect(),
        })
    }

    /// Set a nullable `float64` column (the floats of views).
    pub fn float64_opt(
        &mut self,
        column: &str,
        values: Vec<Option<f64>>,
    ) -> Result<&mut Self, BuildError> {
        self.array(column, Arc::new(arrow_array::Float64Array::from(values)))
    }

    /// Set a nullable `utf8` column.
    pub fn utf8_opt(
        &mut self,
        column: &str,
        values: Vec<Option<String>>,
    ) -> Result<&mut Self, BuildError> {
        self.array(column, Arc::new(StringArray::from(values)))
    }

    /// The table's schema columns, in flat-model order.
    pub fn schema_columns(&self) -> impl Iterator<Item = &cave_schema::Column> {
        self.slots.iter().map(|(c, _)| c)
    }

    /// Set a non-position column from an Arrow array of its wire type.
    pub fn array(&mut self, column: &str, array: ArrayRef) -> Result<&mut Self, BuildError> {
        let slot = self.slot(column)?;
        let wire = self.slots[slot].0.wire;
        if wire == WireType::Position {
            return Err(self.bad(column, "is a position; use `position`".into()));
        }
        self.check(column, &array, &arrow_type(wire))?;
        self.slots[slot].1 = Some(Values::Single(array));
        Ok(self)
    }

    /// Set a position column from its x, y and z `int32` arrays.
    pub fn position_arrays(
        &mut self,
        column: &str,
        xyz: [ArrayRef; 3],
    ) -> Result<&mut Self, BuildError> {
        let slot = self.slot(column)?;
        if self.slots[slot].0.wire != WireType::Position {
            return Err(self.bad(column, "is not a position".into()));
        }
        for a in &xyz {
            self.check(column, a, &DataType::Int32)?;
        }
        self.slots[slot].1 = Some(Values::Position(xyz));
        Ok(self)
    }

    /// Set a position column from non-null points.
    pub fn position(&mut self, column: &str, points: &[[i32; 3]]) -> Result<&mut Self, BuildError> {
        let axis = |k: usize| -> ArrayRef {
            Arc::new(Int32Array::from_iter_values(points.iter().map(|p| p[k])))
        };
        self.position_arrays(column, [axis(0), axis(1), axis(2)])
    }

    /// Set an `int64` column.
    pub fn int64(&mut self, column: &str, values: Vec<i64>) -> Result<&mut Self, BuildError> {
        self.array(column, Arc::new(Int64Array::from(values)))
    }

    /// Set a nullable `int64` column.
    pub fn int64_opt(
        &mut self,
        column: &str,
        values: Vec<Option<i64>>,
    ) -> Result<&mut Self, BuildError> {
        self.array(column, Arc::new(Int64Array::from(values)))
    }

    /// Set an `int32` column.
    pub fn int32(&mut self, column: &str, values: Vec<i32>) -> Result<&mut Self, BuildError> {
        self.array(column, Arc::new(Int32Array::from(values)))
    }

    /// Set a `float32` column.
    pub fn float32(&mut self, column: &str, values: Vec<f32>) -> Result<&mut Self, BuildError> {
        self.array(column, Arc::new(Float32Array::from(values)))
    }

    /// Set a `bool` column.
    pub fn bool(&mut self, column: &str, values: Vec<bool>) -> Result<&mut Self, BuildError> {
        self.array(column, Arc::new(BooleanArray::from(values)))
    }

    /// Set a `utf8` column.
    pub fn utf8<S: AsRef<str>>(
        &mut self,
        column: &str,
        values: &[S],
    ) -> Result<&mut Self, BuildError> {
        let array = StringArray::from_iter_values(values.iter().map(|s| s.as_ref()));
        self.array(column, Arc::new(array))
    }

    /// Set the `timestamp` column `created` (or another) from nanoseconds since the epoch, UTC.
    pub fn timestamp_ns(&mut self, column: &str, ns: Vec<i64>) -> Result<&mut Self, BuildError> {
        let array = TimestampNanosecondArray::from(ns).with_timezone("UTC");
        self.array(column, Arc::new(array))
    }

    /// Finish: every column set, or null where the schema allows it.
    pub fn finish(self) -> Result<TableData, BuildError> {
        let rows = self.rows;
        let mut columns = Vec::with_capacity(self.slots.len());
        for (col, values) in self.slots {
            let values = match values {
                Some(v) => v,
                None if col.nullable => null_values(col.wire, rows),
                None => {
                    return Err(BuildError::Missing {
                        table: self.table,
                        column: col.name,
                    });
                }
            };
            columns.push(StoredColumn {
                name: col.name,
                wire: col.wire,
                values,
            });
        }
        Ok(TableData {
            name: self.table,
            schema_type: self.schema_type,
            voxel_resolution: self.voxel_resolution,
            columns,
            rows,
        })
    }

    fn slot(&self, column: &str) -> Result<usize, BuildError> {
        self.slots
            .iter()
            .position(|(c, _)| c.name == column)
            .ok_or_else(|| BuildError::UnknownColumn {
                table: self.table.clone(),
                column: column.to_string(),
                schema_type: self.schema_type.clone(),
            })
    }

    fn check(&self, column: &str, array: &ArrayRef, want: &DataType) -> Result<(), BuildError> {
        if array.data_type() != want {
            return Err(self.bad(
                column,
                format!("expected Arrow {want}, got {}", array.data_type()),
            ));
        }
        if array.len() != self.rows {
            return Err(self.bad(
                column,
                format!("expected {} rows, got {}", self.rows, array.len()),
            ));
        }
        Ok(())
    }

    fn bad(&self, column: &str, message: String) -> BuildError {
        BuildError::BadColumn {
            table: self.table.clone(),
            column: column.to_string(),
            message,
        }
    }
}

/// An all-null column of `wire` type.
fn null_values(wire: WireType, rows: usize) -> Values {
    match wire {
        WireType::Position => {
            let a: ArrayRef = Arc::new(Int32Array::new_null(rows));
            Values::Position([a.clone(), a.clone(), a])
        }
        other => Values::Single(arrow_array::new_null_array(&arrow_type(other), rows)),
    }
}
