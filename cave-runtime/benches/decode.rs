//! The decoder: `cargo bench -p cave-runtime --bench decode`.
//!
//! A synapse answer of 200,000 rows, made once by the devserver (sample data, ZSTD level 1 as
//! the real server sends), then:
//! - `rows_from_batch`: the hot loop alone, generated `decode_into` over record batches
//!   already in memory (chunks of `bench::DEFAULT_CHUNK_ROWS` rows), into a reused buffer;
//! - `read_rows`: the whole typed decode of the body (decompression included);
//! - `read_batches`: the body into Arrow record batches (untyped);
//! - `arrow_ipc_stream_reader`: arrow-ipc's own `StreamReader` on the same body, for scale;
//! - `decompress_only`: ZSTD alone on every buffer, serially.

use std::io::Cursor;

use bytes::Bytes;
use cave_devserver::{BackgroundServer, ServerConfig};
use cave_runtime::__private::Batch;
use cave_runtime::{Resolution, Row, Table};

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = ["synapses_pni_2"]
    );
}
use minnie::SynapsesPni2;

const ROWS: usize = 200_000;

fn main() {
    divan::main();
}

/// A 200,000-row synapse body from the devserver, fetched once.
fn body() -> Bytes {
    static BODY: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    BODY.get_or_init(|| {
        let mut config = ServerConfig::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schemas/minnie65_public"
        ));
        config.sample.synapses = ROWS;
        config.sample.versions = vec![1300];
        let server = BackgroundServer::start(config).expect("devserver starts");
        let url = format!(
            "{}/materialize/api/v3/datastack/minnie65_public/version/1300/table/synapses_pni_2/query?return_pyarrow=True&arrow_format=True&split_positions=True",
            server.base_url
        );
        // The body as sent: no content coding undone on the way.
        let client = reqwest::blocking::Client::builder()
            .timeout(None)
            .no_gzip()
            .no_deflate()
            .no_brotli()
            .no_zstd()
            .build()
            .expect("an HTTP client");
        client
            .post(&url)
            .header("Authorization", "Bearer bench")
            .header("Accept-Encoding", "zstd")
            .header("Content-Type", "application/json")
            .body(format!(r#"{{"limit": {ROWS}}}"#))
            .send()
            .and_then(|r| r.error_for_status())
            .expect("the query answers")
            .bytes()
            .expect("the body")
    })
    .clone()
}

#[divan::bench]
fn rows_from_batch(bencher: divan::Bencher) {
    let (_, batches) = cave_runtime::read_stream(body()).unwrap();
    let resolution = Resolution([4.0, 4.0, 40.0]);
    // One buffer for every iteration: the loop itself, not the kernel handing out fresh pages.
    let mut rows: Vec<SynapsesPni2> = Vec::with_capacity(ROWS);
    bencher
        .counter(divan::counter::ItemsCount::new(ROWS))
        .bench_local(|| {
            rows.clear();
            for b in &batches {
                let batch = Batch::new(b, SynapsesPni2::NAME, resolution);
                SynapsesPni2::decode_into(&batch, SynapsesPni2::WIRE_NAMES, &mut rows).unwrap();
            }
            rows.len()
        });
}

#[divan::bench]
fn read_rows(bencher: divan::Bencher) {
    let body = body();
    bencher
        .counter(divan::counter::ItemsCount::new(ROWS))
        .bench(|| cave_runtime::read_rows::<SynapsesPni2>(body.clone(), None).unwrap());
}

#[divan::bench]
fn read_batches(bencher: divan::Bencher) {
    let body = body();
    bencher
        .counter(divan::counter::ItemsCount::new(ROWS))
        .bench(|| cave_runtime::read_stream(body.clone()).unwrap());
}

#[divan::bench]
fn arrow_ipc_stream_reader(bencher: divan::Bencher) {
    let body = body();
    bencher
        .counter(divan::counter::ItemsCount::new(ROWS))
        .bench(|| {
            arrow_ipc::reader::StreamReader::try_new(Cursor::new(&body[..]), None)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        });
}

#[divan::bench]
fn decompress_only(bencher: divan::Bencher) {
    let body = body();
    bencher
        .counter(divan::counter::ItemsCount::new(ROWS))
        .bench(|| cave_runtime::bench::decompress_only(&body).unwrap());
}
