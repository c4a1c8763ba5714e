//! `synapses_pni_2`: `n` synapses whose post side is mostly on neurons and whose pre side is
//! mostly on soma-less fragments or on proofread axons (§7.4). Every proofread cell first gets a
//! quota of inputs and outputs; the other rows are drawn by weight. Rows are generated in
//! fixed-size chunks, each from its own RNG stream, so the result does not depend on the number
//! of threads. About 1% of the fragment sides are outside the segmentation (root 0, supervoxel
//! 0), and a few synapses are autapses: what a synapse query leaves out by default.

use super::World;
use super::celltypes::{CellType, Class};
use super::ids::{
    SV_K_MAX, X_RANGE, Y_RANGE, Z_RANGE, chunk_bits, clamp_point, even, micros, supervoxel, utc_ns,
};
use super::rng::{
    Affine, Rng, Weighted, below, chance, direction, lognormal, mix, normal_pair, stream, uniform,
};

/// `pre_nuc`/`post_nuc` of a side that is not on a nucleus' cell.
pub const NO_CELL: u32 = u32::MAX;
/// Rows per RNG chunk.
const CHUNK: usize = 1 << 16;
/// Most quota synapses per proofread cell and side.
const QUOTA: usize = 60;
/// Synapse ids span this range (§7.2).
const ID_RANGE: (i64, i64) = (4_000, 485_000_000);

/// The generated synapses, column by column.
#[derive(Debug, Clone, Default)]
pub struct Synapses {
    /// Cleft ids (grow with x).
    pub id: Vec<i64>,
    /// `created` (ns).
    pub created: Vec<i64>,
    /// `pre_pt_position` x, y, z.
    pub pre: [Vec<i32>; 3],
    /// `post_pt_position` x, y, z.
    pub post: [Vec<i32>; 3],
    /// `ctr_pt_position` x, y, z.
    pub ctr: [Vec<i32>; 3],
    /// `size` (voxels, a multiple of 4).
    pub size: Vec<f32>,
    /// `pre_pt_supervoxel_id`.
    pub pre_sv: Vec<i64>,
    /// `post_pt_supervoxel_id`.
    pub post_sv: Vec<i64>,
    /// `pre_pt_root_id` per version index.
    pub pre_root: Vec<Vec<i64>>,
    /// `post_pt_root_id` per version index.
    pub post_root: Vec<Vec<i64>>,
    /// The nucleus whose cell the pre side is on, or [`NO_CELL`].
    pub pre_nuc: Vec<u32>,
    /// The nucleus whose cell the post side is on, or [`NO_CELL`].
    pub post_nuc: Vec<u32>,
}

impl Synapses {
    /// Number of synapses.
    pub fn len(&self) -> usize {
        self.id.len()
    }

    /// Generate `n` synapses.
    pub fn generate(world: &World, n: usize) -> Synapses {
        let versions = world.roots.versions();
        let mut syn = Synapses {
            id: Vec::new(),
            created: Vec::new(),
            pre: std::array::from_fn(|_| vec![0; n]),
            post: std::array::from_fn(|_| vec![0; n]),
            ctr: std::array::from_fn(|_| vec![0; n]),
            size: vec![0.0; n],
            pre_sv: vec![0; n],
            post_sv: vec![0; n],
            pre_root: vec![vec![0; n]; versions],
            post_root: vec![vec![0; n]; versions],
            pre_nuc: vec![NO_CELL; n],
            post_nuc: vec![NO_CELL; n],
        };
        let plan = Plan::new(world, n);
        run_parallel(&plan, syn.out(), n);
        syn.number(world.seed);
        syn
    }

