//! Writing a [`Frame`] as the server does (docs/WIRE.md: "Answers", "Wire types"): an Arrow IPC stream (one schema
//! message, one record batch) with pandas metadata so that pyarrow's `read_pandas()` restores
//! the nullable dtypes, buffers compressed per `Accept-Encoding` (on all cores:
//! [`batch_message`]); or `df.to_json(orient="records")`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    RecordBatchOptions, StringArray, TimestampNanosecondArray,
};
use arrow_ipc::CompressionType;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow_schema::{DataType, Field, Schema};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::query::batch_message;
use crate::query::engine::Frame;

/// Threads an answer's columns are compressed on: the cores this process may use.
fn encoding_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The ZSTD level of IPC buffers (Arrow C++'s `kZSTDDefaultCompressionLevel`).
pub const ZSTD_LEVEL: i32 = 1;

/// Buffer compression of the IPC body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No compression.
    None,
    /// `LZ4_FRAME` (`Accept-Encoding` contains `lz4`).
    Lz4,
    /// `ZSTD` (`Accept-Encoding` contains `zstd`).
    Zstd,
}

impl Compression {
    /// What the server picks: lz4 if asked, else zstd if asked, else none.
    pub fn from_accept_encoding(accept: &str, ipc_compress: bool) -> Self {
        if !ipc_compress {
            Compression::None
        } else if accept.contains("lz4") {
            Compression::Lz4
        } else if accept.contains("zstd") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// (pandas_type, numpy_type, metadata) of an Arrow type as pandas' nullable dtypes write it.
fn pandas_types(data_type: &DataType) -> (&'static str, &'static str, Value) {
    match data_type {
        DataType::Int64 => ("int64", "Int64", Value::Null),
        DataType::Int32 => ("int32", "Int32", Value::Null),
        DataType::Float32 => ("float32", "Float32", Value::Null),
        DataType::Float64 => ("float64", "Float64", Value::Null),
        DataType::Boolean => ("bool", "boolean", Value::Null),
        DataType::Utf8 => ("unicode", "string", Value::Null),
        DataType::Timestamp(_, _) => ("datetimetz", "datetime64[ns]", json!({"timezone": "UTC"})),
        _ => ("object", "object", Value::Null),
    }
}

/// The `pandas` schema metadata; `index` names a real index column, else a RangeIndex.
fn pandas_metadata(frame: &Frame, index: Option<&str>) -> String {
    let columns: Vec<Value> = frame
        .columns
        .iter()
        .map(|(name, array)| {
            let (pandas_type, numpy_type, metadata) = pandas_types(array.data_type());
            let shown_name = if Some(name.as_str()) == index {
                Value::Null
            } else {
                json!(name)
            };
            json!({
                "name": shown_name,
                "field_name": name,
                "pandas_type": pandas_type,
                "numpy_type": numpy_type,
                "metadata": metadata,
            })
        })
        .collect();
    let index_columns = match index {
        Some(name) => json!([name]),
        None => json!([{"kind": "range", "name": null, "start": 0, "stop": frame.rows, "step": 1}]),
    };
    json!({
        "index_columns": index_columns,
        "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}],
        "columns": columns,
        "creator": {"library": "pyarrow", "version": "20.0.0"},
        "pandas_version": "2.3.0",
    })
    .to_string()
}

/// The frame as an Arrow IPC stream.
pub fn arrow_stream(
    frame: &Frame,
    compression: Compression,
    index: Option<&str>,
) -> Result<Vec<u8>, ApiError> {
    let fields: Vec<Field> = frame
        .columns
        .iter()
        .map(|(name, array)| Field::new(name, array.data_type().clone(), true))
        .collect();
    let metadata = HashMap::from([("pandas".to_string(), pandas_metadata(frame, index))]);
    let schema = Arc::new(Schema::new_with_metadata(fields, metadata));
    let arrays: Vec<ArrayRef> = frame.columns.iter().map(|(_, a)| a.clone()).collect();
    let batch = RecordBatch::try_new_with_options(
        schema.clone(),
        arrays,
        &RecordBatchOptions::new().with_row_count(Some(frame.rows)),
    )
    .map_err(|e| ApiError::Wrapped(format!("building the record batch: {e}")))?;
    let options = match compression {
        Compression::None => Ok(IpcWriteOptions::default()),
        Compression::Lz4 => {
            IpcWriteOptions::default().try_with_compression(Some(CompressionType::LZ4_FRAME))
        }
        // Level 1: Arrow C++'s default, which pyarrow (and so the real server) writes with;
        // arrow-rs would pick 3, slower to write for little gain.
        Compression::Zstd => IpcWriteOptions::default()
            .try_with_compression(Some(CompressionType::ZSTD))
            .and_then(|o| o.try_with_compression_level(Some(ZSTD_LEVEL))),
    }
    .map_err(|e| ApiError::Wrapped(format!("IPC options: {e}")))?;
    let mut out = Vec::new();
    let write = |out: &mut Vec<u8>| -> Result<(), arrow_schema::ArrowError> {
        let mut writer = StreamWriter::try_new_with_options(out, &schema, options.clone())?;
        // The batch's columns compressed on all cores, as one record batch message.
        let message = batch_message::encode(&batch, &options, encoding_threads())?;
        arrow_ipc::writer::write_message(writer.get_mut(), message, &options)?;
        writer.finish()
    };
    write(&mut out).map_err(|e| ApiError::Wrapped(format!("writing the Arrow stream: {e}")))?;
    Ok(out)
}

/// The frame as pandas' `to_json(orient="records")`: timestamps in epoch milliseconds, floats
/// with up to 10 decimals, `/` escaped as ujson does.
pub fn json_records(frame: &Frame) -> String {
    let mut out = String::with_capacity(frame.rows * 64 + 2);
    out.push('[');
    for row in 0..frame.rows {
        if row > 0 {
            out.push(',');
        }
        out.push('{');
        for (k, (name, array)) in frame.columns.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            out.push_str(&json_string(name));
            out.push(':');
            out.push_str(&json_cell(array, row));
        }
        out.push('}');
    }
    out.push(']');
    out
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".into())
        .replace('/', "\\/")
}

fn json_cell(array: &ArrayRef, row: usize) -> String {
    if array.is_null(row) {
        return "null".into();
    }
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        return a.value(row).to_string();
    }
    if let Some(a) = any.downcast_ref::<Int32Array>() {
        return a.value(row).to_string();
    }
    if let Some(a) = any.downcast_ref::<Float32Array>() {
        return pandas_float(f64::from(a.value(row)));
    }
    if let Some(a) = any.downcast_ref::<Float64Array>() {
        return pandas_float(a.value(row));
    }
    if let Some(a) = any.downcast_ref::<BooleanArray>() {
        return a.value(row).to_string();
    }
    if let Some(a) = any.downcast_ref::<StringArray>() {
        return json_string(a.value(row));
    }
    if let Some(a) = any.downcast_ref::<TimestampNanosecondArray>() {
        return a.value(row).div_euclid(1_000_000).to_string();
    }
    "null".into()
}

/// A float as ujson with `double_precision=10` writes it.
fn pandas_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    let text = format!("{f:.10}");
    let trimmed = text.trim_end_matches('0');
    if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_pandas_writes_them() {
        assert_eq!(pandas_float(2976.0), "2976.0");
        assert_eq!(pandas_float(f64::from(0.1_f32)), "0.1000000015");
        assert_eq!(pandas_float(0.5), "0.5");
        assert_eq!(pandas_float(f64::NAN), "null");
    }

    #[test]
    fn compression_choice() {
        assert_eq!(
            Compression::from_accept_encoding("zstd", true),
            Compression::Zstd
        );
        assert_eq!(
            Compression::from_accept_encoding("gzip, lz4, zstd", true),
            Compression::Lz4
        );
        assert_eq!(
            Compression::from_accept_encoding("gzip, deflate", true),
            Compression::None
        );
        assert_eq!(
            Compression::from_accept_encoding("zstd", false),
            Compression::None
        );
    }
}
