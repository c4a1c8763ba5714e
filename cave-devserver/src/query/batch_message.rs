//! A record batch's IPC message with its columns compressed on all cores.
//!
//! arrow-ipc's writer compresses a batch's buffers one after the other: for a million synapse
//! rows that is most of the server's time per answer, on one core. Here the columns are cut
//! into contiguous groups of about the same size, each group is encoded by arrow-ipc's own
//! encoder on a thread of its own, and the parts are joined into one message: the groups'
//! field nodes and buffers in order (buffer offsets moved past the bodies before them) and
//! their bodies back to back. The result is one record batch, the same as the serial
//! writer's, so clients see what a real server sends.

use std::sync::Arc;

use arrow_array::{Array, RecordBatch, RecordBatchOptions};
use arrow_ipc::writer::{
    DictionaryTracker, EncodedData, IpcDataGenerator, IpcWriteContext, IpcWriteOptions,
};
use arrow_schema::{ArrowError, Schema};

/// Batches with fewer rows than this are encoded on one thread (threads cost more than they
/// save).
const PARALLEL_MIN_ROWS: usize = 16_384;

/// The IPC message (header and body) of `batch`, written with `options`, on up to `threads`
/// threads.
pub fn encode(
    batch: &RecordBatch,
    options: &IpcWriteOptions,
    threads: usize,
) -> Result<EncodedData, ArrowError> {
    let groups = column_groups(batch, threads);
    if groups.len() <= 1 || batch.num_rows() < PARALLEL_MIN_ROWS {
        return encode_serial(batch, options);
    }
    let parts: Vec<Result<EncodedData, ArrowError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .iter()
            .map(|range| {
                let part = sub_batch(batch, range.clone());
                scope.spawn(move || encode_serial(&part?, options))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ArrowError::IpcError("an encoding thread panicked".into()))
                })
            })
            .collect()
    });
    let parts = parts.into_iter().collect::<Result<Vec<_>, _>>()?;
    join(batch.num_rows(), &parts)
}

fn encode_serial(
    batch: &RecordBatch,
    options: &IpcWriteOptions,
) -> Result<EncodedData, ArrowError> {
    let (_dictionaries, message) = IpcDataGenerator::default().encode(
        batch,
        &mut DictionaryTracker::new(false),
        options,
        &mut IpcWriteContext::default(),
    )?;
    Ok(message)
}