    fn out(&mut self) -> Out<'_> {
        let mut i64s: Vec<&mut [i64]> = vec![&mut self.pre_sv, &mut self.post_sv];
        for (a, b) in self.pre_root.iter_mut().zip(self.post_root.iter_mut()) {
            i64s.push(a);
            i64s.push(b);
        }
        let [px, py, pz] = &mut self.pre;
        let [qx, qy, qz] = &mut self.post;
        let [cx, cy, cz] = &mut self.ctr;
        Out {
            i32s: vec![px, py, pz, qx, qy, qz, cx, cy, cz],
            f32s: vec![&mut self.size],
            i64s,
            u32s: vec![&mut self.pre_nuc, &mut self.post_nuc],
        }
    }

    /// Ids grow with the x of the cleft (a counting sort on 16-voxel bins, ties by row), and
    /// `created` follows the id in batches that share one timestamp.
    fn number(&mut self, seed: u64) {
        let n = self.len_rows();
        let lo = X_RANGE.0;
        let bins = ((X_RANGE.1 - lo) >> 4) as usize + 1;
        let bin = |x: i32| ((x.clamp(X_RANGE.0, X_RANGE.1) - lo) >> 4) as usize;
        let mut next = vec![0u64; bins + 1];
        for &x in &self.ctr[0] {
            next[bin(x) + 1] += 1;
        }
        for b in 1..=bins {
            next[b] += next[b - 1];
        }
        let stride = ((ID_RANGE.1 - ID_RANGE.0) / n.max(1) as i64).max(1);
        let batches = n.clamp(1, 28_000) as u64;
        let t0 = utc_ns((2020, 11, 4), (6, 48, 58), 343_057);
        let span = utc_ns((2020, 11, 4), (14, 43, 59), 0) - t0;
        let mut id = Vec::with_capacity(n);
        let mut created = Vec::with_capacity(n);
        for &x in &self.ctr[0] {
            let rank = next[bin(x)];
            next[bin(x)] += 1;
            let jitter = (mix(seed ^ rank) % stride as u64) as i64;
            id.push(ID_RANGE.0 + rank as i64 * stride + jitter);
            let batch = rank * batches / n.max(1) as u64;
            let offset = span / batches as i64 * batch as i64;
            let within = (mix(seed ^ batch ^ 0x5eed) % 800_000) as i64 * 1_000;
            created.push(micros(t0 + offset + within));
        }
        self.id = id;
        self.created = created;
    }

    fn len_rows(&self) -> usize {
        self.size.len()
    }
}

/// Mutable views of every output column over a range of rows.
struct Out<'a> {
    i32s: Vec<&'a mut [i32]>,
    f32s: Vec<&'a mut [f32]>,
    i64s: Vec<&'a mut [i64]>,
    u32s: Vec<&'a mut [u32]>,
}

fn split_all<T>(v: Vec<&mut [T]>, mid: usize) -> (Vec<&mut [T]>, Vec<&mut [T]>) {
    v.into_iter().map(|s| s.split_at_mut(mid)).unzip()
}

impl<'a> Out<'a> {
    fn split(self, mid: usize) -> (Out<'a>, Out<'a>) {
        let (a1, a2) = split_all(self.i32s, mid);
        let (b1, b2) = split_all(self.f32s, mid);
        let (c1, c2) = split_all(self.i64s, mid);
        let (d1, d2) = split_all(self.u32s, mid);
        (
            Out {
                i32s: a1,
                f32s: b1,
                i64s: c1,
                u32s: d1,
            },
            Out {
                i32s: a2,
                f32s: b2,
                i64s: c2,
                u32s: d2,
            },
        )
    }

    fn write(&mut self, i: usize, row: &Row) {
        for (k, p) in [row.pre, row.post, row.ctr].iter().enumerate() {
            for (axis, &v) in p.iter().enumerate() {
                self.i32s[k * 3 + axis][i] = v;
            }
        }
        self.f32s[0][i] = row.size;
        self.i64s[0][i] = row.pre_sv;
        self.i64s[1][i] = row.post_sv;
        self.u32s[0][i] = row.pre_nuc;
        self.u32s[1][i] = row.post_nuc;
    }

    fn write_roots(&mut self, i: usize, j: usize, pre: i64, post: i64) {
        self.i64s[2 + 2 * j][i] = pre;
        self.i64s[3 + 2 * j][i] = post;
    }
}

/// Split the rows into one contiguous run of chunks per thread.
fn run_parallel(plan: &Plan<'_>, out: Out<'_>, n: usize) {
    let chunks = n.div_ceil(CHUNK);
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 8);
    let per_thread = chunks.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let mut rest = out;
        let mut first = 0;
        while first < chunks {
            let last = (first + per_thread).min(chunks);
            let rows = (last * CHUNK).min(n) - first * CHUNK;
            let (mine, tail) = rest.split(rows);
            rest = tail;
            scope.spawn(move || plan.fill(first, last, mine));
            first = last;
        }
    });
}

