//! Hostile bodies: Arrow answers rewritten (columns added, batches cut, the end-of-stream
//! marker dropped), Arrow record batches crafted byte by byte (buffers that declare gigabytes),
//! and compression bombs (gzip and ZSTD frames that expand a thousandfold and more).

use std::io::Write;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// The end-of-stream marker of the IPC stream format.
pub const EOS: [u8; 8] = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];

/// The schema and batches of an Arrow answer.
pub fn read(body: &[u8]) -> (SchemaRef, Vec<RecordBatch>) {
    let reader = StreamReader::try_new(std::io::Cursor::new(body), None).expect("an Arrow body");
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().expect("its batches");
    (schema, batches)
}

/// An Arrow stream of `batches`, ZSTD-compressed as the server writes it.
pub fn write(schema: &SchemaRef, batches: &[RecordBatch]) -> Vec<u8> {
    let options = IpcWriteOptions::default()
        .try_with_compression(Some(arrow_ipc::CompressionType::ZSTD))
        .unwrap();
    let mut out = Vec::new();
    let mut writer = StreamWriter::try_new_with_options(&mut out, schema, options).unwrap();
    for b in batches {
        writer.write(b).unwrap();
    }
    writer.finish().unwrap();
    drop(writer);
    out
}

/// The answer re-written in batches of at most `rows` rows.
pub fn rebatch(body: &[u8], rows: usize) -> Vec<u8> {
    let (schema, batches) = read(body);
    let mut out = Vec::new();
    for b in &batches {
        let mut at = 0;
        while at < b.num_rows() {
            let n = rows.min(b.num_rows() - at);
            out.push(b.slice(at, n));
            at += n;
        }
    }
    write(&schema, &out)
}

/// The answer cut after its first record batch: a stream that ends exactly at a batch
/// boundary, without its end-of-stream marker.
pub fn first_batch_only(body: &[u8]) -> Vec<u8> {
    let (schema, batches) = read(body);
    let mut out = write(&schema, &batches[..1.min(batches.len())]);
    assert!(out.ends_with(&EOS));
    out.truncate(out.len() - EOS.len());
    out
}

/// The answer with a column added in front (the schema's metadata kept).
pub fn with_column_first(body: &[u8], name: &str, make: impl Fn(usize) -> ArrayRef) -> Vec<u8> {
    with_columns(body, |schema, batch| {
        let array = make(batch.num_rows());
        let mut fields = vec![Arc::new(Field::new(name, array.data_type().clone(), true))];
        fields.extend(schema.fields().iter().cloned());
        let mut columns = vec![array];
        columns.extend(batch.columns().iter().cloned());
        (fields, columns)
    })
}

/// The answer with its columns changed by `change` (fields and arrays of each batch).
pub fn with_columns(
    body: &[u8],
    change: impl Fn(&Schema, &RecordBatch) -> (Vec<Arc<Field>>, Vec<ArrayRef>),
) -> Vec<u8> {
    let (schema, batches) = read(body);
    let mut out_schema = None;
    let mut out = Vec::new();
    for b in &batches {
        let (fields, columns) = change(&schema, b);
        let s = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        out.push(RecordBatch::try_new(s.clone(), columns).expect("a batch"));
        out_schema = Some(s);
    }
    let s = out_schema.unwrap_or(schema);
    write(&s, &out)
}

/// A gzip stream's parts: a head that decodes to 16 MiB of zeros, and a piece that adds 16 MiB
/// of zeros more each time it follows (after a full flush, the same input compresses to the
/// same bytes). The stream has no end: a reader stops at a limit, or never. Made once per
/// process (compressing 32 MiB in a debug build takes seconds, which a loaded machine would
/// count against the client's timeout).
pub fn gzip_parts() -> (Vec<u8>, Vec<u8>) {
    static PARTS: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    PARTS.get_or_init(make_gzip_parts).clone()
}

fn make_gzip_parts() -> (Vec<u8>, Vec<u8>) {
    let block = vec![0u8; 16 << 20];
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&block).unwrap();
    encoder.flush().unwrap();
    let first = encoder.get_ref().len();
    encoder.write_all(&block).unwrap();
    encoder.flush().unwrap();
    let bytes = encoder.get_ref().clone();
    (bytes[..first].to_vec(), bytes[first..].to_vec())
}

/// A gzip body of about `mib` MiB that decodes to a thousand times as much zeros.
pub fn gzip_bomb(mib: usize) -> Vec<u8> {
    let (mut out, piece) = gzip_parts();
    while out.len() < mib << 20 {
        out.extend_from_slice(&piece);
    }
    out
}

