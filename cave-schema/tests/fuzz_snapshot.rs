//! Fuzzing the snapshot loader: `Snapshot::load` on damaged copies of a small
//! datastack folder cut down from `schemas/minnie65_public` (four tables, three versions, their
//! schema types and value sets), written into a temporary folder for each case.
//!
//! Damage, one to three per case, to `snapshot.json`, `info.json`, `versions.json`,
//! `tables.json`, `value_sets.json`, `views.json` or a schema type file: truncated text, bad UTF-8, flipped
//! bits, a missing file, a folder where the file should be, a key deleted, a value of another
//! JSON kind or an odd value (huge, negative, empty, unknown name), `types_dir` pointing
//! elsewhere.
//!
//! Properties: nothing panics; an error names a file of the snapshot (and, for text damage or
//! a missing file, exactly the damaged file; for a missing type file, `tables.json`; for a
//! missing `views.json`, `versions.json`, which lists the views); a
//! snapshot that still loads writes back and loads again unchanged. The undamaged copy loads
//! to exactly the cut-down snapshot, so the test can fail.
//!
//! CI runs 400 cases (under a second in debug; proptest picks a new seed each run). Run longer
//! with e.g. `PROPTEST_CASES=20000 cargo test --release -p cave-schema --test fuzz_snapshot`;
//! `FUZZ_VERBOSE=1` (with `-- --nocapture`) prints what each case came to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cave_schema::{Snapshot, SnapshotError, TypeSet};
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
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const TABLES: [&str; 4] = [
    "aibs_metamodel_celltypes_v661",
    "nucleus_detection_v0",
    "proofreading_status_and_strategy",
    "synapses_pni_2",
];
const VERSIONS: [u32; 3] = [1181, 1300, 1412];

/// The cut-down snapshot, and its files by path relative to the temporary folder
/// (`ds/<file>` and `types/<type>.json`).
struct Base {
    snapshot: Snapshot,
    files: BTreeMap<String, Vec<u8>>,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/minnie65_public");
        let mut s = Snapshot::load(&dir).unwrap_or_else(|e| panic!("{e}"));
        s.tables.retain(|t, _| TABLES.contains(&t.as_str()));
        s.versions.retain(|v| VERSIONS.contains(&v.version));
        for v in &mut s.versions {
            v.tables.retain(|t| TABLES.contains(&t.as_str()));
        }
        s.value_sets
            .columns
            .retain(|t, _| TABLES.contains(&t.as_str()));
        let used_sets: Vec<String> = s
            .value_sets
            .columns
            .values()
            .flat_map(|c| c.values().cloned())
            .collect();
        s.value_sets.value_sets.retain(|n, _| used_sets.contains(n));
        let used_types: Vec<String> = s
            .tables
            .values()
            .filter_map(|t| t.schema_type.clone())
            .collect();
        let docs: Vec<(String, Value)> = used_types
            .iter()
            .map(|t| (t.clone(), s.types.get_doc(t).unwrap().document.clone()))
            .collect();
        s.types = TypeSet::from_documents(docs, "types").unwrap();
        s.manifest.types_dir = "../types".into();
        assert_eq!(s.tables.len(), 4);
        assert_eq!(s.versions.len(), 3);
        assert!(!s.value_sets.value_sets.is_empty());

        let mut files = BTreeMap::new();
        for (name, text) in s.render() {
            files.insert(format!("ds/{name}"), text.into_bytes());
        }
        for (name, text) in s.types.render() {
            files.insert(format!("types/{name}"), text.into_bytes());
        }
        Base { snapshot: s, files }
    })
}

/// Write `files` into a fresh temporary folder; returns it and the datastack folder.
fn write(files: &BTreeMap<String, Vec<u8>>) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("ds")).unwrap();
    std::fs::create_dir_all(tmp.path().join("types")).unwrap();
    for (name, bytes) in files {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
    }
    let ds = tmp.path().join("ds");
    (tmp, ds)
}

