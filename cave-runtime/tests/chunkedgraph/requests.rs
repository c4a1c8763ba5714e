//! Every call's requests, byte for byte caveclient 8.2.1's. The expected strings are what
//! caveclient's `ChunkedGraphClient` sent for the same calls (same ids, same times) to a
//! recording server; where this client differs on purpose, the test says so.

use cave_runtime::{NodeId, RootId, SupervoxelId};

use crate::mock::{Mock, Seen, TOKEN};
use crate::{P, R1, R2, canned, t, t1};

/// What one request must be: method, target (path and query string), content type, body.
struct Want<'a> {
    method: &'a str,
    target: String,
    content_type: Option<&'a str>,
    body: Body<'a>,
}

enum Body<'a> {
    None,
    Text(&'a str),
    Ids(&'a [u64]),
}

fn get(target: String) -> Want<'static> {
    Want {
        method: "GET",
        target,
        content_type: None,
        body: Body::None,
    }
}

fn get_with(target: String, body: &str) -> Want<'_> {
    Want {
        body: Body::Text(body),
        ..get(target)
    }
}

fn post(target: String, body: &str) -> Want<'_> {
    Want {
        method: "POST",
        target,
        content_type: None,
        body: Body::Text(body),
    }
}

fn post_ids(target: String, ids: &[u64]) -> Want<'_> {
    Want {
        method: "POST",
        target,
        content_type: None,
        body: Body::Ids(ids),
    }
}

/// The requests `mock` saw since the last check are exactly `want`, each with the token as
/// caveclient sends it and requests' `Accept-Encoding`.
fn check(mock: &Mock, call: &str, want: &[Want<'_>]) {
    let seen = mock.take();
    let shown: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.target))
        .collect();
    assert_eq!(seen.len(), want.len(), "{call}: {shown:#?}");
    for (i, (s, w)) in seen.iter().zip(want).enumerate() {
        let at = format!("{call}, request {i}");
        assert_eq!(s.method, w.method, "{at}");
        assert_eq!(s.target, w.target, "{at}");
        assert_eq!(s.header("content-type"), w.content_type, "{at}");
        assert_eq!(s.header("accept-encoding"), Some("gzip, deflate"), "{at}");
        assert_token(s, &at);
        match w.body {
            Body::None => assert!(s.body.is_empty(), "{at}: {:?}", s.body),
            Body::Text(text) => {
                assert_eq!(s.text(), text, "{at}");
                assert_eq!(
                    s.header("content-length"),
                    Some(text.len().to_string().as_str()),
                    "{at}"
                );
            }
            Body::Ids(ids) => assert_eq!(s.ids(), ids, "{at}"),
        }
    }
}

fn assert_token(s: &Seen, at: &str) {
    assert_eq!(
        s.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str()),
        "{at}"
    );
    assert_eq!(
        s.header("cookie"),
        Some(format!("middle_auth_token={TOKEN}").as_str()),
        "{at}"
    );
}

const T: &str = "1736763001.286229";
const T1: &str = "1704067200.0";
const BOUNDS: [[i64; 2]; 3] = [[100, 200], [300, 400], [10, 20]];

