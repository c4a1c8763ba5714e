//! Fuzzing the devserver's query-body parser, `cave_devserver::query::body::parse`,
//! and what runs on a body that parses: the query engine (`engine::simple` / `engine::join`
//! over small tables of the minnie65_public schemas) and the encoders (`arrow_stream` with each
//! compression, `json_records`).
//!
//! Inputs, for each endpoint (simple, join, live):
//!
//! - arbitrary bytes, arbitrary JSON (keys and strings mostly from the body vocabulary), and
//!   body-shaped objects whose values are right, wrong or odd (negative or huge limits,
//!   resolutions of zero, NaN-like strings, bad bounding boxes, invalid regexes, unknown tables
//!   and columns);
//! - mutated real caveclient bodies (docs/WIRE.md: "Query bodies", "Join queries", "Live queries"): a key deleted, set to null or to a value
//!   of another kind, an unknown key added, a key written twice, the text truncated, bits
//!   flipped.
//!
//! Properties: nothing panics; a refused body is the server's 500 `schema_errors` with a
//! message per field, or a wrapped `400 Bad Request` for text that is not JSON; deleting a key
//! or setting it to null keeps a real body valid, an unknown key is named `Unknown field.`, and a
//! truncated body is a 400 (so the test can fail). An answer has columns as long as its row
//! count and encodes.
//!
//! CI runs 800 cases per property (about 1.5 s in debug; proptest picks a new seed each run).
//! Run longer with e.g.
//! `PROPTEST_CASES=100000 cargo test --release -p cave-devserver --test fuzz_query_body`;
//! `FUZZ_VERBOSE=1` (with `-- --nocapture`) prints what each case came to.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use arrow_array::Array;
use cave_devserver::error::ApiError;
use cave_devserver::query::body::{self, Endpoint, QueryBody};
use cave_devserver::query::encode::{self, Compression};
use cave_devserver::query::engine::{self, Answer, JoinSide, Options};
use cave_devserver::store::{TableBuilder, TableData};
use cave_schema::{Snapshot, WireType};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        max_global_rejects: cases(default).max(1024),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// A small store: four tables of the real schemas with deterministic rows

const TABLES: [&str; 4] = [
    "synapses_pni_2",
    "proofreading_status_and_strategy",
    "nucleus_detection_v0",
    "aibs_metamodel_celltypes_v661",
];

fn snapshot() -> &'static Snapshot {
    static S: OnceLock<Snapshot> = OnceLock::new();
    S.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/minnie65_public");
        Snapshot::load(dir).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// A table of `rows` rows: ids 1..=rows, some invalid rows, some null root ids, strings from
/// the column's value set.
fn make_table(name: &str, rows: usize) -> TableData {
    let s = snapshot();
    let mut b = TableBuilder::new(s, name, rows).unwrap();
    let columns: Vec<cave_schema::Column> = b.schema_columns().cloned().collect();
    for c in columns {
        let n = c.name.as_str();
        match c.wire {
            WireType::Int64 => {
                let values: Vec<Option<i64>> = (0..rows as i64)
                    .map(|i| match n {
                        "id" => Some(i + 1),
                        "target_id" => Some(i % 13 + 1),
                        _ if n.ends_with("root_id") => {
                            (i % 6 != 5).then_some(864_691_135_000_000_000 + i % 9)
                        }
                        "superceded_id" => None,
                        _ => Some(i * 3 - 7),
                    })
                    .collect();
                if c.nullable {
                    b.int64_opt(n, values).unwrap();
                } else {
                    b.int64(n, values.into_iter().map(|v| v.unwrap_or(0)).collect())
                        .unwrap();
                }
            }
            WireType::Int32 => {
                b.int32(n, (0..rows as i32).map(|i| i - 3).collect())
                    .unwrap();
            }
            WireType::Float32 => {
                b.float32(n, (0..rows).map(|i| i as f32 * 0.5).collect())
                    .unwrap();
            }
            WireType::Float64 => {
                b.float64_opt(n, (0..rows).map(|i| Some(i as f64 * 0.25)).collect())
                    .unwrap();
            }
            WireType::Bool => {
                let values = (0..rows)
                    .map(|i| if n == "valid" { i % 7 != 6 } else { i % 2 == 0 })
                    .collect();
                b.bool(n, values).unwrap();
            }
            WireType::Utf8 => {
                let choices: Vec<String> = match s.value_set(name, n) {
                    Some((_, set)) => set.values.iter().map(|v| v.value.clone()).collect(),
                    None => vec!["a".into(), "bc".into(), "déf".into()],
                };
                let values: Vec<&str> = (0..rows)
                    .map(|i| choices[i % choices.len()].as_str())
                    .collect();
                b.utf8(n, &values).unwrap();
            }
            WireType::Timestamp => {
                b.timestamp_ns(
                    n,
                    (0..rows as i64)
                        .map(|i| 1_600_000_000_000_000_000 + i * 1_000_000_007)
                        .collect(),
                )
                .unwrap();
            }
            WireType::Position => {
                let points: Vec<[i32; 3]> = (0..rows as i32)
                    .map(|i| [i * 10, i * 20 + 1, i * 3 + 2])
                    .collect();
                b.position(n, &points).unwrap();
            }
        }
    }
    b.finish().unwrap()
}

