//! The Rust client sends what caveclient 8.2.1 sends: for each of a list of named logical
//! queries, caveclient (tests/conformance/caveclient_requests.py) and the Rust client (typed
//! filters, [`TableQuery`], selections, live queries) run against one devserver that logs every
//! request, and their query POSTs are compared pairwise: path, query string, the body byte for
//! byte, `Content-Type`, `Accept-Encoding`, and the token sent as `Authorization: Bearer` and as
//! the `middle_auth_token` cookie. Every GET the Rust client sends must be one caveclient sends
//! too (same path and query string, same `Accept-Encoding` and token headers). The row counts
//! of both are compared as well.
//!
//! Chunkedgraph calls (names `cg_*`: caveclient's `client.chunkedgraph.<call>`, the Rust
//! [`Client::chunkedgraph`]) are compared wholly: every request of a call, whatever its method,
//! pairwise and in order: method, path, query string, body (JSON text, the JSON bodies of GETs,
//! and the raw little-endian ids of `roots_binary` byte for byte, which the devserver's log
//! holds in `body_hex` as it is not UTF-8), `Content-Type`, `Accept-Encoding`, the token
//! headers and the status. So are their answers: roots, booleans, times to the microsecond,
//! past and future ids, lineage nodes (id, time, operation) and edges in the server's order,
//! latest, original and suggested roots with their shares, leaves. Every timestamp is given
//! explicitly on both sides (a `CAVEclient(version=1300)` fills missing ones with v1300's, the
//! Rust client never uses its client's; docs in `cave-runtime/src/chunkedgraph/`).
//!
//! Intentional differences, asserted as such rather than copied:
//! - `table_manager_target_filter`: caveclient's table manager
//!   (`client.materialize.tables.<t>(...).query()`) sends the join with
//!   `suffix_map = {reference table: "_ref", target: ""}` (docs/WIRE.md, "Join queries"); typed queries
//!   follow `query_table(merge_reference=True)`: `{reference table: "", target: "_ref"}`. The
//!   true equivalent of a typed query with a target filter is `join_query` with those suffixes
//!   (`reference_target_filter`, compared byte for byte). For the table manager, the body must
//!   equal the Rust one once its `suffix_map` is swapped. (Its outer table order in a filter
//!   dict is Python set order when one dict holds both tables, docs/WIRE.md, "Open questions"; the query here
//!   puts one table in each dict, so the order is deterministic and compared.)
//! - not-in filters: sent as `filter_notin_dict` by both, which servers ignore (docs/WIRE.md, "Not-in filters");
//!   the Rust client also drops the excluded rows itself, so its row count is the one caveclient
//!   would have with the filter applied.
//! - synapse queries: caveclient's `synapse_query` keeps the synapses to or from root 0 unless
//!   `include_zeros=False`; the Rust default leaves them out (`.include_zeros(true)` keeps
//!   them), so each Rust query is compared with the caveclient call of the same meaning. With
//!   `include_zeros=False` caveclient sends `filter_notin_dict`, which servers ignore, so its
//!   frame still holds those rows; the Rust client drops them (compared: the rows and ids
//!   once they are dropped, and how many there were).
//! - `desired_resolution` is written as floats on both sides (`[4.0, 4.0, 40.0]`): caveclient
//!   sends what it is given, ints as ints, while the Rust API takes `[f64; 3]` and always sends
//!   floats. Servers read both alike.
//! - GETs: the Rust client sends no `/materialize/api/versions` probe, no `/info/version`, no
//!   version list or version record when the version is given, and no table metadata for
//!   typed queries (it knows the reference statically). Its `User-Agent` is its own. It sends
//!   one GET caveclient's `live_live_query` does not: the versions metadata, before its first
//!   live query ([`RUST_ONLY_GETS`]).
//! - chunkedgraph bootstrap: caveclient reads `/segmentation/api/versions` (to pick the API
//!   version) and `/segmentation/api/version` (its version checks, before
//!   `get_root_timestamps`); the Rust client sends neither ([`CAVECLIENT_ONLY_GETS`]). Both
//!   read `/segmentation/table/{table}/info` once, for `suggest_latest_roots`' default layer
//!   (compared).
//! - `cg_lineage_graph_no_future`: without `timestamp_future`, caveclient adds
//!   `timestamp=<its client's timestamp>&name=timestamp_future` (a slip,
//!   `params.update(..., name="timestamp_future")`, which the server ignores); the Rust client
//!   sends only `timestamp_past`. The query strings must differ by exactly that; the answers
//!   (the server's future bound is now, capped at the public table's release) are the same.
//! - `cg_latest_roots`, `cg_latest_roots_past`, `cg_original_roots`: the compositions first ask
//!   for the root's creation (`root_timestamps?latest=False&timestamp=..`) with caveclient's
//!   client timestamp (v1300's), which cannot be given to the call; the Rust client, which
//!   never uses one, sends now (asserted: a time within the Rust run). The server does not
//!   read it for `latest=False`; the lineage requests that follow are the same.
//! - `cg_root_timestamps_latest`: caveclient returns the times roots stopped being the latest
//!   minus 1 ms; the Rust client the server's times (compared with that 1 ms).
//! - Not met here because every timestamp is explicit (documented in the Rust client):
//!   `is_latest_roots` and `is_valid_nodes` send a timestamp (`end_timestamp`) only when given,
//!   caveclient its client's when it has one; `get_roots`, `get_root_id` and
//!   `get_root_timestamps` default to now, caveclient to its client's timestamp.
//!
//! Needs a Python with caveclient==8.2.1 in `CAVE_CAVECLIENT_PYTHON` (skipped otherwise, unless
//! `CAVE_REQUIRE_CAVECLIENT` is set).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use cave_devserver::{BackgroundServer, ServerConfig};
use cave_runtime::bench::python_json;
use cave_runtime::chrono::{DateTime, Utc};
use cave_runtime::{
    AnnotationId, Client, Compare, LineageGraph, NodeId, RootId, TableQuery, ViewQuery, target,
};
use serde_json::{Map, Value, json};

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = [
            "proofreading_status_and_strategy",
            "aibs_metamodel_celltypes_v661",
            "synapses_pni_2",
            "nucleus_detection_lookup_v1",
            "single_neurons",
            "soma_counts"
        ]
    );
}

