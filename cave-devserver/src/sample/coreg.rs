//! Coregistration of two-photon units with EM nuclei (`func_unit_ext_coreg`) and the tuning of
//! the manually coregistered units (`func_properties_bcm`), §6.9.

use super::celltypes::Class;
use super::ids::{SECOND, utc_ns};
use super::master::Master;
use super::rng::{Rng, below, lognormal, normal, select_from, shuffle, stream, uniform, unit};
use super::tables::{Ctx, nucleus_reference};

/// The 14 imaging scans, `(session, scan_idx)`.
const SCANS: [(i32, i32); 14] = [
    (4, 7),
    (5, 3),
    (5, 6),
    (5, 7),
    (6, 2),
    (6, 4),
    (6, 6),
    (6, 7),
    (7, 3),
    (7, 4),
    (7, 5),
    (8, 5),
    (9, 3),
    (9, 4),
];

/// Coregistration rows, one per (unit, nucleus) match.
struct Coreg {
    nuclei: Vec<u32>,
    scan: Vec<usize>,
    unit: Vec<i32>,
    field: Vec<i32>,
    residual: Vec<f32>,
    score: Vec<f32>,
}

/// How a coregistration table is drawn.
struct Recipe {
    rows: usize,
    distinct: usize,
    residual_median: f64,
    score_mean: f64,
}

fn recipe(table: &str) -> Recipe {
    let (rows, distinct, residual_median, score_mean) = match table {
        "coregistration_manual_v4" => (19_181, 15_439, 3.0, 5.0),
        "coregistration_auto_phase3_fwd_apl_vess_combined_v2" => (83_046, 35_466, 4.0, 4.0),
        "coregistration_auto_phase3_fwd_v2" => (70_112, 33_018, 4.5, 3.5),
        _ => (64_877, 31_240, 5.0, 3.0),
    };
    Recipe {
        rows,
        distinct,
        residual_median,
        score_mean,
    }
}

/// Neurons down to layer 5 (the imaged depth), mostly excitatory.
fn imaged_neurons(ctx: &Ctx<'_>) -> Vec<u32> {
    let cells = &ctx.world.cells;
    (0..cells.len() as u32)
        .filter(|&i| {
            let t = cells.ty[i as usize];
            t.is_neuron()
                && cells.depth[i as usize] < 650.0
                && (t.class() == Class::Excitatory || i % 3 == 0)
        })
        .collect()
}

fn draw(ctx: &Ctx<'_>, table: &str) -> Coreg {
    let r = recipe(table);
    let mut rng = stream(ctx.world.seed, table, 0);
    let pool = imaged_neurons(ctx);
    let mut chosen = select_from(&mut rng, &pool, r.distinct);
    shuffle(&mut rng, &mut chosen);
    let mut nuclei = chosen.clone();
    let mut first_scan: Vec<usize> = chosen
        .iter()
        .map(|_| below(&mut rng, 0, SCANS.len() as u64) as usize)
        .collect();
    let mut scan = first_scan.clone();
    while nuclei.len() < r.rows && !chosen.is_empty() {
        let k = below(&mut rng, 0, chosen.len() as u64) as usize;
        nuclei.push(chosen[k]);
        let other = (first_scan[k] + 1 + below(&mut rng, 0, 13) as usize) % SCANS.len();
        first_scan[k] = other;
        scan.push(other);
    }
    let mut order: Vec<usize> = (0..nuclei.len()).collect();
    shuffle(&mut rng, &mut order);
    let mut next_unit = [0i32; SCANS.len()];
    let cells = &ctx.world.cells;
    let mut c = Coreg {
        nuclei: Vec::new(),
        scan: Vec::new(),
        unit: Vec::new(),
        field: Vec::new(),
        residual: Vec::new(),
        score: Vec::new(),
    };
    for k in order {
        let s = scan[k];
        next_unit[s] += 1 + below(&mut rng, 0, 3) as i32;
        let i = nuclei[k] as usize;
        c.nuclei.push(nuclei[k]);
        c.scan.push(s);
        c.unit.push(next_unit[s]);
        c.field
            .push((1 + (cells.depth[i] / 85.0) as i32).clamp(1, 8));
        c.residual
            .push(lognormal(&mut rng, r.residual_median, 0.6).min(15.0) as f32);
        c.score
            .push((r.score_mean + normal(&mut rng) * 6.0).clamp(-5.0, 25.0) as f32);
    }
    c
}

fn start_of(table: &str) -> i64 {
    match table {
        "coregistration_manual_v4" => utc_ns((2023, 12, 8), (17, 33, 2), 140_000),
        "coregistration_auto_phase3_fwd_v2" => utc_ns((2024, 12, 20), (0, 51, 13), 9_000),
        "coregistration_auto_phase3_fwd_apl_vess_combined_v2" => {
            utc_ns((2024, 12, 21), (2, 8, 44), 510_000)
        }
        _ => utc_ns((2024, 1, 15), (22, 14, 6), 902_000),
    }
}

