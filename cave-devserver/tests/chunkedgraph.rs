//! The devserver's chunkedgraph over HTTP (docs/WIRE.md, "Chunkedgraph"): consistent with the
//! materialized tables at every sampled version and with live queries, the public table's
//! cap, and PyChunkedGraph's answers and errors.

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use arrow_array::{Array, Int64Array, RecordBatch};
use cave_devserver::chunkedgraph::Service;
use cave_devserver::sample::generate;
use cave_schema::Snapshot;
use common::*;
use serde_json::{Value, json};

const PRF: &str = "proofreading_status_and_strategy";
const T1181: f64 = 1726481401.121167;
const T1300: f64 = 1736763001.286229;

fn cg(base: &str) -> String {
    format!("{base}/segmentation/api/v1/table/minnie65_public")
}

fn int64s(batches: &[RecordBatch], column: &str) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(column).expect(column);
            let a = a.as_any().downcast_ref::<Int64Array>().expect("int64");
            (0..a.len()).map(|i| a.value(i)).collect::<Vec<_>>()
        })
        .collect()
}

/// `id → (pt_supervoxel_id, pt_root_id)` of `table` at `version`.
fn pt_of(base: &str, version: u32, table: &str) -> BTreeMap<i64, (i64, i64)> {
    let (_, batches) = query(base, version, table, "{}").arrow();
    let ids = int64s(&batches, "id");
    let svs = int64s(&batches, "pt_supervoxel_id");
    let roots = int64s(&batches, "pt_root_id");
    ids.into_iter().zip(svs.into_iter().zip(roots)).collect()
}

fn proofread(base: &str, version: u32) -> BTreeMap<i64, (i64, i64)> {
    pt_of(base, version, PRF)
}

fn roots_binary(base: &str, nodes: &[i64], query: &str) -> Reply {
    let body: Vec<u8> = nodes
        .iter()
        .flat_map(|n| (*n as u64).to_le_bytes())
        .collect();
    let reply = agent()
        .post(format!("{}/roots_binary?{query}", cg(base)))
        .header("Authorization", "Bearer test-token")
        .body(body)
        .send()
        .expect("sent");
    let status = reply.status().as_u16();
    Reply {
        status,
        headers: Vec::new(),
        body: reply.bytes().unwrap().to_vec(),
    }
}

fn u64s(bytes: &[u8]) -> Vec<i64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()) as i64)
        .collect()
}

fn post_json(url: &str, body: &Value) -> Reply {
    post(url, &body.to_string(), "gzip")
}

/// A GET with a JSON body, as caveclient sends past_id_mapping and valid_nodes.
fn get_with_body(url: &str, body: &Value) -> Reply {
    let reply = agent()
        .get(url)
        .header("Authorization", "Bearer test-token")
        .body(body.to_string())
        .send()
        .expect("sent");
    let status = reply.status().as_u16();
    Reply {
        status,
        headers: Vec::new(),
        body: reply.bytes().unwrap().to_vec(),
    }
}

#[test]
fn a_versions_supervoxels_have_its_rows_roots_at_its_timestamp() {
    let base = &shared().base_url;
    for (version, t) in [(1181, T1181), (1300, T1300)] {
        let rows = proofread(base, version);
        let (svs, roots): (Vec<i64>, Vec<i64>) = rows.values().copied().unzip();
        let got = u64s(&roots_binary(base, &svs, &format!("timestamp={t}")).body);
        assert_eq!(got, roots, "v{version}");
        let (sv, root) = rows.values().next().copied().unwrap();
        let one = get(&format!("{}/node/{sv}/root?timestamp={t}", cg(base))).json();
        assert_eq!(one, json!({"root_id": root}));
        assert_eq!(
            post_json(
                &format!("{}/is_latest_roots?timestamp={t}", cg(base)),
                &json!({"node_ids": roots})
            )
            .json()["is_latest"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|b| b.as_bool() == Some(true))
                .count(),
            roots.len(),
            "every root of v{version} is the latest at its timestamp"
        );
    }
}