use minnie::{
    AibsMetamodelCellType, AibsMetamodelCelltypesV661, ProofreadingStatusAndStrategy, SynapsesPni2,
};

/// GETs the Rust client sends that caveclient's equivalent calls do not, and why.
const RUST_ONLY_GETS: &[(&str, &str)] = &[(
    "/materialize/api/v3/datastack/minnie65_public/metadata?expired=False",
    "before its first live query, the versions with their timestamps: a live query at a \
     version's exact timestamp runs as a query of that version (servers refuse it live, \
     docs/WIRE.md, 'Live queries'), as caveclient's query_table(timestamp=...) does; \
     caveclient's live_live_query sends the live query as it is",
)];

/// GETs caveclient sends before chunkedgraph calls that the Rust client does not, and why.
const CAVECLIENT_ONLY_GETS: &[(&str, &str)] = &[
    (
        "/segmentation/api/versions",
        "caveclient's chunkedgraph client picks its API version; the Rust client speaks v1",
    ),
    (
        "/segmentation/api/version",
        "caveclient checks the server's version before get_root_timestamps' `latest` and \
         `timestamp`; the Rust client sends them to any server",
    ),
];

/// The chunkedgraph calls the Python script must run (their names start with `cg_`).
const CHUNKEDGRAPH_CASES: &[&str] = &[
    "cg_get_roots",
    "cg_get_roots_stop_layer",
    "cg_get_root_id",
    "cg_is_latest_roots",
    "cg_root_timestamps",
    "cg_root_timestamps_latest",
    "cg_get_past_ids",
    "cg_lineage_graph",
    "cg_lineage_graph_no_future",
    "cg_latest_roots",
    "cg_latest_roots_past",
    "cg_original_roots",
    "cg_suggest_latest_roots",
    "cg_delta_roots",
    "cg_leaves",
    "cg_leaves_bounds_stop_layer",
    "cg_leaves_many",
    "cg_leaves_many_bounds",
    "cg_is_valid_nodes",
    "cg_oldest_timestamp",
    "cg_change_log",
];

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const MARKER: &str = "/__wire_marker__/";
const SYN: &str = "synapses_pni_2";
const CT: &str = "aibs_metamodel_celltypes_v661";
const NUC: &str = "nucleus_detection_v0";
const PRF: &str = "proofreading_status_and_strategy";

