//! `cave fetch` and `check` against the local devserver, which serves exactly the
//! committed snapshot: fetching changes no byte, check agrees, and check names every change
//! when the committed side is edited.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cave_cli::fetch::{FetchConfig, Progress, check_snapshot, fetch_snapshot, find_token};
use cave_devserver::{BackgroundServer, ServerConfig};
use cave_schema::Snapshot;
use serde_json::{Value, json};

/// What the real info record advertises; the devserver advertises it too, so that the fetched
/// info.json equals the committed one.
const REAL_LOCAL_SERVER: &str = "https://minnie.microns-daf.com";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn server() -> &'static BackgroundServer {
    static SERVER: OnceLock<BackgroundServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let mut config = ServerConfig {
            advertise_local_server: Some(REAL_LOCAL_SERVER.into()),
            ..ServerConfig::new(repo().join("schemas/minnie65_public"))
        };
        // Metadata routes do not depend on the sample's size; keep start-up short.
        config.sample.synapses = 20_000;
        BackgroundServer::start(config).expect("devserver starts")
    })
}

/// A fetch from the devserver: info and schema from its base URL, and, as with an SSH tunnel,
/// materialization requests sent to it too instead of the advertised local server.
fn config() -> FetchConfig {
    let base = &server().base_url;
    let mut c = FetchConfig::new(base, "minnie65_public");
    c.local_server = Some(base.clone());
    c.token = find_token(Some("any-token"), None, None, base).unwrap();
    c
}

/// A temp copy of `schemas/minnie65_public` and `schemas/types`, so that `../types` resolves.
fn committed_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    for sub in ["minnie65_public", "types"] {
        let (from, to) = (repo().join("schemas").join(sub), tmp.path().join(sub));
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    let dir = tmp.path().join("minnie65_public");
    (tmp, dir)
}

/// Every file under `root`, by path relative to it.
fn contents(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["minnie65_public", "types"] {
        for entry in std::fs::read_dir(root.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            out.insert(rel, std::fs::read(&path).unwrap());
        }
    }
    out
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[test]
fn fetching_the_committed_snapshot_changes_no_byte() {
    let (tmp, dir) = committed_copy();
    let committed = contents(&repo().join("schemas"));
    assert_eq!(contents(tmp.path()), committed);

    for round in 0..2 {
        let outcome = fetch_snapshot(&config(), &dir, &mut Progress::silent()).unwrap();
        assert!(
            !outcome.changed && outcome.written.is_empty() && outcome.changes.is_empty(),
            "round {round}: {}\nwrote {:?}",
            outcome.changes,
            outcome.written
        );
        assert_eq!(outcome.version, 1822, "the newest valid version");
        assert_eq!(contents(tmp.path()), committed, "round {round}");
    }
}

#[test]
fn check_agrees_with_the_committed_snapshot() {
    let outcome = check_snapshot(
        &config(),
        &repo().join("schemas/minnie65_public"),
        &mut Progress::silent(),
    )
    .unwrap();
    assert!(!outcome.differs, "{}", outcome.changes);
    assert!(outcome.changes.is_empty());
}

/// A value the devserver reports for a value-set column (so the server "has" it).
fn served_value(table: &str, column: &str) -> String {
    let values = config()
        .client()
        .unwrap()
        .unique_string_values(table)
        .unwrap();
    values
        .get(column)
        .and_then(|v| v.first())
        .unwrap_or_else(|| {
            panic!("the devserver reports no {column} values of {table}: {values:?}")
        })
        .clone()
}

#[test]
fn check_names_each_change_and_fetch_undoes_them() {
    let (tmp, dir) = committed_copy();
    let strategy = served_value("proofreading_status_and_strategy", "strategy_axon");

    // The committed side drifts from the server in six ways.
    edit_json(&dir.join("versions.json"), |v| {
        let versions = v["versions"].as_array_mut().unwrap();
        let latest = versions.last_mut().unwrap();
        let tables = latest["tables"].as_array_mut().unwrap();
        tables.retain(|t| t != "nucleus_detection_v0");
        versions.retain(|x| x["version"] != json!(117));
    });
    edit_json(&dir.join("tables.json"), |t| {
        t["tables"]["synapses_pni_2"]["schema_type"] = json!("nocleft_synapse");
        t["tables"]["nucleus_detection_v0"]["voxel_resolution"] = json!([8.0, 8.0, 40.0]);
    });
    edit_json(&dir.join("value_sets.json"), |v| {
        let values = v["value_sets"]["proofreading_strategy"]["values"]
            .as_array_mut()
            .unwrap();
        values.retain(|x| x["value"] != json!(strategy));
    });
    edit_json(&tmp.path().join("types/synapse.json"), |d| {
        d["definitions"]["SynapseSchema"]["properties"]["confidence"] =
            json!({"type": ["number", "null"], "format": "float", "description": "added by hand"});
    });
    Snapshot::load(&dir).expect("the edited copy is still a valid snapshot");
    let edited = contents(tmp.path());

    let outcome = check_snapshot(&config(), &dir, &mut Progress::silent()).unwrap();
    assert!(outcome.differs);
    let lines: Vec<String> = outcome.changes.lines().collect();
    let expected = [
        "versions: + version 117 (2021-06-11T08:10:00.215114Z; valid; 4 tables)".to_string(),
        "tables per version: + version 1822: nucleus_detection_v0".to_string(),
        "tables: ~ synapses_pni_2: schema type nocleft_synapse → synapse".to_string(),
        "tables: ~ nucleus_detection_v0: voxel_resolution [8.0, 8.0, 40.0] → [4.0, 4.0, 40.0]"
            .to_string(),
        "schema types: ~ synapse: - column confidence (float32, nullable)".to_string(),
        format!(
            "value sets: ~ proofreading_strategy (proofreading_status_and_strategy.strategy_axon, proofreading_status_and_strategy.strategy_dendrite): + value {strategy:?} (new enum value from the server)"
        ),
    ];
    for line in &expected {
        assert!(
            lines.contains(line),
            "missing {line:?} in\n{}",
            outcome.changes
        );
    }
    assert_eq!(lines.len(), expected.len(), "{}", outcome.changes);
    assert_eq!(contents(tmp.path()), edited, "check writes nothing");

    // fetch brings the server's facts back; the re-added value goes at the end, undocumented.
    let fetched = fetch_snapshot(&config(), &dir, &mut Progress::silent()).unwrap();
    assert!(fetched.changed);
    let again = check_snapshot(&config(), &dir, &mut Progress::silent()).unwrap();
    assert!(!again.differs, "{}", again.changes);
    let committed = contents(&repo().join("schemas"));
    let now = contents(tmp.path());
    assert_eq!(
        now[Path::new("types/synapse.json")],
        committed[Path::new("types/synapse.json")]
    );
    let snapshot = Snapshot::load(&dir).unwrap();
    let (_, set) = snapshot
        .value_set("proofreading_status_and_strategy", "strategy_axon")
        .unwrap();
    let last = set.values.last().unwrap();
    assert_eq!(
        (last.value.as_str(), last.doc.as_str()),
        (strategy.as_str(), "")
    );
    assert_eq!(
        snapshot.manifest.provenance.kind,
        cave_schema::snapshot::SnapshotKind::Fetched
    );
}
