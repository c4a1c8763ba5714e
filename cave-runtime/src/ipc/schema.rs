//! The columns of a stream: the types the reader reads (those CAVE tables use), the checks a
//! schema must pass, how many buffers and bytes a row of each type takes, and the pandas
//! index columns left out of what is handed on.

use arrow_schema::{DataType, Schema};

use super::{DecodeLimits, IpcError};

/// The schema of a schema message, checked: at most `limits.max_columns` columns, of types
/// the reader reads, with distinct names.
pub(super) fn read(fb: arrow_ipc::Schema<'_>, limits: &DecodeLimits) -> Result<Schema, IpcError> {
    let fields = fb.fields().map_or(0, |f| f.len());
    if fields > limits.max_columns {
        return Err(format!(
            "the answer has {fields} columns, more than the {} allowed \
             (ClientBuilder::limits, Limits::max_columns)",
            limits.max_columns
        )
        .into());
    }
    let schema = arrow_ipc::convert::try_fb_to_schema(fb)
        .map_err(|e| format!("the schema message is not valid Arrow: {e}"))?;
    check(&schema)?;
    Ok(schema)
}

/// The columns handed on, as indexes into `schema`, and their schema: all but the pandas
/// index columns.
pub(super) fn without_index_columns(schema: &Schema) -> Result<(Vec<usize>, Schema), IpcError> {
    let index = index_columns(schema);
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !index.contains(schema.field(i).name()))
        .collect();
    let kept = schema
        .project(&keep)
        .map_err(|e| format!("cannot drop the index columns: {e}"))?;
    Ok((keep, kept))
}

/// The names in the pandas metadata's `index_columns` (a `RangeIndex` is a dict there and has
/// no column).
fn index_columns(schema: &Schema) -> Vec<String> {
    let Some(pandas) = schema.metadata().get("pandas") else {
        return Vec::new();
    };
    let Ok(meta) = serde_json::from_str::<serde_json::Value>(pandas) else {
        return Vec::new();
    };
    meta.get("index_columns")
        .and_then(|v| v.as_array())
        .map(|cols| {
            cols.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the reader reads columns of this type.
fn supported(data_type: &DataType) -> bool {
    use DataType::*;
    matches!(
        data_type,
        Null | Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float16
            | Float32
            | Float64
            | Timestamp(_, _)
            | Date32
            | Date64
            | Utf8
            | LargeUtf8
            | Binary
            | LargeBinary
    )
}

/// The checks of a schema: supported types, distinct names (with two columns of one name,
/// which one a row's value comes from is a guess).
fn check(schema: &Schema) -> Result<(), IpcError> {
    let mut seen = std::collections::HashMap::new();
    for (i, f) in schema.fields().iter().enumerate() {
        if let Some(first) = seen.insert(f.name().as_str(), i) {
            return Err(format!(
                "the answer has the column `{}` twice (columns {first} and {i}): which one holds \
                 the values is unknown",
                f.name()
            )
            .into());
        }
        if !supported(f.data_type()) {
            return Err(IpcError::new(format!(
                "type {} is not one CAVE tables use, and is not read",
                f.data_type()
            ))
            .in_column(f.name()));
        }
    }
    Ok(())
}

/// How many buffers a column of this type has in an IPC record batch, if supported.
pub(super) fn buffer_count(data_type: &DataType) -> Option<usize> {
    match data_type {
        DataType::Null => Some(0),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary => Some(3),
        t if supported(t) => Some(2),
        _ => None,
    }
}

/// The bytes a row of this type takes in a chunk, variable-length values left out (they are
/// bounded by what the buffers declare).
pub(super) fn row_bytes(data_type: &DataType) -> usize {
    match data_type {
        DataType::Null => 0,
        DataType::Boolean => 1,
        DataType::Utf8 | DataType::Binary => 4,
        DataType::LargeUtf8 | DataType::LargeBinary => 8,
        t => t.primitive_width().unwrap_or(8),
    }
}
