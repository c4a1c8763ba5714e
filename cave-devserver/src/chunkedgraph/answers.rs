//! PyChunkedGraph's answers over the [`History`]: what each call of docs/WIRE.md,
//! "Chunkedgraph", returns, with times in ns and ids as `i64`. The routes parse, cap and
//! write them.
//!
//! Nodes below the root: every supervoxel stands for its own node at each layer between 2
//! and the root layer, with the supervoxel's id under that layer's bits (`layer << 56`), so
//! `stop_layer` and the leaves of a layer behave as on a real graph, one supervoxel per node.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use cave_wire::chunkedgraph::{ChangeLog, LineageGraph, LineageLink, LineageNode, PastIdMapping};

use super::history::{History, RootIx};

/// The layer of a node id (its top byte).
pub fn layer_of(id: i64) -> u32 {
    (id as u64 >> 56) as u32
}

/// `id` with its layer bits set to `layer`.
pub fn at_layer(id: i64, layer: u32) -> i64 {
    ((id as u64 & ((1 << 56) - 1)) | (u64::from(layer) << 56)) as i64
}

/// Seconds (float) of a time in ns, as PyChunkedGraph writes them.
pub fn seconds(ns: i64) -> f64 {
    ns as f64 / 1e9
}

/// Why a call cannot be answered: the HTTP status and PyChunkedGraph's message.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// 400, 401, 404 ...
    pub status: u16,
    /// The message, without the `[status]: ` prefix.
    pub message: String,
}

impl Refusal {
    fn bad(message: impl Into<String>) -> Refusal {
        Refusal {
            status: 400,
            message: message.into(),
        }
    }
}

/// The chunkedgraph of one table.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The edit history.
    pub history: History,
    /// The layer of root ids (12 for minnie65).
    pub root_layer: u32,
}

impl Graph {
    /// The root index of `id`, or why not.
    pub fn known_root(&self, id: i64) -> Result<RootIx, Refusal> {
        self.history
            .by_id
            .get(&id)
            .copied()
            .ok_or_else(|| Refusal::bad(format!("{id} is no root")))
    }

    /// The node of `node` at `stop_layer` (the root layer when `None`) at `t`: 0 for a node the
    /// graph does not know (`fail_to_zero`).
    pub fn root_of(&self, node: i64, t: i64, stop_layer: Option<u32>) -> i64 {
        let stop = stop_layer.unwrap_or(self.root_layer).min(self.root_layer);
        let layer = layer_of(node);
        if layer >= self.root_layer {
            return if self.history.by_id.contains_key(&node) {
                node
            } else {
                0
            };
        }
        if layer == 0 || stop < layer {
            return 0;
        }
        let sv = at_layer(node, 1);
        match self.history.root_at(sv, t) {
            None => 0,
            Some(_) if stop < self.root_layer => at_layer(sv, stop),
            Some(root) => self.history.roots[root].id,
        }
    }

    /// Whether each id is a root that is the latest at `t`.
    pub fn is_latest(&self, ids: &[i64], t: i64) -> Vec<bool> {
        ids.iter()
            .map(|id| {
                self.history
                    .by_id
                    .get(id)
                    .is_some_and(|&r| self.history.is_latest(r, t))
            })
            .collect()
    }

    /// Creation times, or (`latest`) the time each root stopped being the latest (`t` for
    /// one that still is), in ns; an unknown id is refused.
    pub fn root_timestamps(&self, ids: &[i64], latest: bool, t: i64) -> Result<Vec<i64>, Refusal> {
        ids.iter()
            .map(|&id| {
                let r = &self.history.roots[self.known_root(id)?];
                Ok(match (latest, r.retired) {
                    (false, _) => r.created,
                    (true, Some(retired)) if retired <= t => retired,
                    (true, _) => t,
                })
            })
            .collect()
    }

