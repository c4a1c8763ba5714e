//! Column readers that generated `Row::decode` functions call: one reader per column, opened by
//! name (never by position: servers and query paths order columns differently), checked against
//! the wire type the snapshot promises, then read row by row.

use arrow_array::{Array, RecordBatch};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::error::{DecodeError, DecodeProblem};
use crate::position::{Position, Resolution};

/// One record batch of a response, with what decoding needs to know about it.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    batch: &'a RecordBatch,
    table: &'a str,
    resolution: Resolution,
}

impl<'a> Batch<'a> {
    /// A batch of `table`'s rows whose positions are in `resolution` (the response's
    /// `dataframe_resolution`).
    pub fn new(batch: &'a RecordBatch, table: &'a str, resolution: Resolution) -> Self {
        Batch {
            batch,
            table,
            resolution,
        }
    }

    /// The number of rows.
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// The table being decoded (for errors).
    pub fn table(&self) -> &'a str {
        self.table
    }

    /// The resolution of positions.
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// The error for a problem with `column`.
    pub fn error(&self, column: &str, row: Option<usize>, problem: DecodeProblem) -> DecodeError {
        DecodeError {
            table: self.table.to_string(),
            column: column.to_string(),
            row,
            problem,
        }
    }

    fn find(&self, name: &str) -> Option<&'a dyn Array> {
        self.batch
            .schema_ref()
            .index_of(name)
            .ok()
            .map(|i| self.batch.column(i).as_ref())
    }

    fn open(&self, name: &str, expected: &'static str) -> Result<&'a dyn Array, DecodeError> {
        self.find(name).ok_or_else(|| {
            self.error(
                name,
                None,
                DecodeProblem::Missing {
                    expected,
                    present: self
                        .batch
                        .schema_ref()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect(),
                },
            )
        })
    }

    fn wrong_type(&self, name: &str, expected: &'static str, found: &DataType) -> DecodeError {
        self.error(
            name,
            None,
            DecodeProblem::WrongType {
                expected,
                found: found.to_string(),
            },
        )
    }
}

/// Values plus validity of one primitive column.
struct Cells<'a, T> {
    values: &'a [T],
    nulls: Option<&'a NullBuffer>,
}

impl<T: Copy> Cells<'_, T> {
    #[inline]
    fn get(&self, row: usize) -> Option<T> {
        match self.nulls {
            Some(n) if n.is_null(row) => None,
            _ => self.values.get(row).copied(),
        }
    }
}

macro_rules! primitive_reader {
    ($(#[$doc:meta])* $name:ident, $t:ty, $arrow:ty, $data_type:pat, $wire:literal) => {
        $(#[$doc])*
        pub struct $name<'a> {
            cells: Cells<'a, $t>,
            column: &'a str,
            batch: Batch<'a>,
        }

        impl<'a> $name<'a> {
            /// Find the column `name` and check its type.
            pub fn open(batch: &Batch<'a>, name: &'a str) -> Result<Self, DecodeError> {
                Self::open_as(batch, name, name)
            }

            /// Open wire column `wire`, reporting null values as being in `column`.
            fn open_as(batch: &Batch<'a>, wire: &str, column: &'a str) -> Result<Self, DecodeError> {
                let array = batch.open(wire, $wire)?;
                if !matches!(array.data_type(), $data_type) {
                    return Err(batch.wrong_type(wire, $wire, array.data_type()));
                }
                let array = array
                    .as_any()
                    .downcast_ref::<$arrow>()
                    .ok_or_else(|| batch.wrong_type(wire, $wire, array.data_type()))?;
                Ok($name {
                    cells: Cells {
                        values: array.values(),
                        nulls: array.nulls(),
                    },
                    column,
                    batch: *batch,
                })
            }

            /// Like [`Self::open`], but a missing column is `None` (for `superceded_id`,
            /// which joins drop).
            pub fn open_if_present(
                batch: &Batch<'a>,
                name: &'a str,
            ) -> Result<Option<Self>, DecodeError> {
                if batch.find(name).is_none() {
                    return Ok(None);
                }
                Self::open(batch, name).map(Some)
            }

            /// The value at `row`, or an error naming table, column and row if it is null.
            #[inline]
            pub fn required(&self, row: usize) -> Result<$t, DecodeError> {
                self.cells
                    .get(row)
                    .ok_or_else(|| self.batch.error(self.column, Some(row), DecodeProblem::Null))
            }

            /// The value at `row`, `None` if null.
            #[inline]
            pub fn optional(&self, row: usize) -> Option<$t> {
                self.cells.get(row)
            }
        }
    };
}

primitive_reader!(
    /// Reads an `int64` column.
    Int64Column, i64, arrow_array::Int64Array, DataType::Int64, "int64"
);
primitive_reader!(
    /// Reads an `int32` column.
    Int32Column, i32, arrow_array::Int32Array, DataType::Int32, "int32"
);
primitive_reader!(
    /// Reads a `float` (float32) column.
    Float32Column, f32, arrow_array::Float32Array, DataType::Float32, "float32"
);
primitive_reader!(
    /// Reads a `double` (float64) column: the floats of views.
    Float64Column, f64, arrow_array::Float64Array, DataType::Float64, "float64"
);

/// Reads a `bool` column.
pub struct BoolColumn<'a> {
    array: &'a arrow_array::BooleanArray,
    column: &'a str,
    batch: Batch<'a>,
}