#[test]
fn an_edited_cell_has_its_history() {
    let base = &shared().base_url;
    let nuc = "nucleus_detection_v0";
    let (early, late) = (pt_of(base, 1181, nuc), pt_of(base, 1300, nuc));
    let (sv, old, new) = early
        .iter()
        .find_map(|(id, (sv, old))| {
            let (later_sv, new) = late.get(id)?;
            (new != old && later_sv == sv && *old != 0).then_some((*sv, *old, *new))
        })
        .expect("a nucleus whose cell was edited between v1181 and v1300");
    let latest = |root: i64, t: f64| {
        post_json(
            &format!("{}/is_latest_roots?timestamp={t}", cg(base)),
            &json!({"node_ids": [root]}),
        )
        .json()["is_latest"][0]
            .as_bool()
            .unwrap()
    };
    assert!(latest(old, T1181) && !latest(old, T1300) && latest(new, T1300));
    // When the old root stopped being the latest: between the versions.
    let ts = post_json(
        &format!("{}/root_timestamps?latest=True&timestamp={T1300}", cg(base)),
        &json!({"node_ids": [old, new]}),
    )
    .json();
    let (retired, still) = (
        ts["timestamp"][0].as_f64().unwrap(),
        ts["timestamp"][1].as_f64().unwrap(),
    );
    assert!(retired > T1181 && retired < T1300, "{ts}");
    assert_eq!(still, T1300);
    // caveclient's `latest=False` reads as false (toboolean), so creation times come back.
    let created = post_json(
        &format!(
            "{}/root_timestamps?latest=False&timestamp={T1300}",
            cg(base)
        ),
        &json!({"node_ids": [new]}),
    )
    .json()["timestamp"][0]
        .as_f64()
        .unwrap();
    assert!(
        created > T1181 && created <= retired + 1e-6,
        "{created} {retired}"
    );
    // The lineage from the old root reaches the new one, which has no successor by v1300.
    let g = post_json(
        &format!(
            "{}/lineage_graph_multiple?timestamp_past={T1181}&timestamp_future={T1300}",
            cg(base)
        ),
        &json!({"root_ids": [old]}),
    )
    .json();
    let links: Vec<(i64, i64)> = g["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["source"].as_i64().unwrap(), l["target"].as_i64().unwrap()))
        .collect();
    assert!(links.iter().any(|&(s, _)| s == old), "{g}");
    assert!(
        g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == json!(new))
    );
    assert!(!links.iter().any(|&(s, _)| s == new));
    let old_node = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == json!(old))
        .unwrap();
    assert!(old_node["operation_id"].as_u64().is_some(), "{old_node}");
    // Past ids of the new root include the old one; delta roots over the interval list both.
    let m = get_with_body(
        &format!(
            "{}/past_id_mapping?timestamp_past={T1181}&timestamp_future={T1300}",
            cg(base)
        ),
        &json!({"root_ids": [new]}),
    )
    .json();
    assert!(
        m["past_id_map"][new.to_string()]
            .as_array()
            .unwrap()
            .contains(&json!(old)),
        "{m}"
    );
    let d = get(&format!(
        "{}/delta_roots?timestamp_past={T1181}&timestamp_future={T1300}",
        cg(base)
    ))
    .json();
    assert!(d["old_roots"].as_array().unwrap().contains(&json!(old)));
    assert!(d["new_roots"].as_array().unwrap().contains(&json!(new)));
    // Leaves: the supervoxel is one of the new root's; at layer 3, under layer-3 bits; inside
    // a box around its chunk and not outside.
    let leaves = get(&format!("{}/node/{new}/leaves", cg(base))).json();
    assert!(leaves["leaf_ids"].as_array().unwrap().contains(&json!(sv)));
    let layer3 = ((sv as u64 & ((1 << 56) - 1)) | (3 << 56)) as i64;
    let l3 = get(&format!("{}/node/{new}/leaves?stop_layer=3", cg(base))).json();
    assert!(l3["leaf_ids"].as_array().unwrap().contains(&json!(layer3)));
    let (corner, _) = cave_devserver::sample::chunk_box(sv);
    let inside = format!(
        "{}-{}_{}-{}_{}-{}",
        corner[0],
        corner[0] + 1,
        corner[1],
        corner[1] + 1,
        corner[2],
        corner[2] + 1
    );
    let boxed = get(&format!("{}/node/{new}/leaves?bounds={inside}", cg(base))).json();
    assert!(boxed["leaf_ids"].as_array().unwrap().contains(&json!(sv)));
    let outside = "0-1_0-1_0-1";
    let none = get(&format!("{}/node/{new}/leaves?bounds={outside}", cg(base))).json();
    assert_eq!(none["leaf_ids"], json!([]));
    // The layer-3 node's root is the root; many leaves at once.
    assert_eq!(
        u64s(&roots_binary(base, &[layer3], &format!("timestamp={T1300}")).body),
        [new]
    );
    let many = post_json(
        &format!("{}/node/leaves_many", cg(base)),
        &json!({"node_ids": [new]}),
    )
    .json();
    assert_eq!(many[new.to_string()], leaves["leaf_ids"]);
    // The change log and the tabular one count its edits.
    let log = get(&format!("{}/root/{new}/change_log?filtered=True", cg(base))).json();
    let edits = log["n_mergers"].as_u64().unwrap() + log["n_splits"].as_u64().unwrap();
    assert!(
        edits >= 1 && log["past_ids"].as_array().unwrap().contains(&json!(old)),
        "{log}"
    );
    let tab = get_with_body(
        &format!("{}/tabular_change_log_many?filtered=True", cg(base)),
        &json!({"root_ids": [new]}),
    )
    .json();
    let frame: Value = serde_json::from_str(tab[new.to_string()].as_str().unwrap()).unwrap();
    assert_eq!(
        frame["operation_id"].as_object().unwrap().len() as u64,
        edits
    );
    // Valid nodes in caveclient's default window; the oldest timestamp before every root.
    let valid = get_with_body(
        &format!(
            "{}/valid_nodes?start_timestamp=946684800.0&end_timestamp={T1300}",
            cg(base)
        ),
        &json!({"node_ids": [old, new, 12345]}),
    )
    .json();
    assert_eq!(valid["valid_roots"], json!([old, new]));
    let oldest = get(&format!("{}/oldest_timestamp", cg(base))).json();
    let iso = oldest["iso"].as_str().unwrap();
    let oldest = chrono::DateTime::parse_from_str(iso, "%Y-%m-%d %H:%M:%S%.f%:z").unwrap();
    assert!((oldest.timestamp() as f64) < T1181, "{iso}");
}