/// The side of a synapse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// The cell of this nucleus.
    Cell(u32),
    /// A soma-less fragment.
    Fragment(u64),
}

/// One fragment in this many is "outside the segmentation": its side of a synapse has root 0
/// and supervoxel 0, as synapses of a real table have where a point falls outside every
/// segment (what caveclient's `synapse_query(include_zeros=False)` drops). Chosen from the
/// fragment number, so that no random draw is added and the rest of the sample stays as it was.
const OUTSIDE_EVERY: u64 = 97;

impl Owner {
    /// Whether this side is outside the segmentation (root 0).
    fn outside(self) -> bool {
        matches!(self, Owner::Fragment(f) if f % OUTSIDE_EVERY == 0)
    }
}

/// One generated row.
struct Row {
    pre: [i32; 3],
    post: [i32; 3],
    ctr: [i32; 3],
    size: f32,
    pre_sv: i64,
    post_sv: i64,
    pre_nuc: u32,
    post_nuc: u32,
}

/// Everything the rows are drawn from.
struct Plan<'a> {
    world: &'a World,
    /// Row → logical index (quota inputs, quota outputs, then weighted rows).
    perm: Affine,
    quota_in: u64,
    quota_out: u64,
    proofread: Vec<u32>,
    /// Per nucleus, `stride` values kept together for cache locality: x and y packed, z with
    /// the "axon extended between v1181 and v1300" flag, then the root at each version.
    records: Vec<i64>,
    stride: usize,
    /// Neurons by input weight.
    post_pool: Weighted,
    /// Neurons by output weight.
    pre_pool: Weighted,
    fragments: u64,
}