/// The file an error names, with `..` resolved (`ds/../types/x.json` is `types/x.json`).
fn error_file(e: &SnapshotError) -> PathBuf {
    let named = match e {
        SnapshotError::Io { file, .. } | SnapshotError::Invalid { file, .. } => file.clone(),
        SnapshotError::Schema(s) => PathBuf::from(&s.source),
    };
    let mut out = PathBuf::new();
    for c in named.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// One kind of damage to one file.
#[derive(Debug, Clone)]
enum Damage {
    /// Cut the text at `at` (before its last `}`, so it is no longer a JSON document).
    Truncate(Index),
    /// Put a byte that is never valid UTF-8 at `at`.
    BadUtf8(Index),
    /// Flip bits.
    Flip(Vec<(Index, u8)>),
    /// Remove the file.
    Missing,
    /// A folder where the file should be.
    Folder,
    /// Delete the key of one object node.
    DeleteKey(Index),
    /// Replace one node by another value.
    Replace(Index, Value),
}

impl Damage {
    /// Whether the loader must refuse the snapshot and name exactly this file.
    fn names_exactly_this_file(&self) -> bool {
        matches!(
            self,
            Damage::Truncate(_) | Damage::BadUtf8(_) | Damage::Missing | Damage::Folder
        )
    }
}

fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!(true)),
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(4294967296u64)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(1e300)),
        Just(json!(-0.0)),
        Just(json!("")),
        Just(json!("no_such_table")),
        Just(json!("synapse")),
        Just(json!("nucleus_detection_v0")),
        Just(json!("2025-13-45T99:99:99Z")),
        Just(json!("2025-01-13T10:10:01.286229Z")),
        Just(json!("seen")),
        Just(json!("../types")),
        Just(json!("..")),
        Just(json!("")),
        Just(json!("snapshot.json")),
        Just(json!("../types/synapse.json")),
        Just(json!([])),
        Just(json!([4, 4, 40])),
        Just(json!([0, 4, 40])),
        Just(json!(["a", "b"])),
        Just(json!({})),
        Just(json!({"x": 1})),
        ".{0,8}".prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
    ]
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        1 => any::<Index>().prop_map(Damage::Truncate),
        1 => any::<Index>().prop_map(Damage::BadUtf8),
        1 => prop::collection::vec((any::<Index>(), 0u8..8), 1..6).prop_map(Damage::Flip),
        1 => Just(Damage::Missing),
        1 => Just(Damage::Folder),
        3 => any::<Index>().prop_map(Damage::DeleteKey),
        4 => (any::<Index>(), odd_value()).prop_map(|(i, v)| Damage::Replace(i, v)),
    ]
}

/// Paths of every node of a JSON value.
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

/// Apply one damage to `files[name]`. Returns false when it does not apply (e.g. a JSON
/// edit of a file that is no longer JSON).
fn apply(
    files: &mut BTreeMap<String, Vec<u8>>,
    folders: &mut Vec<String>,
    name: &str,
    d: &Damage,
) -> bool {
    let Some(bytes) = files.get_mut(name) else {
        return false;
    };
    match d {
        Damage::Truncate(at) => {
            let Some(end) = bytes.iter().rposition(|&b| b == b'}') else {
                return false;
            };
            bytes.truncate(at.index(end.max(1)));
        }
        Damage::BadUtf8(at) => {
            let k = at.index(bytes.len() + 1);
            bytes.insert(k, 0xff);
        }
        Damage::Flip(flips) => {
            if bytes.is_empty() {
                return false;
            }
            for (at, bit) in flips {
                let k = at.index(bytes.len());
                bytes[k] ^= 1 << bit;
            }
        }
        Damage::Missing => {
            files.remove(name);
        }
        Damage::Folder => {
            files.remove(name);
            folders.push(name.to_string());
        }
        Damage::DeleteKey(at) | Damage::Replace(at, _) => {
            let Ok(mut v) = serde_json::from_slice::<Value>(bytes) else {
                return false;
            };
            let all = nodes(&v);
            match d {
                Damage::DeleteKey(_) => {
                    let keyed: Vec<&Vec<String>> = all
                        .iter()
                        .filter(|p| {
                            p.split_last().is_some_and(|(_, parent)| {
                                node_mut(&mut v.clone(), parent).is_object()
                            })
                        })
                        .collect();
                    if keyed.is_empty() {
                        return false;
                    }
                    let path = at.get(&keyed);
                    let (key, parent) = path.split_last().unwrap();
                    node_mut(&mut v, parent)
                        .as_object_mut()
                        .unwrap()
                        .remove(key);
                }
                Damage::Replace(_, value) => {
                    let path = at.get(&all);
                    *node_mut(&mut v, path) = value.clone();
                }
                _ => unreachable!(),
            }
            *bytes = serde_json::to_vec_pretty(&v).unwrap();
        }
    }
    true
}

