//! Big inputs: several requests of at most `IDS_PER_CHUNKEDGRAPH_REQUEST` ids, several in
//! flight, their answers put back in input order.

use std::time::Duration;

use cave_runtime::{IDS_PER_CHUNKEDGRAPH_REQUEST, RootId, SupervoxelId};
use serde_json::Value;

use crate::mock::{MINNIE_SOURCE, Mock};
use crate::{P, canned, t};

const T: &str = "1736763001.286229";

#[tokio::test]
async fn roots_of_many_supervoxels_go_in_chunks_and_come_back_in_order() {
    assert_eq!(IDS_PER_CHUNKEDGRAPH_REQUEST, 100_000);
    // The first chunk answers last.
    let mock = Mock::start(Some(MINNIE_SOURCE), |seen| {
        let reply = canned(seen);
        if seen.path().ends_with("/roots_binary") && seen.ids().first() == Some(&0) {
            reply.after(Duration::from_millis(400))
        } else {
            reply
        }
    });
    let client = mock.builder().pages_in_flight(2).build().unwrap();
    let cg = client.chunkedgraph().await.unwrap();
    let n = 250_001;
    let svs: Vec<SupervoxelId> = (0..n).map(SupervoxelId).collect();
    let roots = cg.roots(&svs, Some(t()), None).await.unwrap();
    assert_eq!(
        roots,
        (0..n).map(|i| RootId(i + 1000)).collect::<Vec<_>>(),
        "in input order"
    );
    let seen = mock.take();
    assert_eq!(seen.len(), 3);
    for s in &seen {
        assert_eq!(s.target, format!("{P}/roots_binary?timestamp={T}"));
    }
    let mut firsts: Vec<(u64, usize)> = seen.iter().map(|s| (s.ids()[0], s.ids().len())).collect();
    firsts.sort();
    assert_eq!(
        firsts,
        [(0, 100_000), (100_000, 100_000), (200_000, 50_001)]
    );
    assert_eq!(mock.most_at_once(), 2, "two requests in flight, as set");
}

#[tokio::test]
async fn is_latest_roots_and_root_timestamps_go_in_chunks_too() {
    let mock = Mock::start(Some(MINNIE_SOURCE), canned);
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let roots: Vec<RootId> = (1..=100_001).map(RootId).collect();
    let latest = cg.is_latest_roots(&roots, Some(t())).await.unwrap();
    // Each chunk's answer alternates from its own start.
    let want: Vec<bool> = (0..100_000)
        .map(|i| i % 2 == 0)
        .chain(std::iter::once(true))
        .collect();
    assert_eq!(latest, want);
    let mut seen = mock.take();
    seen.sort_by_key(|s| s.body.len());
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].text(), r#"{"node_ids": [100001]}"#);
    let big: Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(big["node_ids"].as_array().unwrap().len(), 100_000);
    assert!(seen[1].text().starts_with(r#"{"node_ids": [1, 2, 3, "#));

    let times = cg.root_timestamps(&roots, false, Some(t())).await.unwrap();
    assert_eq!(times.len(), 100_001);
    assert_eq!(mock.take().len(), 2);
}
