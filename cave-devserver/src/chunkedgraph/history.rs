//! The segmentation's edit history, rebuilt from the sample tables: which root each supervoxel
//! had at every sampled version (a table row's `X_supervoxel_id` and `X_root_id`), and the
//! edits between versions that explain the changes.
//!
//! Between two sampled versions, the roots that changed form groups (a root of the older
//! version, the newer roots its supervoxels went to, the older roots that went into those, and
//! so on). Each group becomes edits at times inside the interval:
//! - several older roots into one newer: a merge;
//! - one older root into several newer: a split;
//! - one into one: a merge with a small piece that no table samples (an edit always makes a
//!   new root; the piece is a root of its own, with no sampled supervoxels);
//! - several into several: a merge of the older roots into an intermediate root, then a split
//!   of that into the newer ones.
//!
//! So the root of a row's `pt_supervoxel_id` at a version's timestamp is the row's
//! `pt_root_id` at that version, every root has one creation time, and every retired root was
//! retired by one edit.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use arrow_array::{Array, Int64Array};

use crate::store::{Dataset, TableData, Values};

/// An index into [`History::roots`].
pub type RootIx = usize;

/// One root id and its life.
#[derive(Debug, Clone, PartialEq)]
pub struct Root {
    /// The id.
    pub id: i64,
    /// When it was created (ns since the epoch, UTC).
    pub created: i64,
    /// When an edit retired it, if one did.
    pub retired: Option<i64>,
    /// The roots it was made from.
    pub parents: Vec<RootIx>,
    /// The roots it was made into.
    pub children: Vec<RootIx>,
    /// The edit that made it (none for the first state's roots).
    pub created_by: Option<usize>,
    /// The edit that retired it.
    pub retired_by: Option<usize>,
}

/// One edit.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The operation id.
    pub id: u64,
    /// When (ns).
    pub ts: i64,
    /// A merge (else a split).
    pub is_merge: bool,
    /// The roots it retired.
    pub before: Vec<RootIx>,
    /// The roots it made.
    pub after: Vec<RootIx>,
    /// Who did it.
    pub user_id: u64,
}

/// The history.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Every root.
    pub roots: Vec<Root>,
    /// Root id → index.
    pub by_id: HashMap<i64, RootIx>,
    /// Every edit, by time.
    pub ops: Vec<Operation>,
    /// Supervoxel → the roots it belonged to, oldest first (each created when the one before
    /// was retired).
    pub timelines: HashMap<i64, Vec<RootIx>>,
    /// Root → its supervoxels, sorted.
    pub members: Vec<Vec<i64>>,
    /// The time of the first state (ns).
    pub oldest: i64,
    /// The sampled versions and their timestamps (ns), ascending.
    pub epochs: Vec<(u32, i64)>,
    /// What the tables said that no history can explain (a supervoxel with two roots at one
    /// version, a root that kept its id while losing supervoxels): each a message.
    pub conflicts: Vec<String>,
}

/// Ids of the roots made up by the history (pieces, intermediates) start here: above the
/// counters of every sampled root (`sample::ids::ROOT_N_END`).
const MADE_UP_ROOTS: i64 = (12 << 56) + 9_000_000_000;
/// The share of the last version's roots that an edit changes after it (see [`History::build`]).
pub const EDITED_AFTER: f64 = 0.05;
/// The first state is this long before the first sampled version (a year, in ns).
const FIRST_STATE_BEFORE: i64 = 365 * 86_400 * 1_000_000_000;

/// Supervoxel → root at one version, from every `X_supervoxel_id` / `X_root_id` pair of the
/// version's tables (rows with supervoxel 0 or root 0 left out).
fn pairs_of(
    tables: &BTreeMap<String, std::sync::Arc<TableData>>,
    conflicts: &mut Vec<String>,
    version: u32,
) -> HashMap<i64, i64> {
    let mut out: HashMap<i64, i64> = HashMap::new();
    for (name, data) in tables {
        for sv_col in data
            .columns
            .iter()
            .filter(|c| c.name.ends_with("supervoxel_id"))
        {
            let root_name = format!(
                "{}root_id",
                &sv_col.name[..sv_col.name.len() - "supervoxel_id".len()]
            );
            let Some(root_col) = data.column(&root_name) else {
                continue;
            };
            let (Some(svs), Some(roots)) = (int64(&sv_col.values), int64(&root_col.values)) else {
                continue;
            };
            for row in 0..svs.len().min(roots.len()) {
                if svs.is_null(row) || roots.is_null(row) {
                    continue;
                }
                let (sv, root) = (svs.value(row), roots.value(row));
                if sv == 0 || root == 0 {
                    continue;
                }
                match out.insert(sv, root) {
                    Some(before) if before != root && conflicts.len() < 100 => conflicts.push(format!(
                        "v{version}: supervoxel {sv} has root {before} and root {root} ({name}.{root_name})"
                    )),
                    _ => {}
                }
            }
        }
    }
    out
}