/// Contiguous ranges of columns with about the same bytes each, at most `threads` of them.
fn column_groups(batch: &RecordBatch, threads: usize) -> Vec<std::ops::Range<usize>> {
    let sizes: Vec<usize> = batch
        .columns()
        .iter()
        .map(|c| c.get_array_memory_size())
        .collect();
    let threads = threads.clamp(1, sizes.len().max(1));
    let per_group = sizes.iter().sum::<usize>().div_ceil(threads).max(1);
    let mut groups = Vec::with_capacity(threads);
    let (mut start, mut bytes) = (0, 0);
    for (i, size) in sizes.iter().enumerate() {
        bytes += size;
        let last_group = groups.len() + 1 == threads;
        if bytes >= per_group && !last_group && i + 1 < sizes.len() {
            groups.push(start..i + 1);
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < sizes.len() {
        groups.push(start..sizes.len());
    }
    groups
}

/// The columns `range` of `batch`, as a batch of their own.
fn sub_batch(
    batch: &RecordBatch,
    range: std::ops::Range<usize>,
) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    let fields: Vec<_> = schema.fields()[range.clone()].to_vec();
    RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        batch.columns()[range].to_vec(),
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
}

/// One record batch message of `rows` rows from the messages of its column groups, in order.
fn join(rows: usize, parts: &[EncodedData]) -> Result<EncodedData, ArrowError> {
    let bad = |what: &str| ArrowError::IpcError(format!("joining encoded column groups: {what}"));
    let mut nodes = Vec::new();
    let mut buffers = Vec::new();
    // Buffer counts of view columns (none for the server's types, but kept if there are).
    let mut variadic: Vec<i64> = Vec::new();
    let mut body = Vec::with_capacity(parts.iter().map(|p| p.arrow_data.len()).sum());
    let mut compression = None;
    for part in parts {
        let message = arrow_ipc::root_as_message(&part.ipc_message)
            .map_err(|e| bad(&format!("unreadable header: {e}")))?;
        let header = message
            .header_as_record_batch()
            .ok_or_else(|| bad("not a record batch"))?;
        let shift = i64::try_from(body.len()).map_err(|_| bad("body too long"))?;
        nodes.extend(header.nodes().iter().flat_map(|n| n.iter().copied()));
        buffers.extend(
            header
                .buffers()
                .iter()
                .flat_map(|b| b.iter())
                .map(|b| arrow_ipc::Buffer::new(b.offset() + shift, b.length())),
        );
        variadic.extend(header.variadicBufferCounts().iter().flat_map(|v| v.iter()));
        compression = header.compression().map(|c| (c.codec(), c.method()));
        body.extend_from_slice(&part.arrow_data);
    }
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let nodes = fbb.create_vector(&nodes);
    let buffers = fbb.create_vector(&buffers);
    let variadic = (!variadic.is_empty()).then(|| fbb.create_vector(&variadic));
    let compression = compression.map(|(codec, method)| {
        let mut c = arrow_ipc::BodyCompressionBuilder::new(&mut fbb);
        c.add_codec(codec);
        c.add_method(method);
        c.finish()
    });
    let mut header = arrow_ipc::RecordBatchBuilder::new(&mut fbb);
    header.add_length(i64::try_from(rows).map_err(|_| bad("too many rows"))?);
    header.add_nodes(nodes);
    header.add_buffers(buffers);
    if let Some(c) = compression {
        header.add_compression(c);
    }
    if let Some(v) = variadic {
        header.add_variadicBufferCounts(v);
    }
    let header = header.finish().as_union_value();
    let mut message = arrow_ipc::MessageBuilder::new(&mut fbb);
    message.add_version(arrow_ipc::MetadataVersion::V5);
    message.add_header_type(arrow_ipc::MessageHeader::RecordBatch);
    message.add_bodyLength(i64::try_from(body.len()).map_err(|_| bad("body too long"))?);
    message.add_header(header);
    let message = message.finish();
    fbb.finish(message, None);
    Ok(EncodedData {
        ipc_message: fbb.finished_data().to_vec(),
        arrow_data: body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, BooleanArray, Float32Array, Int32Array, Int64Array, StringArray};
    use arrow_ipc::CompressionType;
    use arrow_ipc::reader::StreamReader;
    use arrow_ipc::writer::StreamWriter;
    use arrow_schema::Field;

    fn batch(rows: usize) -> RecordBatch {
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(Int64Array::from_iter_values(0..rows as i64))),
            (
                "root",
                Arc::new(Int64Array::from_iter(
                    (0..rows as i64).map(|i| (i % 7 != 0).then_some(i * 1_000_003 % 9_999_991)),
                )),
            ),
            (
                "x",
                Arc::new(Int32Array::from_iter_values(
                    (0..rows as i32).map(|i| i ^ 0x5a5a),
                )),
            ),
            (
                "size",
                Arc::new(Float32Array::from_iter(
                    (0..rows).map(|i| (i % 3 != 0).then_some(i as f32)),
                )),
            ),
            (
                "valid",
                Arc::new(BooleanArray::from_iter((0..rows).map(|i| Some(i % 2 == 0)))),
            ),
            (
                "tag",
                Arc::new(StringArray::from_iter(
                    (0..rows).map(|i| (i % 5 != 0).then(|| format!("t{i}"))),
                )),
            ),
        ];
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }

    fn stream(batch: &RecordBatch, options: &IpcWriteOptions, threads: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer =
            StreamWriter::try_new_with_options(&mut out, &batch.schema(), options.clone()).unwrap();
        let message = encode(batch, options, threads).unwrap();
        arrow_ipc::writer::write_message(writer.get_mut(), message, options).unwrap();
        writer.finish().unwrap();
        drop(writer);
        out
    }

    #[test]
    fn joined_groups_read_back_as_the_batch_in_every_compression() {
        let original = batch(40_000);
        for codec in [
            None,
            Some(CompressionType::ZSTD),
            Some(CompressionType::LZ4_FRAME),
        ] {
            let options = IpcWriteOptions::default()
                .try_with_compression(codec)
                .unwrap();
            let serial = stream(&original, &options, 1);
            for threads in [1, 2, 3, 6, 9] {
                let body = stream(&original, &options, threads);
                let read: Vec<_> = StreamReader::try_new(&body[..], None)
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                assert_eq!(read, vec![original.clone()], "{codec:?}, {threads} threads");
                // One batch, as long as the serial writer's but for its header.
                assert!(
                    body.len().abs_diff(serial.len()) < 256,
                    "{codec:?}, {threads} threads"
                );
            }
        }
    }

    #[test]
    fn groups_cover_every_column_once_in_order() {
        let b = batch(20_000);
        for threads in 1..9 {
            let groups = column_groups(&b, threads);
            assert!(!groups.is_empty() && groups.len() <= threads.min(6));
            assert_eq!(groups[0].start, 0);
            assert_eq!(groups.last().unwrap().end, 6);
            assert!(
                groups
                    .windows(2)
                    .all(|w| w[0].end == w[1].start && w[0].start < w[0].end)
            );
        }
    }
}
