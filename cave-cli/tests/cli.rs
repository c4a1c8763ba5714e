//! The `cave` command line, run as a user runs it.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Run the binary from the repository root, as `cargo run -p cave-cli -- ...` does.
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cave"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn columns_all_json_has_every_type_in_the_documented_shape() {
    let json: Value =
        serde_json::from_str(&stdout(&run(&["columns", "--all", "--format", "json"]))).unwrap();
    let types = json.as_object().unwrap();
    assert_eq!(types.len(), 57);
    let allowed = [
        "int64",
        "int32",
        "float32",
        "bool",
        "utf8",
        "timestamp",
        "position",
    ];
    for (name, columns) in types {
        for c in columns.as_array().unwrap() {
            let c = c.as_object().unwrap();
            let mut keys: Vec<&str> = c.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["name", "nullable", "role", "type"], "{name}");
            assert!(
                allowed.contains(&c["type"].as_str().unwrap()),
                "{name}: {c:?}"
            );
            assert!(c["nullable"].is_boolean());
        }
    }
    let synapse: Vec<&str> = json["synapse"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(synapse[..4], ["id", "created", "superceded_id", "valid"]);
    assert!(synapse.contains(&"ctr_pt_position"));
}

#[test]
fn columns_of_one_type_as_a_table() {
    let text = stdout(&run(&["columns", "compartment_proofread_status_strategy"]));
    assert!(text.starts_with("schema type compartment_proofread_status_strategy (CompartmentProofreadStatusStrategy): 12 columns"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("strategy_axon "))
        .expect("a strategy_axon row");
    assert!(line.contains("utf8") && line.contains("payload"), "{line}");
}

#[test]
fn columns_of_a_table_show_reference_and_value_sets() {
    let text = stdout(&run(&[
        "columns",
        "--table",
        "proofreading_status_and_strategy",
    ]));
    assert!(text.contains("[values: proofreading_strategy]"), "{text}");
    let text = stdout(&run(&[
        "columns",
        "--table",
        "aibs_metamodel_celltypes_v661",
    ]));
    assert!(
        text.contains("reference annotation on nucleus_detection_v0"),
        "{text}"
    );
}

#[test]
fn schemas_option_reads_another_folder() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("schemas/types/synapse.json"),
        tmp.path().join("synapse.json"),
    )
    .unwrap();
    let json: Value = serde_json::from_str(&stdout(&run(&[
        "columns",
        "--all",
        "--format",
        "json",
        "--schemas",
        tmp.path().to_str().unwrap(),
    ])))
    .unwrap();
    assert_eq!(json.as_object().unwrap().len(), 1);

    // A saved `types_all` response works as well.
    let read =
        |t: &str| std::fs::read_to_string(repo().join(format!("schemas/types/{t}.json"))).unwrap();
    let all = format!(
        "{{\"synapse\": {}, \"reference_tag\": {}}}",
        read("synapse"),
        read("reference_tag")
    );
    let file = tmp.path().join("types_all.json");
    std::fs::write(&file, all).unwrap();
    let args = [
        "columns",
        "--all",
        "--format",
        "json",
        "--schemas",
        file.to_str().unwrap(),
    ];
    let json: Value = serde_json::from_str(&stdout(&run(&args))).unwrap();
    let names: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(names, ["reference_tag", "synapse"]);
}

#[test]
fn unknown_names_fail_with_a_suggestion() {
    let out = run(&["columns", "synapses"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no schema type `synapses`") && err.contains("synapse"),
        "{err}"
    );

    let out = run(&["columns", "--table", "proofreading_status_and_strategi"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("did you mean `proofreading_status_and_strategy`?")
    );
}

#[test]
fn a_broken_types_folder_is_reported_with_its_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("broken.json"), "{\"definitions\": ").unwrap();
    let out = run(&[
        "columns",
        "--all",
        "--schemas",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.json: schema type `broken`: invalid JSON at line 1"),
        "{err}"
    );
}

#[test]
fn validate_import_and_format_keep_the_snapshot_canonical() {
    let text = stdout(&run(&["validate"]));
    assert!(text.starts_with("minnie65_public: ok"), "{text}");

    // import-types writes the 57 types; importing again writes nothing.
    let tmp = tempfile::tempdir().unwrap();
    let types = tmp.path().join("types");
    let import = [
        "import-types",
        "schemas/types",
        "--out",
        types.to_str().unwrap(),
    ];
    assert!(stdout(&run(&import)).starts_with("57 schema types in"));
    assert!(stdout(&run(&import)).contains("nothing written"));

    // format leaves a canonical copy alone and rewrites a hand-edited file canonically.
    let ds = tmp.path().join("minnie65_public");
    std::fs::create_dir(&ds).unwrap();
    for file in cave_schema::snapshot::FILES {
        std::fs::copy(
            repo().join("schemas/minnie65_public").join(file),
            ds.join(file),
        )
        .unwrap();
    }
    let format = ["format", "--datastack-dir", ds.to_str().unwrap()];
    assert!(stdout(&run(&format)).contains("nothing written"));
    let canonical = std::fs::read_to_string(ds.join("tables.json")).unwrap();
    let compact =
        serde_json::to_string(&serde_json::from_str::<Value>(&canonical).unwrap()).unwrap();
    std::fs::write(ds.join("tables.json"), compact).unwrap();
    let report = stdout(&run(&format));
    assert_eq!(
        report.lines().collect::<Vec<_>>(),
        [format!("wrote {}", ds.join("tables.json").display())]
    );
    assert_eq!(
        std::fs::read_to_string(ds.join("tables.json")).unwrap(),
        canonical
    );
}