fn int64(values: &Values) -> Option<&Int64Array> {
    match values {
        Values::Single(a) => a.as_any().downcast_ref::<Int64Array>(),
        Values::Position(_) => None,
    }
}

/// A stable fraction in [0.05, 0.95) from a number: where in an interval an edit falls.
fn fraction(x: u64) -> f64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    0.05 + 0.9 * (z >> 11) as f64 / (1u64 << 53) as f64
}

struct Builder {
    h: History,
    next_made_up: i64,
    next_op: u64,
}

impl Builder {
    fn root(&mut self, id: i64, created: i64) -> RootIx {
        if let Some(&ix) = self.h.by_id.get(&id) {
            return ix;
        }
        let ix = self.h.roots.len();
        self.h.roots.push(Root {
            id,
            created,
            retired: None,
            parents: Vec::new(),
            children: Vec::new(),
            created_by: None,
            retired_by: None,
        });
        self.h.by_id.insert(id, ix);
        ix
    }

    fn made_up(&mut self, created: i64) -> RootIx {
        let id = self.next_made_up;
        self.next_made_up += 1;
        self.root(id, created)
    }

    fn op(&mut self, ts: i64, is_merge: bool, before: Vec<RootIx>, after: Vec<RootIx>) {
        let op = self.h.ops.len();
        self.next_op += 1;
        for &b in &before {
            let r = &mut self.h.roots[b];
            r.retired = Some(ts);
            r.retired_by = Some(op);
            r.children = after.clone();
        }
        for &a in &after {
            let r = &mut self.h.roots[a];
            r.created = ts;
            r.created_by = Some(op);
            r.parents = before.clone();
        }
        // Users 1..=20, by operation.
        let user_id = 1 + self.next_op % 20;
        self.h.ops.push(Operation {
            id: self.next_op,
            ts,
            is_merge,
            before,
            after,
            user_id,
        });
    }
}