/// The same history as the server's, built here to find the edits after its release.
fn service() -> &'static (Service, cave_devserver::store::Dataset) {
    static S: OnceLock<(Service, cave_devserver::store::Dataset)> = OnceLock::new();
    S.get_or_init(|| {
        let snapshot = Snapshot::load(snapshot_dir()).unwrap();
        let data = generate(&snapshot, &small_config().sample).unwrap();
        (Service::of(&snapshot, &data), data)
    })
}

#[test]
fn the_public_table_caps_every_time_at_its_release_and_refuses_later_roots() {
    let base = &shared().base_url;
    let (service, data) = service();
    let release = service.release.expect("a public table");
    let h = &service.graph(data).history;
    let after = h
        .ops
        .iter()
        .find(|o| o.ts > release)
        .expect("an edit after the release");
    let later_root = h.roots[after.after[0]].id;
    let earlier_root = h.roots[after.before[0]].id;
    let sv = h.members[after.before[0]][0];
    // Far in the future, the supervoxel still has its root of the release.
    let far = 4_000_000_000.0;
    assert_eq!(
        u64s(&roots_binary(base, &[sv], &format!("timestamp={far}")).body),
        [earlier_root]
    );
    let latest = post_json(
        &format!("{}/is_latest_roots", cg(base)),
        &json!({"node_ids": [earlier_root, later_root]}),
    )
    .json();
    assert_eq!(latest["is_latest"], json!([true, false]));
    // A root made after the release, by id in the path: refused.
    let refused = get(&format!("{}/node/{later_root}/leaves", cg(base)));
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.json()["message"],
        "[401]: root_id not valid at timestamp"
    );
    assert_eq!(refused.json()["code"], 401);
    let refused = post_json(
        &format!("{}/node/leaves_many", cg(base)),
        &json!({"node_ids": [later_root]}),
    );
    assert_eq!(refused.status, 401);
}

