//! The devserver's query routes against the wire contract (docs/WIRE.md: "Query bodies", "Join queries", "Live queries", "Answers", "Wire types") and the published
//! minnie65_public numbers the sample reproduces.

mod common;

use std::collections::{BTreeMap, HashMap};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use common::*;
use serde_json::Value;

fn strings(batches: &[RecordBatch], column: &str) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(column).expect(column).as_string::<i32>();
            (0..a.len())
                .map(|i| a.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn primitives<T: ArrowPrimitiveType>(batches: &[RecordBatch], column: &str) -> Vec<T::Native> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(column).expect(column).as_primitive::<T>();
            a.values().to_vec()
        })
        .collect()
}

fn int64s(batches: &[RecordBatch], column: &str) -> Vec<i64> {
    primitives::<Int64Type>(batches, column)
}

fn int32s(batches: &[RecordBatch], column: &str) -> Vec<i32> {
    primitives::<Int32Type>(batches, column)
}

fn counts(values: &[String]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for v in values {
        *out.entry(v.clone()).or_default() += 1;
    }
    out
}

#[test]
fn proofreading_table_whole_matches_the_published_counts() {
    let server = shared();
    let reply = query(
        &server.base_url,
        1300,
        "proofreading_status_and_strategy",
        "{}",
    );
    assert_eq!(reply.header("content-type"), Some("data.arrow"));
    assert_eq!(
        reply.header_all("dataframe_resolution"),
        vec!["4.0", "4.0", "40.0"]
    );
    assert!(
        reply
            .header_all("warning")
            .iter()
            .any(|w| w.starts_with("Table Owner Notice on proofreading_status_and_strategy: NOTE")),
        "{:?}",
        reply.headers
    );
    assert!(
        reply
            .header("column_names")
            .unwrap()
            .starts_with("{'proofreading_status_and_strategy': {'id': 'id'")
    );
    let (schema, batches) = reply.arrow();
    assert_eq!(rows(&batches), 1865);
    let axon = counts(&strings(&batches, "strategy_axon"));
    assert_eq!(axon["axon_partially_extended"], 1459);
    assert_eq!(axon["axon_interareal"], 130);
    assert_eq!(axon["axon_fully_extended"], 127);
    assert_eq!(axon["none"], 149);
    // Wire types of docs/WIRE.md, "Wire types", split positions, pandas metadata.
    let field = |n: &str| schema.field_with_name(n).unwrap().data_type().clone();
    assert_eq!(field("id"), DataType::Int64);
    assert_eq!(field("pt_root_id"), DataType::Int64);
    assert_eq!(field("pt_position_x"), DataType::Int32);
    assert_eq!(field("status_axon"), DataType::Boolean);
    assert_eq!(field("strategy_axon"), DataType::Utf8);
    assert_eq!(
        field("created"),
        DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
    );
    assert!(schema.field_with_name("pt_position").is_err());
    let pandas: Value = serde_json::from_str(&schema.metadata()["pandas"]).unwrap();
    assert_eq!(pandas["index_columns"][0]["kind"], "range");
    let numpy: HashMap<String, String> = pandas["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["numpy_type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(numpy["id"], "Int64");
    assert_eq!(numpy["status_axon"], "boolean");
    assert_eq!(numpy["strategy_axon"], "string");
    assert_eq!(numpy["pt_position_x"], "Int32");
}

#[test]
fn equality_filter_status_axon() {
    let server = shared();
    let body =
        r#"{"filter_equal_dict": {"proofreading_status_and_strategy": {"status_axon": true}}}"#;
    let (_, batches) = query(
        &server.base_url,
        1300,
        "proofreading_status_and_strategy",
        body,
    )
    .arrow();
    assert_eq!(rows(&batches), 1723);
    let axon = counts(&strings(&batches, "strategy_axon"));
    assert_eq!(axon["none"], 7);
}

#[test]
fn versions_differ_in_root_ids_and_rows() {
    let server = shared();
    let (_, old) = query(
        &server.base_url,
        1181,
        "proofreading_status_and_strategy",
        "{}",
    )
    .arrow();
    assert_eq!(rows(&old), 1621);
    assert_eq!(
        counts(&strings(&old, "strategy_axon"))["axon_column_truncated"],
        233
    );
    let (_, new) = query(
        &server.base_url,
        1300,
        "nucleus_detection_v0",
        r#"{"select_columns": ["id", "pt_root_id"]}"#,
    )
    .arrow();
    let (_, before) = query(
        &server.base_url,
        1181,
        "nucleus_detection_v0",
        r#"{"select_columns": ["id", "pt_root_id"]}"#,
    )
    .arrow();
    let roots = |b: &[RecordBatch]| -> HashMap<i64, i64> {
        int64s(b, "id")
            .into_iter()
            .zip(int64s(b, "pt_root_id"))
            .collect()
    };
    let (now, then) = (roots(&new), roots(&before));
    assert_eq!(now.len(), 144_120);
    let changed = now.iter().filter(|(id, r)| then.get(id) != Some(r)).count();
    assert!(
        changed > 1000,
        "{changed} nuclei changed root between 1181 and 1300"
    );
}

#[test]
fn reference_join_as_query_table_merges_it() {
    let server = shared();
    // query_table(merge_reference=True): the queried table unsuffixed, the target `_ref`.
    let body = r#"{"tables": [["aibs_metamodel_celltypes_v661", "target_id"], ["nucleus_detection_v0", "id"]], "suffix_map": {"aibs_metamodel_celltypes_v661": "", "nucleus_detection_v0": "_ref"}}"#;
    let (schema, batches) = join(&server.base_url, 1300, body).arrow();
    assert_eq!(rows(&batches), 94_014);
    let got = names(&schema);
    let expected = [
        "id",
        "created",
        "valid",
        "target_id",
        "classification_system",
        "cell_type",
        "id_ref",
        "created_ref",
        "valid_ref",
        "volume",
        "pt_position_x",
        "pt_position_y",
        "pt_position_z",
        "bb_start_position_x",
        "bb_start_position_y",
        "bb_start_position_z",
        "bb_end_position_x",
        "bb_end_position_y",
        "bb_end_position_z",
        "pt_supervoxel_id",
        "pt_root_id",
    ];
    assert_eq!(got, expected);
    assert_eq!(int64s(&batches, "target_id"), int64s(&batches, "id_ref"));
    // Multi-soma merges and root 0, as published.
    let roots = int64s(&batches, "pt_root_id");
    let mut per_root: HashMap<i64, usize> = HashMap::new();
    for r in &roots {
        *per_root.entry(*r).or_default() += 1;
    }
    assert_eq!(per_root.len(), 91_423);
    assert_eq!(per_root[&0], 175);
    let types = strings(&batches, "cell_type");
    let single: Vec<String> = roots
        .iter()
        .zip(&types)
        .filter(|(r, _)| per_root[r] == 1)
        .map(|(_, t)| t.clone())
        .collect();
    let by_type = counts(&single);
    assert_eq!(single.len(), 90_303);
    assert_eq!(by_type["23P"], 19_642);
    assert_eq!(by_type["NGC"], 621);
}

#[test]
fn table_manager_join_filters_the_target_and_swaps_suffixes() {
    let server = shared();
    let (_, proofread) = query(
        &server.base_url,
        1300,
        "proofreading_status_and_strategy",
        r#"{"select_columns": ["pt_root_id"]}"#,
    )
    .arrow();
    let roots: Vec<i64> = int64s(&proofread, "pt_root_id");
    let body = serde_json::json!({
        "tables": [["aibs_metamodel_celltypes_v661", "target_id"], ["nucleus_detection_v0", "id"]],
        "filter_in_dict": {"nucleus_detection_v0": {"pt_root_id": roots}},
        "filter_equal_dict": {"aibs_metamodel_celltypes_v661": {"cell_type": "23P"}},
        "select_column_map": {"aibs_metamodel_celltypes_v661": ["id", "cell_type"], "nucleus_detection_v0": ["id", "pt_root_id"]},
        "suffix_map": {"aibs_metamodel_celltypes_v661": "_ref", "nucleus_detection_v0": ""},
    });
    let reply = join(&server.base_url, 1300, &body.to_string());
    let (schema, batches) = reply.arrow();
    assert_eq!(names(&schema), ["id_ref", "cell_type", "id", "pt_root_id"]);
    assert!(
        rows(&batches) > 100,
        "{} proofread 23P cells",
        rows(&batches)
    );
    assert!(strings(&batches, "cell_type").iter().all(|t| t == "23P"));
    assert!(
        int64s(&batches, "pt_root_id")
            .iter()
            .all(|r| roots.contains(r))
    );
}

#[test]
fn select_columns_pulls_in_the_supervoxel_and_keeps_order() {
    let server = shared();
    let (schema, _) = query(
        &server.base_url,
        1300,
        "nucleus_detection_v0",
        r#"{"select_columns": ["pt_root_id", "id"], "limit": 3}"#,
    )
    .arrow();
    assert_eq!(names(&schema), ["pt_supervoxel_id", "pt_root_id", "id"]);
}

#[test]
fn limit_offset_and_the_row_cap_warning() {
    let server = shared();
    let reply = query(
        &server.base_url,
        1300,
        "nucleus_detection_v0",
        r#"{"limit": 10, "offset": 5}"#,
    );
    assert!(
        reply
            .header_all("warning")
            .contains(&"201 - \"Limited query to 10 rows")
    );
    let (_, page) = reply.arrow();
    let (_, whole) = query(
        &server.base_url,
        1300,
        "nucleus_detection_v0",
        r#"{"limit": 15, "select_columns": ["id"]}"#,
    )
    .arrow();
    assert_eq!(int64s(&page, "id"), int64s(&whole, "id")[5..15]);
    // No limit and fewer rows than the cap: every row, no warning (the cap itself: contract.rs).
    let reply = query(
        &server.base_url,
        1300,
        "nucleus_detection_v0",
        r#"{"select_columns": ["id"]}"#,
    );
    assert!(
        reply.header_all("warning").is_empty(),
        "{:?}",
        reply.header_all("warning")
    );
    assert_eq!(rows(&reply.arrow().1), 144_120);
}

#[test]
fn desired_resolution_scales_positions() {
    let server = shared();
    let native = query(
        &server.base_url,
        1300,
        "nucleus_detection_v0",
        r#"{"limit": 20, "select_columns": ["pt_position"]}"#,
    );
    let nm = query(
        &server.base_url,
        1300,
        "nucleus_detection_v0",
        r#"{"limit": 20, "select_columns": ["pt_position"], "desired_resolution": [1, 1, 1]}"#,
    );
    assert_eq!(
        nm.header_all("dataframe_resolution"),
        vec!["1.0", "1.0", "1.0"]
    );
    let (a, b) = (native.arrow().1, nm.arrow().1);
    let x: Vec<i32> = int32s(&a, "pt_position_x").iter().map(|v| v * 4).collect();
    let z: Vec<i32> = int32s(&a, "pt_position_z").iter().map(|v| v * 40).collect();
    assert_eq!(int32s(&b, "pt_position_x"), x);
    assert_eq!(int32s(&b, "pt_position_z"), z);
}

#[test]
fn spatial_regex_comparison_and_in_filters() {
    let server = shared();
    let t = "nucleus_detection_v0";
    let body = format!(
        r#"{{"filter_spatial_dict": {{"{t}": {{"pt_position": [[100000, 100000, 15000], [200000, 200000, 25000]]}}}}, "filter_greater_dict": {{"{t}": {{"volume": 250.5}}}}}}"#
    );
    let (_, batches) = query(&server.base_url, 1300, t, &body).arrow();
    assert!(rows(&batches) > 0);
    for (x, z) in int32s(&batches, "pt_position_x")
        .iter()
        .zip(int32s(&batches, "pt_position_z"))
    {
        assert!((100_000..=200_000).contains(x) && (15_000..=25_000).contains(&z));
    }
    let volumes = batches[0]
        .column_by_name("volume")
        .unwrap()
        .as_primitive::<arrow_array::types::Float32Type>()
        .clone();
    assert!(volumes.values().iter().all(|v| *v > 250.5));
    let c = "aibs_metamodel_celltypes_v661";
    let body = format!(
        r#"{{"filter_regex_dict": {{"{c}": {{"cell_type": "^5P"}}}}, "filter_in_dict": {{"{c}": {{"classification_system": ["excitatory_neuron"]}}}}}}"#
    );
    let (_, batches) = query(&server.base_url, 1300, c, &body).arrow();
    let types = counts(&strings(&batches, "cell_type"));
    assert!(types.keys().all(|k| k.starts_with("5P")), "{types:?}");
    assert!(types.len() >= 3);
}

#[test]
fn not_in_filter_is_accepted_and_ignored_like_the_server() {
    let server = shared();
    let t = "proofreading_status_and_strategy";
    let body = format!(r#"{{"filter_notin_dict": {{"{t}": {{"strategy_axon": ["none"]}}}}}}"#);
    assert_eq!(
        rows(&query(&server.base_url, 1300, t, &body).arrow().1),
        1865
    );
}

#[test]
fn count_and_json_records() {
    let server = shared();
    let t = "proofreading_status_and_strategy";
    let url = format!(
        "{}/version/1300/table/{t}/query?{FLAGS}&count=True",
        v3(&server.base_url)
    );
    let (schema, batches) = post(&url, "{}", "zstd").arrow();
    assert_eq!(names(&schema), ["count"]);
    assert_eq!(int64s(&batches, "count"), [1865]);
    let url = format!(
        "{}/version/1300/table/{t}/query?return_pyarrow=False&arrow_format=False",
        v3(&server.base_url)
    );
    let reply = post(&url, r#"{"limit": 2}"#, "gzip");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let records = reply.json();
    assert_eq!(records.as_array().unwrap().len(), 2);
    assert!(
        records[0]["created"].is_i64(),
        "epoch milliseconds: {}",
        records[0]
    );
    assert!(records[0]["pt_position_x"].is_i64());
}

#[test]
fn compressions_all_decode_to_the_same_rows() {
    let server = shared();
    let url = format!(
        "{}/version/1300/table/synapses_pni_2/query?{FLAGS}",
        v3(&server.base_url)
    );
    let body = r#"{"limit": 5000}"#;
    let plain = post(&url, body, "identity");
    let zstd = post(&url, body, "zstd");
    let lz4 = post(&url, body, "lz4");
    assert!(zstd.body.len() < plain.body.len() && lz4.body.len() < plain.body.len());
    let ids = |r: &Reply| int64s(&r.arrow().1, "id");
    assert_eq!(ids(&plain), ids(&zstd));
    assert_eq!(ids(&plain), ids(&lz4));
    assert_eq!(ids(&plain).len(), 5000);
}

#[test]
fn live_query_maps_the_timestamp_to_a_version() {
    let server = shared();
    let url = format!(
        "{}/query?return_pyarrow=True&arrow_format=True&merge_reference=False&allow_missing_lookups=False&allow_invalid_root_ids=False&direct_sql_pandas=True",
        v3(&server.base_url)
    );
    let body = r#"{"table": "proofreading_status_and_strategy", "timestamp": "2025-02-01T00:00:00+00:00", "filter_equal_dict": {"proofreading_status_and_strategy": {"status_axon": true}}, "limit": 3000}"#;
    let (schema, batches) = post(&url, body, "zstd").arrow();
    assert_eq!(names(&schema)[0], "id");
    assert_eq!(names(&schema).last().unwrap(), "__index_level_0__");
    assert_eq!(rows(&batches), 1723);
    let exact = r#"{"table": "proofreading_status_and_strategy", "timestamp": "2025-01-13T10:10:01.286229+00:00"}"#;
    let reply = post(&url, exact, "zstd");
    assert_eq!(reply.status, 500);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("do not use live live query")
    );
}

#[test]
fn errors_are_shaped_as_the_real_server() {
    let server = shared();
    let base = &server.base_url;
    let t = "proofreading_status_and_strategy";
    let cases = [
        (
            query(base, 1300, "no_such_table", "{}"),
            "404 Not Found: Analysis table 'no_such_table' not found for version 1300 in datastack minnie65_public",
        ),
        (
            query(base, 999, t, "{}"),
            "404 Not Found: version 999 not found in minnie65_public",
        ),
        (
            query(
                base,
                1300,
                t,
                &format!(r#"{{"filter_equal_dict": {{"{t}": {{"nope": 1}}}}}}"#),
            ),
            "'nope'",
        ),
        (
            query(
                base,
                1300,
                t,
                &format!(r#"{{"filter_regex_dict": {{"{t}": {{"status_axon": "t"}}}}}}"#),
            ),
            "Regex filter is only supported on string columns",
        ),
        (
            query(base, 1300, t, r#"{"select_columns": ["nope"]}"#),
            "nope not in model or models for proofreading_status_and_strategy",
        ),
        (
            query(
                base,
                1300,
                t,
                &format!(
                    r#"{{"filter_spatial_dict": {{"{t}": {{"pt_position": [[5, 0, 0], [1, 1, 1]]}}}}}}"#
                ),
            ),
            "min bounds: [5,0,0] must be less than max bounds: [1,1,1]",
        ),
        (query(base, 1300, t, "{not json"), "400 Bad Request"),
    ];
    for (reply, message) in cases {
        assert_eq!(reply.status, 500, "{message}");
        let body = reply.json();
        assert_eq!(body["code"], 500);
        assert!(
            body["message"].as_str().unwrap().starts_with(message),
            "{body} vs {message}"
        );
    }
    let reply = query(base, 1300, t, r#"{"filter_out_dict": {}, "limit": "ten"}"#);
    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.json()["schema_errors"]["filter_out_dict"][0],
        "Unknown field."
    );
    assert_eq!(
        reply.json()["schema_errors"]["limit"][0],
        "Not a valid integer."
    );
    // Metadata routes return their own 404 strings.
    let reply = get(&format!("{}/version/1300/table/nope/metadata", v3(base)));
    assert_eq!(
        (reply.status, reply.json()),
        (
            404,
            Value::from(
                "No table named 'nope' found for version '1300' in datastack 'minnie65_public'"
            )
        )
    );
    let reply = get(&format!("{}/version/5", v3(base)));
    assert_eq!(
        (reply.status, reply.json()),
        (404, Value::from("No version found"))
    );
    // And the server still answers.
    assert_eq!(get(&format!("{base}/materialize/version")).json(), "5.26.4");
}