impl History {
    /// The history behind `data`'s sampled versions, whose timestamps (ns) are `epochs`, and,
    /// when `until` (ns) is after the last of them, edits of one root in [`EDITED_AFTER`]
    /// (by id) between the last version and `until`: the state a live query after the last
    /// version sees.
    pub fn build(data: &Dataset, epochs: &[(u32, i64)], until: Option<i64>) -> History {
        let mut conflicts = Vec::new();
        let states: Vec<HashMap<i64, i64>> = epochs
            .iter()
            .map(|(v, _)| {
                data.versions
                    .get(v)
                    .map(|t| pairs_of(t, &mut conflicts, *v))
                    .unwrap_or_default()
            })
            .collect();
        let oldest = epochs.first().map_or(0, |e| e.1) - FIRST_STATE_BEFORE;
        let mut b = Builder {
            h: History {
                oldest,
                epochs: epochs.to_vec(),
                ..History::default()
            },
            next_made_up: MADE_UP_ROOTS,
            next_op: 0,
        };
        // Every root of the first version, created with the first state.
        if let Some(first) = states.first() {
            let mut ids: Vec<i64> = first.values().copied().collect();
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                b.root(id, oldest);
            }
        }
        for j in 1..states.len() {
            let (t0, t1) = (epochs[j - 1].1, epochs[j].1);
            let (old, new) = (&states[j - 1], &states[j]);
            // Roots of the newer version that no older one explains: made with the first state
            // (their supervoxels were not sampled before).
            let mut fresh: Vec<i64> = new
                .values()
                .copied()
                .filter(|r| !b.h.by_id.contains_key(r))
                .collect();
            fresh.sort_unstable();
            fresh.dedup();
            // Groups of changed roots: union-find over (older root, newer root) pairs.
            let mut edges: BTreeSet<(i64, i64)> = BTreeSet::new();
            let mut kept: BTreeSet<i64> = BTreeSet::new();
            for (sv, a) in old {
                match new.get(sv) {
                    Some(n) if n == a => {
                        kept.insert(*a);
                    }
                    Some(n) => {
                        edges.insert((*a, *n));
                    }
                    None => {}
                }
            }
            let groups = groups(&edges);
            let mut explained: BTreeSet<i64> = BTreeSet::new();
            for (before, after) in groups {
                for a in &before {
                    if kept.contains(a) && conflicts.len() < 100 {
                        conflicts.push(format!(
                            "v{}→v{}: root {a} keeps some supervoxels and loses others",
                            epochs[j - 1].0,
                            epochs[j].0
                        ));
                    }
                }
                explained.extend(after.iter().copied());
                // Whole microseconds, as the server's timestamps (and caveclient's) have.
                let micros = |ns: i64| ns / 1_000 * 1_000;
                let ts = micros(t0 + ((t1 - t0) as f64 * fraction(after[0] as u64)) as i64);
                let before_ix: Vec<RootIx> = before.iter().map(|&id| b.root(id, oldest)).collect();
                let after_ix: Vec<RootIx> = after.iter().map(|&id| b.root(id, ts)).collect();
                match (before_ix.len(), after_ix.len()) {
                    (1, 1) => {
                        let piece = b.made_up(oldest);
                        b.op(ts, true, vec![before_ix[0], piece], after_ix);
                    }
                    (_, 1) => b.op(ts, true, before_ix, after_ix),
                    (1, _) => b.op(ts, false, before_ix, after_ix),
                    _ => {
                        let mid = b.made_up(ts);
                        let later = micros(ts + ((t1 - ts) as f64 * 0.5) as i64);
                        b.op(ts, true, before_ix, vec![mid]);
                        b.op(later, false, vec![mid], after_ix);
                    }
                }
            }
            for id in fresh {
                if !explained.contains(&id) {
                    b.root(id, oldest);
                }
            }
        }
        if let (Some(&(_, last)), Some(until)) = (
            epochs.last(),
            until.filter(|&u| epochs.last().is_some_and(|e| u > e.1)),
        ) {
            let mut latest: Vec<i64> = states
                .last()
                .into_iter()
                .flat_map(|s| s.values().copied())
                .collect();
            latest.sort_unstable();
            latest.dedup();
            for id in latest {
                if fraction(id as u64 ^ 0x00af_7e75) >= 0.05 + 0.9 * EDITED_AFTER {
                    continue;
                }
                let old = b.h.by_id[&id];
                if b.h.roots[old].retired.is_some() {
                    continue;
                }
                let ts =
                    (last + ((until - last) as f64 * fraction(id as u64)) as i64) / 1_000 * 1_000;
                let piece = b.made_up(oldest);
                let new = b.made_up(ts);
                b.op(ts, true, vec![old, piece], vec![new]);
            }
        }
        b.h.ops.sort_by_key(|o| o.ts);
        // Operations were pushed in group order; indices in roots refer to push order, so
        // renumber after sorting.
        renumber(&mut b.h);
        b.h.conflicts = conflicts;
        timelines(&mut b.h, &states);
        b.h
    }

    /// The root index of supervoxel `sv` at `t` (ns), if the history knows the supervoxel.
    pub fn root_at(&self, sv: i64, t: i64) -> Option<RootIx> {
        let line = self.timelines.get(&sv)?;
        let mut at = line[0];
        for &r in &line[1..] {
            if self.roots[r].created <= t {
                at = r;
            } else {
                break;
            }
        }
        Some(at)
    }

    /// The index of root `id`.
    pub fn root(&self, id: i64) -> Option<&Root> {
        self.by_id.get(&id).map(|&ix| &self.roots[ix])
    }

    /// Whether root `ix` is the latest at `t`: created at or before it and not retired by then.
    pub fn is_latest(&self, ix: RootIx, t: i64) -> bool {
        let r = &self.roots[ix];
        r.created <= t && r.retired.is_none_or(|x| x > t)
    }
}

