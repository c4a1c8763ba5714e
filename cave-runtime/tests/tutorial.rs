//! The typed tutorial (`examples/proofread_cells`) against an in-process devserver: its numbers
//! are the sample data's (the published minnie65_public v1300 counts), and the real caveclient
//! 8.2.1, running the same steps on the same server
//! (`cave-devserver/tests/conformance/caveclient_tutorial.py`), sees the same.
//!
//! The caveclient half needs `CAVE_CAVECLIENT_PYTHON` (a Python with caveclient==8.2.1; `.ci/run`
//! sets it); without it that half is skipped, unless `CAVE_REQUIRE_CAVECLIENT` is set.

#[path = "../examples/proofread_cells/tutorial.rs"]
#[allow(dead_code)]
mod tutorial;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use cave_devserver::{BackgroundServer, ServerConfig};
use cave_runtime::chrono::{DateTime, SecondsFormat, Utc};
use cave_runtime::{AnnotationId, Client};
use serde_json::{Value, json};

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|&(k, n)| (k.to_string(), n)).collect()
}

/// A timestamp as Python's `datetime.isoformat()` writes it (microseconds only when not zero).
fn python_isoformat(t: &DateTime<Utc>) -> String {
    let format = if t.timestamp_subsec_micros() == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Micros
    };
    t.to_rfc3339_opts(format, false)
}

fn ids(ids: &[AnnotationId]) -> Value {
    json!(ids.iter().map(|i| i.get()).collect::<Vec<_>>())
}

#[test]
fn the_tutorial_gives_the_sample_numbers_and_caveclients() {
    let snapshot = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/minnie65_public");
    let server = BackgroundServer::start(ServerConfig::new(snapshot)).expect("devserver starts");
    let client = Client::builder("minnie65_public")
        .server(&server.base_url)
        .token("test-token")
        .token_search(None, false)
        .version(1300)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut out = Vec::new();
    let summary = runtime
        .block_on(tutorial::run(&client, &mut out))
        .unwrap_or_else(|e| panic!("the tutorial failed: {e}"));
    let text = String::from_utf8(out).expect("UTF-8 output");

    // The sample data's numbers (cave-devserver/src/sample, the published v1300 counts).
    assert_eq!(summary.version, 1300);
    assert!(
        summary
            .versions
            .iter()
            .any(|(v, t)| *v == 1300 && python_isoformat(t) == "2025-01-13T10:10:01.286229+00:00"),
        "{:?}",
        summary.versions
    );
    assert_eq!(summary.proofreading_rows, 1865);
    assert_eq!(
        summary.strategy_axon_counts,
        counts(&[
            ("axon_partially_extended", 1459),
            ("axon_interareal", 130),
            ("axon_fully_extended", 127),
            ("none", 149),
        ])
    );
    assert_eq!(summary.status_axon_rows, 1723);
    assert_eq!(
        summary.status_axon_strategy_counts.values().sum::<usize>(),
        1723
    );
    assert_eq!(summary.celltype_rows, 94_014);
    assert_eq!(summary.celltype_single_soma, 90_303);
    assert_eq!(summary.multi_soma_rows, 94_014 - 90_303);
    assert!(summary.multi_soma_roots > 0 && summary.multi_soma_roots * 2 <= 3711);
    assert_eq!(summary.cell_type_counts["23P"], 19_642);
    assert_eq!(summary.cell_type_counts.values().sum::<usize>(), 90_303);
    assert_eq!(summary.proofread_with_type, 1723);
    assert_eq!(summary.proofread_per_type["23P"], 571);
    assert_eq!(summary.proofread_per_type.values().sum::<usize>(), 1723);
    assert_eq!(summary.shortcut_roots, 1723);
    assert_eq!(summary.shortcut_rows, 571);
    assert_eq!(summary.shortcut_joined, summary.shortcut_rows);
    assert!(summary.proofread_per_type["23P"] <= summary.shortcut_rows);
    for line in [
        "1. The datastack `minnie65_public`",
        "1,865 rows",
        "axon_partially_extended  1,459               1,459",
        "94,014 rows",
        "90,303 cells remain",
        "23P              571  19,642          2.9",
        "571 rows",
    ] {
        assert!(text.contains(line), "`{line}` not in the output:\n{text}");
    }

    // caveclient on the same server.
    let Some(python) = cave_devserver::conformance::caveclient_python() else {
        eprintln!(
            "skipped the caveclient comparison: set CAVE_CAVECLIENT_PYTHON to a Python with caveclient==8.2.1"
        );
        return;
    };
    let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tutorial-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../cave-devserver/tests/conformance/caveclient_tutorial.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(&server.base_url)
        .env("HOME", &home)
        .output()
        .expect("python runs");
    let _ = std::fs::remove_dir_all(&home);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "caveclient run failed:\n{stderr}");
    let seen: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));

    // 1-2. The datastack and its versions.
    assert_eq!(seen["description"], json!(summary.description));
    let versions: Vec<u32> = summary.versions.iter().map(|(v, _)| *v).collect();
    assert_eq!(seen["versions"], json!(versions));
    let timestamps: BTreeMap<String, String> = summary
        .versions
        .iter()
        .map(|(v, t)| (v.to_string(), python_isoformat(t)))
        .collect();
    assert_eq!(seen["timestamps"], json!(timestamps));
    // 3. Proofreading status.
    assert_eq!(seen["proofreading_rows"], summary.proofreading_rows);
    assert_eq!(
        seen["strategy_axon_counts"],
        json!(summary.strategy_axon_counts)
    );
    assert_eq!(seen["status_axon_rows"], summary.status_axon_rows);
    assert_eq!(
        seen["status_axon_strategy_counts"],
        json!(summary.status_axon_strategy_counts)
    );
    // 4. Cell types, multi-soma roots dropped.
    assert_eq!(seen["celltype_rows"], summary.celltype_rows);
    assert_eq!(seen["multi_soma_roots"], summary.multi_soma_roots);
    assert_eq!(seen["celltype_single_soma"], summary.celltype_single_soma);
    assert_eq!(seen["cell_type_counts"], json!(summary.cell_type_counts));
    // 5. Proofread cells per cell type, and which nuclei they are.
    assert_eq!(seen["proofread_with_type"], summary.proofread_with_type);
    assert_eq!(
        seen["proofread_per_type"],
        json!(summary.proofread_per_type)
    );
    assert_eq!(
        seen["proofread_nucleus_ids"],
        ids(&summary.proofread_nucleus_ids)
    );
    // 6. The shortcut.
    assert_eq!(seen["shortcut_rows"], summary.shortcut_rows);
    assert_eq!(
        seen["shortcut_nucleus_ids"],
        ids(&summary.shortcut_nucleus_ids)
    );
    eprintln!(
        "caveclient and the typed tutorial agree: {} proofreading rows, {} with status_axon, \
         {} cell types ({} single-soma), shortcut {} rows",
        summary.proofreading_rows,
        summary.status_axon_rows,
        summary.celltype_rows,
        summary.celltype_single_soma,
        summary.shortcut_rows
    );
}