impl<'a> BoolColumn<'a> {
    /// Find the column `name` and check its type.
    pub fn open(batch: &Batch<'a>, name: &'a str) -> Result<Self, DecodeError> {
        let array = batch.open(name, "bool")?;
        let array = array
            .as_any()
            .downcast_ref::<arrow_array::BooleanArray>()
            .ok_or_else(|| batch.wrong_type(name, "bool", array.data_type()))?;
        Ok(BoolColumn {
            array,
            column: name,
            batch: *batch,
        })
    }

    /// The value at `row`, or an error if it is null.
    #[inline]
    pub fn required(&self, row: usize) -> Result<bool, DecodeError> {
        self.optional(row).ok_or_else(|| {
            self.batch
                .error(self.column, Some(row), DecodeProblem::Null)
        })
    }

    /// The value at `row`, `None` if null.
    #[inline]
    pub fn optional(&self, row: usize) -> Option<bool> {
        (row < self.array.len() && self.array.is_valid(row)).then(|| self.array.value(row))
    }
}

enum Strings<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
}

/// Reads a `string` column (`utf8` or `large_utf8`).
pub struct Utf8Column<'a> {
    strings: Strings<'a>,
    column: &'a str,
    batch: Batch<'a>,
}

impl<'a> Utf8Column<'a> {
    /// Find the column `name` and check its type.
    pub fn open(batch: &Batch<'a>, name: &'a str) -> Result<Self, DecodeError> {
        let array = batch.open(name, "utf8")?;
        let any = array.as_any();
        let strings = if let Some(a) = any.downcast_ref::<arrow_array::StringArray>() {
            Strings::Utf8(a)
        } else if let Some(a) = any.downcast_ref::<arrow_array::LargeStringArray>() {
            Strings::Large(a)
        } else {
            return Err(batch.wrong_type(name, "utf8", array.data_type()));
        };
        Ok(Utf8Column {
            strings,
            column: name,
            batch: *batch,
        })
    }

    /// The value at `row`, or an error if it is null.
    #[inline]
    pub fn required(&self, row: usize) -> Result<&'a str, DecodeError> {
        self.optional(row).ok_or_else(|| {
            self.batch
                .error(self.column, Some(row), DecodeProblem::Null)
        })
    }

    /// The value at `row`, `None` if null.
    #[inline]
    pub fn optional(&self, row: usize) -> Option<&'a str> {
        match self.strings {
            Strings::Utf8(a) => (row < a.len() && a.is_valid(row)).then(|| a.value(row)),
            Strings::Large(a) => (row < a.len() && a.is_valid(row)).then(|| a.value(row)),
        }
    }
}