    /// PyChunkedGraph's `lineage_graph` from `roots`: back while a node was created at or
    /// after `past`, forward while it was created at or before `future`.
    pub fn lineage(&self, roots: &[i64], past: i64, future: i64) -> Result<LineageGraph, Refusal> {
        let h = &self.history;
        let start: Vec<RootIx> = roots
            .iter()
            .map(|&id| self.known_root(id))
            .collect::<Result<_, _>>()?;
        let mut nodes: BTreeSet<RootIx> = BTreeSet::new();
        let mut links: BTreeSet<(RootIx, RootIx)> = BTreeSet::new();
        let mut back: VecDeque<RootIx> = start.iter().copied().collect();
        let mut seen_back: BTreeSet<RootIx> = BTreeSet::new();
        while let Some(r) = back.pop_front() {
            if !seen_back.insert(r) {
                continue;
            }
            nodes.insert(r);
            let root = &h.roots[r];
            if root.created < past {
                continue;
            }
            for &p in &root.parents {
                links.insert((p, r));
                back.push_back(p);
            }
        }
        let mut ahead: VecDeque<RootIx> = start.iter().copied().collect();
        let mut seen_ahead: BTreeSet<RootIx> = BTreeSet::new();
        while let Some(r) = ahead.pop_front() {
            if !seen_ahead.insert(r) {
                continue;
            }
            nodes.insert(r);
            let root = &h.roots[r];
            if root.created > future {
                continue;
            }
            for &c in &root.children {
                links.insert((r, c));
                ahead.push_back(c);
            }
        }
        Ok(LineageGraph {
            directed: true,
            multigraph: false,
            graph: serde_json::Map::new(),
            nodes: nodes
                .iter()
                .map(|&r| {
                    let root = &h.roots[r];
                    LineageNode {
                        id: root.id,
                        timestamp: seconds(root.created),
                        operation_id: root.retired_by.map(|op| h.ops[op].id),
                    }
                })
                .collect(),
            links: links
                .iter()
                .map(|&(a, b)| LineageLink {
                    source: h.roots[a].id,
                    target: h.roots[b].id,
                })
                .collect(),
        })
    }

    /// `SegmentHistory.past_future_id_mapping` over the lineage graph of `roots` from `past`
    /// to `future`.
    pub fn past_id_mapping(
        &self,
        roots: &[i64],
        past: i64,
        future: i64,
    ) -> Result<PastIdMapping, Refusal> {
        let g = self.lineage(roots, past, future)?;
        let mut succ: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut pred: HashMap<i64, Vec<i64>> = HashMap::new();
        for l in &g.links {
            succ.entry(l.source).or_default().push(l.target);
            pred.entry(l.target).or_default().push(l.source);
        }
        let reach = |from: i64, edges: &HashMap<i64, Vec<i64>>| -> BTreeSet<i64> {
            let mut out = BTreeSet::new();
            let mut stack = vec![from];
            while let Some(x) = stack.pop() {
                for &y in edges.get(&x).into_iter().flatten() {
                    if out.insert(y) {
                        stack.push(y);
                    }
                }
            }
            out
        };
        let degree = |x: i64, edges: &HashMap<i64, Vec<i64>>| edges.get(&x).map_or(0, Vec::len);
        let mut past_map: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for &root in roots {
            let ancestors = reach(root, &pred);
            let originals: Vec<i64> = if ancestors.is_empty() {
                vec![root]
            } else {
                ancestors
                    .into_iter()
                    .filter(|&a| degree(a, &pred) == 0)
                    .collect()
            };
            past_map.insert(root, originals);
        }
        let past_ids: BTreeSet<i64> = past_map.values().flatten().copied().collect();
        let mut future_map: BTreeMap<i64, i64> = BTreeMap::new();
        for past_id in past_ids {
            let mut family: Vec<i64> = reach(past_id, &succ).into_iter().collect();
            family.push(past_id);
            let out: Vec<usize> = family.iter().map(|&d| degree(d, &succ)).collect();
            let ends: Vec<i64> = family
                .iter()
                .zip(&out)
                .filter(|(_, o)| **o == 0)
                .map(|(d, _)| *d)
                .collect();
            if out.contains(&2) || ends.len() > 1 {
                continue;
            }
            // As PyChunkedGraph: a one-to-one step (a successor with one parent) leaves the
            // future unmapped.
            let one_to_one = family
                .iter()
                .zip(&out)
                .filter(|(_, o)| **o == 1)
                .any(|(d, _)| degree(succ[d][0], &pred) == 1);
            if one_to_one {
                continue;
            }
            if let Some(&end) = ends.first() {
                future_map.insert(past_id, end);
            }
        }
        Ok(PastIdMapping {
            past_id_map: past_map,
            future_id_map: future_map,
        })
    }

