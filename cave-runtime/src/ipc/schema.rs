//! The columns of a stream: the types the reader reads (those CAVE tables use), the checks a
//! schema must pass, how many buffers and bytes a row of each type takes, and the pandas
//! index columns left out of what is handed on.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};

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
    let schema = from_flatbuffer(fb)?;
    check(&schema)?;
    Ok(schema)
}

/// The schema of a schema message, for the types the reader reads; any other type, a
/// dictionary-encoded column or a big-endian stream is an error naming the column. (arrow-ipc's
/// own `fb_to_schema` panics on types and units it does not know, which a server chooses.)
fn from_flatbuffer(fb: arrow_ipc::Schema<'_>) -> Result<Schema, IpcError> {
    if fb.endianness() == arrow_ipc::Endianness::Big {
        return Err("the answer is big-endian Arrow, which the reader does not read".into());
    }
    let mut fields = Vec::new();
    for (i, field) in fb.fields().into_iter().flat_map(|f| f.iter()).enumerate() {
        let name = field.name().unwrap_or_default().to_string();
        let shown = if name.is_empty() {
            format!("#{i}")
        } else {
            name.clone()
        };
        if field.dictionary().is_some() {
            return Err(
                IpcError::new("dictionary-encoded columns are not read".to_string())
                    .in_column(&shown),
            );
        }
        let data_type =
            field_type(&field).map_err(|problem| IpcError::new(problem).in_column(&shown))?;
        fields.push(Arc::new(
            Field::new(name, data_type, field.nullable()).with_metadata(key_values(
                field.custom_metadata().into_iter().flat_map(|m| m.iter()),
            )),
        ));
    }
    Ok(Schema::new_with_metadata(
        fields,
        key_values(fb.custom_metadata().into_iter().flat_map(|m| m.iter())),
    ))
}

/// The type of one flatbuffer field, if it is one the reader reads (see [`supported`]).
fn field_type(field: &arrow_ipc::Field<'_>) -> Result<DataType, String> {
    use arrow_ipc::{DateUnit, Precision, Type};
    let unknown = || {
        format!(
            "type {} is not one CAVE tables use, and is not read",
            field.type_type().variant_name().unwrap_or("(unknown)")
        )
    };
    let incomplete = || {
        format!(
            "the {} type has no parameters",
            field.type_type().variant_name().unwrap_or("?")
        )
    };
    Ok(match field.type_type() {
        Type::Null => DataType::Null,
        Type::Bool => DataType::Boolean,
        Type::Int => {
            let int = field.type_as_int().ok_or_else(incomplete)?;
            match (int.bitWidth(), int.is_signed()) {
                (8, true) => DataType::Int8,
                (16, true) => DataType::Int16,
                (32, true) => DataType::Int32,
                (64, true) => DataType::Int64,
                (8, false) => DataType::UInt8,
                (16, false) => DataType::UInt16,
                (32, false) => DataType::UInt32,
                (64, false) => DataType::UInt64,
                (bits, _) => return Err(format!("an integer of {bits} bits is not read")),
            }
        }
        Type::FloatingPoint => {
            match field
                .type_as_floating_point()
                .ok_or_else(incomplete)?
                .precision()
            {
                Precision::HALF => DataType::Float16,
                Precision::SINGLE => DataType::Float32,
                Precision::DOUBLE => DataType::Float64,
                p => return Err(format!("a float of precision {} is not read", p.0)),
            }
        }
        Type::Timestamp => {
            let ts = field.type_as_timestamp().ok_or_else(incomplete)?;
            let unit = match ts.unit() {
                arrow_ipc::TimeUnit::SECOND => TimeUnit::Second,
                arrow_ipc::TimeUnit::MILLISECOND => TimeUnit::Millisecond,
                arrow_ipc::TimeUnit::MICROSECOND => TimeUnit::Microsecond,
                arrow_ipc::TimeUnit::NANOSECOND => TimeUnit::Nanosecond,
                u => return Err(format!("a timestamp of time unit {} is not read", u.0)),
            };
            DataType::Timestamp(unit, ts.timezone().map(Arc::from))
        }
        Type::Date => match field.type_as_date().ok_or_else(incomplete)?.unit() {
            DateUnit::DAY => DataType::Date32,
            DateUnit::MILLISECOND => DataType::Date64,
            u => return Err(format!("a date of unit {} is not read", u.0)),
        },
        Type::Utf8 => DataType::Utf8,
        Type::LargeUtf8 => DataType::LargeUtf8,
        Type::Binary => DataType::Binary,
        Type::LargeBinary => DataType::LargeBinary,
        _ => return Err(unknown()),
    })
}

/// Custom metadata as a map; entries without a key or a value are left out.
fn key_values<'a>(list: impl Iterator<Item = arrow_ipc::KeyValue<'a>>) -> HashMap<String, String> {
    list.filter_map(|kv| Some((kv.key()?.to_string(), kv.value()?.to_string())))
        .collect()
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
