//! The committed minnie65_public snapshot: its facts, its round trip, and the loader's errors.

use std::path::{Path, PathBuf};

use cave_schema::snapshot::{FILES, SnapshotKind};
use cave_schema::{Provenance, Snapshot, SnapshotError, WireType};
use chrono::{TimeZone, Utc};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn dir() -> PathBuf {
    repo().join("schemas/minnie65_public")
}

fn load() -> Snapshot {
    Snapshot::load(dir()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn committed_snapshot_has_the_published_facts() {
    let s = load();
    assert_eq!(s.manifest.datastack, "minnie65_public");
    assert_eq!(
        s.manifest.provenance.kind,
        SnapshotKind::Reconstructed,
        "honest until a fetch replaces it"
    );
    assert!(s.manifest.provenance.server.is_none());
    assert_eq!(s.info.synapse_table.as_deref(), Some("synapses_pni_2"));
    assert_eq!(s.info.soma_table.as_deref(), Some("nucleus_detection_v0"));
    assert_eq!(s.info.viewer_resolution_z, Some(40.0));

    let v1300 = s.version(1300).expect("v1300");
    let expected = Utc.with_ymd_and_hms(2025, 1, 13, 10, 10, 1).unwrap()
        + chrono::Duration::microseconds(286_229);
    assert_eq!(v1300.time_stamp, expected);
    assert_eq!(v1300.tables.len(), 31);
    assert_eq!(v1300.tables_provenance, Provenance::Seen);
    assert!(s.version(1412).is_some());
    let numbers: Vec<u32> = s.versions.iter().map(|v| v.version).collect();
    assert_eq!(
        numbers,
        [
            117, 343, 661, 795, 943, 1078, 1181, 1300, 1412, 1507, 1621, 1718, 1822
        ]
    );

    let proofreading = s.table("proofreading_status_and_strategy").unwrap();
    assert_eq!(
        proofreading.schema_type.as_deref(),
        Some("compartment_proofread_status_strategy")
    );
    assert!(
        proofreading
            .notice_text
            .as_deref()
            .is_some_and(|n| n.contains("supercedes"))
    );
    let cells = s.table("aibs_metamodel_celltypes_v661").unwrap();
    assert_eq!(
        cells.reference_table.as_deref(),
        Some("nucleus_detection_v0")
    );
    assert_eq!(cells.voxel_resolution, [4.0, 4.0, 40.0]);
    assert!(
        s.schema_of("aibs_metamodel_celltypes_v661")
            .unwrap()
            .is_reference()
    );

    for column in ["strategy_axon", "strategy_dendrite"] {
        let (name, set) = s
            .value_set("proofreading_status_and_strategy", column)
            .unwrap();
        assert_eq!(name, "proofreading_strategy");
        let values: Vec<&str> = set.values.iter().map(|v| v.value.as_str()).collect();
        assert_eq!(
            values,
            [
                "none",
                "dendrite_clean",
                "dendrite_extended",
                "axon_column_truncated",
                "axon_interareal",
                "axon_partially_extended",
                "axon_fully_extended"
            ]
        );
        assert!(set.values.iter().all(|v| !v.doc.is_empty()));
    }
    let (_, cell_types) = s
        .value_set("aibs_metamodel_celltypes_v661", "cell_type")
        .unwrap();
    assert_eq!(cell_types.values.len(), 16);
    assert!(cell_types.values.iter().any(|v| v.value == "23P"));
    let (_, systems) = s
        .value_set("aibs_metamodel_celltypes_v661", "classification_system")
        .unwrap();
    let systems: Vec<&str> = systems.values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(
        systems,
        ["excitatory_neuron", "inhibitory_neuron", "nonneuron"]
    );
}

#[test]
fn every_v1300_table_with_a_schema_flattens() {
    let s = load();
    for table in &s.version(1300).unwrap().tables {
        if let Some(schema) = s.schema_of(table) {
            // A table has positions of its own, or reaches them through its reference target.
            let positions = schema
                .columns()
                .iter()
                .any(|c| c.wire == WireType::Position);
            assert!(
                positions || schema.is_reference(),
                "{table} has no position and is no reference"
            );
        }
    }
    let typed = s
        .version(1300)
        .unwrap()
        .tables
        .iter()
        .filter(|t| s.schema_of(t).is_some())
        .count();
    assert_eq!(
        typed, 31,
        "every v1300 table has a (seen or inferred) schema type"
    );
}

#[test]
fn load_then_write_gives_identical_bytes() {
    let s = load();
    for (name, text) in s.render() {
        let on_disk = std::fs::read_to_string(dir().join(name)).unwrap();
        assert!(
            on_disk == text,
            "{name} is not in canonical form; run `cargo run -p cave-cli -- format`"
        );
    }
    for (name, text) in s.types.render() {
        let on_disk = std::fs::read_to_string(repo().join("schemas/types").join(&name)).unwrap();
        assert!(on_disk == text, "types/{name} is not in canonical form");
    }
    // Written elsewhere, it loads back equal, and a second write changes nothing.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ds");
    assert_eq!(s.types.write(tmp.path().join("types")).unwrap().len(), 57);
    assert_eq!(s.write(&out).unwrap().len(), FILES.len());
    assert_eq!(Snapshot::load(&out).unwrap(), s);
    assert!(s.write(&out).unwrap().is_empty());
}

/// A writable copy of the snapshot (datastack folder + types) in a temporary folder.
fn copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let s = load();
    s.types.write(tmp.path().join("types")).unwrap();
    let ds = tmp.path().join("minnie65_public");
    s.write(&ds).unwrap();
    (tmp, ds)
}

/// Apply `edit` to the text of `file`, load, and return the error.
/// The temporary folder is gone when this returns; the error only keeps its path.
fn broken(file: &str, edit: impl Fn(String) -> String) -> (PathBuf, SnapshotError) {
    let (_tmp, ds) = copy();
    let path = ds.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let changed = edit(text.clone());
    assert_ne!(changed, text, "the edit of {file} applied");
    std::fs::write(&path, changed).unwrap();
    let err = Snapshot::load(&ds).expect_err("the broken snapshot is refused");
    (path, err)
}

fn invalid(err: &SnapshotError) -> (&Path, &str, &str) {
    match err {
        SnapshotError::Invalid {
            file,
            path,
            message,
        } => (file.as_path(), path.as_str(), message.as_str()),
        other => panic!("expected an Invalid error, got {other}"),
    }
}

#[test]
fn wrong_value_type_names_file_path_and_expectation() {
    let (file, err) = broken("versions.json", |t| {
        t.replacen("\"version\": 117", "\"version\": \"117\"", 1)
    });
    let (f, path, message) = invalid(&err);
    assert_eq!(f, file);
    assert_eq!(path, "$.versions[0].version");
    assert!(message.contains("expected u32"), "{message}");
    assert!(
        err.to_string()
            .contains("versions.json: at $.versions[0].version: invalid type: string \"117\""),
        "{err}"
    );
}

#[test]
fn malformed_json_names_line_and_column() {
    let (_, err) = broken("tables.json", |t| {
        t.replacen("\"tables\": {", "\"tables\": {,", 1)
    });
    let (_, at, message) = invalid(&err);
    assert!(at.starts_with("line 2, column "), "{at}");
    assert_eq!(message, "invalid JSON: key must be a string");
}

#[test]
fn unknown_table_in_a_version_is_named() {
    let (_, err) = broken("versions.json", |t| {
        t.replacen("\"synapses_pni_2\"", "\"synapses_pni_3\"", 1)
    });
    let (_, path, message) = invalid(&err);
    assert!(path.starts_with("$.versions[0].tables["), "{path}");
    assert!(
        message.contains("`synapses_pni_3`") && message.contains("did you mean `synapses_pni_2`?"),
        "{message}"
    );
}

#[test]
fn unknown_schema_type_is_named_with_a_suggestion() {
    let (_, err) = broken("tables.json", |t| {
        t.replacen(
            "\"schema_type\": \"compartment_proofread_status_strategy\"",
            "\"schema_type\": \"compartment_proofread_status_strategi\"",
            1,
        )
    });
    let (_, path, message) = invalid(&err);
    assert_eq!(
        path,
        "$.tables.proofreading_status_and_strategy.schema_type"
    );
    assert!(
        message.contains("did you mean `compartment_proofread_status_strategy`?"),
        "{message}"
    );
}

#[test]
fn reference_rule_is_enforced() {
    let (_, err) = broken("tables.json", |t| {
        let at = t.find("\"aibs_metamodel_celltypes_v661\"").unwrap();
        let (head, tail) = t.split_at(at);
        format!(
            "{head}{}",
            tail.replacen(
                "\"reference_table\": \"nucleus_detection_v0\"",
                "\"reference_table\": null",
                1
            )
        )
    });
    let (_, path, message) = invalid(&err);
    assert_eq!(
        path,
        "$.tables.aibs_metamodel_celltypes_v661.reference_table"
    );
    assert!(message.contains("is a reference annotation"), "{message}");
}

#[test]
fn value_set_on_a_missing_or_non_string_column_is_refused() {
    let (_, err) = broken("value_sets.json", |t| {
        t.replacen("\"strategy_axon\":", "\"strategy_axxon\":", 1)
    });
    let (_, path, message) = invalid(&err);
    assert_eq!(
        path,
        "$.columns.proofreading_status_and_strategy.strategy_axxon"
    );
    assert!(
        message.contains("did you mean `strategy_axon`?"),
        "{message}"
    );

    let (_, err) = broken("value_sets.json", |t| {
        t.replacen("\"strategy_axon\":", "\"status_axon\":", 1)
    });
    let (_, _, message) = invalid(&err);
    assert!(
        message.contains("expected a utf8 payload column, found a bool payload column"),
        "{message}"
    );
}

#[test]
fn unknown_keys_in_our_own_files_are_refused() {
    let (_, err) = broken("snapshot.json", |t| {
        t.replacen("\"datastack\":", "\"data_stack\":", 1)
    });
    let (_, path, message) = invalid(&err);
    assert_eq!(path, "$.data_stack");
    assert!(message.contains("unknown field `data_stack`"), "{message}");
}

#[test]
fn missing_folder_and_types_are_io_or_invalid_errors() {
    let err = Snapshot::load(repo().join("schemas/no_such_datastack")).unwrap_err();
    assert!(
        matches!(&err, SnapshotError::Io { file, .. } if file.ends_with("snapshot.json")),
        "{err}"
    );
    let (_, err) = broken("snapshot.json", |t| {
        t.replacen("\"../types\"", "\"../typez\"", 1)
    });
    let (_, path, _) = invalid(&err);
    assert_eq!(path, "$.types_dir");
}

#[test]
fn bad_timestamp_is_named() {
    let (_, err) = broken("versions.json", |t| {
        t.replacen("2025-01-13T10:10:01.286229Z", "2025-01-13 10:10", 1)
    });
    let (_, path, message) = invalid(&err);
    assert!(path.ends_with(".time_stamp"), "{path}");
    assert!(
        message.contains("expected a UTC timestamp like"),
        "{message}"
    );
}

#[test]
fn committed_views_per_version_with_their_columns() {
    let s = load();
    let v1300 = s.version(1300).unwrap();
    assert!(v1300.views.contains(&"aibs_cell_info".to_string()));
    assert!(
        v1300
            .views
            .contains(&"nucleus_detection_lookup_v1".to_string())
    );
    assert_eq!(v1300.views_provenance, Some(Provenance::Inferred));
    assert!(s.version(117).unwrap().views.is_empty());
    let lookup = s.view("nucleus_detection_lookup_v1").unwrap();
    assert_eq!(lookup.live_compatible, Some(true));
    assert_eq!(lookup.provenance.columns, Some(Provenance::Seen));
    let columns = lookup.columns();
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "volume",
            "pt_position",
            "pt_root_id",
            "orig_root_id",
            "pt_supervoxel_id",
            "pt_position_lookup"
        ]
    );
    let c = |n: &str| columns.iter().find(|c| c.name == n).unwrap();
    assert_eq!(c("volume").wire, WireType::Float64);
    assert_eq!(c("pt_position_lookup").wire, WireType::Position);
    assert_eq!(c("orig_root_id").role, cave_schema::ColumnRole::RootId);
    assert_eq!(c("id").role, cave_schema::ColumnRole::AnnotationId);
    assert!(columns.iter().all(|c| c.nullable));
    // The cell-info view's columns are partial and say so.
    let info = s.view("aibs_cell_info").unwrap();
    assert_eq!(info.provenance.columns, Some(Provenance::Inferred));
    assert!(
        info.provenance
            .note
            .as_deref()
            .unwrap()
            .starts_with("NOT the view's exact columns")
    );
    // A view known by name only has no columns and no column provenance.
    let unknown = s.view("synapses_pni_2_in_out_degree_fixed").unwrap();
    assert!(unknown.columns.is_empty() && unknown.provenance.columns.is_none());
    assert_eq!(
        s.value_set("soma_counts", "cell_type").unwrap().0,
        "neuron_svm_cell_type"
    );
}