/// A ZSTD frame that declares and decodes to `size` bytes of `byte` in 128 KiB RLE blocks: four
/// bytes a block, so 10 GiB take 320 KiB.
pub fn zstd_bomb(size: u64, byte: u8) -> Vec<u8> {
    const BLOCK: u64 = 128 << 10;
    assert_eq!(size % BLOCK, 0);
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd];
    // Frame header: an 8-byte content size, a window descriptor (2^17), no checksum.
    out.push(0xc0);
    out.push(7 << 3);
    out.extend_from_slice(&size.to_le_bytes());
    let blocks = size / BLOCK;
    for i in 0..blocks {
        let last = u32::from(i + 1 == blocks);
        let header = ((BLOCK as u32) << 3) | (1 << 1) | last;
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.push(byte);
    }
    out
}

/// A compressed IPC buffer: the 8-byte uncompressed length, then the frame.
pub fn compressed(declared: i64, frame: &[u8]) -> Vec<u8> {
    let mut out = declared.to_le_bytes().to_vec();
    out.extend_from_slice(frame);
    out
}

/// A buffer stored uncompressed in a compressed batch (length prefix -1).
pub fn stored(bytes: &[u8]) -> Vec<u8> {
    compressed(-1, bytes)
}

/// An Arrow stream of `schema` with one record batch of `rows` rows, built by hand: `nodes`
/// (length, null count) per field node, `buffers` as they lie in the body (ZSTD-compressed
/// batch), and the end-of-stream marker.
pub fn crafted(schema: &Schema, rows: i64, nodes: &[(i64, i64)], buffers: &[Vec<u8>]) -> Vec<u8> {
    use arrow_ipc::{
        BodyCompressionBuilder, BodyCompressionMethod, CompressionType, FieldNode, MessageBuilder,
        MessageHeader, MetadataVersion, RecordBatchBuilder,
    };
    // The schema message, as arrow-ipc writes it (an empty stream without its end marker).
    let mut out = write(&Arc::new(schema.clone()), &[]);
    out.truncate(out.len() - EOS.len());

    let mut body = Vec::new();
    let mut specs = Vec::new();
    for b in buffers {
        let offset = body.len() as i64;
        body.extend_from_slice(b);
        while !body.len().is_multiple_of(8) {
            body.push(0);
        }
        specs.push(arrow_ipc::Buffer::new(offset, b.len() as i64));
    }
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let field_nodes: Vec<FieldNode> = nodes.iter().map(|(l, n)| FieldNode::new(*l, *n)).collect();
    let nodes = fbb.create_vector(&field_nodes);
    let buffers = fbb.create_vector(&specs);
    let compression = {
        let mut c = BodyCompressionBuilder::new(&mut fbb);
        c.add_codec(CompressionType::ZSTD);
        c.add_method(BodyCompressionMethod::BUFFER);
        c.finish()
    };
    let batch = {
        let mut b = RecordBatchBuilder::new(&mut fbb);
        b.add_length(rows);
        b.add_nodes(nodes);
        b.add_buffers(buffers);
        b.add_compression(compression);
        b.finish()
    };
    let message = {
        let mut m = MessageBuilder::new(&mut fbb);
        m.add_version(MetadataVersion::V5);
        m.add_header_type(MessageHeader::RecordBatch);
        m.add_header(batch.as_union_value());
        m.add_bodyLength(body.len() as i64);
        m.finish()
    };
    fbb.finish(message, None);
    let mut meta = fbb.finished_data().to_vec();
    while !meta.len().is_multiple_of(8) {
        meta.push(0);
    }
    out.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    out.extend_from_slice(&(meta.len() as i32).to_le_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(&body);
    out.extend_from_slice(&EOS);
    out
}

/// One row: `id` 1, and a `blob` column of `data_type` whose value buffer is a ZSTD frame
/// declaring (and decoding to) `declared` bytes; offsets say the value is `value_len` bytes.
pub fn bomb_body(data_type: DataType, declared: u64, value_len: i64) -> Vec<u8> {
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("blob", data_type.clone(), true),
    ]);
    let id = stored(&1i64.to_le_bytes());
    let bomb = compressed(declared as i64, &zstd_bomb(declared, b'a'));
    let empty = Vec::new();
    let (offsets, list): (Vec<u8>, bool) = match data_type {
        DataType::Binary | DataType::Utf8 => (
            [0i32, value_len as i32]
                .iter()
                .flat_map(|o| o.to_le_bytes())
                .collect(),
            false,
        ),
        DataType::LargeBinary | DataType::LargeUtf8 | DataType::LargeList(_) => (
            [0i64, value_len]
                .iter()
                .flat_map(|o| o.to_le_bytes())
                .collect(),
            matches!(data_type, DataType::LargeList(_)),
        ),
        other => panic!("no bomb for {other}"),
    };
    if list {
        // The list's validity and offsets, then its Int8 child's validity and values.
        return crafted(
            &schema,
            1,
            &[(1, 0), (1, 0), (value_len, 0)],
            &[
                empty.clone(),
                id,
                empty.clone(),
                stored(&offsets),
                empty,
                bomb,
            ],
        );
    }
    crafted(
        &schema,
        1,
        &[(1, 0), (1, 0)],
        &[empty.clone(), id, empty, stored(&offsets), bomb],
    )
}
