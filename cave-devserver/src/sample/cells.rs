//! The shared universe of 144,120 nuclei: types, multi-soma merges, roles in the other
//! tables, positions, nucleus ids, and the segmentation objects they sit in.

use super::celltypes::{CellType, Class, META_TYPES, glia_type_for, neuron_type_for};
use super::ids::{SV_K_MAX, micros, supervoxel, utc_ns};
use super::rng::{Rng, below, chance, lognormal, normal, select, shuffle, stream, uniform, unit};

/// Nuclei in `nucleus_detection_v0`.
pub const NUCLEI: usize = 144_120;
/// Nucleus ids are drawn from this range (3-6 digits, seen 4,074 … 730,537).
pub const NUCLEUS_IDS: (i64, i64) = (600, 750_000);
/// Rows of `aibs_metamodel_celltypes_v661`.
pub const META_ROWS: usize = 94_014;
/// Metamodel rows whose nucleus point has root 0 at v1300.
pub const META_ZERO: usize = 175;
/// Sizes of the shared (multi-soma) roots among metamodel rows, root 0 excluded.
const GROUP_SIZES: [(usize, usize); 16] = [
    (350, 1),
    (102, 1),
    (60, 1),
    (43, 1),
    (30, 1),
    (25, 1),
    (20, 1),
    (15, 1),
    (12, 1),
    (10, 1),
    (8, 1),
    (6, 1),
    (5, 20),
    (4, 60),
    (3, 461),
    (2, 566),
];
/// Nuclei without a metamodel call: unlabelled neurons, glia, false positives.
const OTHER_NEURONS: usize = 10_000;
const OTHER_GLIA: usize = 13_000;
/// Nuclei without a metamodel call whose centroid misses the segmentation (root 0).
const OTHER_ZERO: usize = 10_500;

/// Nucleus count per visual area, lowest x first (§6.11).
pub const AREAS: [(&str, usize); 4] = [("V1", 90_765), ("RL", 31_622), ("AL", 20_859), ("LM", 874)];

/// Centre (x, z voxels) and half-widths of the 100 µm V1 column.
const COLUMN: (f64, f64, f64, f64) = (177_500.0, 21_500.0, 12_400.0, 1_240.0);

/// How a metamodel row relates to the roots of other rows at v1300.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Its root occurs once.
    Single,
    /// Its nucleus point has root 0.
    Zero,
    /// It shares its root with the other members of group `g`.
    Group(u32),
    /// Not in the metamodel table.
    Other,
}

/// What the other tables do with particular nuclei.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    /// Proofread cells (single-root neurons), 1,865.
    pub proofread: Vec<u32>,
    /// Proofread cells that are also column cells (dendrite-extended).
    pub proofread_column: Vec<bool>,
    /// Neurons of the V1 column (1,357).
    pub column_neurons: Vec<u32>,
    /// Glia of the V1 column (542).
    pub column_glia: Vec<u32>,
    /// Layer-5 ET cells of the column.
    pub l5et_column: Vec<u32>,
    /// Layer-5 PT cells of `bodor_pt_cells`.
    pub bodor_pt: Vec<u32>,
    /// Martinotti cells of `gamlin_2023_mcs`.
    pub gamlin_mc: Vec<u32>,
    /// Astrocytes of `vortex_astrocyte_proofreading_status`.
    pub astro_status: Vec<u32>,
    /// Two glia that share one root before v1300 and not after.
    pub early_merged_pair: [u32; 2],
    /// Metamodel pairs that share a root from v1300 on and not before.
    pub late_merged_pairs: Vec<[u32; 2]>,
}

