//! VORTEX manual tables with their own bound points (§6.10): myelination and nodes of Ranvier
//! along basket-cell axons, and astrocyte proofreading status. Rows accumulate: year-2 rows
//! (created after v1181) appear from v1300 on.

use super::celltypes::CellType;
use super::ids::{DAY, SECOND, clamp_point, utc_ns};
use super::master::Master;
use super::rng::{chance, normal, stream, uniform};
use super::tables::{Ctx, cell_point, created_series, ids, nucleus_point, valid_ids};

/// Basket cells traced in year 1 (5) and year 2 (3).
const YEAR1_AXONS: usize = 5;
const YEAR2_AXONS: usize = 3;
/// Points along each axon, about 1 µm apart.
const POINTS_PER_AXON: usize = 600;

/// Proofread basket cells whose axons VORTEX traced.
fn traced_axons(ctx: &Ctx<'_>) -> Vec<u32> {
    let cells = &ctx.world.cells;
    ctx.world
        .proof
        .cells
        .iter()
        .map(|c| c.nucleus)
        .filter(|&i| cells.ty[i as usize] == CellType::Bc)
        .take(YEAR1_AXONS + YEAR2_AXONS)
        .collect()
}

/// When tracing of axon `k` started.
fn axon_start(k: usize) -> i64 {
    if k < YEAR1_AXONS {
        utc_ns((2024, 3, 1), (16, 0, 0), 0) + k as i64 * 10 * DAY
    } else {
        utc_ns((2024, 10, 14), (16, 0, 0), 0) + (k - YEAR1_AXONS) as i64 * 10 * DAY
    }
}

/// A persistent random walk of `n` 1-µm steps from the soma of nucleus `i`.
fn axon_path(ctx: &Ctx<'_>, i: u32, n: usize) -> Vec<[i32; 3]> {
    let mut rng = stream(ctx.world.seed, "vortex.axon", u64::from(i));
    let soma = ctx.world.cells.pos[i as usize];
    let mut p = [soma[0], soma[1], soma[2]].map(f64::from);
    let mut dir = [
        normal(&mut rng),
        normal(&mut rng).abs() + 0.5,
        normal(&mut rng),
    ];
    (0..n)
        .map(|_| {
            for d in &mut dir {
                *d += normal(&mut rng) * 0.25;
            }
            let len = dir.iter().map(|d| d * d).sum::<f64>().sqrt().max(1e-9);
            p[0] += dir[0] / len * 250.0;
            p[1] += dir[1] / len * 250.0;
            p[2] += dir[2] / len * 25.0;
            let q = clamp_point(p.map(|v| v as i64));
            p = q.map(f64::from);
            q
        })
        .collect()
}

/// Myelinated runs (internodes of 30-90 µm) separated by short gaps, unmyelinated at first.
fn myelin_tags(ctx: &Ctx<'_>, i: u32, n: usize) -> Vec<bool> {
    let rng = &mut stream(ctx.world.seed, "vortex.myelin", u64::from(i));
    let mut tags = Vec::with_capacity(n);
    let mut left = uniform(rng, 20.0, 60.0) as usize;
    let mut myelinated = false;
    for _ in 0..n {
        if left == 0 {
            myelinated = !myelinated;
            left = if myelinated {
                uniform(rng, 30.0, 90.0) as usize
            } else {
                uniform(rng, 2.0, 12.0) as usize
            };
        }
        tags.push(myelinated);
        left = left.saturating_sub(1);
    }
    tags
}

/// `vortex_manual_myelination_v0`: true/false every ~1 µm along 8 basket-cell axons.
pub fn myelination(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = stream(ctx.world.seed, table, 0);
    let (mut owners, mut points, mut tags, mut created) = (vec![], vec![], vec![], vec![]);
    for (k, &i) in traced_axons(ctx).iter().enumerate() {
        let path = axon_path(ctx, i, POINTS_PER_AXON);
        tags.extend(myelin_tags(ctx, i, path.len()));
        created.extend(created_series(
            &mut rng,
            axon_start(k),
            path.len(),
            30 * SECOND,
        ));
        owners.extend(std::iter::repeat_n(i, path.len()));
        points.extend(path);
    }
    let mut m = Master::new(table, points.len());
    m.bookkeeping(ids(points.len()), created.clone(), true);
    cell_point(ctx, &mut m, &mut rng, &points, &owners);
    m.bool("tag", tags)
        .i64("valid_id", valid_ids(ctx, &owners, &created));
    m
}

/// `vortex_manual_nodes_of_ranvier`: the gaps between internodes of the same axons.
pub fn nodes(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = stream(ctx.world.seed, table, 0);
    let (mut owners, mut points, mut created) = (vec![], vec![], vec![]);
    for (k, &i) in traced_axons(ctx).iter().enumerate() {
        let path = axon_path(ctx, i, POINTS_PER_AXON);
        let tags = myelin_tags(ctx, i, path.len());
        let at: Vec<[i32; 3]> = (1..path.len())
            .filter(|&s| tags[s - 1] && !tags[s] && chance(&mut rng, 0.9))
            .map(|s| path[s])
            .collect();
        created.extend(created_series(
            &mut rng,
            axon_start(k) + DAY,
            at.len(),
            60 * SECOND,
        ));
        owners.extend(std::iter::repeat_n(i, at.len()));
        points.extend(at);
    }
    let mut m = Master::new(table, points.len());
    m.bookkeeping(ids(points.len()), created.clone(), true);
    cell_point(ctx, &mut m, &mut rng, &points, &owners);
    m.utf8("tag", &vec!["node"; points.len()])
        .i64("valid_id", valid_ids(ctx, &owners, &created));
    m
}

/// `vortex_astrocyte_proofreading_status`: 8 astrocytes in year 1 (7 clean), 6 in year 2
/// (5 clean), so 12 are clean at v1300.
pub fn astrocytes(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = stream(ctx.world.seed, table, 0);
    let nuclei = ctx.world.cells.roles.astro_status.clone();
    let year1 = created_series(
        &mut rng,
        utc_ns((2024, 4, 9), (14, 2, 7), 0),
        8,
        7_200 * SECOND,
    );
    let year2 = created_series(
        &mut rng,
        utc_ns((2024, 10, 22), (15, 40, 51), 0),
        6,
        10_800 * SECOND,
    );
    let created: Vec<i64> = year1.into_iter().chain(year2).take(nuclei.len()).collect();
    let status: Vec<&str> = (0..created.len())
        .map(|k| match k {
            7 => "non",
            13 => "extended",
            _ => "clean",
        })
        .collect();
    let nuclei = &nuclei[..created.len()];
    let mut m = Master::new(table, created.len());
    m.bookkeeping(ids(created.len()), created.clone(), true);
    nucleus_point(ctx, &mut m, "pt", nuclei);
    m.i64("valid_id", valid_ids(ctx, nuclei, &created))
        .utf8("status", &status);
    m
}
