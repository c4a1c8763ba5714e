//! The reader against arrow-ipc's writer: every supported type and compression, chunk sizes,
//! threads, reused memory, and bodies cut, corrupted or too big.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{
    Array, BinaryArray, BooleanArray, Date32Array, Float32Array, Int32Array, Int64Array,
    LargeBinaryArray, LargeStringArray, NullArray, StringArray, TimestampNanosecondArray,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_ipc::CompressionType;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;

use super::{CHUNK_BYTES, Chunks, DecodeLimits, Decompression, decompress_only};

/// Batches of every supported type, with nulls, empty strings, non-ASCII text.
fn batches(sizes: &[usize]) -> (SchemaRef, Vec<RecordBatch>) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("root", DataType::Int64, true),
        Field::new("x", DataType::Int32, true),
        Field::new("size", DataType::Float32, true),
        Field::new("valid", DataType::Boolean, true),
        Field::new(
            "created",
            DataType::Timestamp(arrow_schema::TimeUnit::Nanosecond, Some("UTC".into())),
            true,
        ),
        Field::new("tag", DataType::Utf8, true),
        Field::new("note", DataType::LargeUtf8, true),
        Field::new("day", DataType::Date32, true),
        Field::new("nothing", DataType::Null, true),
        Field::new("blob", DataType::Binary, true),
        Field::new("big_blob", DataType::LargeBinary, true),
    ]));
    let mut start = 0i64;
    let batches = sizes
        .iter()
        .map(|&n| {
            let ids: Vec<i64> = (start..start + n as i64).collect();
            start += n as i64;
            let opt = |i: &i64, every: i64| (i % every != 0).then_some(*i);
            let cols: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from(ids.clone())),
                Arc::new(Int64Array::from_iter(
                    ids.iter().map(|i| opt(i, 7).map(|v| v * 1_000_003)),
                )),
                Arc::new(Int32Array::from_iter(
                    ids.iter().map(|i| opt(i, 5).map(|v| v as i32 - 40)),
                )),
                Arc::new(Float32Array::from_iter(
                    ids.iter().map(|i| opt(i, 3).map(|v| v as f32 / 3.0)),
                )),
                Arc::new(BooleanArray::from_iter(
                    ids.iter().map(|i| opt(i, 11).map(|v| v % 2 == 0)),
                )),
                Arc::new(
                    TimestampNanosecondArray::from_iter(
                        ids.iter().map(|i| opt(i, 13).map(|v| v * 1_000_000_007)),
                    )
                    .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from_iter(ids.iter().map(|i| {
                    opt(i, 4).map(|v| match v % 3 {
                        0 => String::new(),
                        1 => format!("L2/3 café {v}"),
                        _ => "x".repeat((v % 50) as usize),
                    })
                }))),
                Arc::new(LargeStringArray::from_iter(
                    ids.iter().map(|i| opt(i, 6).map(|v| format!("µ{v}"))),
                )),
                Arc::new(Date32Array::from_iter(
                    ids.iter().map(|i| opt(i, 9).map(|v| v as i32)),
                )),
                Arc::new(NullArray::new(n)),
                Arc::new(BinaryArray::from_iter(ids.iter().map(|i| {
                    opt(i, 8).map(|v| vec![(v % 256) as u8; (v % 9) as usize])
                }))),
                Arc::new(LargeBinaryArray::from_iter(
                    ids.iter()
                        .map(|i| opt(i, 10).map(|v| v.to_le_bytes().to_vec())),
                )),
            ];
            RecordBatch::try_new(schema.clone(), cols).unwrap()
        })
        .collect();
    (schema, batches)
}

fn write(schema: &SchemaRef, batches: &[RecordBatch], codec: Option<CompressionType>) -> Bytes {
    let options = IpcWriteOptions::default()
        .try_with_compression(codec)
        .unwrap();
    let mut out = Vec::new();
    let mut w = StreamWriter::try_new_with_options(&mut out, schema, options).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    drop(w);
    Bytes::from(out)
}

fn read_all(body: Bytes, chunk_rows: usize, threads: usize) -> Result<Vec<RecordBatch>, String> {
    read_as(Decompression::Streamed, body, chunk_rows, threads)
}

fn read_as(
    decompression: Decompression,
    body: Bytes,
    chunk_rows: usize,
    threads: usize,
) -> Result<Vec<RecordBatch>, String> {
    Chunks::new(body, chunk_rows)
        .and_then(|c| c.threads(threads).decompression(decompression).collect())
        .map_err(|e| e.to_string())
}

