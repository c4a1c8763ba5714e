//! Auth, metadata routes, faults and the request log of the devserver.

mod common;

use std::time::{Duration, Instant};

use cave_devserver::{BackgroundServer, FaultSpec};
use common::*;
use serde_json::Value;

#[test]
fn auth_layer_answers_as_middle_auth_client() {
    let base = &shared().base_url;
    let url = format!("{base}/info/api/v2/datastack/full/minnie65_public");
    let reply = get_anonymous(&url);
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"], "no_token");
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer realm=")
    );
    let reply = get(&format!("{base}/info/api/v2/datastack/full/nope"));
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_table_id");
    // Open routes need no token.
    assert_eq!(
        get_anonymous(&format!("{base}/materialize/api/versions")).json(),
        serde_json::json!([2, 3])
    );
    assert_eq!(
        get_anonymous(&format!("{base}/schema/versions")).json(),
        serde_json::json!([2])
    );
}

#[test]
fn info_record_points_at_this_server() {
    let base = &shared().base_url;
    let info = get(&format!(
        "{base}/info/api/v2/datastack/full/minnie65_public"
    ))
    .json();
    assert_eq!(info["local_server"], Value::from(base.as_str()));
    assert_eq!(info["synapse_table"], "synapses_pni_2");
    assert_eq!(info["soma_table"], "nucleus_detection_v0");
    assert_eq!(info["viewer_resolution_z"], 40.0);
}

#[test]
fn schema_service_serves_the_snapshot_types() {
    let base = &shared().base_url;
    let names = get(&format!("{base}/schema/api/v2/type")).json();
    assert_eq!(names.as_array().unwrap().len(), 57);
    let synapse = get(&format!("{base}/schema/api/v2/type/synapse")).json();
    assert_eq!(synapse["$ref"], "#/definitions/SynapseSchema");
    let all = get(&format!("{base}/schema/api/v2/types_all")).json();
    assert_eq!(all.as_object().unwrap().len(), 57);
    let reply = get(&format!("{base}/schema/api/v2/type/nope"));
    assert_eq!(reply.status, 404);
    let url = format!("{base}/schema/api/v2/types?schema_names=synapse,cell_type_reference");
    let agent_reply = post(&url, "", "gzip");
    assert_eq!(agent_reply.json().as_object().unwrap().len(), 2);
}

#[test]
fn versions_and_table_metadata() {
    let base = &shared().base_url;
    let valid = get(&format!("{}/versions?expired=False", v3(base))).json();
    let all = get(&format!("{}/versions?expired=True", v3(base))).json();
    assert!(valid.as_array().unwrap().contains(&Value::from(1300)));
    assert!(!valid.as_array().unwrap().contains(&Value::from(1181)));
    assert!(all.as_array().unwrap().contains(&Value::from(1181)));
    let v = get(&format!("{}/version/1300", v3(base))).json();
    assert_eq!(v["time_stamp"], "2025-01-13T10:10:01.286229");
    assert_eq!(v["datastack"], "minnie65_phase3_v1");
    let tables = get(&format!(
        "{base}/materialize/api/v2/datastack/minnie65_public/version/1300/tables"
    ))
    .json();
    assert_eq!(tables.as_array().unwrap().len(), 31);
    let meta = get(&format!(
        "{}/version/1300/table/aibs_metamodel_celltypes_v661/metadata",
        v3(base)
    ))
    .json();
    assert_eq!(meta["reference_table"], "nucleus_detection_v0");
    assert_eq!(meta["schema_type"], "cell_type_reference");
    assert_eq!(meta["voxel_resolution_x"], 4.0);
    let all_meta = get(&format!("{}/version/1300/tables/metadata", v3(base))).json();
    assert_eq!(all_meta.as_array().unwrap().len(), 31);
    let count = get(&format!("{base}/materialize/api/v2/datastack/minnie65_public/version/1300/table/proofreading_status_and_strategy/count")).json();
    assert_eq!(count, 1865);
    let unique = get(&format!(
        "{}/table/proofreading_status_and_strategy/unique_string_values",
        v3(base)
    ))
    .json();
    let strategies = unique["strategy_axon"].as_array().unwrap();
    assert!(strategies.contains(&Value::from("axon_fully_extended")));
    // The snapshot's views of v1300 (their routes: tests/views.rs).
    let views = get(&format!("{}/version/1300/views", v3(base))).json();
    assert!(views.get("aibs_cell_info").is_some(), "{views}");
}