fn store() -> &'static BTreeMap<&'static str, Arc<TableData>> {
    static STORE: OnceLock<BTreeMap<&'static str, Arc<TableData>>> = OnceLock::new();
    STORE.get_or_init(|| {
        TABLES
            .iter()
            .zip([30, 20, 20, 25])
            .map(|(t, rows)| (*t, Arc::new(make_table(t, rows))))
            .collect()
    })
}

fn columns_of(table: &str) -> Vec<String> {
    match store().get(table) {
        Some(t) => t.columns.iter().map(|c| c.name.clone()).collect(),
        None => vec!["id".into()],
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

fn endpoint_strategy() -> impl Strategy<Value = Endpoint> {
    prop_oneof![
        Just(Endpoint::Simple),
        Just(Endpoint::Join),
        Just(Endpoint::Live)
    ]
}

/// A refused body is what the server sends: `schema_errors` with messages per field, or a
/// wrapped 400 for text that is not JSON.
fn check_refusal(e: &ApiError) -> Result<(), TestCaseError> {
    match e {
        ApiError::SchemaErrors(Value::Object(fields)) => {
            prop_assert!(!fields.is_empty());
            for (field, messages) in fields {
                let ok = messages.as_array().is_some_and(|m| {
                    !m.is_empty()
                        && m.iter()
                            .all(|s| s.as_str().is_some_and(|s| s.ends_with('.') && s.len() > 5))
                });
                prop_assert!(ok, "field {field}: {messages}");
            }
        }
        ApiError::Wrapped(m) => {
            prop_assert!(m.starts_with("400 Bad Request: "), "{m}");
        }
        other => prop_assert!(false, "a body refused with {other:?}"),
    }
    Ok(())
}

/// Parse; check a refusal; run what parses.
fn parse_and_run(
    bytes: &[u8],
    endpoint: Endpoint,
    options: &Options,
    compression: Compression,
) -> Result<Option<QueryBody>, TestCaseError> {
    match body::parse(bytes, endpoint) {
        Ok(b) => {
            run(&b, endpoint, options, compression)?;
            Ok(Some(b))
        }
        Err(e) => {
            if std::env::var_os("FUZZ_VERBOSE").is_some() {
                eprintln!("refused {e:?}");
            }
            check_refusal(&e)?;
            Ok(None)
        }
    }
}

/// An error of the engine: any shape, but with a message.
fn check_engine_error(e: &ApiError) -> Result<(), TestCaseError> {
    match e {
        ApiError::Wrapped(m) => prop_assert!(!m.trim().is_empty()),
        ApiError::SchemaErrors(v) => prop_assert!(v.as_object().is_some_and(|m| !m.is_empty())),
        ApiError::Returned(_, v) => prop_assert!(!v.is_null()),
        other => prop_assert!(false, "the engine answered {other:?}"),
    }
    Ok(())
}

/// Run a parsed body as the routes do: a simple query on the first filter's table (or the
/// live `table`), a join on `tables` / `join_tables`.
fn run(
    b: &QueryBody,
    endpoint: Endpoint,
    options: &Options,
    compression: Compression,
) -> Result<(), TestCaseError> {
    let data = |t: &str| store().get(t).cloned();
    let pairs: Option<[(String, String); 2]> = match endpoint {
        Endpoint::Join => b
            .tables
            .as_ref()
            .filter(|t| t.len() >= 2)
            .map(|t| [t[0].clone(), t[1].clone()]),
        Endpoint::Live => b
            .join_tables
            .as_ref()
            .and_then(|j| j.first())
            .map(|j| [(j[0].clone(), j[1].clone()), (j[2].clone(), j[3].clone())]),
        Endpoint::Simple => None,
    };
    let answer: Result<Answer, ApiError> = if let Some([l, r]) = pairs {
        let (Some(ld), Some(rd)) = (data(&l.0), data(&r.0)) else {
            return Ok(());
        };
        let left = JoinSide {
            data: &ld,
            column: &l.1,
            notice: Some("a notice"),
        };
        let right = JoinSide {
            data: &rd,
            column: &r.1,
            notice: None,
        };
        engine::join(&left, &right, b, options)
    } else {
        let table = match endpoint {
            Endpoint::Live => b.table.clone(),
            _ => b.filters.first().map(|f| f.table.clone()),
        }
        .unwrap_or_else(|| TABLES[0].to_string());
        let Some(d) = data(&table) else {
            return Ok(());
        };
        let mut simple = b.clone();
        if endpoint == Endpoint::Live {
            simple.select_columns = b
                .select_column_map
                .as_ref()
                .and_then(|m| m.iter().find(|(t, _)| *t == table))
                .map(|(_, c)| c.clone());
        }
        engine::simple(&d, &simple, options, None)
    };
    if std::env::var_os("FUZZ_VERBOSE").is_some() {
        match &answer {
            Ok(a) => eprintln!(
                "answer rows={} columns={}",
                a.frame.rows,
                a.frame.columns.len()
            ),
            Err(e) => eprintln!("engine error {e:?}"),
        }
    }
    match answer {
        Ok(a) => {
            for (name, column) in &a.frame.columns {
                prop_assert_eq!(column.len(), a.frame.rows, "column {}", name);
            }
            prop_assert!(a.frame.rows <= options.row_limit.max(1));
            let bytes = encode::arrow_stream(&a.frame, compression, None);
            prop_assert!(bytes.is_ok(), "{:?}", bytes.err());
            let text = encode::json_records(&a.frame);
            let parsed: Result<Value, _> = serde_json::from_str(&text);
            prop_assert!(parsed.is_ok(), "json_records is not JSON: {text}");
        }
        Err(e) => check_engine_error(&e)?,
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generators

const FILTER_KEYS: [&str; 9] = [
    "filter_in_dict",
    "filter_notin_dict",
    "filter_equal_dict",
    "filter_greater_dict",
    "filter_less_dict",
    "filter_greater_equal_dict",
    "filter_less_equal_dict",
    "filter_spatial_dict",
    "filter_regex_dict",
];

const OTHER_KEYS: [&str; 12] = [
    "select_columns",
    "select_column_map",
    "offset",
    "limit",
    "suffixes",
    "suffix_map",
    "desired_resolution",
    "tables",
    "table",
    "timestamp",
    "join_tables",
    "filter_out_dict",
];

fn table_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(&TABLES[..]).prop_map(str::to_string),
        1 => Just("no_such_table".to_string()),
        1 => ".{0,6}",
    ]
}

fn column_of(table: String) -> impl Strategy<Value = String> {
    let columns = columns_of(&table);
    prop_oneof![
        6 => prop::sample::select(columns),
        1 => prop::sample::select(&["pt_position", "pre_pt_position", "no_such_column", ""][..]).prop_map(str::to_string),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        prop::num::f64::ANY
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop::sample::select(
            &[
                0i64,
                1,
                -1,
                2,
                5,
                30,
                864_691_135_000_000_001,
                i64::MAX,
                i64::MIN
            ][..]
        )
        .prop_map(|n| json!(n)),
        Just(json!(1e300)),
        Just(json!(-0.0)),
        Just(json!(0.5)),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        prop::sample::select(
            &[
                "none",
                "axon_fully_extended",
                "a",
                "1",
                "-3.5",
                "NaN",
                "inf",
                "2020-09-13T12:26:40Z",
                "2025-01-02T03:04:05.123456+00:00",
                "2025-13-99",
                "^a",
                "(",
                "[[:alpha:]]+",
                "a{1000}{1000}",
                "",
            ][..]
        )
        .prop_map(|s| json!(s)),
        ".{0,10}".prop_map(Value::String),
    ]
}

fn bbox() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!([[0, 0, 0], [100, 200, 50]])),
        Just(json!([[0, 0, 0], [0, 0, 0]])),
        Just(json!([[5, 5, 5], [1, 1, 1]])),
        Just(json!([[0, 0], [1, 1]])),
        Just(json!([[0, 0, 0]])),
        Just(json!([["a", 0, 0], [1, 1, 1]])),
        Just(json!([[-1e300, -1e300, -1e300], [1e300, 1e300, 1e300]])),
        (
            prop::array::uniform3(number()),
            prop::array::uniform3(number())
        )
            .prop_map(|(a, b)| json!([a, b])),
    ]
}