/// Reads a `timestamp` column (any unit; CAVE sends nanoseconds, UTC).
pub struct TimestampColumn<'a> {
    cells: Cells<'a, i64>,
    unit: TimeUnit,
    /// Values per second in `unit`.
    per_second: i64,
    column: &'a str,
    batch: Batch<'a>,
    /// The day of the last value converted (days since 1970) and its date: a table's rows
    /// were created on few days, and the calendar arithmetic costs more than the comparison.
    last_day: std::cell::Cell<Option<(i64, NaiveDate)>>,
}

impl<'a> TimestampColumn<'a> {
    /// Like [`Self::open`], but a missing column is `None` (for `created`, which CAVE's Delta
    /// Lake exports drop).
    pub fn open_if_present(batch: &Batch<'a>, name: &'a str) -> Result<Option<Self>, DecodeError> {
        if batch.find(name).is_none() {
            return Ok(None);
        }
        Self::open(batch, name).map(Some)
    }

    /// Find the column `name` and check its type.
    pub fn open(batch: &Batch<'a>, name: &'a str) -> Result<Self, DecodeError> {
        use arrow_array::types::*;
        let array = batch.open(name, "timestamp")?;
        let wrong = || batch.wrong_type(name, "timestamp", array.data_type());
        let DataType::Timestamp(unit, _) = array.data_type() else {
            return Err(wrong());
        };
        fn cells<T: arrow_array::ArrowPrimitiveType<Native = i64>>(
            a: &dyn Array,
        ) -> Option<Cells<'_, i64>> {
            let a = a
                .as_any()
                .downcast_ref::<arrow_array::PrimitiveArray<T>>()?;
            Some(Cells {
                values: a.values(),
                nulls: a.nulls(),
            })
        }
        let cells = match unit {
            TimeUnit::Second => cells::<TimestampSecondType>(array),
            TimeUnit::Millisecond => cells::<TimestampMillisecondType>(array),
            TimeUnit::Microsecond => cells::<TimestampMicrosecondType>(array),
            TimeUnit::Nanosecond => cells::<TimestampNanosecondType>(array),
        }
        .ok_or_else(wrong)?;
        Ok(TimestampColumn {
            cells,
            unit: *unit,
            per_second: match unit {
                TimeUnit::Second => 1,
                TimeUnit::Millisecond => 1_000,
                TimeUnit::Microsecond => 1_000_000,
                TimeUnit::Nanosecond => 1_000_000_000,
            },
            column: name,
            batch: *batch,
            last_day: std::cell::Cell::new(None),
        })
    }

    /// The value at `row`, or an error if it is null or out of chrono's range.
    #[inline]
    pub fn required(&self, row: usize) -> Result<DateTime<Utc>, DecodeError> {
        match self.cells.get(row) {
            None => Err(self
                .batch
                .error(self.column, Some(row), DecodeProblem::Null)),
            Some(v) => self.convert(v, row),
        }
    }

    /// The value at `row`, `None` if null; an error if out of chrono's range.
    #[inline]
    pub fn optional(&self, row: usize) -> Result<Option<DateTime<Utc>>, DecodeError> {
        self.cells
            .get(row)
            .map(|v| self.convert(v, row))
            .transpose()
    }

    #[inline]
    fn convert(&self, v: i64, row: usize) -> Result<DateTime<Utc>, DecodeError> {
        let out_of_range = || {
            self.batch.error(
                self.column,
                Some(row),
                DecodeProblem::OutOfRange(format!("timestamp {v} ({:?})", self.unit)),
            )
        };
        let per_second = self.per_second;
        let secs = v.div_euclid(per_second);
        let nanos = (v.rem_euclid(per_second) * (1_000_000_000 / per_second)) as u32;
        let days = secs.div_euclid(86_400);
        let date = match self.last_day.get() {
            Some((d, date)) if d == days => date,
            _ => {
                // chrono counts days from 0001-01-01 (day 1); 1970-01-01 is day 719,163.
                let date = i32::try_from(days + 719_163)
                    .ok()
                    .and_then(NaiveDate::from_num_days_from_ce_opt)
                    .ok_or_else(out_of_range)?;
                self.last_day.set(Some((days, date)));
                date
            }
        };
        let time =
            NaiveTime::from_num_seconds_from_midnight_opt(secs.rem_euclid(86_400) as u32, nanos)
                .ok_or_else(out_of_range)?;
        Ok(DateTime::from_naive_utc_and_offset(
            date.and_time(time),
            Utc,
        ))
    }
}

