//! What the calls make of the canned answers.

use std::collections::BTreeMap;

use cave_runtime::{LineageEdge, NodeId, RootId, SupervoxelId};
use chrono::DateTime;

use crate::mock::{MINNIE_SOURCE, Mock};
use crate::{R1, R2, canned, t, t1};

const R3: i64 = 864691135000000003;

fn at(seconds: i64, micros: u32) -> chrono::DateTime<chrono::Utc> {
    DateTime::from_timestamp(seconds, micros * 1000).unwrap()
}

#[tokio::test]
async fn answers_become_typed_values() {
    let mock = Mock::start(Some(MINNIE_SOURCE), canned);
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let (r1, r2, r3) = (RootId(R1), RootId(R2), RootId(R3));

    let roots = cg
        .roots(
            &[SupervoxelId(5), SupervoxelId(6), SupervoxelId(5)],
            Some(t()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(roots, [RootId(1005), RootId(1006), RootId(1005)]);
    assert_eq!(
        cg.root(5i64, Some(t())).await.unwrap(),
        RootId(864691135000000009)
    );
    assert_eq!(
        cg.is_latest_roots(&[r1, r2, r3], None).await.unwrap(),
        [true, false, true]
    );
    assert_eq!(
        cg.root_timestamps(&[r1, r2], true, Some(t()))
            .await
            .unwrap(),
        [at(1_600_000_000, 500_000); 2],
        "the server's times, without caveclient's 1 ms"
    );

    let ids = cg.past_id_mapping(&[r1], Some(t1()), None).await.unwrap();
    assert_eq!(ids.past, BTreeMap::from([(r1, vec![RootId(7), RootId(8)])]));
    assert_eq!(
        ids.future,
        BTreeMap::from([(RootId(7), r2), (RootId(8), r2)])
    );

    let graph = cg.lineage_graph(&[r1], None, None).await.unwrap();
    assert_eq!(graph.nodes().len(), 3);
    assert_eq!(
        graph.node(r1).unwrap().timestamp,
        at(1_600_000_000, 500_000)
    );
    assert_eq!(graph.node(r1).unwrap().operation_id, None);
    assert_eq!(graph.node(r2).unwrap().operation_id, Some(5));
    assert_eq!(
        graph.edges(),
        [
            LineageEdge {
                source: r1,
                target: r2
            },
            LineageEdge {
                source: r2,
                target: r3
            }
        ]
    );
    assert_eq!(graph.latest_roots(), [r3]);
    assert_eq!(graph.original_roots(), [r1]);
    assert_eq!(graph.successors(r1), [r2]);
    assert_eq!(graph.predecessors(r2), [r1]);

    // R3 was made after T: caveclient's `exclude_links_to_future` leaves R2 the latest.
    assert_eq!(cg.latest_roots(r1, Some(t())).await.unwrap(), [r2]);
    // Before R1's creation: the roots the lineage starts from.
    assert_eq!(
        cg.latest_roots(r1, Some(at(1_500_000_000, 0)))
            .await
            .unwrap(),
        [r1]
    );
    assert_eq!(cg.original_roots(r2, None).await.unwrap(), [r1]);

    let delta = cg.delta_roots(t1(), Some(t())).await.unwrap();
    assert_eq!((delta.old, delta.new), (vec![r1], vec![r2]));

    assert_eq!(
        cg.leaves(r1, None, None).await.unwrap(),
        [NodeId(11), NodeId(12), NodeId(13), NodeId(14)]
    );
    assert_eq!(
        cg.leaves_many(&[r1, r2], None, None).await.unwrap(),
        BTreeMap::from([
            (NodeId(R1), vec![NodeId(11)]),
            (NodeId(R2), vec![NodeId(12), NodeId(13)])
        ])
    );
    assert_eq!(
        cg.valid_nodes(&[R1, 0, -1, R2, R1], None, None)
            .await
            .unwrap(),
        [true, false, false, false, true]
    );
    mock.take();
    assert_eq!(
        cg.valid_nodes(&[0i64, -5], None, None).await.unwrap(),
        [false, false]
    );
    assert!(mock.take().is_empty(), "no ids above 0: no request");

    assert_eq!(cg.oldest_timestamp().await.unwrap(), at(1_590_969_600, 0));
    let log = cg.change_log(r1).await.unwrap();
    assert_eq!((log.n_mergers, log.n_splits), (1, 2));
    assert_eq!(log.past_ids, [R1, R2]);
    assert_eq!(
        cg.segmentation_info().await.unwrap()["graph"]["n_layers"],
        10
    );
    assert_eq!(cg.server_version().await.unwrap(), "2.18.3");
    assert_eq!(cg.api_versions().await.unwrap(), [0, 1]);

    // Leaves 11..14, roots 1011..1014: a quarter each, ties the larger id first.
    let s = cg.suggest_latest_root(r1, Some(t()), None).await.unwrap();
    assert_eq!(s.root, RootId(1014));
    assert_eq!(s.share, 0.25);
    assert_eq!(
        s.candidates,
        [
            (RootId(1014), 0.25),
            (RootId(1013), 0.25),
            (RootId(1012), 0.25),
            (RootId(1011), 0.25)
        ]
    );
    assert_eq!((s.stop_layer, s.leaves), (6, 4));
}

#[tokio::test]
async fn empty_inputs_send_nothing() {
    let mock = Mock::start(Some(MINNIE_SOURCE), canned);
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let none: [RootId; 0] = [];
    assert!(cg.roots(&none, None, None).await.unwrap().is_empty());
    assert!(cg.is_latest_roots(&none, None).await.unwrap().is_empty());
    assert!(
        cg.root_timestamps(&none, false, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(mock.take().is_empty());
}
