//! The devserver's query-body parser on arbitrary bytes, for each endpoint: never a panic; a
//! refusal is `schema_errors` or a wrapped 400. What parses runs as a simple query on a small
//! table of the real `synapses_pni_2` schema, and the answer encodes.
#![no_main]

use std::sync::OnceLock;

use cave_devserver::error::ApiError;
use cave_devserver::query::body::{self, Endpoint};
use cave_devserver::query::encode::{self, Compression};
use cave_devserver::query::engine::{self, Options};
use cave_devserver::store::{TableBuilder, TableData};
use libfuzzer_sys::fuzz_target;

fn table() -> &'static TableData {
    static T: OnceLock<TableData> = OnceLock::new();
    T.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/minnie65_public");
        let snapshot = cave_schema::Snapshot::load(dir).unwrap();
        let rows = 16;
        let mut b = TableBuilder::new(&snapshot, "synapses_pni_2", rows).unwrap();
        let ids: Vec<i64> = (1..=rows as i64).collect();
        b.int64("id", ids.clone()).unwrap();
        b.timestamp_ns("created", ids.iter().map(|i| i * 1_000_000_000).collect())
            .unwrap();
        b.bool("valid", (0..rows).map(|i| i % 5 != 4).collect())
            .unwrap();
        let points: Vec<[i32; 3]> = (0..rows as i32).map(|i| [i, 2 * i, 3 * i]).collect();
        for p in ["pre_pt", "post_pt", "ctr_pt"] {
            b.position(&format!("{p}_position"), &points).unwrap();
        }
        for c in ["pre_pt_root_id", "post_pt_root_id"] {
            b.int64_opt(
                c,
                ids.iter()
                    .map(|i| (i % 3 != 0).then_some(864691135000000000 + i))
                    .collect(),
            )
            .unwrap();
        }
        b.finish().unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    for endpoint in [Endpoint::Simple, Endpoint::Join, Endpoint::Live] {
        match body::parse(data, endpoint) {
            Ok(b) => {
                let options = Options {
                    row_limit: 10,
                    count: false,
                    random_sample: None,
                };
                if let Ok(answer) = engine::simple(table(), &b, &options, None) {
                    encode::arrow_stream(&answer.frame, Compression::Lz4, None).unwrap();
                    let _ = encode::json_records(&answer.frame);
                }
            }
            Err(ApiError::SchemaErrors(v)) => assert!(v.as_object().is_some_and(|m| !m.is_empty())),
            Err(ApiError::Wrapped(m)) => assert!(m.starts_with("400 Bad Request")),
            Err(other) => panic!("refused with {other:?}"),
        }
    }
});