/// Reads a position: the three `int32` columns `<name>_x`, `<name>_y`, `<name>_z`.
pub struct PositionColumn<'a> {
    x: Int32Column<'a>,
    y: Int32Column<'a>,
    z: Int32Column<'a>,
    column: &'a str,
    batch: Batch<'a>,
}

impl<'a> PositionColumn<'a> {
    /// Find the three columns of position `name` and check their types.
    pub fn open(batch: &Batch<'a>, name: &'a str) -> Result<Self, DecodeError> {
        let axis = |a: &str| Int32Column::open_as(batch, &format!("{name}_{a}"), name);
        Ok(PositionColumn {
            x: axis("x")?,
            y: axis("y")?,
            z: axis("z")?,
            column: name,
            batch: *batch,
        })
    }

    /// The value at `row`, or an error if a coordinate is null.
    #[inline]
    pub fn required(&self, row: usize) -> Result<Position, DecodeError> {
        self.optional(row).ok_or_else(|| {
            self.batch
                .error(self.column, Some(row), DecodeProblem::Null)
        })
    }

    /// The value at `row`, `None` if any coordinate is null.
    #[inline]
    pub fn optional(&self, row: usize) -> Option<Position> {
        Some(Position {
            x: self.x.optional(row)?,
            y: self.y.optional(row)?,
            z: self.z.optional(row)?,
            resolution: self.batch.resolution,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::TimestampNanosecondArray;
    use std::sync::Arc;

    /// The day-cached conversion gives chrono's own answer for every unit, before and after
    /// 1970, across day boundaries, and refuses what chrono refuses.
    #[test]
    fn timestamps_convert_as_chrono_does() {
        let values: Vec<i64> = [
            0,
            1,
            -1,
            86_399_999_999_999,
            86_400_000_000_000,
            -86_400_000_000_001,
            1_602_000_000_123_456_789,
            1_700_000_000_000_000_000,
            i64::MAX,
            i64::MIN,
            1_602_000_000_123_456_789 + 3_600_000_000_000,
            1_602_000_000_123_456_789 + 1,
        ]
        .to_vec();
        for (unit, expected) in [
            (
                TimeUnit::Nanosecond,
                Box::new(|v: i64| Some(DateTime::from_timestamp_nanos(v)))
                    as Box<dyn Fn(i64) -> Option<DateTime<Utc>>>,
            ),
            (
                TimeUnit::Microsecond,
                Box::new(DateTime::from_timestamp_micros),
            ),
            (
                TimeUnit::Millisecond,
                Box::new(DateTime::from_timestamp_millis),
            ),
            (
                TimeUnit::Second,
                Box::new(|v| DateTime::from_timestamp(v, 0)),
            ),
        ] {
            let array: Arc<dyn Array> = match unit {
                TimeUnit::Nanosecond => Arc::new(TimestampNanosecondArray::from(values.clone())),
                TimeUnit::Microsecond => {
                    Arc::new(arrow_array::TimestampMicrosecondArray::from(values.clone()))
                }
                TimeUnit::Millisecond => {
                    Arc::new(arrow_array::TimestampMillisecondArray::from(values.clone()))
                }
                TimeUnit::Second => {
                    Arc::new(arrow_array::TimestampSecondArray::from(values.clone()))
                }
            };
            let batch = RecordBatch::try_from_iter([("created", array)]).unwrap();
            let batch = Batch::new(&batch, "t", Resolution::NM);
            let column = TimestampColumn::open(&batch, "created").unwrap();
            for (row, v) in values.iter().enumerate() {
                let got = column.required(row).ok();
                assert_eq!(got, expected(*v), "{unit:?} {v}");
            }
        }
    }
}