#[test]
fn rust_client_sends_what_caveclient_sends() {
    let Some(python) = cave_devserver::conformance::caveclient_python() else {
        eprintln!("skipped: set CAVE_CAVECLIENT_PYTHON to a Python with caveclient==8.2.1");
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let mut config = ServerConfig::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/minnie65_public"
    ));
    config.sample.synapses = 20_000;
    config.log_requests = Some(log.clone());
    let server = BackgroundServer::start(config).expect("devserver starts");
    let base = server.base_url.clone();

    // caveclient first.
    let home = tempfile::tempdir().unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/caveclient_requests.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(&base)
        .env("HOME", home.path())
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "caveclient run failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    let names: Vec<String> = seen["queries"]
        .as_array()
        .expect("query names")
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    let python_lines = read_log(&log).len();

    // Then the Rust client, the same queries in the same order, after the same markers.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Client::builder("minnie65_public")
        .server(&base)
        .token(TOKEN)
        .token_search(None, false)
        .version(1300)
        .progress(false)
        .build()
        .unwrap();
    let p = Params(&seen["params"]);
    for case in CHUNKEDGRAPH_CASES {
        assert!(
            names.iter().any(|n| n == case),
            "the Python script runs the chunkedgraph call {case}"
        );
    }
    let mut rust_rows = Map::new();
    let mut rust_ids = Map::new();
    let mut rust_facts = Map::new();
    let mut rust_answers = Map::new();
    let rust_started = Utc::now();
    for name in &names {
        marker(&base, name);
        if is_chunkedgraph(name) {
            let answer = runtime
                .block_on(run_chunkedgraph(name, &client, &p))
                .unwrap_or_else(|e| panic!("{name}: the Rust call failed: {e}"));
            rust_answers.insert(name.clone(), answer);
            continue;
        }
        let mut ids = Vec::new();
        let mut facts = Map::new();
        let rows = runtime
            .block_on(run_rust(name, &client, &p, &mut ids, &mut facts))
            .unwrap_or_else(|e| panic!("{name}: the Rust query failed: {e}"));
        if !facts.is_empty() {
            rust_facts.insert(name.clone(), Value::Object(facts));
        }
        rust_rows.insert(name.clone(), json!(rows));
        if !ids.is_empty() {
            ids.sort_unstable();
            rust_ids.insert(name.clone(), json!(ids));
        }
    }

    let rust_ended = Utc::now();
    let lines = read_log(&log);
    let (python_before, python_segments) = segments(&lines[..python_lines]);
    let (rust_before, rust_segments) = segments(&lines[python_lines..]);
    assert!(rust_before.is_empty(), "requests before the first marker");
    assert_eq!(
        python_segments.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        rust_segments.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "the same queries in the same order"
    );

    let mut problems = Vec::new();
    let mut notes = BTreeSet::new();
    let mut compared = 0;
    let mut compared_cg = 0;
    for ((name, py), (_, rs)) in python_segments.iter().zip(&rust_segments) {
        if is_chunkedgraph(name) {
            // Every request, in order, pairwise.
            let sent = |path: &str| rs.iter().find(|r| r["path"].as_str() == Some(path));
            if name == "cg_get_roots" {
                let raw = sent("/segmentation/api/v1/table/minnie65_public/roots_binary");
                assert!(
                    raw.is_some_and(|r| r["body_hex"].is_string()),
                    "roots_binary's raw body is logged exactly (body_hex): {raw:?}"
                );
            }
            if name == "cg_suggest_latest_roots" {
                assert!(
                    sent("/segmentation/table/minnie65_public/info").is_some(),
                    "suggest_latest_root reads the segmentation's info (compared)"
                );
            }
            compared_cg += compare_chunkedgraph(
                name,
                py,
                rs,
                &p,
                (rust_started, rust_ended),
                &mut problems,
                &mut notes,
            );
            continue;
        }
        let py_posts: Vec<&Value> = py.iter().filter(|r| r["method"] == "POST").collect();
        let rs_posts: Vec<&Value> = rs.iter().filter(|r| r["method"] == "POST").collect();
        if py_posts.len() != rs_posts.len() {
            problems.push(format!(
                "{name}: caveclient sent {} query POST(s), the Rust client {}:\n  caveclient: {:?}\n  rust: {:?}",
                py_posts.len(),
                rs_posts.len(),
                py_posts.iter().map(|r| summary(r)).collect::<Vec<_>>(),
                rs_posts.iter().map(|r| summary(r)).collect::<Vec<_>>()
            ));
        }
        for (py, rs) in py_posts.iter().zip(&rs_posts) {
            compare_post(name, py, rs, &mut problems);
            header_names(py, rs, &mut notes);
            compared += 1;
        }
        for r in rs {
            if r["status"] != 200 {
                problems.push(format!(
                    "{name}: the Rust request {} answered {}",
                    summary(r),
                    r["status"]
                ));
            }
        }
    }

    // GETs: each one the Rust client sends, caveclient sends too, with the same headers.
    let python_gets: Vec<&Value> = python_before
        .iter()
        .chain(python_segments.iter().flat_map(|(_, s)| s.iter()))
        .filter(|r| r["method"] == "GET")
        .collect();
    let mut rust_gets = BTreeSet::new();
    for r in rust_segments
        .iter()
        .flat_map(|(_, s)| s.iter())
        .filter(|r| r["method"] == "GET")
    {
        let key = summary(r);
        let same = python_gets
            .iter()
            .find(|p| p["path"] == r["path"] && p["query"] == r["query"]);
        // A GET of the Rust client's own: its headers are those of any caveclient session GET.
        let own = || {
            RUST_ONLY_GETS
                .iter()
                .any(|(path, _)| key == *path)
                .then(|| {
                    python_gets
                        .iter()
                        .find(|p| p["path"] == "/materialize/version")
                })
                .flatten()
        };
        let Some(py) = same.or_else(own) else {
            problems.push(format!("GET {key}: caveclient never sends it"));
            continue;
        };
        for h in ["accept-encoding", "authorization", "cookie", "content-type"] {
            if py["headers"][h] != r["headers"][h] {
                problems.push(format!(
                    "GET {key}: header {h}: caveclient {}, rust {}",
                    py["headers"][h], r["headers"][h]
                ));
            }
        }
        if same.is_none()
            && let Some((_, why)) = RUST_ONLY_GETS.iter().find(|(path, _)| key == *path)
        {
            notes.insert(format!("GET {key} sent by the Rust client only: {why}"));
        }
        rust_gets.insert(key);
    }

    // Row counts: the same, except that the Rust client applies not-in filters.
    for name in names.iter().filter(|n| !is_chunkedgraph(n)) {
        let want = seen["rows"]
            .get(format!("{name}/not_in_applied"))
            .unwrap_or(&seen["rows"][name]);
        if &rust_rows[name] != want {
            problems.push(format!(
                "{name}: caveclient got {want} rows (not-in filters applied), the Rust client {}",
                rust_rows[name]
            ));
        }
    }

    // Synapse queries: the autapses among the rows, and the rows with root 0 that caveclient
    // kept (the server ignores filter_notin_dict) and the Rust client dropped.
    for (name, facts) in &rust_facts {
        for fact in ["autapses", "zeros"] {
            let want = seen[fact].get(name).cloned().unwrap_or(json!(0));
            if facts.get(fact) != Some(&want) {
                problems.push(format!(
                    "{name}: {fact}: caveclient {want}, the Rust client {:?}",
                    facts.get(fact)
                ));
            }
        }
    }
    assert!(
        seen["zeros"]
            .as_object()
            .is_some_and(|z| z.values().any(|v| v.as_i64() > Some(0)))
            && seen["autapses"]
                .as_object()
                .is_some_and(|a| a.values().any(|v| v.as_i64() > Some(0))),
        "some synapse query meets root 0 and an autapse: {} {}",
        seen["zeros"],
        seen["autapses"]
    );

    // The view and synapse queries' rows themselves (their ids), not only their number.
    let py_ids = seen["ids"].as_object().cloned().unwrap_or_default();
    assert!(
        py_ids.len() >= 8,
        "the Python script reports the rows of its view and synapse queries"
    );
    for (name, want) in &py_ids {
        let got = rust_ids.get(name).cloned().unwrap_or(json!([]));
        // The not-in query: caveclient's rows include the excluded ones (the server ignores
        // filter_notin_dict); the Rust client's are a subset.
        let same = if name == "view_notin_bbox_typed" {
            let want: BTreeSet<i64> = want
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_i64)
                .collect();
            got.as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_i64)
                .all(|i| want.contains(&i))
        } else {
            &got == want
        };
        if !same {
            problems.push(format!(
                "{name}: caveclient's rows {want}, the Rust client's {got}"
            ));
        }
    }
    assert!(
        py_ids
            .values()
            .any(|v| v.as_array().is_some_and(|a| !a.is_empty())),
        "some view query returns rows"
    );

    // The chunkedgraph answers: the same values (roots, booleans, times to the microsecond,
    // lineage nodes and edges, leaves), but for caveclient's 1 ms off `latest` timestamps.
    let py_answers = seen["answers"].as_object().cloned().unwrap_or_default();
    for (name, got) in &rust_answers {
        let want = py_answers.get(name).cloned().unwrap_or(Value::Null);
        let want = if name == "cg_root_timestamps_latest" {
            notes.insert(
                "cg_root_timestamps_latest: the Rust client returns the server's times, \
                 caveclient 1 ms less (compared so)"
                    .into(),
            );
            json!(
                want.as_array()
                    .expect("times")
                    .iter()
                    .map(|t| t.as_i64().expect("microseconds") + 1000)
                    .collect::<Vec<_>>()
            )
        } else {
            want
        };
        if got != &want {
            problems.push(format!(
                "{name}: the answers differ\n  caveclient: {want}\n  rust:       {got}"
            ));
        }
    }
    chunkedgraph_answers_are_meaningful(&py_answers, &p);

    eprintln!(
        "compared {compared} query POSTs of {} queries, {compared_cg} requests of {} \
         chunkedgraph calls; the Rust client's GETs: {rust_gets:?}",
        names.len(),
        rust_answers.len()
    );
    for note in &notes {
        eprintln!("note: {note}");
    }
    eprintln!("took {:.1?}", started.elapsed());
    assert!(
        problems.is_empty(),
        "{} difference(s) between caveclient and the Rust client:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// The values the Python script filtered on.
struct Params<'a>(&'a Value);