/// The nuclei, index-aligned vectors.
#[derive(Debug, Clone)]
pub struct Cells {
    /// True type.
    pub ty: Vec<CellType>,
    /// Metamodel slot.
    pub slot: Vec<Slot>,
    /// Nuclei `0..n_meta` are the metamodel rows.
    pub n_meta: usize,
    /// Nucleus id.
    pub id: Vec<i64>,
    /// `created` of the nucleus row (ns).
    pub created: Vec<i64>,
    /// Row order of `nucleus_detection_v0` (indices into the vectors).
    pub row_order: Vec<u32>,
    /// Volume (µm³).
    pub volume: Vec<f32>,
    /// Centroid (voxels).
    pub pos: Vec<[i32; 3]>,
    /// Depth below pia (µm).
    pub depth: Vec<f32>,
    /// Whether the centroid misses the segmentation (root and supervoxel 0).
    pub miss: Vec<bool>,
    /// The supervoxel at the centroid (what it would be without `miss`).
    pub sv: Vec<i64>,
    /// Visual area index into [`AREAS`].
    pub area: Vec<u8>,
    /// Distance (µm) to the nearest other area.
    pub area_dist: Vec<f32>,
    /// Neuron call of `nucleus_ref_neuron_svm`.
    pub svm_neuron: Vec<bool>,
    /// Segmentation object before v1300.
    pub obj_early: Vec<u32>,
    /// Segmentation object from v1300 on.
    pub obj_late: Vec<u32>,
    /// Whether object `o` only exists from v1300 on.
    pub obj_appears_late: Vec<bool>,
    /// The roles.
    pub roles: Roles,
}

impl Cells {
    /// Build the universe from `seed`.
    pub fn generate(seed: u64) -> Cells {
        let mut rng = stream(seed, "cells", 0);
        let layout = Layout::new(&mut rng);
        let roles = pick_roles(&layout);
        let mut cells = Cells::empty(layout);
        cells.roles = roles;
        cells.place(&mut stream(seed, "cells.place", 0));
        cells.number(&mut stream(seed, "cells.ids", 0));
        cells.describe(&mut stream(seed, "cells.values", 0));
        cells.link_objects();
        cells
    }

    fn empty(layout: Layout) -> Cells {
        let n = layout.ty.len();
        Cells {
            ty: layout.ty,
            slot: layout.slot,
            n_meta: META_ROWS,
            id: vec![0; n],
            created: vec![0; n],
            row_order: Vec::new(),
            volume: vec![0.0; n],
            pos: vec![[0; 3]; n],
            depth: vec![0.0; n],
            miss: layout.miss,
            sv: vec![0; n],
            area: vec![0; n],
            area_dist: vec![0.0; n],
            svm_neuron: vec![false; n],
            obj_early: Vec::new(),
            obj_late: Vec::new(),
            obj_appears_late: Vec::new(),
            roles: Roles::default(),
        }
    }

    /// Number of nuclei.
    pub fn len(&self) -> usize {
        self.ty.len()
    }

    /// The object of nucleus `i` before (`late = false`) or from v1300 on.
    pub fn object(&self, i: usize, late: bool) -> u32 {
        if late {
            self.obj_late[i]
        } else {
            self.obj_early[i]
        }
    }

    /// Number of segmentation objects.
    pub fn n_objects(&self) -> usize {
        self.obj_appears_late.len()
    }

    fn place(&mut self, rng: &mut Rng) {
        let mut column = vec![false; self.len()];
        for &i in self
            .roles
            .column_neurons
            .iter()
            .chain(&self.roles.column_glia)
        {
            column[i as usize] = true;
        }
        let mut proofread = vec![false; self.len()];
        for &i in &self.roles.proofread {
            proofread[i as usize] = true;
        }
        let mut group_anchor: Vec<Option<[f64; 3]>> = Vec::new();
        for i in 0..self.len() {
            let ty = self.ty[i];
            let (x, z) = if column[i] {
                column_xz(rng)
            } else if proofread[i] {
                (
                    uniform(rng, 110_000.0, 250_000.0),
                    uniform(rng, 16_000.0, 27_000.0),
                )
            } else {
                (
                    uniform(rng, 60_000.0, 392_700.0),
                    uniform(rng, 15_400.0, 27_400.0),
                )
            };
            let (lo, hi) = ty.depth_range();
            let mut p = [x, y_of_depth(x, uniform(rng, lo, hi)), z];
            if self.miss[i] && !matches!(self.slot[i], Slot::Group(_)) {
                p = edge_point(rng, ty);
            }
            if let Slot::Group(g) = self.slot[i] {
                p = grouped(rng, &mut group_anchor, g as usize, p);
            }
            self.set_position(i, p);
        }
        // The glia pair merged before v1300 sit next to each other.
        let [a, b] = self.roles.early_merged_pair.map(|i| i as usize);
        let near = self.pos[a].map(f64::from);
        let offset = [
            uniform(rng, -900.0, 900.0),
            uniform(rng, -900.0, 900.0),
            40.0,
        ];
        self.set_position(
            b,
            [
                near[0] + offset[0],
                near[1] + offset[1],
                near[2] + offset[2],
            ],
        );
    }

