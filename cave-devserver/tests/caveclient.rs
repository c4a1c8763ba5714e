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