impl Params<'_> {
    fn i64(&self, key: &str) -> i64 {
        self.0[key]
            .as_i64()
            .unwrap_or_else(|| panic!("param {key}"))
    }
    fn ids(&self, key: &str) -> Vec<i64> {
        self.0[key]
            .as_array()
            .unwrap_or_else(|| panic!("param {key}"))
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect()
    }
    fn point(&self, key: &str) -> [i32; 3] {
        let v = self.ids(key);
        [v[0] as i32, v[1] as i32, v[2] as i32]
    }
    fn time(&self, key: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(self.0[key].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc)
    }
    fn roots(&self, key: &str) -> Vec<RootId> {
        self.ids(key).into_iter().map(RootId).collect()
    }
    fn root(&self, key: &str) -> RootId {
        RootId(self.i64(key))
    }
    fn str(&self, key: &str) -> &str {
        self.0[key]
            .as_str()
            .unwrap_or_else(|| panic!("param {key}"))
    }
    fn bounds(&self, key: &str) -> [[i64; 2]; 3] {
        let axes = self.0[key]
            .as_array()
            .unwrap_or_else(|| panic!("param {key}"));
        let axis = |k: usize| {
            let a = axes[k].as_array().unwrap();
            [a[0].as_i64().unwrap(), a[1].as_i64().unwrap()]
        };
        [axis(0), axis(1), axis(2)]
    }
}

fn is_chunkedgraph(name: &str) -> bool {
    name.starts_with("cg_")
}

/// The Rust side of each chunkedgraph call of the Python script, its answer as the script
/// writes caveclient's (ids as integers, times in microseconds).
async fn run_chunkedgraph(
    name: &str,
    client: &Client,
    p: &Params<'_>,
) -> Result<Value, cave_runtime::Error> {
    let cg = client.chunkedgraph().await?;
    let (t1181, t1300) = (p.time("cg_t1181"), p.time("cg_t1300"));
    let (old, new) = (p.root("cg_old"), p.root("cg_new"));
    let (split, merged) = (p.root("cg_split"), p.root("cg_merged"));
    let svs = p.ids("cg_svs");
    let roots_1181 = p.roots("cg_roots_1181");
    let bounds = p.bounds("cg_bounds");
    let roots = |r: &[RootId]| json!(r.iter().map(|r| r.0).collect::<Vec<_>>());
    let nodes = |n: &[NodeId]| json!(n.iter().map(|n| n.0).collect::<Vec<_>>());
    let micros =
        |t: &[DateTime<Utc>]| json!(t.iter().map(|t| t.timestamp_micros()).collect::<Vec<_>>());
    let by_node = |m: std::collections::BTreeMap<NodeId, Vec<NodeId>>| {
        Value::Object(m.iter().map(|(k, v)| (k.0.to_string(), nodes(v))).collect())
    };
    Ok(match name {
        "cg_get_roots" => roots(&cg.roots(&svs, Some(t1300), None).await?),
        "cg_get_roots_stop_layer" => roots(&cg.roots(&svs, Some(t1300), Some(3)).await?),
        "cg_get_root_id" => json!(cg.root(svs[0], Some(t1300)).await?.0),
        "cg_is_latest_roots" => json!(cg.is_latest_roots(&roots_1181, Some(t1300)).await?),
        "cg_root_timestamps" => micros(&cg.root_timestamps(&roots_1181, false, Some(t1300)).await?),
        "cg_root_timestamps_latest" => {
            micros(&cg.root_timestamps(&roots_1181, true, Some(t1300)).await?)
        }
        "cg_get_past_ids" => {
            let ids = cg
                .past_id_mapping(&[new, merged, split, new], Some(t1181), Some(t1300))
                .await?;
            json!({
                "past_id_map": ids.past.iter().map(|(k, v)| (k.0.to_string(), roots(v))).collect::<Map<_, _>>(),
                "future_id_map": ids.future.iter().map(|(k, v)| (k.0.to_string(), json!(v.0))).collect::<Map<_, _>>(),
            })
        }
        "cg_lineage_graph" => lineage(
            &cg.lineage_graph(&[split, old], Some(t1181), Some(t1300))
                .await?,
        ),
        "cg_lineage_graph_no_future" => {
            lineage(&cg.lineage_graph(&[old], Some(t1181), None).await?)
        }
        "cg_latest_roots" => roots(&cg.latest_roots(split, Some(t1300)).await?),
        "cg_latest_roots_past" => roots(&cg.latest_roots(new, Some(t1181)).await?),
        "cg_original_roots" => roots(&cg.original_roots(merged, Some(t1181)).await?),
        "cg_suggest_latest_roots" => {
            let s = cg.suggest_latest_root(split, Some(t1300), None).await?;
            assert_eq!(
                (s.root, s.share),
                s.candidates[0],
                "the best candidate first"
            );
            json!({
                "roots": s.candidates.iter().map(|(r, _)| r.0).collect::<Vec<_>>(),
                "shares": s.candidates.iter().map(|(_, f)| *f).collect::<Vec<_>>(),
            })
        }
        "cg_delta_roots" => {
            let d = cg.delta_roots(t1181, Some(t1300)).await?;
            json!({"old": roots(&d.old), "new": roots(&d.new)})
        }
        "cg_leaves" => nodes(&cg.leaves(merged, None, None).await?),
        "cg_leaves_bounds_stop_layer" => nodes(&cg.leaves(merged, Some(bounds), Some(2)).await?),
        "cg_leaves_many" => by_node(cg.leaves_many(&[merged, new, split], None, Some(2)).await?),
        "cg_leaves_many_bounds" => by_node(cg.leaves_many(&[merged], Some(bounds), None).await?),
        "cg_is_valid_nodes" => json!(
            cg.valid_nodes(
                &[old.0, new.0, 0, 12345, split.0, -3],
                Some(t1181),
                Some(t1300)
            )
            .await?
        ),
        "cg_oldest_timestamp" => json!(cg.oldest_timestamp().await?.timestamp_micros()),
        "cg_change_log" => serde_json::to_value(cg.change_log(new).await?).unwrap(),
        other => panic!("the Python script ran `{other}`, which has no Rust equivalent here"),
    })
}

