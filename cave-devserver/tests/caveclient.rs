//! Conformance with the real Python client: caveclient 8.2.1 runs the MICrONS proofreading
//! tutorial steps against the devserver unchanged (tests/conformance/caveclient_tutorial.py).
//!
//! Needs a Python with caveclient==8.2.1: `.ci/run` makes a venv and sets
//! `CAVE_CAVECLIENT_PYTHON` to its interpreter (and `CAVE_REQUIRE_CAVECLIENT=1`, so a missing
//! interpreter fails there instead of skipping).

mod common;

use std::path::PathBuf;
use std::process::Command;

use cave_devserver::{BackgroundServer, ServerConfig};
use common::*;
use serde_json::{Value, json};

#[test]
fn caveclient_runs_the_tutorial_against_the_devserver() {
    let Some(python) = cave_devserver::conformance::caveclient_python() else {
        eprintln!(
            "skipped: set CAVE_CAVECLIENT_PYTHON to a Python with caveclient==8.2.1 (.ci/run does)"
        );
        return;
    };
    let server = BackgroundServer::start(ServerConfig::new(snapshot_dir())).unwrap();
    let home = tempfile::tempdir().unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/caveclient_tutorial.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(&server.base_url)
        .env("HOME", home.path())
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "caveclient run failed:\n{stderr}");
    let seen: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));

    // What the Rust side sees on the same server.
    let base = &server.base_url;
    let info = get(&format!(
        "{base}/info/api/v2/datastack/full/minnie65_public"
    ))
    .json();
    assert_eq!(seen["description"], info["description"]);
    let versions = get(&format!("{}/versions?expired=False", v3(base))).json();
    let mut versions: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    versions.sort();
    assert_eq!(seen["versions"], json!(versions));
    assert_eq!(
        seen["timestamps"]["1300"],
        "2025-01-13T10:10:01.286229+00:00"
    );
    assert_eq!(seen["proofreading_rows"], 1865);
    assert_eq!(seen["status_axon_rows"], 1723);
    assert_eq!(seen["celltype_rows"], 94_014);
    assert_eq!(seen["celltype_single_soma"], 90_303);
    // query_table recombines positions into one column, placed last.
    let columns: Vec<&str> = seen["proofreading_columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(columns.last(), Some(&"pt_position"));
    assert!(columns.contains(&"strategy_axon") && columns.contains(&"valid_id"));
    let celltype_columns: Vec<&str> = seen["celltype_columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        celltype_columns.contains(&"id_ref") && celltype_columns.contains(&"pt_root_id"),
        "{celltype_columns:?}"
    );

    // The synapse query: inputs of one root minus autapses, as the server's rows imply.
    let root = seen["synapse_root"].as_i64().unwrap();
    let body = json!({"filter_equal_dict": {"synapses_pni_2": {"post_pt_root_id": root}}, "select_columns": ["pre_pt_root_id", "post_pt_root_id"]});
    let (_, batches) = query(base, 1300, "synapses_pni_2", &body.to_string()).arrow();
    let pre: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            use arrow_array::cast::AsArray;
            b.column_by_name("pre_pt_root_id")
                .unwrap()
                .as_primitive::<arrow_array::types::Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    let expected_inputs = pre.iter().filter(|&&p| p != root).count();
    assert_eq!(seen["synapse_inputs"], expected_inputs);
    assert!(seen["synapse_outputs"].as_u64().unwrap() > 0);
    assert!(seen["shortcut_rows"].as_u64().unwrap() > 0);
    eprintln!("caveclient saw: {seen}");
}

/// caveclient's chunkedgraph calls and its client-side `live_query` run against the devserver
/// unchanged (tests/conformance/caveclient_chunkedgraph.py), and what they return is what
/// the devserver answers over HTTP.
#[test]
fn caveclient_runs_its_chunkedgraph_calls_and_live_query_against_the_devserver() {
    let Some(python) = cave_devserver::conformance::caveclient_python() else {
        eprintln!("skipped: set CAVE_CAVECLIENT_PYTHON to a Python with caveclient==8.2.1");
        return;
    };
    let server = BackgroundServer::start(small_config()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance/caveclient_chunkedgraph.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(&server.base_url)
        .env("HOME", home.path())
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "caveclient run failed:\n{stderr}");
    let seen: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    eprintln!("caveclient saw: {seen}");

    // Roots of the versions' supervoxels are the tables' roots, and edited roots are stale.
    assert_eq!(seen["roots_1181_match"], true);
    assert_eq!(seen["roots_1300_match"], true);
    assert!(seen["stale"].as_u64().unwrap() > 10, "{}", seen["stale"]);
    let (old, new) = (seen["old"].as_i64().unwrap(), seen["new"].as_i64().unwrap());
    // Latest roots by lineage, suggested by leaves, and original roots agree with the tables.
    assert!(
        seen["latest_roots"]
            .as_array()
            .unwrap()
            .contains(&json!(new)),
        "{seen}"
    );
    assert_eq!(seen["suggested"], json!(new));
    assert!(seen["share"].as_f64().unwrap() > 0.0);
    assert!(seen["original"].as_array().unwrap().contains(&json!(old)));
    assert!(
        seen["lineage_links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l[0] == json!(old))
    );
    assert!(
        seen["past_id_map"][new.to_string()]
            .as_array()
            .unwrap()
            .contains(&json!(old))
    );
    assert_eq!(seen["old_in_delta"], true);
    assert_eq!(seen["valid"], json!([true, true, false, false]));
    let (created, retired) = (
        seen["created"].as_f64().unwrap(),
        seen["retired"].as_f64().unwrap(),
    );
    // caveclient subtracts 1 ms from `latest` timestamps.
    assert!(
        created <= retired + 0.001 + 1e-6 && created > 1726481401.0,
        "{created} {retired}"
    );
    assert!(
        seen["change"]["past_ids"]
            .as_array()
            .unwrap()
            .contains(&json!(old))
    );
    assert!(seen["tab_rows"].as_u64().unwrap() >= 1);
    // The same leaves over HTTP.
    let leaves = get(&format!(
        "{}/segmentation/api/v1/table/minnie65_public/node/{new}/leaves",
        server.base_url
    ))
    .json();
    let mut want: Vec<i64> = leaves["leaf_ids"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    want.sort_unstable();
    assert_eq!(seen["leaves"], json!(want));
    // caveclient's own live_query agrees with the server's live query, row for row, at a time
    // when roots have changed since v1300; it finds a row by its new root and refuses the
    // expired one, as on a real server.
    assert_eq!(seen["live_same"], true);
    assert_eq!(seen["live_client_rows"], 1865);
    assert!(seen["live_changed"].as_u64().unwrap() > 0);
    assert_eq!(seen["by_new_root"].as_array().unwrap().len(), 1);
    assert!(
        seen["refused"].as_str().unwrap().contains("expired"),
        "{}",
        seen["refused"]
    );
}
