//! A table's rows over all sampled versions: columns that are the same at every version are
//! stored once (and shared by `Arc` between the versions' [`TableData`]), columns such as root
//! ids once per version. A table whose rows accumulate over time keeps its rows in `created`
//! order, and a version sees the prefix created up to its timestamp (a zero-copy slice).

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Int32Array, Int64Array, StringArray,
    TimestampNanosecondArray,
};
use arrow_schema::DataType;
use cave_schema::Snapshot;

use crate::store::{BuildError, TableBuilder, TableData};

/// One column over all versions.
#[derive(Debug, Clone)]
pub enum MasterColumn {
    /// The same values at every version.
    Shared(ArrayRef),
    /// A position, the same at every version.
    Position([ArrayRef; 3]),
    /// One array per version index.
    PerVersion(Vec<ArrayRef>),
}

/// A table's rows over all sampled versions.
#[derive(Debug, Clone)]
pub struct Master {
    /// The table name.
    pub table: String,
    /// Number of rows (at the newest version).
    pub rows: usize,
    /// The columns that are set; the others are null.
    pub columns: Vec<(String, MasterColumn)>,
    /// When set, rows are in `created` order and a version sees those created up to its
    /// timestamp.
    pub accumulates: Option<Vec<i64>>,
}

impl Master {
    /// An empty table of `rows` rows.
    pub fn new(table: &str, rows: usize) -> Master {
        Master {
            table: table.to_string(),
            rows,
            columns: Vec::new(),
            accumulates: None,
        }
    }

    /// Set a column shared by all versions.
    pub fn shared(&mut self, name: &str, array: ArrayRef) -> &mut Self {
        self.columns
            .push((name.to_string(), MasterColumn::Shared(array)));
        self
    }

    /// Set an `int64` column.
    pub fn i64(&mut self, name: &str, values: Vec<i64>) -> &mut Self {
        self.shared(name, Arc::new(Int64Array::from(values)))
    }

    /// Set an `int32` column.
    pub fn i32(&mut self, name: &str, values: Vec<i32>) -> &mut Self {
        self.shared(name, Arc::new(Int32Array::from(values)))
    }

    /// Set a `float32` column.
    pub fn f32(&mut self, name: &str, values: Vec<f32>) -> &mut Self {
        self.shared(name, Arc::new(Float32Array::from(values)))
    }

    /// Set a `bool` column.
    pub fn bool(&mut self, name: &str, values: Vec<bool>) -> &mut Self {
        self.shared(name, Arc::new(BooleanArray::from(values)))
    }

    /// Set a `utf8` column.
    pub fn utf8<S: AsRef<str>>(&mut self, name: &str, values: &[S]) -> &mut Self {
        let array = StringArray::from_iter_values(values.iter().map(|s| s.as_ref()));
        self.shared(name, Arc::new(array))
    }

    /// Set a timestamp column (ns, UTC).
    pub fn timestamp(&mut self, name: &str, ns: Vec<i64>) -> &mut Self {
        let array = TimestampNanosecondArray::from(ns).with_timezone("UTC");
        self.shared(name, Arc::new(array))
    }

    /// Set a position column.
    pub fn position(&mut self, name: &str, points: &[[i32; 3]]) -> &mut Self {
        let axis = |k: usize| -> ArrayRef {
            Arc::new(Int32Array::from_iter_values(points.iter().map(|p| p[k])))
        };
        self.position_arrays(name, [axis(0), axis(1), axis(2)])
    }

    /// Set a position column from its axes.
    pub fn position_arrays(&mut self, name: &str, xyz: [ArrayRef; 3]) -> &mut Self {
        self.columns
            .push((name.to_string(), MasterColumn::Position(xyz)));
        self
    }

    /// Set an `int64` column that differs per version index.
    pub fn i64_per_version(&mut self, name: &str, per_version: Vec<Vec<i64>>) -> &mut Self {
        let arrays = per_version
            .into_iter()
            .map(|v| Arc::new(Int64Array::from(v)) as ArrayRef)
            .collect();
        self.columns
            .push((name.to_string(), MasterColumn::PerVersion(arrays)));
        self
    }

    /// Set a column that differs per version index from arrays.
    pub fn per_version(&mut self, name: &str, arrays: Vec<ArrayRef>) -> &mut Self {
        self.columns
            .push((name.to_string(), MasterColumn::PerVersion(arrays)));
        self
    }

    /// The bookkeeping columns: `id`, `created` and `valid = true`; `created` must be
    /// ascending when `accumulates`.
    pub fn bookkeeping(
        &mut self,
        ids: Vec<i64>,
        created: Vec<i64>,
        accumulates: bool,
    ) -> &mut Self {
        if accumulates {
            self.accumulates = Some(created.clone());
        }
        let rows = ids.len();
        self.i64("id", ids);
        self.timestamp("created", created);
        self.bool("valid", vec![true; rows])
    }

    /// An all-null `superceded_id`, shared by every version (big tables only: the builder
    /// would otherwise allocate one per version).
    pub fn null_superseded(&mut self) -> &mut Self {
        let array = arrow_array::new_null_array(&DataType::Int64, self.rows);
        self.shared("superceded_id", array)
    }

    /// Whether every column is the same at every version.
    pub fn version_independent(&self) -> bool {
        self.columns
            .iter()
            .all(|(_, c)| !matches!(c, MasterColumn::PerVersion(_)))
    }

    /// Rows visible at a version with timestamp `ts`.
    pub fn visible_rows(&self, ts: i64) -> usize {
        match &self.accumulates {
            Some(created) => created.partition_point(|&c| c <= ts),
            None => self.rows,
        }
    }

    /// The table at version index `j` with timestamp `ts`.
    pub fn assemble(
        &self,
        snapshot: &Snapshot,
        j: usize,
        ts: i64,
    ) -> Result<TableData, BuildError> {
        let n = self.visible_rows(ts);
        let mut builder = TableBuilder::new(snapshot, &self.table, n)?;
        for (name, column) in &self.columns {
            match column {
                MasterColumn::Shared(a) => {
                    builder.array(name, a.slice(0, n))?;
                }
                MasterColumn::Position(xyz) => {
                    builder.position_arrays(name, xyz.clone().map(|a| a.slice(0, n)))?;
                }
                MasterColumn::PerVersion(arrays) => {
                    let a = arrays.get(j).ok_or_else(|| BuildError::BadColumn {
                        table: self.table.clone(),
                        column: name.clone(),
                        message: format!("no values for version index {j}"),
                    })?;
                    builder.array(name, a.slice(0, n))?;
                }
            }
        }
        builder.finish()
    }
}