    fn set_position(&mut self, i: usize, p: [f64; 3]) {
        let grid = |v: f64, lo: f64, hi: f64| ((v.clamp(lo, hi) / 16.0).round() * 16.0) as i32;
        let x = grid(p[0], 59_936.0, 392_736.0);
        let y = grid(p[1], 66_000.0, 305_000.0);
        let z = p[2].clamp(15_000.0, 27_800.0).round() as i32;
        self.pos[i] = [x, y, z];
        self.depth[i] = depth_of(f64::from(x), f64::from(y)) as f32;
    }

    /// Nucleus ids grow with x (they are flat-segmentation ids, §7.2); areas by x rank.
    fn number(&mut self, rng: &mut Rng) {
        let n = self.len();
        let mut by_x: Vec<u32> = (0..n as u32).collect();
        by_x.sort_by_key(|&i| (self.pos[i as usize][0], self.pos[i as usize][2], i));
        let ids = select(rng, (NUCLEUS_IDS.1 - NUCLEUS_IDS.0) as usize, n);
        for (rank, &i) in by_x.iter().enumerate() {
            self.id[i as usize] = NUCLEUS_IDS.0 + ids[rank] as i64;
        }
        let mut start = 0;
        for (a, &(_, count)) in AREAS.iter().enumerate() {
            let end = (start + count).min(n);
            let lo = by_x.get(start).map_or(0, |&i| self.pos[i as usize][0]);
            let hi = by_x
                .get(end.max(1) - 1)
                .map_or(0, |&i| self.pos[i as usize][0]);
            for &i in &by_x[start..end] {
                let x = self.pos[i as usize][0];
                let to_lo = if a == 0 { i32::MAX } else { x - lo };
                let to_hi = if a + 1 == AREAS.len() {
                    i32::MAX
                } else {
                    hi - x
                };
                let voxels = f64::from(to_lo.min(to_hi).min(200_000));
                let um = voxels * 0.004 + 4.0 + normal(rng).abs() * 6.0;
                self.area[i as usize] = a as u8;
                self.area_dist[i as usize] = um as f32;
            }
            start = end;
        }
    }

    /// Row order and `created`, volume, supervoxel and the neuron call.
    fn describe(&mut self, rng: &mut Rng) {
        let n = self.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        shuffle(rng, &mut order);
        let start = utc_ns((2020, 9, 28), (22, 40, 41), 780_734);
        let end = utc_ns((2020, 9, 28), (22, 45, 29), 900_000);
        let mut t = start as f64;
        for &i in &order {
            self.created[i as usize] = micros((t as i64).min(end));
            t += uniform(rng, 0.9e6, 1.1e6);
            if chance(rng, 1.0 / 2_000.0) {
                t += uniform(rng, 0.0, 2.0e9);
            }
        }
        self.row_order = order;
        for i in 0..n {
            let ty = self.ty[i];
            let (median, sigma) = ty.volume_model();
            self.volume[i] = lognormal(rng, median, sigma).max(25.05) as f32;
            self.sv[i] = supervoxel(self.pos[i], below(rng, 1, SV_K_MAX));
            self.svm_neuron[i] = ty.is_neuron() != chance(rng, 0.012);
        }
    }