/// The connected groups of (older, newer) root pairs: (older roots, newer roots), each sorted.
fn groups(edges: &BTreeSet<(i64, i64)>) -> Vec<(Vec<i64>, Vec<i64>)> {
    // Nodes: older roots as (0, id), newer as (1, id).
    let mut index: HashMap<(u8, i64), usize> = HashMap::new();
    let mut parent: Vec<usize> = Vec::new();
    let mut keys: Vec<(u8, i64)> = Vec::new();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut node = |k: (u8, i64), parent: &mut Vec<usize>, keys: &mut Vec<(u8, i64)>| {
        *index.entry(k).or_insert_with(|| {
            parent.push(parent.len());
            keys.push(k);
            parent.len() - 1
        })
    };
    for &(a, n) in edges {
        let x = node((0, a), &mut parent, &mut keys);
        let y = node((1, n), &mut parent, &mut keys);
        let (rx, ry) = (find(&mut parent, x), find(&mut parent, y));
        if rx != ry {
            parent[rx] = ry;
        }
    }
    let mut by_group: BTreeMap<usize, (Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for (i, &(side, id)) in keys.clone().iter().enumerate() {
        let g = find(&mut parent, i);
        let entry = by_group.entry(g).or_default();
        if side == 0 {
            entry.0.push(id)
        } else {
            entry.1.push(id)
        }
    }
    let mut out: Vec<(Vec<i64>, Vec<i64>)> = by_group
        .into_values()
        .map(|(mut a, mut b)| {
            a.sort_unstable();
            b.sort_unstable();
            (a, b)
        })
        .collect();
    out.sort();
    out
}

/// After sorting the operations by time, point the roots at their new indices.
fn renumber(h: &mut History) {
    // Each operation knows its roots; rebuild the roots' op links from them.
    for r in &mut h.roots {
        r.created_by = None;
        r.retired_by = None;
    }
    for (i, op) in h.ops.iter_mut().enumerate() {
        op.id = i as u64 + 1;
        for &b in &op.before {
            h.roots[b].retired_by = Some(i);
        }
        for &a in &op.after {
            h.roots[a].created_by = Some(i);
        }
    }
}

/// Each sampled supervoxel's roots over time, and each root's supervoxels.
fn timelines(h: &mut History, states: &[HashMap<i64, i64>]) {
    let mut svs: BTreeSet<i64> = BTreeSet::new();
    for s in states {
        svs.extend(s.keys().copied());
    }
    let mut members: Vec<Vec<i64>> = vec![Vec::new(); h.roots.len()];
    for sv in svs {
        // The known roots, by version.
        let known: Vec<Option<RootIx>> = states
            .iter()
            .map(|s| s.get(&sv).and_then(|r| h.by_id.get(r).copied()))
            .collect();
        let Some(first) = known.iter().position(Option::is_some) else {
            continue;
        };
        let mut line = Vec::new();
        // Back from the first known root to a root of the first state (first parent each step).
        let mut r = known[first].expect("known");
        let mut back = vec![r];
        while let Some(&p) = h.roots[r].parents.first() {
            // A made-up piece is never a supervoxel's root: prefer a sampled parent.
            let p = h.roots[r]
                .parents
                .iter()
                .copied()
                .find(|&q| h.roots[q].id < MADE_UP_ROOTS)
                .unwrap_or(p);
            back.push(p);
            r = p;
        }
        back.reverse();
        line.extend(back);
        // Forward: at each edit, the child on the way to the next known root, else the first.
        let mut r = known[first].expect("known");
        let mut next_known = first + 1;
        while !h.roots[r].children.is_empty() {
            while next_known < known.len() && known[next_known].is_none() {
                next_known += 1;
            }
            let target = known.get(next_known).copied().flatten();
            let children = &h.roots[r].children;
            let step = target
                .and_then(|t| {
                    children
                        .iter()
                        .copied()
                        .find(|&c| c == t || leads_to(h, c, t))
                })
                .unwrap_or(children[0]);
            line.push(step);
            if Some(step) == target {
                next_known += 1;
            }
            r = step;
        }
        for &x in &line {
            members[x].push(sv);
        }
        line.dedup();
        h.timelines.insert(sv, line);
    }
    for m in &mut members {
        m.sort_unstable();
        m.dedup();
    }
    h.members = members;
}

/// Whether `to` is a descendant of `from`.
fn leads_to(h: &History, from: RootIx, to: RootIx) -> bool {
    let mut stack = vec![from];
    while let Some(r) = stack.pop() {
        if r == to {
            return true;
        }
        stack.extend(h.roots[r].children.iter().copied());
    }
    false
}
