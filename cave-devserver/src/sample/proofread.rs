//! `proofreading_status_and_strategy`: which cells are proofread, with what strategy, before
//! v1300 (the v1181 counts) and from v1300 on (the v1300 counts), and the annotation rows.

use super::cells::Cells;
use super::ids::{micros, utc_ns};
use super::rng::{Rng, chance, select, shuffle, stream, uniform};

/// `strategy_axon` labels.
pub const PARTIAL: &str = "axon_partially_extended";
/// See [`PARTIAL`].
pub const FULL: &str = "axon_fully_extended";
/// See [`PARTIAL`].
pub const INTERAREAL: &str = "axon_interareal";
/// See [`PARTIAL`].
pub const TRUNCATED: &str = "axon_column_truncated";
/// `none`, for axon and dendrite.
pub const NONE: &str = "none";

/// Largest annotation id at v1300 (§6.1).
const MAX_ID: i64 = 3_066;

/// One proofread cell.
#[derive(Debug, Clone)]
pub struct ProofCell {
    /// Its nucleus.
    pub nucleus: u32,
    /// `strategy_axon` from v1300 on.
    pub late_axon: &'static str,
    /// `strategy_axon` before v1300, when it was proofread then.
    pub early_axon: Option<&'static str>,
    /// `status_axon` from v1300 on.
    pub late_status_axon: bool,
    /// `status_axon` before v1300.
    pub early_status_axon: bool,
    /// `strategy_dendrite`.
    pub dendrite: &'static str,
    /// Whether its root changes between the last version before v1300 and v1300 (it then gets
    /// a new annotation row, superseding the old one).
    pub edited: bool,
}

impl ProofCell {
    /// Whether its axon was extended (or first proofread) between v1181 and v1300.
    pub fn extended_late(&self) -> bool {
        self.early_axon != Some(self.late_axon)
    }
}

/// One annotation row.
#[derive(Debug, Clone)]
pub struct ProofRow {
    /// Index into [`ProofPlan::cells`].
    pub cell: usize,
    /// Whether the row carries the v1300 state (created after v1181).
    pub late: bool,
    /// Annotation id.
    pub id: i64,
    /// `created` (ns).
    pub created: i64,
    /// The id of the row that supersedes it from v1300 on.
    pub superseded_by: Option<i64>,
}

/// The proofread cells and their rows (ordered by id, hence by `created`).
#[derive(Debug, Clone)]
pub struct ProofPlan {
    /// The cells.
    pub cells: Vec<ProofCell>,
    /// The rows.
    pub rows: Vec<ProofRow>,
}

impl ProofPlan {
    /// Plan the proofreading of the cells' proofread role.
    pub fn new(cells: &Cells, seed: u64) -> ProofPlan {
        let mut rng = stream(seed, "proofread", 0);
        let mut order: Vec<usize> = (0..cells.roles.proofread.len()).collect();
        shuffle(&mut rng, &mut order);
        let mut plan = ProofPlan {
            cells: Vec::with_capacity(order.len()),
            rows: Vec::new(),
        };
        for (rank, &k) in order.iter().enumerate() {
            let (late_axon, early_axon) = strategies(rank);
            let dendrite = if cells.roles.proofread_column[k] {
                "dendrite_extended"
            } else if chance(&mut rng, 0.075) {
                NONE
            } else {
                "dendrite_clean"
            };
            plan.cells.push(ProofCell {
                nucleus: cells.roles.proofread[k],
                late_axon,
                early_axon,
                late_status_axon: late_axon != NONE || (1_716..1_723).contains(&rank),
                early_status_axon: early_axon != Some(NONE) || (1_716..1_721).contains(&rank),
                dendrite,
                edited: false,
            });
        }
        for cell in &mut plan.cells {
            let changed = cell.extended_late() || cell.early_status_axon != cell.late_status_axon;
            cell.edited = changed || chance(&mut rng, 0.1);
        }
        plan.number_rows(&mut rng);
        plan
    }

    fn number_rows(&mut self, rng: &mut Rng) {
        let mut early: Vec<usize> = (0..self.cells.len())
            .filter(|&c| self.cells[c].early_axon.is_some())
            .collect();
        let mut late: Vec<usize> = (0..self.cells.len())
            .filter(|&c| self.cells[c].edited)
            .collect();
        shuffle(rng, &mut early);
        shuffle(rng, &mut late);
        let first_late = (MAX_ID - late.len() as i64 + 1).max(early.len() as i64 + 1);
        let early_ids = select(rng, (first_late - 1) as usize, early.len());
        let mut late_id = vec![None; self.cells.len()];
        for (k, &c) in late.iter().enumerate() {
            late_id[c] = Some(first_late + k as i64);
        }
        let early_window = (
            utc_ns((2024, 4, 16), (9, 0, 0), 0),
            utc_ns((2024, 9, 14), (18, 0, 0), 0),
        );
        for (k, &c) in early.iter().enumerate() {
            self.rows.push(ProofRow {
                cell: c,
                late: false,
                id: early_ids[k] as i64 + 1,
                created: spread(rng, early_window, k, early.len()),
                superseded_by: late_id[c],
            });
        }
        let late_window = (
            utc_ns((2024, 9, 20), (9, 0, 0), 0),
            utc_ns((2025, 1, 11), (22, 0, 0), 0),
        );
        let batch = utc_ns((2025, 1, 12), (3, 0, 0), 936_352);
        for (k, &c) in late.iter().enumerate() {
            let from_end = late.len() - k;
            let created = if from_end <= 5 {
                micros(batch + (5 - from_end) as i64 * 19_000_000)
            } else {
                spread(rng, late_window, k, late.len())
            };
            self.rows.push(ProofRow {
                cell: c,
                late: true,
                id: first_late + k as i64,
                created,
                superseded_by: None,
            });
        }
        self.rows.sort_by_key(|r| r.id);
    }
}

/// `(late, early)` axon strategies of the cell at `rank` of the shuffled proofread list, so that
/// v1300 counts 1,459 / 130 / 127 / 149 and v1181 counts 979 / 80 / 144 / 233 / 185.
fn strategies(rank: usize) -> (&'static str, Option<&'static str>) {
    match rank {
        0..979 => (PARTIAL, Some(PARTIAL)),
        979..1_212 => (PARTIAL, Some(TRUNCATED)),
        1_212..1_248 => (PARTIAL, Some(NONE)),
        1_248..1_459 => (PARTIAL, None),
        1_459..1_589 => (INTERAREAL, Some(INTERAREAL)),
        1_589..1_669 => (FULL, Some(FULL)),
        1_669..1_683 => (FULL, Some(INTERAREAL)),
        1_683..1_716 => (FULL, None),
        _ => (NONE, Some(NONE)),
    }
}

/// The `k`-th of `n` increasing timestamps in `window`, with jitter, in microseconds.
fn spread(rng: &mut Rng, window: (i64, i64), k: usize, n: usize) -> i64 {
    let step = (window.1 - window.0) as f64 / n.max(1) as f64;
    micros(window.0 + (step * (k as f64 + uniform(rng, 0.0, 0.9))) as i64)
}