/// A lineage graph as the Python script writes caveclient's: nodes `[id, microseconds,
/// operation id or null]` and links `[source, target]`, in the server's order.
fn lineage(g: &LineageGraph) -> Value {
    json!({
        "nodes": g.nodes().iter().map(|n| json!([n.id.0, n.timestamp.timestamp_micros(), n.operation_id])).collect::<Vec<_>>(),
        "links": g.edges().iter().map(|e| json!([e.source.0, e.target.0])).collect::<Vec<_>>(),
    })
}

/// The chunkedgraph cases meet what they are meant to: stale roots among v1181's, a split
/// with two successors (of equal share, so the order of ties is compared), a merge with
/// several origins, leaves cut by the bounds, nodes valid and not.
fn chunkedgraph_answers_are_meaningful(a: &Map<String, Value>, p: &Params<'_>) {
    let list = |name: &str| -> Vec<Value> {
        a.get(name)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{name}: {:?}", a.get(name)))
            .clone()
    };
    let latest = list("cg_is_latest_roots");
    assert!(
        latest.contains(&json!(true)) && latest.contains(&json!(false)),
        "some v1181 roots are stale at v1300, some not: {latest:?}"
    );
    assert_eq!(list("cg_get_roots").len(), p.ids("cg_svs").len());
    assert_eq!(list("cg_latest_roots").len(), 2, "the split's two roots");
    assert_eq!(
        a["cg_suggest_latest_roots"]["shares"],
        json!([0.5, 0.5]),
        "a tie"
    );
    assert!(list("cg_original_roots").len() >= 2, "the merge's origins");
    let (all, cut) = (list("cg_leaves"), list("cg_leaves_bounds_stop_layer"));
    assert!(
        !cut.is_empty() && cut.len() < all.len(),
        "{cut:?} of {all:?}"
    );
    let valid = list("cg_is_valid_nodes");
    assert!(valid.contains(&json!(true)) && valid.contains(&json!(false)));
    for name in ["cg_lineage_graph", "cg_lineage_graph_no_future"] {
        let links = a[name]["links"].as_array().map_or(0, Vec::len);
        assert!(links > 0, "{name} has edges: {}", a[name]);
    }
}

