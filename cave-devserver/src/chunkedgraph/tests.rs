use std::sync::OnceLock;

use cave_schema::Snapshot;

use std::collections::BTreeSet;

use super::answers::Graph;
use super::history::History;
use crate::sample::{SampleConfig, generate};
use crate::store::Dataset;

fn snapshot() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        Snapshot::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schemas/minnie65_public"
        ))
        .expect("snapshot loads")
    })
}

fn dataset() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| {
        let config = SampleConfig {
            synapses: 50_000,
            ..SampleConfig::default()
        };
        generate(snapshot(), &config).expect("generates")
    })
}

fn epochs() -> Vec<(u32, i64)> {
    dataset()
        .versions
        .keys()
        .map(|&v| {
            let t = snapshot().version(v).unwrap().time_stamp;
            (v, t.timestamp_nanos_opt().unwrap())
        })
        .collect()
}

#[test]
fn the_history_explains_every_sampled_root() {
    let h = History::build(dataset(), &epochs(), None);
    eprintln!(
        "{} roots, {} ops, {} supervoxels, {} conflicts: {:?}",
        h.roots.len(),
        h.ops.len(),
        h.timelines.len(),
        h.conflicts.len(),
        &h.conflicts[..h.conflicts.len().min(5)]
    );
    assert!(h.conflicts.is_empty());
}

/// A month after the last sampled version: the history's edits after it end there.
fn until() -> i64 {
    epochs().last().unwrap().1 + 30 * 86_400 * 1_000_000_000
}

fn graph() -> &'static Graph {
    static GRAPH: OnceLock<Graph> = OnceLock::new();
    GRAPH.get_or_init(|| Graph {
        history: History::build(dataset(), &epochs(), Some(until())),
        root_layer: 12,
    })
}

/// Every (supervoxel, root) pair of every table at every sampled version.
fn sampled_pairs() -> Vec<(u32, i64, i64, i64)> {
    let mut out = Vec::new();
    for (&v, tables) in &dataset().versions {
        let t = snapshot()
            .version(v)
            .unwrap()
            .time_stamp
            .timestamp_nanos_opt()
            .unwrap();
        for data in tables.values() {
            for c in data
                .columns
                .iter()
                .filter(|c| c.name.ends_with("supervoxel_id"))
            {
                let root = format!("{}root_id", c.name.trim_end_matches("supervoxel_id"));
                let (Some(svs), Some(roots)) = (
                    ints(&c.values),
                    data.column(&root).and_then(|r| ints(&r.values)),
                ) else {
                    continue;
                };
                for (sv, r) in svs.iter().zip(roots.iter()) {
                    if let (Some(sv), Some(r)) = (sv, r)
                        && sv != 0
                        && r != 0
                    {
                        out.push((v, t, sv, r));
                    }
                }
            }
        }
    }
    out
}

fn ints(values: &crate::store::Values) -> Option<&arrow_array::Int64Array> {
    match values {
        crate::store::Values::Single(a) => a.as_any().downcast_ref(),
        crate::store::Values::Position(_) => None,
    }
}

#[test]
fn a_rows_root_is_its_supervoxels_root_at_the_versions_timestamp() {
    let g = graph();
    let pairs = sampled_pairs();
    assert!(pairs.len() > 100_000, "{} pairs", pairs.len());
    let wrong: Vec<_> = pairs
        .iter()
        .filter(|(_, t, sv, r)| g.root_of(*sv, *t, None) != *r)
        .take(5)
        .collect();
    assert!(wrong.is_empty(), "{wrong:?}");
    // And each such root is the latest at that time, and was not yet at the first state
    // when an edit made it.
    let stale: Vec<_> = pairs
        .iter()
        .filter(|(_, t, _, r)| !g.is_latest(&[*r], *t)[0])
        .take(5)
        .collect();
    assert!(stale.is_empty(), "{stale:?}");
}

#[test]
fn edits_fall_between_the_versions_and_link_their_roots() {
    let h = &graph().history;
    let (t0, t1) = (h.epochs[0].1, h.epochs[1].1);
    assert!(h.ops.len() > 1_000, "{} edits", h.ops.len());
    assert!(
        h.ops
            .windows(2)
            .all(|w| w[0].ts <= w[1].ts && w[0].id < w[1].id)
    );
    let (mut merges, mut splits) = (0, 0);
    let after = h.ops.iter().filter(|o| o.ts > t1).count();
    assert!(after > 100, "{after} edits after the last version");
    for op in &h.ops {
        assert!(op.ts > t0 && op.ts < until() && op.ts != t1, "{op:?}");
        if op.is_merge {
            merges += 1;
            assert!(op.before.len() >= 2 && op.after.len() == 1, "{op:?}");
        } else {
            splits += 1;
            assert!(op.before.len() == 1 && op.after.len() >= 2, "{op:?}");
        }
        for &b in &op.before {
            assert_eq!(h.roots[b].retired, Some(op.ts));
            assert_eq!(h.roots[b].children, op.after);
        }
        for &a in &op.after {
            assert_eq!(h.roots[a].created, op.ts);
            assert_eq!(h.roots[a].parents, op.before);
        }
    }
    assert!(merges > 0 && splits > 0, "{merges} merges, {splits} splits");
}

#[test]
fn lineage_leads_an_old_root_to_its_new_ones() {
    let g = graph();
    let h = &g.history;
    let (t0, t1) = (h.epochs[0].1, h.epochs[1].1);
    // A root of v1181 that an edit retired, and the v1300 roots of its supervoxels.
    let pairs = sampled_pairs();
    let old = pairs
        .iter()
        .find(|(v, _, _, r)| *v == h.epochs[0].0 && h.root(*r).is_some_and(|x| x.retired.is_some()))
        .map(|p| p.3)
        .unwrap();
    let ix = h.by_id[&old];
    let want: BTreeSet<i64> = h.members[ix]
        .iter()
        .map(|&sv| g.root_of(sv, t1, None))
        .collect();
    let lineage = g.lineage(&[old], t0, t1).unwrap();
    let with_successor: BTreeSet<i64> = lineage.links.iter().map(|l| l.source).collect();
    let latest: BTreeSet<i64> = lineage
        .nodes
        .iter()
        .map(|n| n.id)
        .filter(|id| !with_successor.contains(id))
        .filter(|&id| g.is_latest(&[id], t1)[0])
        .collect();
    assert!(want.is_subset(&latest), "{want:?} ⊄ {latest:?}");
    assert!(!g.is_latest(&[old], t1)[0] && g.is_latest(&[old], t0)[0]);
    let ts = g.root_timestamps(&[old], true, t1).unwrap()[0];
    assert_eq!(Some(ts), h.root(old).unwrap().retired);
    // Its past-id mapping from a new root goes back to it.
    let new = *want.iter().next().unwrap();
    let m = g.past_id_mapping(&[new], t0, t1).unwrap();
    assert!(m.past_id_map[&new].contains(&old), "{m:?}");
    // delta_roots over the interval has it among the old ones and the new root among the new.
    let (olds, news) = g.delta_roots(t0, t1);
    assert!(olds.contains(&old) && news.contains(&new));
    // Leaves: the root's supervoxels; at layer 3, the same under layer bits.
    let leaves = g.leaves(new, None, 1).unwrap();
    assert_eq!(leaves, h.members[h.by_id[&new]]);
    let l3 = g.leaves(new, None, 3).unwrap();
    assert_eq!(l3.len(), leaves.len());
    assert!(l3.iter().all(|&n| super::answers::layer_of(n) == 3));
    assert!(l3.iter().all(|&n| g.root_of(n, t1, None) == new));
}