    /// Roots retired and made by the edits in `[past, future]`: every made root, and the
    /// roots it was made from (PyChunkedGraph's `get_proofread_root_ids`).
    pub fn delta_roots(&self, past: i64, future: i64) -> (Vec<i64>, Vec<i64>) {
        let h = &self.history;
        let mut old = Vec::new();
        let mut new = Vec::new();
        for op in h.ops.iter().filter(|o| (past..=future).contains(&o.ts)) {
            for &a in &op.after {
                new.push(h.roots[a].id);
                old.extend(h.roots[a].parents.iter().map(|&p| h.roots[p].id));
            }
        }
        (old, new)
    }

    /// The leaves of `node` at `stop_layer` (1: supervoxels), inside `bounds` (voxels of the
    /// base resolution, `[min, max)` per axis) when given.
    pub fn leaves(
        &self,
        node: i64,
        bounds: Option<[[i64; 2]; 3]>,
        stop_layer: u32,
    ) -> Result<Vec<i64>, Refusal> {
        let svs: Vec<i64> = if layer_of(node) >= self.root_layer {
            let r = self.known_root(node)?;
            self.history.members[r].clone()
        } else if layer_of(node) >= 1 {
            let sv = at_layer(node, 1);
            if !self.history.timelines.contains_key(&sv) {
                return Err(Refusal::bad(format!("node {node} not found")));
            }
            vec![sv]
        } else {
            return Err(Refusal::bad(format!("node {node} not found")));
        };
        let mut out: Vec<i64> = svs
            .into_iter()
            .filter(|&sv| bounds.is_none_or(|b| in_bounds(sv, b)))
            .map(|sv| {
                if stop_layer > 1 {
                    at_layer(sv, stop_layer)
                } else {
                    sv
                }
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The ids (roots or supervoxels) with an event in `[start, end]`: created then, or
    /// retired then (PyChunkedGraph reads the nodes' cells written in the window).
    pub fn valid_nodes(&self, ids: &[i64], start: Option<i64>, end: Option<i64>) -> Vec<i64> {
        let within = |t: i64| start.is_none_or(|s| t >= s) && end.is_none_or(|e| t <= e);
        let h = &self.history;
        ids.iter()
            .copied()
            .filter(|id| match h.by_id.get(id) {
                Some(&r) => within(h.roots[r].created) || h.roots[r].retired.is_some_and(within),
                None => layer_of(*id) == 1 && h.timelines.contains_key(id) && within(h.oldest),
            })
            .collect()
    }

    /// The edit summary of `root`'s past (`change_log_summary`).
    pub fn change_log(&self, root: i64) -> Result<ChangeLog, Refusal> {
        let h = &self.history;
        let ops = self.past_ops(self.known_root(root)?);
        let mut user_info = serde_json::Map::new();
        let (mut merges, mut splits) = (0u64, 0u64);
        let mut by_user: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        let mut past_ids = Vec::new();
        for &op in &ops {
            let o = &h.ops[op];
            let e = by_user.entry(o.user_id).or_default();
            if o.is_merge {
                merges += 1;
                e.1 += 1;
            } else {
                splits += 1;
                e.0 += 1;
            }
            past_ids.extend(o.before.iter().map(|&b| h.roots[b].id));
        }
        for (user, (s, m)) in by_user {
            user_info.insert(
                user.to_string(),
                serde_json::json!({"n_splits": s, "n_mergers": m}),
            );
        }
        Ok(ChangeLog {
            n_mergers: merges,
            n_splits: splits,
            operations_ids: ops.iter().map(|&op| h.ops[op].id).collect(),
            past_ids,
            user_info,
        })
    }

    /// The edits in `root`'s past, oldest first.
    pub fn past_ops(&self, root: RootIx) -> Vec<usize> {
        let h = &self.history;
        let mut ops = BTreeSet::new();
        let mut stack = vec![root];
        let mut seen = BTreeSet::new();
        while let Some(r) = stack.pop() {
            if !seen.insert(r) {
                continue;
            }
            if let Some(op) = h.roots[r].created_by {
                ops.insert(op);
            }
            stack.extend(h.roots[r].parents.iter().copied());
        }
        ops.into_iter().collect()
    }
}

/// Whether supervoxel `sv`'s chunk meets `bounds` (base-resolution voxels, `[min, max)` per
/// axis): a real graph answers the supervoxels of the chunks a box touches.
fn in_bounds(sv: i64, bounds: [[i64; 2]; 3]) -> bool {
    let (corner, size) = crate::sample::chunk_box(sv);
    (0..3).all(|k| corner[k] < bounds[k][1] && corner[k] + size[k] > bounds[k][0])
}