impl<'a> Plan<'a> {
    fn new(world: &'a World, n: usize) -> Plan<'a> {
        let cells = &world.cells;
        let proofread: Vec<u32> = world.proof.cells.iter().map(|c| c.nucleus).collect();
        let mut is_proofread = vec![false; cells.len()];
        let mut extended_late = vec![false; cells.len()];
        for c in &world.proof.cells {
            is_proofread[c.nucleus as usize] = true;
            extended_late[c.nucleus as usize] = c.extended_late() && world.epochs.first_late > 0;
        }
        let p = proofread.len();
        let quota = if p == 0 {
            0
        } else {
            (n as f64 * 0.35 / p as f64).min(QUOTA as f64) as u64
        };
        let mut rng = stream(world.seed, "synapses.weights", 0);
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for (i, (&ty, &proofread)) in cells.ty.iter().zip(&is_proofread).enumerate() {
            if !ty.is_neuron() {
                continue;
            }
            let boost = if ty == CellType::Bc { 1.5 } else { 1.0 };
            inputs.push((i as u32, boost * lognormal(&mut rng, 3_000.0, 0.5)));
            let out = match (proofread, ty.class()) {
                (true, Class::Inhibitory) => lognormal(&mut rng, 3_000.0, 0.6),
                (true, _) => lognormal(&mut rng, 700.0, 0.6),
                (false, _) => lognormal(&mut rng, 150.0, 0.6),
            };
            outputs.push((i as u32, out));
        }
        Plan {
            world,
            perm: Affine::new(n.max(1) as u64, world.seed ^ 0x5eed_5eed),
            quota_in: quota * p as u64,
            quota_out: quota * p as u64,
            proofread,
            records: records(world, &extended_late),
            stride: 2 + world.roots.versions(),
            post_pool: Weighted::new(inputs),
            pre_pool: Weighted::new(outputs),
            fragments: n.max(1_000) as u64,
        }
    }

    fn fill(&self, first_chunk: usize, last_chunk: usize, mut out: Out<'_>) {
        let mut local = 0;
        let rows = out.f32s[0].len();
        for chunk in first_chunk..last_chunk {
            let mut rng = stream(self.world.seed, "synapses", chunk as u64);
            let start = chunk * CHUNK;
            for row in start..start + CHUNK {
                if local >= rows {
                    return;
                }
                self.row(&mut rng, row as u64, &mut out, local);
                local += 1;
            }
        }
    }

    fn row(&self, rng: &mut Rng, row: u64, out: &mut Out<'_>, i: usize) {
        let (pre, post, early_pre) = self.owners(rng, self.perm.apply(row));
        let autapse = pre == post;
        let [pre_pt, post_pt, ctr] = self.geometry(rng, pre, post);
        let pre_sv = supervoxel(pre_pt, below(rng, 1, SV_K_MAX));
        let mut post_sv = supervoxel(post_pt, below(rng, 1, SV_K_MAX));
        let same_chunk = chunk_bits(pre_pt) == chunk_bits(post_pt);
        if same_chunk && (post_sv == pre_sv || autapse && chance(rng, 0.5)) {
            post_sv = if autapse {
                pre_sv
            } else {
                supervoxel(post_pt, (pre_sv as u64 % SV_K_MAX) + 1)
            };
        }
        let size = ((lognormal(rng, 8.27f64.exp(), 1.03) / 4.0).round() * 4.0).clamp(4.0, 4.0e5);
        let pre_sv = if pre.outside() { 0 } else { pre_sv };
        let post_sv = if post.outside() { 0 } else { post_sv };
        out.write(
            i,
            &Row {
                pre: pre_pt,
                post: post_pt,
                ctr,
                size: size as f32,
                pre_sv,
                post_sv,
                pre_nuc: nucleus_of(pre),
                post_nuc: nucleus_of(post),
            },
        );
        let epochs = &self.world.epochs;
        for j in 0..epochs.len() {
            let pre_root = match early_pre {
                Some(f) if !epochs.late(j) => self.world.roots.fragment(f),
                _ => self.root(j, pre),
            };
            out.write_roots(i, j, pre_root, self.root(j, post));
        }
    }

    fn record(&self, i: u32) -> &[i64] {
        let start = i as usize * self.stride;
        &self.records[start..start + self.stride]
    }

    fn soma(&self, i: u32) -> [i32; 3] {
        let r = self.record(i);
        [(r[0] >> 32) as i32, r[0] as i32, r[1] as i32]
    }

    fn extended_late(&self, i: u32) -> bool {
        self.record(i)[1] >> 32 != 0
    }

    fn root(&self, j: usize, owner: Owner) -> i64 {
        match owner {
            Owner::Cell(i) => self.record(i)[2 + j],
            Owner::Fragment(_) if owner.outside() => 0,
            Owner::Fragment(f) => self.world.roots.fragment(f),
        }
    }

    fn fragment(&self, rng: &mut Rng) -> Owner {
        Owner::Fragment(below(rng, 0, self.fragments))
    }

    fn cell(&self, rng: &mut Rng, pool: &Weighted) -> Owner {
        match pool.pick(rng) {
            Some(i) => Owner::Cell(i),
            None => self.fragment(rng),
        }
    }

    fn proofread_cell(&self, rng: &mut Rng) -> Owner {
        let k = below(rng, 0, self.proofread.len() as u64) as usize;
        match self.proofread.get(k) {
            Some(&i) => Owner::Cell(i),
            None => self.fragment(rng),
        }
    }

    /// `(pre, post, fragment the pre side belonged to before v1300)` of logical row `l`.
    fn owners(&self, rng: &mut Rng, l: u64) -> (Owner, Owner, Option<u64>) {
        let p = self.proofread.len().max(1) as u64;
        if l < self.quota_in {
            let post = Owner::Cell(self.proofread[(l % p) as usize]);
            let pre = if chance(rng, 0.9) {
                self.fragment(rng)
            } else {
                self.cell(rng, &self.pre_pool)
            };
            return (pre, post, None);
        }
        if l < self.quota_in + self.quota_out {
            let pre = Owner::Cell(self.proofread[((l - self.quota_in) % p) as usize]);
            let u = uniform(rng, 0.0, 1.0);
            let post = if u < 0.01 {
                pre
            } else if u < 0.10 {
                self.proofread_cell(rng)
            } else if u < 0.60 {
                self.cell(rng, &self.post_pool)
            } else {
                self.fragment(rng)
            };
            return (pre, post, None);
        }
        let post = if chance(rng, 0.8) {
            self.cell(rng, &self.post_pool)
        } else {
            self.fragment(rng)
        };
        let pre_on_cell = if matches!(post, Owner::Cell(_)) {
            0.14
        } else {
            0.5
        };
        let pre = if matches!(post, Owner::Cell(_)) && chance(rng, 0.002) {
            post
        } else if chance(rng, pre_on_cell) {
            self.cell(rng, &self.pre_pool)
        } else {
            self.fragment(rng)
        };
        let early = match pre {
            // Fragments of their own, past the others' numbers: a fragment that an edit merged
            // into the cell is gone afterwards, so no other synapse may keep its root.
            Owner::Cell(i) if self.extended_late(i) && chance(rng, 0.4) => {
                Some(self.fragments + below(rng, 0, self.fragments))
            }
            _ => None,
        };
        (pre, post, early)
    }

    /// Post near the post cell's soma (dendrites), else near the pre cell's soma (axon), else
    /// anywhere; pre ≈ 430 nm away; the cleft centre between them.
    fn geometry(&self, rng: &mut Rng, pre: Owner, post: Owner) -> [[i32; 3]; 3] {
        let soma = |o: Owner| match o {
            Owner::Cell(i) => Some(self.soma(i)),
            Owner::Fragment(_) => None,
        };
        let anchor = match (soma(post), soma(pre)) {
            (Some(c), _) => Some((c, 12_000.0, 1_200.0)),
            (None, Some(c)) => Some((c, 30_000.0, 3_000.0)),
            (None, None) => None,
        };
        let (n1, n2) = normal_pair(rng);
        let (n3, n4) = normal_pair(rng);
        let post_pt = match anchor {
            Some((c, sxy, sz)) => [
                f64::from(c[0]) + n1 * sxy,
                f64::from(c[1]) + n2 * sxy,
                f64::from(c[2]) + n3 * sz,
            ],
            None => [
                uniform(rng, X_RANGE.0.into(), X_RANGE.1.into()),
                uniform(rng, Y_RANGE.0.into(), Y_RANGE.1.into()),
                uniform(rng, Z_RANGE.0.into(), Z_RANGE.1.into()),
            ],
        };
        let post_pt = evened(clamp_point(post_pt.map(|v| v as i64)));
        let r = 95.0 * (0.35 * n4).exp();
        let (cos, sin) = direction(rng);
        let dz = (normal_pair(rng).0 * 7.4).round().clamp(-25.0, 25.0);
        let pre_pt = evened(clamp_point([
            i64::from(post_pt[0]) + (r * cos) as i64,
            i64::from(post_pt[1]) + (r * sin) as i64,
            i64::from(post_pt[2]) + dz as i64,
        ]));
        let t = uniform(rng, 0.35, 0.65);
        let between = |k: usize, noise: f64| {
            let a = f64::from(pre_pt[k]);
            (a + t * (f64::from(post_pt[k]) - a) + noise).round() as i64
        };
        let mut ctr = clamp_point([
            between(0, uniform(rng, -10.0, 10.0)),
            between(1, uniform(rng, -10.0, 10.0)),
            between(2, uniform(rng, -1.5, 1.5)),
        ]);
        for v in &mut ctr[..2] {
            *v = even(*v) | i32::from(chance(rng, 0.08));
        }
        [pre_pt, post_pt, ctr]
    }
}

/// The per-nucleus records of [`Plan`].
fn records(world: &World, extended_late: &[bool]) -> Vec<i64> {
    let cells = &world.cells;
    let versions = world.roots.versions();
    let mut out = Vec::with_capacity(cells.len() * (2 + versions));
    for (i, (p, &extended)) in cells.pos.iter().zip(extended_late).enumerate() {
        out.push(i64::from(p[0]) << 32 | i64::from(p[1] as u32));
        out.push(i64::from(extended) << 32 | i64::from(p[2] as u32));
        for j in 0..versions {
            out.push(world.roots.cell(cells, j, i));
        }
    }
    out
}

fn evened(p: [i32; 3]) -> [i32; 3] {
    [even(p[0]), even(p[1]), p[2]]
}

fn nucleus_of(o: Owner) -> u32 {
    match o {
        Owner::Cell(i) => i,
        Owner::Fragment(_) => NO_CELL,
    }
}