/// The Rust side of each named query of the Python script; the number of rows it got.
async fn run_rust(
    name: &str,
    client: &Client,
    p: &Params<'_>,
    ids: &mut Vec<i64>,
    facts: &mut Map<String, Value>,
) -> Result<usize, cave_runtime::Error> {
    use minnie::proofreading_status_and_strategy::Column as P;
    let size = p.0["size"].as_f64().unwrap();
    let ct_23p = || AibsMetamodelCellType::from_wire("23P");
    Ok(match name {
        "in_notin_equal_typed" => SynapsesPni2::filter()
            .pre_pt_root_id_in(p.roots("pre_roots"))
            .post_pt_root_id_not_in([RootId(p.i64("post_root"))])
            .size(size as f32)
            .limit(1000)
            .offset(0)
            .query(client)
            .await?
            .len(),
        "in_notin_equal_untyped" => TableQuery::new(SYN)
            .is_in("pre_pt_root_id", p.roots("pre_roots"))
            .not_in("post_pt_root_id", [p.i64("post_root")])
            .equal("size", &size)
            .limit(1000)
            .offset(0)
            .query(client)
            .await?
            .num_rows(),
        "tables_metadata" => client.tables_metadata(None).await?.len(),
        "unique_string_values" => client.unique_string_values(PRF).await?.len(),
        "count_typed" => {
            SynapsesPni2::filter()
                .pre_pt_root_id_in(p.roots("pre_roots"))
                .size_gt(0.1)
                .count(client)
                .await? as usize
        }
        "count_untyped" => {
            TableQuery::new(PRF)
                .equal("status_axon", &true)
                .count(client)
                .await? as usize
        }
        "comparisons_typed" => SynapsesPni2::filter()
            .size_gt(0.1)
            .size_lt(1e16)
            .id_ge(AnnotationId(5))
            .id_le(AnnotationId(900_000_000))
            .limit(7)
            .query(client)
            .await?
            .len(),
        "comparisons_untyped" => TableQuery::new(SYN)
            .compare("size", Compare::Greater, &1e-5_f64)
            .compare("size", Compare::Less, &25000.5_f64)
            .compare(
                "pre_pt_root_id",
                Compare::GreaterEqual,
                &RootId(p.ids("pre_roots")[0]),
            )
            .compare("id", Compare::LessEqual, &123_456_789_i64)
            .limit(7)
            .query(client)
            .await?
            .num_rows(),
        "bbox_typed" => SynapsesPni2::filter()
            .post_pt_position_bbox(p.point("bbox_min"), p.point("bbox_max"))
            .limit(20)
            .query(client)
            .await?
            .len(),
        "regex_typed" => ProofreadingStatusAndStrategy::filter()
            .strategy_axon_regex("^axon_(fully|partially)_extended$|\u{e9}\\d")
            .limit(30)
            .query(client)
            .await?
            .len(),
        "regex_untyped" => TableQuery::new(CT)
            .regex("cell_type", "^2[0-9]P")
            .limit(5)
            .query(client)
            .await?
            .num_rows(),
        "select_typed" => ProofreadingStatusAndStrategy::filter()
            .select([P::PtRootId, P::StrategyAxon, P::PtPosition])
            .limit(4)
            .query(client)
            .await?
            .num_rows(),
        "select_untyped" => TableQuery::new(SYN)
            .select(["id", "size"])
            .limit(3)
            .offset(2)
            .query(client)
            .await?
            .num_rows(),
        "desired_resolution_typed" => SynapsesPni2::filter()
            .pre_pt_root_id_in(p.roots("pre_roots"))
            .desired_resolution([4.0, 4.0, 40.0])
            .limit(5)
            .query(client)
            .await?
            .len(),
        "desired_resolution_untyped" => TableQuery::new(PRF)
            .desired_resolution([1.0, 1.0, 1.0])
            .limit(5)
            .query(client)
            .await?
            .num_rows(),
        "reference_merge_typed" => AibsMetamodelCelltypesV661::filter()
            .cell_type(ct_23p())
            .limit(10)
            .query(client)
            .await?
            .len(),
        "reference_merge_untyped" => TableQuery::new(CT)
            .equal("cell_type", "23P")
            .limit(10)
            .query(client)
            .await?
            .num_rows(),
        // The same typed query, compared with join_query and with the table manager.
        "reference_target_filter" | "table_manager_target_filter" => {
            AibsMetamodelCelltypesV661::filter()
                .pt_root_id_in(p.roots("nucleus_roots"))
                .cell_type(ct_23p())
                .limit(10)
                .query(client)
                .await?
                .len()
        }
        "live_typed" => ProofreadingStatusAndStrategy::filter()
            .status_axon(true)
            .limit(50)
            .live_query(client, p.time("live_ts"))
            .await?
            .len(),
        "live_join_typed" => AibsMetamodelCelltypesV661::filter()
            .cell_type(ct_23p())
            .pt_root_id_in(p.roots("nucleus_roots"))
            .limit(5)
            .live_query(client, p.time("live_ts_whole"))
            .await?
            .len(),
        "random_sample_typed" => SynapsesPni2::filter()
            .random_sample(20)
            .query(client)
            .await?
            .len(),
        "random_sample_join" => AibsMetamodelCelltypesV661::filter()
            .random_sample(15)
            .limit(10)
            .query(client)
            .await?
            .len(),
        "view_typed" => {
            let rows = minnie::NucleusDetectionLookupV1::filter()
                .pt_root_id_in(p.roots("view_roots"))
                .volume_gt(0.5)
                .limit(50)
                .query(client)
                .await?;
            ids.extend(rows.iter().filter_map(|r| r.id).map(|i| i.0));
            rows.len()
        }
        "view_whole_typed" => {
            let rows = minnie::SingleNeurons::filter()
                .limit(10)
                .query(client)
                .await?;
            ids.extend(rows.iter().filter_map(|r| r.id).map(|i| i.0));
            rows.len()
        }
        "view_notin_bbox_typed" => {
            let rows = minnie::SomaCounts::filter()
                .total_count_ge(1)
                .neuron_count_not_in([0_i64])
                .pt_position_bbox(p.point("view_bbox_min"), p.point("view_bbox_max"))
                .query(client)
                .await?;
            assert!(
                rows.iter().all(|r| r.neuron_count != Some(0)),
                "not-in applied"
            );
            ids.extend(rows.iter().filter_map(|r| r.id).map(|i| i.0));
            rows.len()
        }
        "view_untyped" => {
            let batches = ViewQuery::new("aibs_cell_info")
                .equal("broad_type", "excitatory")
                .regex("cell_type", "^[0-9]P")
                .select(["pt_root_id", "cell_type", "pt_position"])
                .offset(1)
                .limit(20)
                .desired_resolution([1.0, 1.0, 1.0])
                .query(client)
                .await?;
            for b in batches.batches() {
                let roots = b
                    .column_by_name("pt_root_id")
                    .and_then(|c| {
                        c.as_any()
                            .downcast_ref::<cave_runtime::arrow::array::Int64Array>()
                    })
                    .expect("pt_root_id is int64");
                ids.extend(roots.iter().flatten());
            }
            batches.num_rows()
        }
        "synapse_pre_one"
        | "synapse_pre_many_no_zeros"
        | "synapse_post_box_keep_autapses_no_zeros"
        | "synapse_pre_post_one" => {
            let (auto, zero) = (RootId(p.i64("syn_auto")), RootId(p.i64("syn_zero")));
            let query = match name {
                "synapse_pre_one" => minnie::Synapses::synapse_query()
                    .pre(auto)
                    .include_zeros(true),
                "synapse_pre_many_no_zeros" => {
                    minnie::Synapses::synapse_query().pre_in([auto, zero])
                }
                "synapse_post_box_keep_autapses_no_zeros" => minnie::Synapses::synapse_query()
                    .post_in([auto])
                    .bounding_box(p.point("syn_box_min"), p.point("syn_box_max"))
                    .keep_autapses(),
                _ => minnie::Synapses::synapse_query()
                    .pre(zero)
                    .post(RootId(0))
                    .include_zeros(true)
                    .keep_autapses(),
            };
            let rows = query.query(client).await?;
            ids.extend(rows.iter().map(|r| r.id.0));
            let autapses = rows
                .iter()
                .filter(|r| r.pre_pt_root_id == r.post_pt_root_id)
                .count();
            facts.insert("autapses".into(), json!(autapses));
            facts.insert("zeros".into(), json!(rows.info().dropped_by_not_in));
            rows.len()
        }
        "untyped_target_filter" => TableQuery::new(CT)
            .is_in(target("pt_root_id"), p.roots("nucleus_roots"))
            .query(client)
            .await?
            .num_rows(),
        other => panic!("the Python script ran `{other}`, which has no Rust equivalent here"),
    })
}