#[test]
fn faults_token_and_request_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let mut config = small_config();
    config.log_requests = Some(log.clone());
    config.token = Some("0123456789abcdef0123456789abcdef".into());
    config.faults = vec![
        FaultSpec::parse("status=503,count=2,path=/materialize/version,retry_after=1").unwrap(),
    ];
    let server = BackgroundServer::start(config).unwrap();
    let base = server.base_url.clone();
    let version_url = format!("{base}/materialize/version");
    for _ in 0..2 {
        let reply = get(&version_url);
        assert_eq!(reply.status, 503);
        assert_eq!(reply.header("retry-after"), Some("1"));
    }
    assert_eq!(get(&version_url).json(), "5.26.4");
    // Only the configured token passes.
    let reply = get(&format!("{}/versions", v3(&base)));
    assert_eq!(
        (reply.status, reply.json()["error"].clone()),
        (401, Value::from("invalid_token"))
    );
    // Latency, wrong content type, and a cut body.
    server
        .faults()
        .push(FaultSpec::parse("latency_ms=300,path=/info/version").unwrap());
    let started = Instant::now();
    assert_eq!(get_anonymous(&format!("{base}/info/version")).status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    server
        .faults()
        .push(FaultSpec::parse("content_type=text/html,path=/info/version").unwrap());
    assert_eq!(
        get_anonymous(&format!("{base}/info/version")).header("content-type"),
        Some("text/html")
    );
    server
        .faults()
        .push(FaultSpec::parse("truncate=3,path=/schema/api/v2/types_all").unwrap());
    let cut = agent()
        .get(format!("{base}/schema/api/v2/types_all"))
        .send()
        .and_then(|r| r.bytes());
    assert!(
        cut.is_err(),
        "a cut body must fail to read, got {} bytes",
        cut.map(|b| b.len()).unwrap_or(0)
    );
    assert_eq!(
        get_anonymous(&format!("{base}/schema/versions")).status,
        200
    );
    // Raw bodies: a small one logged exactly, long ones (over LOGGED_BODY_BYTES) by length and
    // digest, which tells two bodies of one length apart.
    let roots_binary = format!("{base}/segmentation/api/v1/table/minnie65_public/roots_binary");
    let long = cave_devserver::LOGGED_BODY_BYTES + 8;
    for body in [vec![0xffu8; 16], vec![0u8; long], {
        let mut b = vec![0u8; long];
        b[long - 1] = 1;
        b
    }] {
        let status = agent()
            .post(&roots_binary)
            .header("Authorization", "Bearer 0123456789abcdef0123456789abcdef")
            .body(body)
            .send()
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("0123456789abcdef"),
        "the token must not be logged"
    );
    assert!(!text.contains("test-token"), "the token must not be logged");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 8);
    assert_eq!(lines[0]["method"], "GET");
    assert_eq!(lines[0]["path"], "/materialize/version");
    assert_eq!(lines[0]["status"], 503);
    assert_eq!(lines[0]["headers"]["authorization"], "Bearer <redacted>");
    let raw: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/roots_binary"))
        })
        .collect();
    assert_eq!(raw.len(), 3, "{raw:?}");
    assert_eq!(raw[0]["body_hex"], "ff".repeat(16));
    assert_eq!(raw[0]["body_bytes"], 16);
    let long = cave_devserver::LOGGED_BODY_BYTES + 8;
    for line in &raw[1..] {
        assert_eq!(line["body_bytes"], long);
        assert!(
            line.get("body").is_none() && line.get("body_hex").is_none(),
            "{line}"
        );
        assert_eq!(
            line["body_fnv1a64"].as_str().map(str::len),
            Some(16),
            "{line}"
        );
    }
    assert_ne!(raw[1]["body_fnv1a64"], raw[2]["body_fnv1a64"]);
}

#[test]
fn the_row_cap_truncates_with_the_warning() {
    let mut config = small_config();
    config.row_limit = 1000;
    let server = BackgroundServer::start(config).unwrap();
    for body in ["{}", r#"{"limit": 5000}"#] {
        let reply = query(&server.base_url, 1300, "nucleus_detection_v0", body);
        assert!(
            reply
                .header_all("warning")
                .contains(&"201 - \"Limited query to 1000 rows"),
            "{:?}",
            reply.header_all("warning")
        );
        assert_eq!(rows(&reply.arrow().1), 1000);
    }
}