fn filter_value(key: &'static str) -> BoxedStrategy<Value> {
    match key {
        "filter_in_dict" | "filter_notin_dict" => prop_oneof![
            4 => prop::collection::vec(scalar(), 0..5).prop_map(Value::Array),
            1 => scalar(),
        ]
        .boxed(),
        "filter_spatial_dict" => prop_oneof![4 => bbox(), 1 => scalar()].boxed(),
        _ => prop_oneof![
            4 => scalar(),
            1 => prop::collection::vec(scalar(), 0..3).prop_map(Value::Array),
        ]
        .boxed(),
    }
}

/// `{table: {column: value}}` for one filter key.
fn filter_dict(key: &'static str) -> impl Strategy<Value = Value> {
    prop::collection::vec(
        table_name().prop_flat_map(move |t| {
            let t2 = t.clone();
            (
                Just(t),
                prop::collection::vec((column_of(t2), filter_value(key)), 0..3),
            )
        }),
        0..3,
    )
    .prop_map(|tables| {
        Value::Object(
            tables
                .into_iter()
                .map(|(t, cols)| (t, Value::Object(cols.into_iter().collect())))
                .collect(),
        )
    })
}

fn columns_list() -> impl Strategy<Value = Value> {
    table_name().prop_flat_map(|t| prop::collection::vec(column_of(t), 0..4).prop_map(|c| json!(c)))
}