    /// Objects: one per nucleus, one per shared group, one for the glia pair merged early.
    fn link_objects(&mut self) {
        let n = self.len();
        let groups = self
            .slot
            .iter()
            .filter_map(|s| match s {
                Slot::Group(g) => Some(*g as usize + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let merged = (n + groups) as u32;
        self.obj_late = (0..n)
            .map(|i| match self.slot[i] {
                Slot::Group(g) => (n + g as usize) as u32,
                _ => i as u32,
            })
            .collect();
        self.obj_early = self.obj_late.clone();
        self.obj_appears_late = vec![false; n + groups + 1];
        for pair in &self.roles.late_merged_pairs {
            for &i in pair {
                self.obj_early[i as usize] = i;
            }
            self.obj_appears_late[self.obj_late[pair[0] as usize] as usize] = true;
        }
        for &i in &self.roles.early_merged_pair {
            self.obj_early[i as usize] = merged;
            self.obj_appears_late[i as usize] = true;
        }
    }
}

/// Types and slots of every nucleus, before roles and positions.
struct Layout {
    ty: Vec<CellType>,
    slot: Vec<Slot>,
    miss: Vec<bool>,
    /// Nuclei of each metamodel type with a single root, in META_TYPES order, shuffled.
    singles: Vec<Vec<u32>>,
    /// Groups whose members share a root only from v1300 on.
    late_pairs: Vec<[u32; 2]>,
}

impl Layout {
    fn new(rng: &mut Rng) -> Layout {
        let mut layout = Layout {
            ty: Vec::with_capacity(NUCLEI),
            slot: Vec::with_capacity(NUCLEI),
            miss: Vec::with_capacity(NUCLEI),
            singles: Vec::new(),
            late_pairs: Vec::new(),
        };
        for t in META_TYPES {
            let start = layout.ty.len() as u32;
            let mut list: Vec<u32> = (start..start + t.single_count() as u32).collect();
            shuffle(rng, &mut list);
            layout.singles.push(list);
            layout.push_many(t, Slot::Single, t.single_count());
        }
        layout.shared(rng);
        layout.others(rng);
        layout
    }

    fn push_many(&mut self, t: CellType, slot: Slot, count: usize) {
        for _ in 0..count {
            self.ty.push(t);
            self.slot.push(slot);
            self.miss.push(slot == Slot::Zero);
        }
    }

    /// The 3,711 rows on shared roots: 175 on root 0, then the groups. The first three pairs
    /// (E+E, E+E, I+I) are separate cells before v1300.
    fn shared(&mut self, rng: &mut Rng) {
        let mut pool: Vec<CellType> = META_TYPES
            .iter()
            .flat_map(|&t| std::iter::repeat_n(t, t.shared_count()))
            .collect();
        shuffle(rng, &mut pool);
        let mut special = Vec::new();
        for class in [Class::Excitatory, Class::Excitatory, Class::Inhibitory] {
            for _ in 0..2 {
                if let Some(k) = pool.iter().position(|t| t.class() == class) {
                    special.push(pool.remove(k));
                }
            }
        }
        let mut pool = pool.into_iter();
        for t in pool.by_ref().take(META_ZERO) {
            self.push_many(t, Slot::Zero, 1);
        }
        let mut g = 0u32;
        for (size, count) in GROUP_SIZES {
            for _ in 0..count {
                let first = self.ty.len() as u32;
                let late_pair = size == 2 && self.late_pairs.len() < 3 && special.len() >= 2;
                for _ in 0..size {
                    let t = if late_pair {
                        Some(special.remove(0))
                    } else {
                        pool.next()
                    };
                    self.push_many(t.unwrap_or(CellType::Oligo), Slot::Group(g), 1);
                }
                if late_pair {
                    self.late_pairs.push([first, first + 1]);
                }
                g += 1;
            }
        }
    }

    /// Nuclei without a metamodel call.
    fn others(&mut self, rng: &mut Rng) {
        let first = self.ty.len();
        let count = NUCLEI - first;
        for k in 0..count {
            let t = if k < OTHER_NEURONS {
                neuron_type_for(unit(rng))
            } else if k < OTHER_NEURONS + OTHER_GLIA {
                glia_type_for(unit(rng))
            } else {
                CellType::Junk
            };
            self.push_many(t, Slot::Other, 1);
        }
        for k in select(rng, count, OTHER_ZERO) {
            self.miss[first + k] = true;
        }
    }
}

/// Take roles from the shuffled single-root lists of each type, never giving one nucleus two
/// roles except proofread+column (about 35 % of proofread cells).
fn pick_roles(layout: &Layout) -> Roles {
    let mut roles = Roles {
        late_merged_pairs: layout.late_pairs.clone(),
        ..Roles::default()
    };
    let mut cursor = vec![0usize; META_TYPES.len()];
    for (k, t) in META_TYPES.iter().enumerate() {
        let list = &layout.singles[k];
        let (pr, col) = (t.proofread_count(), t.column_count());
        let overlap = ((pr as f64 * 0.35).round() as usize).min(col);
        for (j, &i) in list[..pr].iter().enumerate() {
            roles.proofread.push(i);
            roles.proofread_column.push(j < overlap);
        }
        let column = list[..overlap].iter().chain(&list[pr..pr + col - overlap]);
        for &i in column {
            if t.is_neuron() {
                roles.column_neurons.push(i);
                if *t == CellType::P5Et {
                    roles.l5et_column.push(i);
                }
            } else {
                roles.column_glia.push(i);
            }
        }
        cursor[k] = pr + col - overlap;
    }
    let mut take = |t: CellType, n: usize| -> Vec<u32> {
        let k = META_TYPES.iter().position(|&x| x == t).unwrap_or(0);
        let list = &layout.singles[k];
        let end = (cursor[k] + n).min(list.len());
        let out = list[cursor[k]..end].to_vec();
        cursor[k] = end;
        out
    };
    roles.bodor_pt = roles.l5et_column.clone();
    roles.bodor_pt.extend(take(CellType::P5Et, 59));
    let proofread_mc: Vec<u32> = roles
        .proofread
        .iter()
        .copied()
        .filter(|&i| layout.ty[i as usize] == CellType::Mc)
        .take(30)
        .collect();
    roles.gamlin_mc = proofread_mc;
    roles.gamlin_mc.extend(take(CellType::Mc, 30));
    roles.astro_status = take(CellType::Astrocyte, 14);
    let pair = take(CellType::Oligo, 2);
    let first = pair.first().copied().unwrap_or(0);
    roles.early_merged_pair = [first, pair.get(1).copied().unwrap_or(first)];
    roles
}

/// `(x, z)` inside the V1 column.
fn column_xz(rng: &mut Rng) -> (f64, f64) {
    let (cx, cz, hx, hz) = COLUMN;
    (
        uniform(rng, cx - hx, cx + hx),
        uniform(rng, cz - hz, cz + hz),
    )
}

/// A point at the edge of the segmented volume, where nucleus centroids miss the segmentation.
fn edge_point(rng: &mut Rng, ty: CellType) -> [f64; 3] {
    let u = unit(rng);
    let x = uniform(rng, 60_000.0, 392_700.0);
    let z = uniform(rng, 15_400.0, 27_400.0);
    let (lo, hi) = ty.depth_range();
    if u < 0.45 {
        [x, y_of_depth(x, uniform(rng, 800.0, 880.0)), z]
    } else if u < 0.75 {
        let x = uniform(rng, 372_000.0, 392_700.0);
        [x, y_of_depth(x, uniform(rng, lo, hi)), z]
    } else {
        let z = if chance(rng, 0.5) {
            uniform(rng, 15_000.0, 15_500.0)
        } else {
            uniform(rng, 27_300.0, 27_800.0)
        };
        [x, y_of_depth(x, uniform(rng, lo, hi)), z]
    }
}

/// Members of a merged object sit around its first member; big merges spread further.
fn grouped(rng: &mut Rng, anchors: &mut Vec<Option<[f64; 3]>>, g: usize, p: [f64; 3]) -> [f64; 3] {
    if anchors.len() <= g {
        anchors.resize(g + 1, None);
    }
    match anchors[g] {
        None => {
            anchors[g] = Some(p);
            p
        }
        Some(a) => {
            let spread = match g {
                0..4 => 20_000.0,
                4..12 => 8_000.0,
                _ => 1_500.0,
            };
            [
                a[0] + normal(rng) * spread,
                a[1] + normal(rng) * spread,
                a[2] + normal(rng) * spread / 10.0,
            ]
        }
    }
}

const SIN5: f64 = 0.087_155_742_747_658_17;
const COS5: f64 = 0.996_194_698_091_745_5;

/// The y voxel at `depth` µm below pia for x voxel `x` (§7.1 rigid model).
pub fn y_of_depth(x: f64, depth: f64) -> f64 {
    (depth * 1_000.0 + 396_671.03 - SIN5 * x * 4.0) / COS5 / 4.0
}

/// Depth below pia (µm) of a voxel position.
pub fn depth_of(x: f64, y: f64) -> f64 {
    (SIN5 * x * 4.0 + COS5 * y * 4.0 - 396_671.03) / 1_000.0
}
