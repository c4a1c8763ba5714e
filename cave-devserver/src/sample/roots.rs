//! Versions and root ids: every segmentation object gets a root per sampled version; about 10 %
//! of objects are edited between consecutive versions and then get a newer (larger) root.

use cave_schema::Snapshot;

use super::cells::Cells;
use super::ids::{ROOT_N_END, ROOT_N_MIN, ROOT_N_SPLIT, RootBand};
use super::proofread::ProofPlan;
use super::rng::{chance, mix, stream};

/// The version from which the v1300 state (merges, proofreading) applies.
pub const LATE_FROM: u32 = 1_300;
/// Probability that an object is edited between two sampled versions.
const EDIT_CHANCE: f64 = 0.1;

/// One sampled version.
#[derive(Debug, Clone, Copy)]
pub struct Epoch {
    /// The materialization version.
    pub version: u32,
    /// Its timestamp (ns).
    pub ts: i64,
}

/// The sampled versions, ascending.
#[derive(Debug, Clone)]
pub struct Epochs {
    /// The versions.
    pub list: Vec<Epoch>,
    /// Index of the first version ≥ [`LATE_FROM`] (`list.len()` when none).
    pub first_late: usize,
}

impl Epochs {
    /// The requested versions that the snapshot has, ascending and without repeats.
    pub fn new(snapshot: &Snapshot, versions: &[u32]) -> Epochs {
        let mut wanted: Vec<u32> = versions.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let list: Vec<Epoch> = wanted
            .into_iter()
            .filter_map(|v| {
                let meta = snapshot.version(v)?;
                Some(Epoch {
                    version: v,
                    ts: meta.time_stamp.timestamp_nanos_opt().unwrap_or(i64::MAX),
                })
            })
            .collect();
        let first_late = list
            .iter()
            .position(|e| e.version >= LATE_FROM)
            .unwrap_or(list.len());
        Epochs { list, first_late }
    }

    /// Number of versions.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether version index `j` has the v1300 state.
    pub fn late(&self, j: usize) -> bool {
        j >= self.first_late
    }

    /// The index of the last version at or before `ts` (0 when `ts` is before all).
    pub fn at_time(&self, ts: i64) -> usize {
        self.list.iter().rposition(|e| e.ts <= ts).unwrap_or(0)
    }

    /// The index of the version whose state a row created at `ts` was made in: the last
    /// version before v1300 for early rows, the first late version otherwise (clamped).
    pub fn regime_index(&self, late: bool) -> usize {
        let last = self.len().saturating_sub(1);
        if late {
            self.first_late.min(last)
        } else {
            self.first_late.saturating_sub(1).min(last)
        }
    }
}

/// Root ids of every object at every sampled version, and of soma-less fragments.
#[derive(Debug, Clone)]
pub struct Roots {
    per_version: Vec<Vec<i64>>,
    fragment_band: RootBand,
    n_objects: u64,
    first_late: usize,
}

impl Roots {
    /// Assign roots to the cells' objects.
    pub fn new(cells: &Cells, proof: &ProofPlan, epochs: &Epochs, seed: u64) -> Roots {
        let k = epochs.len().max(1);
        let bands = bands(k, seed);
        let n = cells.n_objects();
        let mut proofread = vec![false; n];
        let mut forced = vec![false; n];
        for c in &proof.cells {
            let o = cells.obj_late[c.nucleus as usize] as usize;
            proofread[o] = true;
            forced[o] = c.edited;
        }
        let mut rng = stream(seed, "roots", 0);
        let mut counter = vec![0u64; k];
        let mut per_version = vec![vec![0i64; n]; k];
        for o in 0..n {
            let appear = if cells.obj_appears_late[o] {
                epochs.first_late
            } else {
                0
            };
            for j in appear..k {
                let fresh = if j == appear {
                    true
                } else if proofread[o] {
                    j == epochs.first_late && forced[o]
                } else {
                    chance(&mut rng, EDIT_CHANCE)
                };
                per_version[j][o] = if !fresh {
                    per_version[j - 1][o]
                } else if j == 0 {
                    bands[0].root(o as u64)
                } else {
                    counter[j] += 1;
                    bands[j].root(counter[j] - 1)
                };
            }
        }
        Roots {
            per_version,
            fragment_band: bands[0],
            n_objects: n as u64,
            first_late: epochs.first_late,
        }
    }

    /// The root of object `o` at version index `j`.
    pub fn object(&self, j: usize, o: u32) -> i64 {
        self.per_version[j][o as usize]
    }

    /// The root of the object of nucleus `i` at version index `j` (even when the centroid
    /// misses the segmentation).
    pub fn cell(&self, cells: &Cells, j: usize, i: usize) -> i64 {
        self.object(j, cells.object(i, j >= self.first_late))
    }

    /// The root of nucleus `i`'s centroid at version index `j`: 0 when it misses the
    /// segmentation.
    pub fn nucleus(&self, cells: &Cells, j: usize, i: usize) -> i64 {
        if cells.miss[i] {
            0
        } else {
            self.cell(cells, j, i)
        }
    }

    /// Number of versions.
    pub fn versions(&self) -> usize {
        self.per_version.len()
    }

    /// The root of soma-less fragment `f`.
    pub fn fragment(&self, f: u64) -> i64 {
        let room = self
            .fragment_band
            .capacity()
            .saturating_sub(self.n_objects)
            .max(1);
        self.fragment_band.root(self.n_objects + f % room)
    }
}

/// Band 0 holds the roots of the first version; later versions hand out newer counters.
fn bands(k: usize, seed: u64) -> Vec<RootBand> {
    if k == 1 {
        return vec![RootBand::new(ROOT_N_MIN, ROOT_N_END, mix(seed))];
    }
    let mut out = vec![RootBand::new(ROOT_N_MIN, ROOT_N_SPLIT, mix(seed))];
    let width = (ROOT_N_END - ROOT_N_SPLIT) / (k as i64 - 1);
    for j in 1..k {
        let lo = ROOT_N_SPLIT + width * (j as i64 - 1);
        out.push(RootBand::new(lo, lo + width, mix(seed ^ j as u64)));
    }
    out
}