/// Compare one query POST of each client.
fn compare_post(name: &str, py: &Value, rs: &Value, problems: &mut Vec<String>) {
    for field in ["path", "query"] {
        if py[field] != rs[field] {
            problems.push(format!(
                "{name}: {field} differs\n  caveclient: {}\n  rust:       {}",
                py[field], rs[field]
            ));
        }
    }
    let py_body = py["body"].as_str().unwrap_or_default();
    let rs_body = rs["body"].as_str().unwrap_or_default();
    let expected = if name == "table_manager_target_filter" {
        table_manager_as_merge_reference(py_body, problems)
    } else {
        py_body.to_string()
    };
    if expected != rs_body {
        problems.push(format!(
            "{name}: body differs\n{}",
            diff(&expected, rs_body)
        ));
    }
    for h in ["content-type", "accept-encoding"] {
        if py["headers"][h] != rs["headers"][h] {
            problems.push(format!(
                "{name}: header {h}: caveclient {}, rust {}",
                py["headers"][h], rs["headers"][h]
            ));
        }
    }
    // The log redacts the token: `Bearer <redacted>`, `middle_auth_token=<redacted>`.
    for (h, want) in [
        ("authorization", "Bearer <redacted>"),
        ("cookie", "middle_auth_token=<redacted>"),
    ] {
        for (who, r) in [("caveclient", py), ("rust", rs)] {
            if r["headers"][h] != want {
                problems.push(format!(
                    "{name}: {who} sent header {h} {} (expected {want})",
                    r["headers"][h]
                ));
            }
        }
    }
}

/// Compare every request of one chunkedgraph call of each client, in order, pairwise: method,
/// path, query string, body (text, and `body_hex` for the raw ones), `Content-Type`,
/// `Accept-Encoding`, the token headers, the status. caveclient's bootstrap GETs
/// ([`CAVECLIENT_ONLY_GETS`]) are left out first; the documented differences of the query
/// string ([`query_difference`]) are asserted as such. The number of pairs compared.
fn compare_chunkedgraph(
    name: &str,
    py: &[Value],
    rs: &[Value],
    p: &Params<'_>,
    rust_window: (DateTime<Utc>, DateTime<Utc>),
    problems: &mut Vec<String>,
    notes: &mut BTreeSet<String>,
) -> usize {
    let py: Vec<&Value> = py
        .iter()
        .filter(|r| {
            let bootstrap = CAVECLIENT_ONLY_GETS
                .iter()
                .find(|(path, _)| r["method"] == "GET" && r["path"] == *path);
            if let Some((path, why)) = bootstrap {
                notes.insert(format!("GET {path} sent by caveclient only: {why}"));
            }
            bootstrap.is_none()
        })
        .collect();
    let show = |rs: &[&Value]| {
        rs.iter()
            .map(|r| format!("{} {}", r["method"].as_str().unwrap_or("?"), summary(r)))
            .collect::<Vec<_>>()
    };
    let rs: Vec<&Value> = rs.iter().collect();
    if py.len() != rs.len() {
        problems.push(format!(
            "{name}: caveclient sent {} request(s), the Rust client {}:\n  caveclient: {:?}\n  rust:       {:?}",
            py.len(),
            rs.len(),
            show(&py),
            show(&rs)
        ));
        return 0;
    }
    for (i, (py, rs)) in py.iter().zip(&rs).enumerate() {
        let what = format!(
            "{name}: request {} ({} {})",
            i + 1,
            py["method"].as_str().unwrap_or("?"),
            py["path"].as_str().unwrap_or("?")
        );
        // A raw body is compared by its exact bytes (`body` shows it lossily), a body too long
        // for the log by its length and digest.
        let body = if py["body_hex"].is_string() || rs["body_hex"].is_string() {
            "body_hex"
        } else if py["body_fnv1a64"].is_string() || rs["body_fnv1a64"].is_string() {
            "body_fnv1a64"
        } else {
            "body"
        };
        for field in ["method", "path", "body_bytes", body] {
            if py[field] != rs[field] {
                problems.push(format!(
                    "{what}: {field} differs\n  caveclient: {}\n  rust:       {}",
                    py[field], rs[field]
                ));
            }
        }
        match query_difference(name, py, rs, p, rust_window) {
            Some(Ok(note)) => {
                notes.insert(note);
            }
            Some(Err(problem)) => problems.push(format!("{what}: {problem}")),
            None if py["query"] != rs["query"] => problems.push(format!(
                "{what}: query differs\n  caveclient: {}\n  rust:       {}",
                py["query"], rs["query"]
            )),
            None => {}
        }
        for h in ["content-type", "accept-encoding"] {
            if py["headers"][h] != rs["headers"][h] {
                problems.push(format!(
                    "{what}: header {h}: caveclient {}, rust {}",
                    py["headers"][h], rs["headers"][h]
                ));
            }
        }
        // The log redacts the token: `Bearer <redacted>`, `middle_auth_token=<redacted>`.
        for (h, want) in [
            ("authorization", "Bearer <redacted>"),
            ("cookie", "middle_auth_token=<redacted>"),
        ] {
            for (who, r) in [("caveclient", py), ("rust", rs)] {
                if r["headers"][h] != want {
                    problems.push(format!(
                        "{what}: {who} sent header {h} {} (expected {want})",
                        r["headers"][h]
                    ));
                }
            }
        }
        for (who, r) in [("caveclient", py), ("rust", rs)] {
            if r["status"] != 200 {
                problems.push(format!("{what}: {who}'s request answered {}", r["status"]));
            }
        }
        header_names(py, rs, notes);
    }
    py.len()
}