/// Equal JSON, except that floats may differ in the last place.
fn json_close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x != y => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= x.abs().max(y.abs()) * 4.0 * f64::EPSILON,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_close(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_close(v, w)))
        }
        (x, y) => x == y,
    }
}

fn file_names() -> Vec<String> {
    base().files.keys().cloned().collect()
}

#[test]
fn the_undamaged_copy_loads_to_the_cut_down_snapshot() {
    let (_tmp, ds) = write(&base().files);
    let loaded = Snapshot::load(&ds).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded, base().snapshot);
    assert_eq!(base().files.len(), 6 + loaded.types.len());
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn damaged_snapshots_are_refused_by_file(
        damages in prop::collection::vec((any::<Index>(), damage()), 1..4),
    ) {
        let names = file_names();
        let mut files = base().files.clone();
        let mut folders = Vec::new();
        let mut applied: Vec<(String, Damage)> = Vec::new();
        for (which, d) in &damages {
            let name = which.get(&names);
            if apply(&mut files, &mut folders, name, d) {
                applied.push((name.clone(), d.clone()));
            }
        }
        let (tmp, ds) = write(&files);
        for f in &folders {
            std::fs::create_dir_all(tmp.path().join(f)).unwrap();
        }
        let root = tmp.path().to_path_buf();
        let result = Snapshot::load(&ds);
        if std::env::var_os("FUZZ_VERBOSE").is_some() {
            let kinds: Vec<String> = applied
                .iter()
                .map(|(n, d)| format!("{n}:{}", format!("{d:?}").split('(').next().unwrap_or("")))
                .collect();
            match &result {
                Ok(_) => eprintln!("case OK {kinds:?}"),
                Err(e) => eprintln!("case ERR {kinds:?} {e}"),
            }
        }
        match result {
            Err(e) => {
                let file = error_file(&e);
                let shown = e.to_string();
                prop_assert!(
                    file.starts_with(&root),
                    "the error names a file outside the snapshot: {shown}"
                );
                let named = match &e {
                    SnapshotError::Io { file, .. } | SnapshotError::Invalid { file, .. } => {
                        file.display().to_string()
                    }
                    SnapshotError::Schema(s) => s.source.clone(),
                };
                prop_assert!(shown.starts_with(&named), "{shown}");
                prop_assert!(shown.len() > named.len() + 5, "{shown}");
                if let SnapshotError::Invalid { path, message, .. } = &e {
                    prop_assert!(path.starts_with('$') || path.starts_with("line "), "{shown}");
                    prop_assert!(!message.is_empty(), "{shown}");
                }
                // One damage that makes a file unreadable: that file is the one named, or,
                // for a schema type file that is gone, `tables.json` that needs the type.
                if let [(name, d)] = applied.as_slice()
                    && d.names_exactly_this_file()
                {
                    let expected = match (name.as_str(), d) {
                        (n, Damage::Missing) if n.starts_with("types/") => "ds/tables.json".to_string(),
                        // views.json may be left out; then the versions name unknown views.
                        ("ds/views.json", Damage::Missing) => "ds/versions.json".to_string(),
                        _ => name.clone(),
                    };
                    prop_assert_eq!(
                        file.strip_prefix(&root).unwrap(),
                        Path::new(&expected),
                        "{}", shown
                    );
                }
            }
            Ok(s) => {
                for (name, d) in &applied {
                    prop_assert!(
                        !d.names_exactly_this_file(),
                        "{name} loaded after {d:?}"
                    );
                }
                // What loads writes back and loads again, unchanged.
                let out = tempfile::tempdir().unwrap();
                s.types.write(out.path().join("types")).unwrap();
                let mut again = s.clone();
                again.manifest.types_dir = "../types".into();
                again.write(out.path().join("ds")).unwrap();
                let reloaded = Snapshot::load(out.path().join("ds"))
                    .unwrap_or_else(|e| panic!("a loaded snapshot written back does not load: {e}"));
                if reloaded != again {
                    // serde_json is built without `float_roundtrip`, so a float written and
                    // read back may move by one unit in the last place (e.g.
                    // -908919440911067840.0); anything else is a real difference.
                    let (a, b) = (again.render(), reloaded.render());
                    for (name, text) in &a {
                        let x: Value = serde_json::from_str(text).unwrap();
                        let y: Value = serde_json::from_str(&b[name]).unwrap();
                        prop_assert!(json_close(&x, &y), "{name} changes on a round trip:\n{text}\n{}", b[name]);
                    }
                    prop_assert_eq!(reloaded.types, again.types);
                }
            }
        }
    }
}