fn columns_map() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        table_name()
            .prop_flat_map(|t| (Just(t.clone()), prop::collection::vec(column_of(t), 0..3))),
        0..3,
    )
    .prop_map(|m| json!(m.into_iter().collect::<BTreeMap<_, _>>()))
}

fn other_value(key: &'static str) -> BoxedStrategy<Value> {
    let odd = scalar();
    match key {
        "select_columns" => prop_oneof![columns_list(), columns_map(), odd].boxed(),
        "select_column_map" => prop_oneof![columns_map(), columns_list(), odd].boxed(),
        "offset" | "limit" => prop_oneof![
            prop::sample::select(&[0i64, 1, 3, 10, -1, 1 << 40, i64::MAX][..])
                .prop_map(|n| json!(n)),
            odd,
        ]
        .boxed(),
        "suffixes" | "suffix_map" => prop_oneof![
            Just(json!(["", "_ref"])),
            Just(json!(["x", "x"])),
            Just(json!({"aibs_metamodel_celltypes_v661": "_ref", "nucleus_detection_v0": ""})),
            Just(json!({"aibs_metamodel_celltypes_v661": "", "nucleus_detection_v0": ""})),
            odd,
        ]
        .boxed(),
        "desired_resolution" => prop_oneof![
            Just(json!([4, 4, 40])),
            Just(json!([1, 1, 1])),
            Just(json!([1e-300, 1e-300, 1e-300])),
            Just(json!([1e300, 1, 1])),
            Just(json!([0, 1, 1])),
            Just(json!([-4, 4, 40])),
            Just(json!([4, 4])),
            prop::collection::vec(number(), 0..5).prop_map(Value::Array),
            odd,
        ]
        .boxed(),
        "tables" => prop_oneof![
            Just(json!([
                ["aibs_metamodel_celltypes_v661", "target_id"],
                ["nucleus_detection_v0", "id"]
            ])),
            Just(json!([
                ["synapses_pni_2", "pre_pt_root_id"],
                ["proofreading_status_and_strategy", "pt_root_id"]
            ])),
            Just(json!([
                ["synapses_pni_2", "pre_pt_position"],
                ["synapses_pni_2", "id"]
            ])),
            Just(json!([
                ["synapses_pni_2", "size"],
                ["nucleus_detection_v0", "id"]
            ])),
            Just(json!([["synapses_pni_2", "id"]])),
            Just(json!([["a", "b", "c"]])),
            odd,
        ]
        .boxed(),
        "join_tables" => prop_oneof![
            Just(json!([[
                "aibs_metamodel_celltypes_v661",
                "target_id",
                "nucleus_detection_v0",
                "id"
            ]])),
            Just(json!([[
                "nucleus_detection_v0",
                "id",
                "nucleus_detection_v0",
                "id"
            ]])),
            Just(json!([["a", "b"]])),
            Just(json!([])),
            odd,
        ]
        .boxed(),
        "table" => prop_oneof![table_name().prop_map(Value::String), odd].boxed(),
        "timestamp" => prop_oneof![
            Just(json!("2025-01-02T03:04:05.123456+00:00")),
            Just(json!("2025-01-02T03:04:05")),
            odd,
        ]
        .boxed(),
        _ => odd.boxed(),
    }
}