/// The documented differences of a chunkedgraph request's query string: `None` where there
/// is none (the query strings must be equal), else the note that it is as documented, or
/// why it is not.
fn query_difference(
    name: &str,
    py: &Value,
    rs: &Value,
    p: &Params<'_>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Option<Result<String, String>> {
    let t1300 = p.str("cg_t1300_seconds");
    let (py_q, rs_q) = (
        py["query"].as_str().unwrap_or_default(),
        rs["query"].as_str().unwrap_or_default(),
    );
    let path = rs["path"].as_str().unwrap_or_default();
    if name == "cg_lineage_graph_no_future" {
        // `params.update(package_timestamp(self.timestamp), name="timestamp_future")`.
        let want = format!("{rs_q}&timestamp={t1300}&name=timestamp_future");
        return Some(if py_q == want {
            Ok(format!(
                "{name}: caveclient adds `timestamp=<its client's>&name=timestamp_future` \
                 (which the server ignores), the Rust client sends `{rs_q}` only"
            ))
        } else {
            Err(format!(
                "expected caveclient's query `{want}` (the Rust one plus its slip), got `{py_q}`"
            ))
        });
    }
    let composed = matches!(
        name,
        "cg_latest_roots" | "cg_latest_roots_past" | "cg_original_roots"
    );
    if composed && path.ends_with("/root_timestamps") {
        // The creation time of the root: caveclient asks at its client's timestamp (v1300's),
        // the Rust client, which has none, at now; the server does not read it for
        // `latest=False`.
        let rust_now = rs_q
            .strip_prefix("latest=False&timestamp=")
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|t| {
                let micros = (t * 1e6).round() as i64;
                micros >= from.timestamp_micros() - 1_000_000
                    && micros <= to.timestamp_micros() + 1_000_000
            });
        return Some(
            match (py_q == format!("latest=False&timestamp={t1300}"), rust_now) {
                (true, Some(_)) => Ok(format!(
                    "{name}: root_timestamps (the root's creation) at the client's timestamp \
                     for caveclient (v1300's), at now for the Rust client"
                )),
                _ => Err(format!(
                    "expected `latest=False&timestamp={t1300}` from caveclient and \
                     `latest=False&timestamp=<now>` from the Rust client, got `{py_q}` and `{rs_q}`"
                )),
            },
        );
    }
    None
}

/// The table manager's join body with `suffix_map` as `query_table(merge_reference=True)` and
/// typed queries give it; its own must be the reverse (docs/WIRE.md, "Join queries").
fn table_manager_as_merge_reference(body: &str, problems: &mut Vec<String>) -> String {
    let mut value: Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(
        python_json(&value),
        body,
        "the body reads back byte for byte (pyjson writes as json.dumps)"
    );
    let want = json!({CT: "_ref", NUC: ""});
    if value["suffix_map"] != want {
        problems.push(format!(
            "table_manager_target_filter: expected the table manager's suffix_map {want}, got {}",
            value["suffix_map"]
        ));
    }
    value["suffix_map"] = json!({CT: "", NUC: "_ref"});
    python_json(&value)
}

/// Where two texts first differ, with context, then both in full.
fn diff(caveclient: &str, rust: &str) -> String {
    let at = caveclient
        .bytes()
        .zip(rust.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(caveclient.len().min(rust.len()));
    let around = |s: &str| {
        let from = at.saturating_sub(40);
        let to = (at + 40).min(s.len());
        String::from_utf8_lossy(&s.as_bytes()[from.min(s.len())..to]).into_owned()
    };
    format!(
        "  first difference at byte {at}:\n    caveclient: …{}…\n    rust:       …{}…\n  caveclient: {caveclient}\n  rust:       {rust}",
        around(caveclient),
        around(rust)
    )
}

/// Header names only one client sends (User-Agent and the like: reported, not compared).
fn header_names(py: &Value, rs: &Value, notes: &mut BTreeSet<String>) {
    let names = |r: &Value| -> BTreeSet<String> {
        r["headers"]
            .as_object()
            .map(|h| h.keys().cloned().collect())
            .unwrap_or_default()
    };
    let (py, rs) = (names(py), names(rs));
    for h in py.difference(&rs) {
        notes.insert(format!(
            "header `{h}` sent by caveclient only (not compared)"
        ));
    }
    for h in rs.difference(&py) {
        notes.insert(format!(
            "header `{h}` sent by the Rust client only (not compared)"
        ));
    }
}

fn summary(r: &Value) -> String {
    match r["query"].as_str() {
        Some(q) => format!("{}?{q}", r["path"].as_str().unwrap_or_default()),
        None => r["path"].as_str().unwrap_or_default().to_string(),
    }
}

/// `GET /__wire_marker__/<name>`: the log splits into one run of requests per query.
fn marker(base: &str, name: &str) {
    let agent = reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .unwrap();
    let status = agent
        .get(format!("{base}{MARKER}{name}"))
        .header("Authorization", "Bearer marker")
        .send()
        .expect("the marker reaches the server")
        .status();
    assert_eq!(status.as_u16(), 404, "marker {name}");
}

fn read_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("the request log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .collect()
}

type Segment = (String, Vec<Value>);

/// The requests before the first marker, and those after each marker, by marker name.
fn segments(lines: &[Value]) -> (Vec<Value>, Vec<Segment>) {
    let mut before = Vec::new();
    let mut out: Vec<Segment> = Vec::new();
    for line in lines {
        let path = line["path"].as_str().unwrap_or_default();
        if let Some(name) = path.strip_prefix(MARKER) {
            out.push((name.to_string(), Vec::new()));
        } else if let Some((_, requests)) = out.last_mut() {
            requests.push(line.clone());
        } else {
            before.push(line.clone());
        }
    }
    (before, out)
}