const BOTH: [Decompression; 2] = [Decompression::Streamed, Decompression::Whole];

fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(schema, batches).unwrap()
}

#[test]
fn chunks_equal_arrow_ipc_for_every_compression_and_chunk_size() {
    let (schema, expected) = batches(&[1000, 0, 77, 4096]);
    let whole = concat(&schema, &expected);
    for codec in [
        None,
        Some(CompressionType::LZ4_FRAME),
        Some(CompressionType::ZSTD),
    ] {
        let body = write(&schema, &expected, codec);
        for chunk_rows in [8, 64, 1000, 1024, 100_000] {
            for (threads, d) in [1, 3].into_iter().flat_map(|t| BOTH.map(|d| (t, d))) {
                let got = read_as(d, body.clone(), chunk_rows, threads)
                    .unwrap_or_else(|e| panic!("{codec:?} {chunk_rows} {d:?}: {e}"));
                assert!(got.iter().all(|b| b.num_rows() <= chunk_rows.max(8)));
                assert_eq!(
                    concat(&schema, &got),
                    whole,
                    "{codec:?} chunks of {chunk_rows}, {d:?}"
                );
            }
        }
    }
}

/// Chunks dropped as soon as they are checked, so that the next ones are written into
/// reused memory (buffers of the pool, zstd contexts mid-way through other frames): each
/// must still hold exactly its own rows. Big enough that columns are streamed through
/// zstd, not decompressed whole.
#[test]
fn chunks_in_reused_memory_hold_their_own_rows() {
    let (schema, expected) = batches(&[150_000, 3, 70_000]);
    let whole = concat(&schema, &expected);
    for codec in [
        Some(CompressionType::ZSTD),
        Some(CompressionType::LZ4_FRAME),
    ] {
        let body = write(&schema, &expected, codec);
        for (chunk_rows, threads) in [(4096, 1), (10_000, 2), (65_536, 3)] {
            let mut at = 0;
            for chunk in Chunks::new(body.clone(), chunk_rows)
                .unwrap()
                .threads(threads)
            {
                let chunk = chunk.unwrap();
                assert_eq!(
                    chunk,
                    whole.slice(at, chunk.num_rows()),
                    "{codec:?}, chunks of {chunk_rows}, rows from {at}"
                );
                at += chunk.num_rows();
            }
            assert_eq!(at, whole.num_rows());
        }
    }
}

#[test]
fn pandas_index_columns_are_left_out() {
    let schema = Arc::new(Schema::new_with_metadata(
        vec![
            Field::new("id", DataType::Int64, false),
            Field::new("__index_level_0__", DataType::Int64, false),
        ],
        HashMap::from([(
            "pandas".to_string(),
            r#"{"index_columns": ["__index_level_0__"]}"#.to_string(),
        )]),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![5, 6, 7])),
            Arc::new(Int64Array::from(vec![0, 1, 2])),
        ],
    )
    .unwrap();
    let body = write(&schema, &[batch], Some(CompressionType::ZSTD));
    let chunks = Chunks::new(body, 64).unwrap();
    assert_eq!(chunks.schema().fields().len(), 1);
    let got: Vec<_> = chunks.collect::<Result<_, _>>().unwrap();
    assert_eq!(got[0].num_columns(), 1);
    assert_eq!(
        got[0].column(0).as_ref(),
        &Int64Array::from(vec![5, 6, 7]) as &dyn Array
    );
}