#[test]
fn bad_requests_get_pychunkedgraphs_errors() {
    let base = &shared().base_url;
    let bad_time = get(&format!("{}/node/1/root?timestamp=soon", cg(base)));
    assert_eq!(bad_time.status, 400);
    let e = bad_time.json();
    assert_eq!(e["code"], 400);
    assert_eq!(
        e["message"],
        "[400]: Timestamp parameter timestamp is not a valid unix timestamp"
    );
    assert!(
        e["timestamp"].is_string() && e["duration"].is_number(),
        "{e}"
    );
    let cut = agent()
        .post(format!("{}/roots_binary", cg(base)))
        .header("Authorization", "Bearer test-token")
        .body(vec![0u8; 7])
        .send()
        .unwrap();
    assert_eq!(cut.status().as_u16(), 400);
    let other = get(&format!(
        "{base}/segmentation/api/v1/table/minnie3_v1/oldest_timestamp"
    ));
    assert_eq!(other.status, 404);
    assert!(
        other.json()["message"]
            .as_str()
            .unwrap()
            .contains("minnie3_v1")
    );
    assert_eq!(
        get_anonymous(&format!("{}/oldest_timestamp", cg(base))).status,
        401
    );
    let no_list = post_json(
        &format!("{}/is_latest_roots", cg(base)),
        &json!({"ids": []}),
    );
    assert_eq!(no_list.status, 400);
    assert!(
        no_list.json()["message"]
            .as_str()
            .unwrap()
            .contains("node_ids")
    );
    // Unknown supervoxels have root 0 (fail_to_zero), and one asked alone is an error.
    assert_eq!(u64s(&roots_binary(base, &[(1 << 56) | 5], "").body), [0]);
    assert_eq!(
        get(&format!("{}/node/{}/root", cg(base), (1u64 << 56) | 5)).status,
        400
    );
    // Versions: the API list and the server's version, as caveclient reads them.
    assert_eq!(
        get(&format!("{base}/segmentation/api/versions")).json(),
        json!([0, 1])
    );
    assert!(
        get(&format!("{base}/segmentation/api/version"))
            .json()
            .is_string()
    );
    let info = get(&format!("{base}/segmentation/table/minnie65_public/info")).json();
    assert_eq!(info["graph"]["n_layers"], 12);
}

#[test]
fn ids_come_as_strings_when_asked() {
    let base = &shared().base_url;
    let rows = proofread(base, 1300);
    let (sv, root) = rows.values().next().copied().unwrap();
    let text = get(&format!(
        "{}/node/{sv}/root?int64_as_str=true&timestamp={T1300}",
        cg(base)
    ));
    assert_eq!(text.json(), json!({"root_id": root.to_string()}));
    assert!(text.body.ends_with(b"\n") && !text.body.contains(&b' '));
}

#[test]
fn live_queries_see_the_edits_after_the_last_version() {
    let base = &shared().base_url;
    let (service, _) = service();
    let release = service.release.unwrap() as f64 / 1e9;
    // Between the last version and the release: some roots changed since v1300.
    let t = T1300 + (release - T1300) * 0.9;
    let iso = chrono::DateTime::from_timestamp_micros((t * 1e6) as i64)
        .unwrap()
        .to_rfc3339();
    let url = format!(
        "{}/query?return_pyarrow=True&arrow_format=True&merge_reference=False&allow_missing_lookups=False&allow_invalid_root_ids=False&direct_sql_pandas=True",
        v3(base)
    );
    let body = json!({"table": PRF, "timestamp": iso});
    let (_, batches) = post_json(&url, &body).arrow();
    let (svs, roots) = (
        int64s(&batches, "pt_supervoxel_id"),
        int64s(&batches, "pt_root_id"),
    );
    let at_t = u64s(&roots_binary(base, &svs, &format!("timestamp={t}")).body);
    assert_eq!(
        roots, at_t,
        "a live row's root is its supervoxel's root at the query's time"
    );
    let frozen = proofread(base, 1300);
    let changed = svs
        .iter()
        .zip(&roots)
        .filter(|(sv, r)| frozen.values().any(|(s, fr)| s == *sv && fr != *r))
        .count();
    assert!(changed > 0, "some proofread roots were edited after v1300");
}