fn coreg_master(ctx: &Ctx<'_>, table: &str, c: &Coreg) -> Master {
    let mut m = nucleus_reference(ctx, table, &c.nuclei, start_of(table), SECOND / 50);
    m.i32("session", c.scan.iter().map(|&s| SCANS[s].0).collect())
        .i32("scan_idx", c.scan.iter().map(|&s| SCANS[s].1).collect())
        .i32("unit_id", c.unit.clone())
        .i32("field", c.field.clone())
        .f32("residual", c.residual.clone())
        .f32("score", c.score.clone());
    m
}

/// A coregistration table: `coregistration_manual_v4` has 19,181 matches on 15,439 nuclei;
/// the automated ones follow the SWDB counts or §4 guesses.
pub fn coregistration(ctx: &Ctx<'_>, table: &str) -> Master {
    coreg_master(ctx, table, &draw(ctx, table))
}

/// `functional_properties_v3_bcm`: 12,094 of the manual matches, on 10,631 nuclei.
pub fn functional(ctx: &Ctx<'_>, table: &str) -> Master {
    let c = draw(ctx, "coregistration_manual_v4");
    let mut rng = stream(ctx.world.seed, table, 0);
    let rows = pick_rows(&mut rng, &c, 10_631, 12_094);
    let nuclei: Vec<u32> = rows.iter().map(|&k| c.nuclei[k]).collect();
    let start = utc_ns((2024, 1, 10), (20, 2, 37), 555_000);
    let mut m = nucleus_reference(ctx, table, &nuclei, start, SECOND / 40);
    let mut tuning = Vec::with_capacity(rows.len());
    for _ in &rows {
        tuning.push(tune(&mut rng));
    }
    m.i32(
        "session",
        rows.iter().map(|&k| SCANS[c.scan[k]].0).collect(),
    )
    .i32(
        "scan_idx",
        rows.iter().map(|&k| SCANS[c.scan[k]].1).collect(),
    )
    .i32("unit_id", rows.iter().map(|&k| c.unit[k]).collect())
    .f32("pref_ori", tuning.iter().map(|t| t[0]).collect())
    .f32("pref_dir", tuning.iter().map(|t| t[1]).collect())
    .f32("gOSI", tuning.iter().map(|t| t[2]).collect())
    .f32("gDSI", tuning.iter().map(|t| t[3]).collect())
    .f32("cc_abs", tuning.iter().map(|t| t[4]).collect());
    m
}

/// `[pref_ori, pref_dir, gOSI, gDSI, cc_abs]`.
fn tune(rng: &mut Rng) -> [f32; 5] {
    let ori = uniform(rng, 0.0, std::f64::consts::PI);
    let dir = if unit(rng) < 0.5 {
        ori
    } else {
        ori + std::f64::consts::PI
    };
    [
        ori as f32,
        dir as f32,
        lognormal(rng, 0.22, 0.6).min(0.95) as f32,
        lognormal(rng, 0.08, 0.7).min(0.9) as f32,
        uniform(rng, 0.15, 0.85) as f32,
    ]
}

/// Rows of `c` covering `distinct` nuclei with `total` rows: one row of each chosen nucleus,
/// then further rows of chosen nuclei, in `c`'s order.
fn pick_rows(rng: &mut Rng, c: &Coreg, distinct: usize, total: usize) -> Vec<usize> {
    let mut first_of: Vec<(u32, usize)> = Vec::new();
    let mut by_nucleus: Vec<(u32, usize)> = c.nuclei.iter().copied().zip(0..).collect();
    by_nucleus.sort_unstable();
    for (k, &(nucleus, row)) in by_nucleus.iter().enumerate() {
        if k == 0 || by_nucleus[k - 1].0 != nucleus {
            first_of.push((nucleus, row));
        }
    }
    let chosen = select_from(rng, &first_of, distinct);
    let mut keep = vec![false; c.nuclei.len()];
    let mut is_chosen: Vec<u32> = chosen.iter().map(|x| x.0).collect();
    is_chosen.sort_unstable();
    for &(_, row) in &chosen {
        keep[row] = true;
    }
    let extras: Vec<usize> = (0..c.nuclei.len())
        .filter(|&k| !keep[k] && is_chosen.binary_search(&c.nuclei[k]).is_ok())
        .collect();
    for k in select_from(rng, &extras, total.saturating_sub(chosen.len())) {
        keep[k] = true;
    }
    (0..c.nuclei.len()).filter(|&k| keep[k]).collect()
}