/// Body-shaped objects: some filter keys with table-nested values, some other keys.
fn arb_body() -> impl Strategy<Value = Value> {
    let filters = prop::sample::subsequence(&FILTER_KEYS[..], 0..4).prop_flat_map(|keys| {
        keys.into_iter()
            .map(|k| filter_dict(k).prop_map(move |v| (k.to_string(), v)))
            .collect::<Vec<_>>()
    });
    let others = prop::sample::subsequence(&OTHER_KEYS[..], 0..5).prop_flat_map(|keys| {
        keys.into_iter()
            .map(|k| other_value(k).prop_map(move |v| (k.to_string(), v)))
            .collect::<Vec<_>>()
    });
    (filters, others).prop_map(|(f, o)| Value::Object(f.into_iter().chain(o).collect()))
}

fn vocab() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&FILTER_KEYS[..]).prop_map(str::to_string),
        3 => prop::sample::select(&OTHER_KEYS[..]).prop_map(str::to_string),
        2 => table_name(),
        1 => ".{0,8}",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![scalar(), vocab().prop_map(Value::String)];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((vocab(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn options() -> impl Strategy<Value = Options> {
    (
        prop::sample::select(&[1usize, 7, 200_000][..]),
        prop::bool::weighted(0.1),
        prop::option::weighted(0.1, 0u64..40),
        prop::option::weighted(0.3, any::<u64>()),
    )
        .prop_map(|(row_limit, count, random_sample, shuffle)| Options {
            row_limit,
            count,
            random_sample,
            shuffle,
        })
}

fn compression() -> impl Strategy<Value = Compression> {
    prop_oneof![
        Just(Compression::None),
        Just(Compression::Lz4),
        Just(Compression::Zstd)
    ]
}

/// Real bodies as caveclient sends them (docs/WIRE.md: "Query bodies", "Join queries", "Live queries"), for the tables of the store.
fn real_bodies() -> Vec<(Endpoint, Value)> {
    vec![
        (
            Endpoint::Simple,
            json!({
                "filter_in_dict": {"synapses_pni_2": {"pre_pt_root_id": [864691135000000001i64, 864691135000000002i64]}},
                "filter_notin_dict": {"synapses_pni_2": {"post_pt_root_id": [864691135000000003i64]}},
                "filter_equal_dict": {"synapses_pni_2": {"size": 1.5}},
                "filter_greater_dict": {"synapses_pni_2": {"size": 0.5}},
                "filter_spatial_dict": {"synapses_pni_2": {"pre_pt_position": [[0, 0, 0], [1000, 1000, 100]]}},
                "select_columns": ["id", "pre_pt_root_id", "pre_pt_position", "size"],
                "offset": 1, "limit": 10, "desired_resolution": [1, 1, 1]
            }),
        ),
        (
            Endpoint::Simple,
            json!({
                "filter_equal_dict": {"proofreading_status_and_strategy": {"status_axon": true}},
                "filter_regex_dict": {"proofreading_status_and_strategy": {"strategy_axon": "^axon_"}},
                "filter_less_equal_dict": {"proofreading_status_and_strategy": {"created": "2020-09-13T12:26:50Z"}},
                "limit": 5
            }),
        ),
        (
            Endpoint::Simple,
            json!({
                "filter_greater_equal_dict": {"nucleus_detection_v0": {"volume": 2}},
                "filter_less_dict": {"nucleus_detection_v0": {"id": 15}},
                "select_columns": ["pt_root_id", "volume"]
            }),
        ),
        (
            Endpoint::Join,
            json!({
                "tables": [["aibs_metamodel_celltypes_v661", "target_id"], ["nucleus_detection_v0", "id"]],
                "filter_in_dict": {"aibs_metamodel_celltypes_v661": {"id": [1, 2, 3, 7]}, "nucleus_detection_v0": {"pt_root_id": [864691135000000001i64, 864691135000000002i64]}},
                "filter_equal_dict": {"aibs_metamodel_celltypes_v661": {"cell_type": "BC"}},
                "filter_greater_dict": {"nucleus_detection_v0": {"volume": 1.5}},
                "filter_spatial_dict": {"nucleus_detection_v0": {"pt_position": [[0, 0, 0], [100, 100, 100]]}},
                "select_column_map": {"aibs_metamodel_celltypes_v661": ["cell_type"], "nucleus_detection_v0": ["id", "pt_root_id"]},
                "suffix_map": {"aibs_metamodel_celltypes_v661": "_ref", "nucleus_detection_v0": ""},
                "limit": 5
            }),
        ),
        (
            Endpoint::Join,
            json!({
                "tables": [["aibs_metamodel_celltypes_v661", "target_id"], ["nucleus_detection_v0", "id"]],
                "suffixes": ["", "_ref"]
            }),
        ),
        (
            Endpoint::Live,
            json!({
                "table": "aibs_metamodel_celltypes_v661",
                "timestamp": "2025-01-02T03:04:05.123456+00:00",
                "join_tables": [["aibs_metamodel_celltypes_v661", "target_id", "nucleus_detection_v0", "id"]],
                "filter_equal_dict": {"aibs_metamodel_celltypes_v661": {"cell_type": "BC"}},
                "limit": 4,
                "suffixes": {"aibs_metamodel_celltypes_v661": "_ref", "nucleus_detection_v0": ""}
            }),
        ),
        (
            Endpoint::Live,
            json!({
                "table": "synapses_pni_2",
                "timestamp": "2025-01-02T03:04:05+00:00",
                "filter_in_dict": {"synapses_pni_2": {"post_pt_root_id": [864691135000000004i64]}},
                "select_columns": {"synapses_pni_2": ["id", "post_pt_root_id", "ctr_pt_position"]},
                "offset": 0, "limit": 3, "desired_resolution": [4, 4, 40]
            }),
        ),
    ]
}

fn real_index() -> impl Strategy<Value = usize> {
    0..real_bodies().len()
}

/// Paths (keys and indices as strings) of every node of a JSON value.
fn nodes(v: &Value) -> Vec<Vec<String>> {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    path.push(k.clone());
                    walk(c, path, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    path.push(i.to_string());
                    walk(c, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

fn node_mut<'v>(v: &'v mut Value, path: &[String]) -> &'v mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        other => other.get_mut(k.as_str()).unwrap(),
    })
}

// ---------------------------------------------------------------------------------------------
// Properties

#[test]
fn real_bodies_parse_and_run() {
    let options = Options {
        row_limit: 200_000,
        count: false,
        random_sample: None,
        shuffle: None,
    };
    for (endpoint, b) in real_bodies() {
        let parsed = body::parse(b.to_string().as_bytes(), endpoint)
            .unwrap_or_else(|e| panic!("{b}: {e:?}"));
        assert!(!parsed.filters.is_empty() || parsed.tables.is_some(), "{b}");
        for c in [Compression::None, Compression::Lz4, Compression::Zstd] {
            run(&parsed, endpoint, &options, c).unwrap();
        }
    }
    // The join of cell types with nuclei finds rows (so the engine is really exercised).
    let join = body::parse(real_bodies()[4].1.to_string().as_bytes(), Endpoint::Join).unwrap();
    let left = JoinSide {
        data: &store()["aibs_metamodel_celltypes_v661"],
        column: "target_id",
        notice: None,
    };
    let right = JoinSide {
        data: &store()["nucleus_detection_v0"],
        column: "id",
        notice: None,
    };
    let answer = engine::join(&left, &right, &join, &options).unwrap();
    assert!(answer.frame.rows > 10, "{} rows", answer.frame.rows);
}

proptest! {
    #![proptest_config(config(800))]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300), endpoint in endpoint_strategy()) {
        let result = body::parse(&bytes, endpoint);
        if let Err(e) = &result {
            check_refusal(e)?;
        }
        if serde_json::from_slice::<Value>(&bytes).is_err() && !bytes.iter().all(u8::is_ascii_whitespace) {
            prop_assert!(matches!(result, Err(ApiError::Wrapped(_))), "{result:?}");
        }
    }

    #[test]
    fn arbitrary_json(
        v in arb_json(),
        endpoint in endpoint_strategy(),
        options in options(),
        compression in compression(),
    ) {
        let parsed = parse_and_run(v.to_string().as_bytes(), endpoint, &options, compression)?;
        if !v.is_object() {
            prop_assert!(parsed.is_none(), "a body that is not an object parses: {v}");
        }
    }

    #[test]
    fn body_shaped_objects(
        v in arb_body(),
        endpoint in endpoint_strategy(),
        options in options(),
        compression in compression(),
    ) {
        parse_and_run(v.to_string().as_bytes(), endpoint, &options, compression)?;
    }

    /// Deleting a key, or setting it to null, keeps a real body valid (every key is optional
    /// and null means absent); deeper deletions must not panic.
    #[test]
    fn real_body_with_a_key_deleted(i in real_index(), at in any::<Index>(), null in any::<bool>(), options in options(), compression in compression()) {
        let (endpoint, mut v) = real_bodies()[i].clone();
        let keyed: Vec<Vec<String>> = nodes(&v)
            .into_iter()
            .filter(|p| p.split_last().is_some_and(|(_, parent)| node_mut(&mut v.clone(), parent).is_object()))
            .collect();
        let path = at.get(&keyed);
        let (key, parent) = path.split_last().unwrap();
        let obj = node_mut(&mut v, parent).as_object_mut().unwrap();
        if null {
            obj.insert(key.clone(), Value::Null);
        } else {
            obj.remove(key);
        }
        let parsed = parse_and_run(v.to_string().as_bytes(), endpoint, &options, compression)?;
        if parent.is_empty() {
            prop_assert!(parsed.is_some(), "dropping `{key}` made the body invalid: {v}");
        }
    }

    /// A value of another kind anywhere.
    #[test]
    fn real_body_with_a_value_replaced(i in real_index(), at in any::<Index>(), value in prop_oneof![scalar(), arb_json(), bbox()], options in options(), compression in compression()) {
        let (endpoint, mut v) = real_bodies()[i].clone();
        let all = nodes(&v);
        let path = at.get(&all).clone();
        *node_mut(&mut v, &path) = value;
        parse_and_run(v.to_string().as_bytes(), endpoint, &options, compression)?;
    }

    /// A key the endpoint does not take (made up, misspelt, or another endpoint's) is a schema
    /// error naming it.
    #[test]
    fn real_body_with_an_unknown_key(
        i in real_index(),
        key in prop_oneof![
            prop::sample::select(&OTHER_KEYS[..]).prop_map(str::to_string),
            prop::sample::select(&["filter_in", "limits", "select_column", "Table", "filter_in_dict ", "desired_resolution_"][..]).prop_map(str::to_string),
            "[a-z_]{1,12}",
        ],
        value in scalar().prop_filter("not null", |v| !v.is_null()),
    ) {
        let (endpoint, mut v) = real_bodies()[i].clone();
        let mut accepted: Vec<&str> = FILTER_KEYS.to_vec();
        accepted.extend(["select_columns", "offset", "limit", "suffixes", "desired_resolution"]);
        match endpoint {
            Endpoint::Simple => accepted.extend(["select_column_map", "suffix_map"]),
            Endpoint::Join => accepted.extend(["select_column_map", "suffix_map", "tables"]),
            Endpoint::Live => accepted.extend(["table", "timestamp", "join_tables"]),
        }
        prop_assume!(!accepted.contains(&key.as_str()));
        v.as_object_mut().unwrap().insert(key.clone(), value);
        match body::parse(v.to_string().as_bytes(), endpoint) {
            Err(ApiError::SchemaErrors(errors)) => {
                prop_assert_eq!(&errors[&key], &json!(["Unknown field."]));
            }
            other => prop_assert!(false, "an unknown key `{key}` gives {other:?}"),
        }
    }

    /// A key written twice (the last one counts, as in Python's `json`).
    #[test]
    fn real_body_with_a_duplicate_key(i in real_index(), at in any::<Index>(), value in scalar(), options in options()) {
        let (endpoint, v) = real_bodies()[i].clone();
        let map = v.as_object().unwrap();
        let keys: Vec<&String> = map.keys().collect();
        let key = at.get(&keys);
        // The real value last: same body as without the duplicate.
        let mut entries: Vec<String> = map
            .iter()
            .map(|(k, x)| format!("{}:{x}", Value::String(k.clone())))
            .collect();
        entries.insert(0, format!("{}:{value}", Value::String((*key).clone())));
        let text = format!("{{{}}}", entries.join(","));
        // As in Python's `json`, the key keeps its first place and takes its last value: the
        // same body as the real one with that key moved to the front.
        let moved: Vec<String> = std::iter::once(format!("{}:{}", Value::String((*key).clone()), map[key.as_str()]))
            .chain(
                map.iter()
                    .filter(|(k, _)| k != key)
                    .map(|(k, x)| format!("{}:{x}", Value::String(k.clone()))),
            )
            .collect();
        let expected = body::parse(format!("{{{}}}", moved.join(",")).as_bytes(), endpoint).unwrap();
        prop_assert_eq!(body::parse(text.as_bytes(), endpoint).unwrap(), expected);
        // The odd value last.
        entries.remove(0);
        entries.push(format!("{}:{value}", Value::String((*key).clone())));
        parse_and_run(format!("{{{}}}", entries.join(",")).as_bytes(), endpoint, &options, Compression::None)?;
    }

    /// A truncated body is not JSON: a wrapped 400.
    #[test]
    fn real_body_truncated(i in real_index(), at in any::<Index>()) {
        let (endpoint, v) = real_bodies()[i].clone();
        let text = v.to_string();
        let cut = at.index(text.len() - 1);
        let bytes = &text.as_bytes()[..cut];
        let result = body::parse(bytes, endpoint);
        if cut == 0 {
            prop_assert!(result.is_ok(), "an empty body is `{{}}`");
        } else {
            prop_assert!(
                matches!(&result, Err(ApiError::Wrapped(m)) if m.starts_with("400 Bad Request")),
                "{:?}", result
            );
        }
    }

    /// Flipped bits and overwritten bytes.
    #[test]
    fn real_body_with_byte_damage(
        i in real_index(),
        edits in prop::collection::vec((any::<Index>(), any::<u8>(), any::<bool>()), 1..6),
        options in options(),
        compression in compression(),
    ) {
        let (endpoint, v) = real_bodies()[i].clone();
        let mut bytes = v.to_string().into_bytes();
        for (at, byte, flip) in &edits {
            let k = at.index(bytes.len());
            if *flip {
                bytes[k] ^= 1 << (byte % 8);
            } else {
                bytes[k] = *byte;
            }
        }
        parse_and_run(&bytes, endpoint, &options, compression)?;
    }
}

#[test]
fn answers_of_every_table_encode_with_every_compression() {
    // A sanity check of the store the properties run on: every table answers its rows.
    let options = Options {
        row_limit: 200_000,
        count: false,
        random_sample: None,
        shuffle: None,
    };
    for (name, data) in store() {
        let answer = engine::simple(data, &QueryBody::default(), &options, None).unwrap();
        assert_eq!(answer.frame.rows, data.valid_rows(), "{name}");
        for c in [Compression::None, Compression::Lz4, Compression::Zstd] {
            encode::arrow_stream(&answer.frame, c, None).unwrap();
        }
    }
}