#[test]
fn every_cut_of_a_body_is_an_error_not_a_panic() {
    let (schema, b) = batches(&[300]);
    for codec in [
        None,
        Some(CompressionType::LZ4_FRAME),
        Some(CompressionType::ZSTD),
    ] {
        let body = write(&schema, &b, codec);
        // Without its 8-byte end-of-stream marker, the stream is cut exactly after its
        // last record batch: an error too, not fewer rows.
        let e = Chunks::new(body.slice(..body.len() - 8), 64)
            .and_then(|c| c.collect::<Result<Vec<_>, _>>())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("after record batch 0 without its end-of-stream marker"),
            "{e}"
        );
        let schema_only = write(&schema, &[], codec);
        let e = Chunks::new(schema_only.slice(..schema_only.len() - 8), 64)
            .and_then(|c| c.collect::<Result<Vec<_>, _>>())
            .unwrap_err()
            .to_string();
        assert!(e.contains("after its schema without"), "{e}");
        let mut longer = body.to_vec();
        longer.extend_from_slice(b"junk");
        let e = Chunks::new(Bytes::from(longer), 64)
            .and_then(|c| c.collect::<Result<Vec<_>, _>>())
            .unwrap_err()
            .to_string();
        assert!(e.contains("4 bytes follow the end-of-stream marker"), "{e}");
        for cut in (0..body.len()).step_by(7) {
            for d in BOTH {
                let r = read_as(d, body.slice(..cut), 64, 1);
                let rows: usize = r
                    .as_ref()
                    .map_or(0, |b| b.iter().map(RecordBatch::num_rows).sum());
                assert!(
                    r.is_err() || rows == 0,
                    "{codec:?} {d:?} cut at {cut}: {rows} rows"
                );
            }
        }
    }
}

/// Absurd declared lengths are never allocated: a buffer declaring 2^60 bytes is refused
/// by the decode limit, one declaring less than that but more than it holds costs what the
/// rows need, and a row count of 2^40 in a tiny body is an error at the first chunk.
#[test]
fn a_huge_declared_length_is_refused_not_allocated() {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Int64Array::from(vec![7; 1000]))],
    )
    .unwrap();
    let body = write(&schema, &[batch], Some(CompressionType::ZSTD)).to_vec();
    // Every 8-byte length prefix of the body's buffers: find the values buffer's prefix
    // (uncompressed length 8000) and make it 2^60.
    let at = body
        .windows(8)
        .rposition(|w| w == 8000i64.to_le_bytes())
        .expect("the values buffer's length prefix");
    let mut bad = body.clone();
    bad[at..at + 8].copy_from_slice(&(1i64 << 60).to_le_bytes());
    let e = Chunks::new(Bytes::from(bad.clone()), 64)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("Limits::max_decoded_bytes"), "{e}");
    // 2^31 is streamed either way; 2^29 is read whole when asked, into room reserved (never
    // written past what the frame holds).
    for (declared, d) in [(31, Decompression::Streamed), (31, Decompression::Whole)]
        .into_iter()
        .chain([(29, Decompression::Whole)])
    {
        bad[at..at + 8].copy_from_slice(&(1i64 << declared).to_le_bytes());
        let got = read_as(d, Bytes::from(bad.clone()), 64, 1).unwrap();
        let rows: usize = got.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(
            rows, 1000,
            "2^{declared}, {d:?}: only the 8000 bytes needed are read"
        );
    }
    // And a row count of 2^40 in a tiny body ends at the first chunk, with an error.
    let mut bad = body.clone();
    let rows_at = bad
        .windows(8)
        .position(|w| w == 1000i64.to_le_bytes())
        .unwrap();
    bad[rows_at..rows_at + 8].copy_from_slice(&(1i64 << 40).to_le_bytes());
    let e = read_all(Bytes::from(bad), 64, 1).unwrap_err();
    assert!(e.contains("record batch 0"), "{e}");
}

#[test]
fn string_offsets_that_go_backwards_are_an_error() {
    let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, false)]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(StringArray::from(vec!["ab", "cd", "ef"]))],
    )
    .unwrap();
    let mut body = write(&schema, &[batch], None).to_vec();
    // The offsets 0, 2, 4, 6 as i32: make the third 1.
    let at = body
        .windows(16)
        .position(|w| w == [0, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0])
        .unwrap();
    body[at + 8] = 1;
    let e = read_all(Bytes::from(body), 64, 1).unwrap_err();
    assert!(e.contains("column `s`") && e.contains("backwards"), "{e}");
}

#[test]
fn decompress_only_counts_every_byte() {
    let (schema, b) = batches(&[5000]);
    let (rows, plain) = decompress_only(&write(&schema, &b, None)).unwrap();
    assert_eq!(rows, 5000);
    for codec in [CompressionType::LZ4_FRAME, CompressionType::ZSTD] {
        let (_, n) = decompress_only(&write(&schema, &b, Some(codec))).unwrap();
        // Uncompressed buffers are padded to 8 bytes in the body, decompressed ones not.
        assert!(
            n <= plain && n + 8 * 30 >= plain,
            "{codec:?}: {n} vs {plain}"
        );
    }
}