#[tokio::test]
async fn each_call_sends_what_caveclient_sends() {
    let mock = Mock::start(Some(crate::mock::MINNIE_SOURCE), canned);
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    assert_eq!(cg.table(), "minnie65_public");
    assert_eq!(cg.server(), mock.url);
    check(&mock, "chunkedgraph()", &[]);

    cg.roots(&[SupervoxelId(5), SupervoxelId(6)], Some(t()), None)
        .await
        .unwrap();
    check(
        &mock,
        "roots",
        &[post_ids(format!("{P}/roots_binary?timestamp={T}"), &[5, 6])],
    );
    cg.roots(&[5i64], Some(t()), Some(2)).await.unwrap();
    check(
        &mock,
        "roots, stop_layer",
        &[post_ids(
            format!("{P}/roots_binary?timestamp={T}&stop_layer=2"),
            &[5],
        )],
    );

    cg.root(SupervoxelId(5), Some(t())).await.unwrap();
    check(
        &mock,
        "root",
        &[get(format!("{P}/node/5/root?timestamp={T}"))],
    );

    let (r1, r2) = (RootId(R1), RootId(R2));
    cg.is_latest_roots(&[r2, r1, r2], Some(t())).await.unwrap();
    check(
        &mock,
        "is_latest_roots",
        &[post(
            format!("{P}/is_latest_roots?timestamp={T}"),
            &format!(r#"{{"node_ids": [{R2}, {R1}, {R2}]}}"#),
        )],
    );
    cg.is_latest_roots(&[r1], None).await.unwrap();
    check(
        &mock,
        "is_latest_roots without a time",
        &[post(
            format!("{P}/is_latest_roots"),
            &format!(r#"{{"node_ids": [{R1}]}}"#),
        )],
    );

    cg.root_timestamps(&[r2, r1], false, Some(t()))
        .await
        .unwrap();
    check(
        &mock,
        "root_timestamps",
        &[post(
            format!("{P}/root_timestamps?latest=False&timestamp={T}"),
            &format!(r#"{{"node_ids": [{R2}, {R1}]}}"#),
        )],
    );
    cg.root_timestamps(&[r1], true, Some(t())).await.unwrap();
    check(
        &mock,
        "root_timestamps, latest",
        &[post(
            format!("{P}/root_timestamps?latest=True&timestamp={T}"),
            &format!(r#"{{"node_ids": [{R1}]}}"#),
        )],
    );

    cg.past_id_mapping(&[r2, r1, r2], Some(t1()), Some(t()))
        .await
        .unwrap();
    check(
        &mock,
        "past_id_mapping",
        &[get_with(
            format!("{P}/past_id_mapping?timestamp_past={T1}&timestamp_future={T}"),
            &format!(r#"{{"root_ids": [{R1}, {R2}]}}"#),
        )],
    );
    cg.past_id_mapping(&[r1], None, None).await.unwrap();
    check(
        &mock,
        "past_id_mapping without times",
        &[get_with(
            format!("{P}/past_id_mapping"),
            &format!(r#"{{"root_ids": [{R1}]}}"#),
        )],
    );

    cg.lineage_graph(&[r2, r1, r2], Some(t1()), Some(t()))
        .await
        .unwrap();
    check(
        &mock,
        "lineage_graph",
        &[post(
            format!("{P}/lineage_graph_multiple?timestamp_past={T1}&timestamp_future={T}"),
            &format!(r#"{{"root_ids": [{R1}, {R2}]}}"#),
        )],
    );
    // caveclient: `?timestamp_past=1704067200.0&name=timestamp_future` (its slip, ignored by
    // the server); not copied.
    cg.lineage_graph(&[r1], Some(t1()), None).await.unwrap();
    check(
        &mock,
        "lineage_graph without a future",
        &[post(
            format!("{P}/lineage_graph_multiple?timestamp_past={T1}"),
            &format!(r#"{{"root_ids": [{R1}]}}"#),
        )],
    );

    cg.delta_roots(t1(), Some(t())).await.unwrap();
    check(
        &mock,
        "delta_roots",
        &[get(format!(
            "{P}/delta_roots?timestamp_past={T1}&timestamp_future={T}"
        ))],
    );

    cg.leaves(r1, Some(BOUNDS), Some(2)).await.unwrap();
    check(
        &mock,
        "leaves",
        &[get(format!(
            "{P}/node/{R1}/leaves?bounds=100-200_300-400_10-20&stop_layer=2"
        ))],
    );
    cg.leaves(NodeId(R1), None, None).await.unwrap();
    check(
        &mock,
        "leaves, plain",
        &[get(format!("{P}/node/{R1}/leaves"))],
    );

    cg.leaves_many(&[r2, r1], Some(BOUNDS), Some(2))
        .await
        .unwrap();
    let body = format!(r#"{{"node_ids": [{R2}, {R1}]}}"#);
    check(
        &mock,
        "leaves_many",
        &[Want {
            content_type: Some("application/json"),
            ..post(
                format!("{P}/node/leaves_many?bounds=100-200_300-400_10-20&stop_layer=2"),
                &body,
            )
        }],
    );

    cg.valid_nodes(&[R1, 0, -1, R2], None, Some(t()))
        .await
        .unwrap();
    check(
        &mock,
        "valid_nodes",
        &[get_with(
            format!("{P}/valid_nodes?start_timestamp=946684800.0&end_timestamp={T}"),
            &format!(r#"{{"node_ids": [{R1}, {R2}]}}"#),
        )],
    );
    cg.valid_nodes(&[r1], None, None).await.unwrap();
    check(
        &mock,
        "valid_nodes without an end",
        &[get_with(
            format!("{P}/valid_nodes?start_timestamp=946684800.0"),
            &format!(r#"{{"node_ids": [{R1}]}}"#),
        )],
    );

    cg.oldest_timestamp().await.unwrap();
    check(
        &mock,
        "oldest_timestamp",
        &[get(format!("{P}/oldest_timestamp"))],
    );
    cg.change_log(r1).await.unwrap();
    check(
        &mock,
        "change_log",
        &[get(format!("{P}/root/{R1}/change_log?filtered=True"))],
    );
    cg.segmentation_info().await.unwrap();
    cg.segmentation_info().await.unwrap();
    check(
        &mock,
        "segmentation_info, read once",
        &[get("/segmentation/table/minnie65_public/info".into())],
    );
    cg.server_version().await.unwrap();
    cg.api_versions().await.unwrap();
    check(
        &mock,
        "versions",
        &[
            get("/segmentation/api/version".into()),
            get("/segmentation/api/versions".into()),
        ],
    );
}

/// A request whose `timestamp` is "now": the query string up to it, and the time itself
/// checked to be a float close to the clock.
fn now_in(seen: &Seen, prefix: &str) {
    let rest = seen
        .target
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{} does not start with {prefix}", seen.target));
    let seconds: f64 = rest.parse().unwrap();
    let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    assert!((now - seconds).abs() < 60.0, "{seconds} is not now ({now})");
}

#[tokio::test]
async fn compositions_send_caveclients_sequences() {
    let mock = Mock::start(Some(crate::mock::MINNIE_SOURCE), canned);
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let (r1, r2) = (RootId(R1), RootId(R2));

    // latest_roots at T, after the root's creation (1600000000.5): its creation time (asked
    // now), then the lineage from creation to T.
    cg.latest_roots(r1, Some(t())).await.unwrap();
    let seen = mock.take();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    now_in(
        &seen[0],
        &format!("{P}/root_timestamps?latest=False&timestamp="),
    );
    assert_eq!(seen[0].text(), format!(r#"{{"node_ids": [{R1}]}}"#));
    assert_eq!(
        seen[1].target,
        format!("{P}/lineage_graph_multiple?timestamp_past=1600000000.5&timestamp_future={T}")
    );
    assert_eq!(seen[1].text(), format!(r#"{{"root_ids": [{R1}]}}"#));
    assert_eq!(seen[1].header("content-type"), None);

    // At a time before the root's creation: the lineage from then to the creation.
    let before = chrono::DateTime::from_timestamp(1_500_000_000, 0).unwrap();
    cg.latest_roots(r1, Some(before)).await.unwrap();
    let seen = mock.take();
    assert_eq!(
        seen[1].target,
        format!(
            "{P}/lineage_graph_multiple?timestamp_past=1500000000.0&timestamp_future=1600000000.5"
        )
    );

    // original_roots: the lineage up to the root's creation, no past bound.
    cg.original_roots(r2, None).await.unwrap();
    let seen = mock.take();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    now_in(
        &seen[0],
        &format!("{P}/root_timestamps?latest=False&timestamp="),
    );
    assert_eq!(seen[0].text(), format!(r#"{{"node_ids": [{R2}]}}"#));
    assert_eq!(
        seen[1].target,
        format!("{P}/lineage_graph_multiple?timestamp_future=1600000000.5")
    );
    assert_eq!(seen[1].text(), format!(r#"{{"root_ids": [{R2}]}}"#));

    // suggest_latest_root: the info (n_layers 10: layer 6), the leaves there, their roots.
    cg.suggest_latest_root(r1, Some(t()), None).await.unwrap();
    check(
        &mock,
        "suggest_latest_root",
        &[
            get("/segmentation/table/minnie65_public/info".into()),
            get(format!("{P}/node/{R1}/leaves?stop_layer=6")),
            post_ids(format!("{P}/roots_binary?timestamp={T}"), &[11, 12, 13, 14]),
        ],
    );
    // A layer given: no info; at least 1.
    cg.suggest_latest_root(r1, Some(t()), Some(0))
        .await
        .unwrap();
    let seen = mock.take();
    assert_eq!(seen[0].target, format!("{P}/node/{R1}/leaves?stop_layer=1"));
}

#[test]
fn the_blocking_client_sends_the_same() {
    let mock = Mock::start(Some(crate::mock::MINNIE_SOURCE), canned);
    let client = cave_runtime::blocking::Client::new(mock.client()).unwrap();
    let cg = client.chunkedgraph().unwrap();
    assert_eq!(cg.table(), "minnie65_public");
    let roots = cg.roots(&[SupervoxelId(5)], Some(t()), None).unwrap();
    assert_eq!(roots, [RootId(1005)]);
    check(
        &mock,
        "blocking roots",
        &[post_ids(format!("{P}/roots_binary?timestamp={T}"), &[5])],
    );
    // Chunks run as tasks on the blocking client's runtime too.
    let many: Vec<RootId> = (1..=100_001).map(RootId).collect();
    assert_eq!(cg.is_latest_roots(&many, None).unwrap().len(), 100_001);
    assert_eq!(mock.take().len(), 2);
    let graph = cg
        .lineage_graph(&[RootId(R1)], Some(t1()), Some(t()))
        .unwrap();
    assert_eq!(graph.nodes().len(), 3);
    check(
        &mock,
        "blocking lineage_graph",
        &[post(
            format!("{P}/lineage_graph_multiple?timestamp_past={T1}&timestamp_future={T}"),
            &format!(r#"{{"root_ids": [{R1}]}}"#),
        )],
    );
}

#[tokio::test]
async fn a_table_is_one_path_segment_whatever_its_name() {
    let mock = Mock::start(
        Some("graphene://https://h/segmentation/table/a b?c%"),
        canned,
    );
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    assert_eq!(cg.table(), "a b?c%");
    cg.root(5i64, Some(t())).await.unwrap();
    cg.segmentation_info().await.unwrap();
    let seen = mock.take();
    assert_eq!(
        seen[0].target,
        format!("/segmentation/api/v1/table/a%20b%3Fc%25/node/5/root?timestamp={T}")
    );
    assert_eq!(seen[1].target, "/segmentation/table/a%20b%3Fc%25/info");
}