#[test]
fn a_snapshot_without_views_json_has_no_views() {
    let (_tmp, ds) = copy();
    std::fs::remove_file(ds.join("views.json")).unwrap();
    let err = Snapshot::load(&ds).unwrap_err();
    let (_, path, message) = invalid(&err);
    assert_eq!(path, "$.versions[2].views[0]");
    assert!(
        message.contains("expected a view described in views.json"),
        "{message}"
    );
    // Without the version lists (and the value set of a view) it loads, with no views.
    let mut s = load();
    for v in &mut s.versions {
        v.views.clear();
        v.views_provenance = None;
    }
    s.value_sets.columns.remove("soma_counts");
    s.views.clear();
    s.write(&ds).unwrap();
    std::fs::remove_file(ds.join("views.json")).unwrap();
    let back = Snapshot::load(&ds).unwrap();
    assert!(back.views.is_empty());
    assert_eq!(back, s);
    // Versions without views write no `views` key: older snapshots keep their bytes.
    assert!(!s.render()["versions.json"].contains("views"));
}

#[test]
fn bad_views_are_named_by_file_and_path() {
    let (file, err) = broken("views.json", |t| {
        t.replacen("\"type\": \"float\"", "\"type\": \"geometry\"", 1)
    });
    let (f, path, message) = invalid(&err);
    assert_eq!(f, file);
    assert!(
        path.starts_with("$.views.") && path.contains(".columns["),
        "{path}"
    );
    assert!(message.contains("found `geometry`"), "{message}");
    assert!(message.contains("`SpatialPoint`"), "{message}");

    let (_, err) = broken("versions.json", |t| {
        t.replacen("\"single_neurons\"", "\"single_neuron\"", 1)
    });
    let (_, path, message) = invalid(&err);
    assert!(path.contains(".views["), "{path}");
    assert!(
        message.contains("`single_neuron`") && message.contains("single_neurons"),
        "{message}"
    );

    let (_, err) = broken("views.json", |t| {
        t.replacen("\"name\": \"n_output\"", "\"name\": \"n_input\"", 1)
    });
    let (_, path, message) = invalid(&err);
    assert_eq!(path, "$.views.synapses_pni_2_in_out_degree.columns[3].name");
    assert!(message.contains("`n_input` again"), "{message}");

    let (_, err) = broken("value_sets.json", |t| {
        t.replacen(
            "\"soma_counts\": {\n      \"cell_type\"",
            "\"soma_counts\": {\n      \"neuron_count\"",
            1,
        )
    });
    let (_, path, message) = invalid(&err);
    assert_eq!(path, "$.columns.soma_counts.neuron_count");
    assert!(
        message.contains("found a column of type integer"),
        "{message}"
    );
}