fn one_column(name: &str, array: ArrayRef) -> (SchemaRef, RecordBatch) {
    let schema = Arc::new(Schema::new(vec![Field::new(
        name,
        array.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(schema.clone(), vec![array]).unwrap();
    (schema, batch)
}

#[test]
fn two_columns_of_one_name_are_an_error() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("pt_root_id", DataType::Int64, false),
        Field::new("id", DataType::Int64, false),
        Field::new("pt_root_id", DataType::Int64, false),
    ]));
    let a: ArrayRef = Arc::new(Int64Array::from(vec![42, 42]));
    let batch = RecordBatch::try_new(schema.clone(), vec![a.clone(), a.clone(), a]).unwrap();
    let e = Chunks::new(write(&schema, &[batch], None), 64)
        .err()
        .expect("an error")
        .to_string();
    assert!(
        e.contains("the column `pt_root_id` twice (columns 0 and 2)"),
        "{e}"
    );
}

#[test]
fn types_cave_does_not_use_are_refused_by_name() {
    let list =
        arrow_array::ListArray::from_iter_primitive::<arrow_array::types::Int8Type, _, _>(vec![
            Some(vec![Some(1)]),
        ]);
    let (schema, batch) = one_column("blob", Arc::new(list));
    let e = Chunks::new(write(&schema, &[batch], Some(CompressionType::ZSTD)), 64)
        .err()
        .expect("an error")
        .to_string();
    assert!(
        e.contains("column `blob`: type List") && e.contains("not read"),
        "{e}"
    );
}

#[test]
fn too_many_columns_are_refused_before_reading() {
    let fields: Vec<Field> = (0..10)
        .map(|i| Field::new(format!("c{i}"), DataType::Int64, true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let cols: Vec<ArrayRef> = (0..10)
        .map(|_| Arc::new(Int64Array::from(vec![1])) as ArrayRef)
        .collect();
    let body = write(
        &schema,
        &[RecordBatch::try_new(schema.clone(), cols).unwrap()],
        None,
    );
    let limits = DecodeLimits {
        max_columns: 9,
        ..DecodeLimits::default()
    };
    let e = Chunks::with_limits(body.clone(), 64, limits)
        .err()
        .expect("an error")
        .to_string();
    assert!(e.contains("10 columns, more than the 9 allowed"), "{e}");
    assert!(
        Chunks::with_limits(
            body,
            64,
            DecodeLimits {
                max_columns: 10,
                ..limits
            }
        )
        .is_ok()
    );
}

#[test]
fn what_the_buffers_declare_is_bounded_over_the_whole_body() {
    // Three batches of 1,000 int64 values: 8,000 bytes declared each.
    let (schema, b1) = one_column("id", Arc::new(Int64Array::from(vec![3; 1000])));
    let body = write(
        &schema,
        &[b1.clone(), b1.clone(), b1],
        Some(CompressionType::ZSTD),
    );
    let limits = |max| DecodeLimits {
        max_decoded_bytes: max,
        ..DecodeLimits::default()
    };
    let read = |max| {
        Chunks::with_limits(body.clone(), 4096, limits(max))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
    };
    assert_eq!(read(24_000).unwrap().len(), 3);
    let e = read(23_999).unwrap_err().to_string();
    assert!(
        e.starts_with("record batch 2: column `id`: ") && e.contains("24000 bytes"),
        "{e}"
    );
}

#[test]
fn wide_rows_make_chunks_of_fewer_rows() {
    let n = 5000;
    let fields: Vec<Field> = (0..1000)
        .map(|i| Field::new(format!("c{i}"), DataType::Int64, true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let col: ArrayRef = Arc::new(Int64Array::from(vec![1; n]));
    let batch = RecordBatch::try_new(schema.clone(), vec![col; 1000]).unwrap();
    let body = write(&schema, &[batch], Some(CompressionType::ZSTD));
    let chunks = read_all(body, 32_768, 1).unwrap();
    // 8,000 bytes a row: 32 MiB hold 4,194 rows, rounded down to a multiple of 8.
    let per_chunk = (CHUNK_BYTES / 8000) / 8 * 8;
    assert!(per_chunk < n);
    assert_eq!(chunks[0].num_rows(), per_chunk);
    assert_eq!(chunks.iter().map(RecordBatch::num_rows).sum::<usize>(), n);
}

/// A stream of one schema message whose one column `odd` has the type `kind` built by
/// `build` (and `dictionary`, `big_endian` as asked), then the end-of-stream marker.
fn odd_schema_stream(
    kind: arrow_ipc::Type,
    build: impl FnOnce(
        &mut flatbuffers::FlatBufferBuilder<'static>,
    ) -> Option<flatbuffers::WIPOffset<flatbuffers::UnionWIPOffset>>,
    dictionary: bool,
    big_endian: bool,
) -> Bytes {
    use arrow_ipc::{
        DictionaryEncodingBuilder, Endianness, FieldBuilder, MessageBuilder, MessageHeader,
        MetadataVersion, SchemaBuilder,
    };
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let type_ = build(&mut fbb);
    let name = fbb.create_string("odd");
    let dict = dictionary.then(|| {
        let mut d = DictionaryEncodingBuilder::new(&mut fbb);
        d.add_id(1);
        d.finish()
    });
    let mut field = FieldBuilder::new(&mut fbb);
    field.add_name(name);
    field.add_nullable(true);
    field.add_type_type(kind);
    if let Some(t) = type_ {
        field.add_type_(t);
    }
    if let Some(d) = dict {
        field.add_dictionary(d);
    }
    let field = field.finish();
    let fields = fbb.create_vector(&[field]);
    let mut schema = SchemaBuilder::new(&mut fbb);
    schema.add_fields(fields);
    if big_endian {
        schema.add_endianness(Endianness::Big);
    }
    let schema = schema.finish();
    let mut message = MessageBuilder::new(&mut fbb);
    message.add_version(MetadataVersion::V5);
    message.add_header_type(MessageHeader::Schema);
    message.add_header(schema.as_union_value());
    let message = message.finish();
    fbb.finish(message, None);
    let mut meta = fbb.finished_data().to_vec();
    meta.resize(meta.len().div_ceil(8) * 8, 0);
    let mut out = Vec::new();
    out.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    Bytes::from(out)
}

/// Schemas on which arrow-ipc's own conversion panics (widths, units and types it does not
/// know, a big-endian decimal) are errors naming the column, as are dictionary columns and
/// big-endian streams.
#[test]
fn schemas_arrow_ipc_would_panic_on_are_errors() {
    use arrow_ipc::{IntBuilder, TimeBuilder, Type};
    let int = |bits: i32| {
        move |fbb: &mut flatbuffers::FlatBufferBuilder<'static>| {
            let mut i = IntBuilder::new(fbb);
            i.add_bitWidth(bits);
            i.add_is_signed(true);
            Some(i.finish().as_union_value())
        }
    };
    let error = |body: Bytes| {
        Chunks::new(body, 64)
            .err()
            .expect("an error, not a schema")
            .to_string()
    };
    let e = error(odd_schema_stream(Type::Int, int(24), false, false));
    assert!(e.contains("column `odd`") && e.contains("24 bits"), "{e}");
    // A type without its table: the flatbuffer verifier refuses the message.
    let e = error(odd_schema_stream(Type::Int, |_| None, false, false));
    assert!(e.contains("not an Arrow IPC message"), "{e}");
    let time = |fbb: &mut flatbuffers::FlatBufferBuilder<'static>| {
        let mut t = TimeBuilder::new(fbb);
        t.add_bitWidth(32);
        Some(t.finish().as_union_value())
    };
    let e = error(odd_schema_stream(Type::Time, time, false, false));
    assert!(
        e.contains("column `odd`: type Time is not one CAVE tables use"),
        "{e}"
    );
    let decimal = |fbb: &mut flatbuffers::FlatBufferBuilder<'static>| {
        let mut d = arrow_ipc::DecimalBuilder::new(fbb);
        d.add_precision(10);
        d.add_bitWidth(128);
        Some(d.finish().as_union_value())
    };
    let e = error(odd_schema_stream(Type::Decimal, decimal, false, true));
    assert!(e.contains("big-endian"), "{e}");
    let e = error(odd_schema_stream(Type::Int, int(64), true, false));
    assert!(
        e.contains("column `odd`") && e.contains("dictionary"),
        "{e}"
    );
    // The same schema as a plain int64 column is read.
    assert!(Chunks::new(odd_schema_stream(Type::Int, int(64), false, false), 64).is_ok());
}

/// A batch big enough for the workers, read on 1, 2 and 3 threads in chunks of several sizes:
/// the same rows, and the workers did decode it.
#[test]
fn a_big_batch_decoded_by_workers_gives_the_rows_of_a_serial_read() {
    let (schema, expected) = batches(&[120_000, 5, 90_000]);
    let whole = concat(&schema, &expected);
    for codec in [
        Some(CompressionType::ZSTD),
        Some(CompressionType::LZ4_FRAME),
        None,
    ] {
        let body = write(&schema, &expected, codec);
        for chunk_rows in [1024, 32_768, 200_000] {
            for threads in [1, 2, 3] {
                let mut chunks = Chunks::new(body.clone(), chunk_rows)
                    .unwrap()
                    .threads(threads);
                let got: Vec<_> = chunks.by_ref().collect::<Result<_, _>>().unwrap();
                assert_eq!(
                    concat(&schema, &got),
                    whole,
                    "{codec:?}, chunks of {chunk_rows}, {threads} threads"
                );
                let parallel = chunks.parallel_batches();
                if threads == 1 {
                    assert_eq!(parallel, 0);
                } else {
                    // The two big batches; the 5-row one is not worth a thread.
                    assert_eq!(parallel, 2, "{codec:?}, chunks of {chunk_rows}");
                }
            }
        }
    }
}

/// Corrupted bytes anywhere in a big body: the workers give what a serial read gives, the same
/// rows or the same error (the first failing column of the first failing chunk).
#[test]
fn workers_fail_as_a_serial_read_does() {
    let (schema, expected) = batches(&[100_000]);
    for codec in [
        Some(CompressionType::ZSTD),
        Some(CompressionType::LZ4_FRAME),
    ] {
        let body = write(&schema, &expected, codec);
        let mut seen_errors = 0;
        for k in 1..24 {
            let mut bad = body.to_vec();
            let at = bad.len() * k / 24;
            for b in &mut bad[at..at + 16] {
                *b ^= 0x5a;
            }
            let bad = Bytes::from(bad);
            for d in BOTH {
                let serial = read_as(d, bad.clone(), 4096, 1).map(|b| concat(&schema, &b));
                let parallel = read_as(d, bad.clone(), 4096, 3).map(|b| concat(&schema, &b));
                seen_errors += usize::from(serial.is_err() && d == Decompression::Streamed);
                assert_eq!(parallel, serial, "{codec:?}, {d:?}, bytes at {at}");
            }
        }
        // Not every corruption is an error: flipped literal bytes of a ZSTD block (the IPC
        // format has no checksum) decode to other values, the same in both reads.
        assert!(
            seen_errors >= 5,
            "{codec:?}: only {seen_errors} corruptions were errors"
        );
    }
}

/// A reader dropped in the middle of a big batch stops its workers: the next reads are not
/// held up, and reading the body again gives every row.
#[test]
fn a_reader_dropped_mid_batch_stops_its_workers() {
    let (schema, expected) = batches(&[150_000]);
    let body = write(&schema, &expected, Some(CompressionType::ZSTD));
    for _ in 0..20 {
        let mut chunks = Chunks::new(body.clone(), 2048).unwrap().threads(2);
        assert_eq!(chunks.next().unwrap().unwrap().num_rows(), 2048);
        drop(chunks);
    }
    let got = read_all(body, 2048, 2).unwrap();
    assert_eq!(concat(&schema, &got), concat(&schema, &expected));
}

/// Read whole, a big ZSTD column's chunks are slices of one decompressed buffer (no copy per
/// chunk), on one thread or several; streamed, each chunk has memory of its own.
#[test]
fn whole_buffers_are_sliced_into_chunks() {
    let (schema, expected) = batches(&[100_000]);
    let body = write(&schema, &expected, Some(CompressionType::ZSTD));
    let values_of = |b: &RecordBatch| b.column(0).to_data().buffers()[0].as_ptr() as usize;
    for threads in [1, 2] {
        for d in BOTH {
            let got = read_as(d, body.clone(), 4096, threads).unwrap();
            assert_eq!(concat(&schema, &got), concat(&schema, &expected));
            let contiguous = got
                .windows(2)
                .all(|w| values_of(&w[1]) == values_of(&w[0]) + 4096 * 8);
            assert_eq!(
                contiguous,
                d == Decompression::Whole,
                "{d:?} on {threads} threads"
            );
            if d == Decompression::Whole {
                assert_eq!(
                    values_of(&got[0]) % 64,
                    0,
                    "a whole buffer is 64-byte aligned"
                );
            }
        }
    }
}
