//! Reference tables on `synapses_pni_2` (§6.10-§6.11): target-compartment predictions, Baylor
//! structure classes, VORTEX manual labels, PT-cell targets and Martinotti-cell target calls.
//! Their row counts scale with the number of synapses.

use super::celltypes::{CellType, Class};
use super::ids::{DAY, SECOND, utc_ns};
use super::master::Master;
use super::rng::{Rng, below, stream, unit};
use super::synapses::NO_CELL;
use super::tables::{Ctx, created_series, ids};

/// A reference table on synapse rows `rows` (ids 1..N in creation order).
fn synapse_reference(ctx: &Ctx<'_>, table: &str, rows: &[u32], created: Vec<i64>) -> Master {
    let mut m = Master::new(table, rows.len());
    m.bookkeeping(ids(rows.len()), created, false);
    m.i64(
        "target_id",
        rows.iter().map(|&r| ctx.syn.id[r as usize]).collect(),
    );
    m
}

/// Exactly `min(k, candidates)` synapse rows satisfying `keep`, in row order (selection
/// sampling over the candidates, two passes, no candidate list).
fn select_rows(rng: &mut Rng, n: usize, k: usize, keep: impl Fn(usize) -> bool) -> Vec<u32> {
    let candidates = (0..n).filter(|&r| keep(r)).count();
    let k = k.min(candidates);
    let mut out = Vec::with_capacity(k);
    let mut seen = 0;
    for r in 0..n {
        if out.len() == k {
            break;
        }
        if !keep(r) {
            continue;
        }
        if below(rng, 0, (candidates - seen) as u64) < (k - out.len()) as u64 {
            out.push(r as u32);
        }
        seen += 1;
    }
    out
}

/// The type of the cell of a synapse side, if any.
fn side_type(ctx: &Ctx<'_>, nucleus: u32) -> Option<CellType> {
    (nucleus != NO_CELL).then(|| ctx.world.cells.ty[nucleus as usize])
}

fn post_type(ctx: &Ctx<'_>, r: u32) -> Option<CellType> {
    side_type(ctx, ctx.syn.post_nuc[r as usize])
}

fn post_on_neuron(ctx: &Ctx<'_>, r: usize) -> bool {
    side_type(ctx, ctx.syn.post_nuc[r]).is_some_and(CellType::is_neuron)
}

/// A label drawn from `(label, weight)` pairs.
fn draw(rng: &mut Rng, options: &[(&'static str, f64)]) -> &'static str {
    let total: f64 = options.iter().map(|o| o.1).sum();
    let mut x = unit(rng) * total;
    for &(label, w) in options {
        if x < w {
            return label;
        }
        x -= w;
    }
    options.last().map_or("", |o| o.0)
}

/// `synapse_target_predictions_ssa`: spine/shaft/soma for ≈ 60 % of the synapses, those onto
/// neurons.
pub fn ssa(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = stream(ctx.world.seed, table, 0);
    let n = ctx.syn.len();
    let rows = select_rows(&mut rng, n, (n as f64 * 0.6).round() as usize, |r| {
        post_on_neuron(ctx, r)
    });
    let start = utc_ns((2024, 12, 2), (8, 0, 14), 902_000);
    let step = (2 * 86_400 * SECOND) / rows.len().max(1) as i64;
    let created = created_series(&mut rng, start, rows.len(), step);
    let mut m = synapse_reference(ctx, table, &rows, created);
    let tag: Vec<&str> = rows
        .iter()
        .map(|&r| match post_type(ctx, r).map(CellType::class) {
            Some(Class::Inhibitory) => draw(
                &mut rng,
                &[("spine", 0.04), ("shaft", 0.88), ("soma", 0.08)],
            ),
            _ => draw(
                &mut rng,
                &[("spine", 0.62), ("shaft", 0.34), ("soma", 0.04)],
            ),
        })
        .collect();
    m.utf8("tag", &tag);
    m
}

/// `synapse_target_structure`: Baylor classes 0-6 for 1 % of the synapses (at most 5,000).
pub fn structure(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = stream(ctx.world.seed, table, 0);
    let n = ctx.syn.len();
    let rows = select_rows(&mut rng, n, (n / 100).min(5_000), |r| {
        post_on_neuron(ctx, r)
    });
    let created = created_series(
        &mut rng,
        utc_ns((2024, 5, 20), (13, 7, 9), 41_000),
        rows.len(),
        SECOND / 2,
    );
    let mut m = synapse_reference(ctx, table, &rows, created);
    const CLASSES: [(&str, f64); 7] = [
        ("0", 0.45),
        ("1", 0.05),
        ("2", 0.33),
        ("3", 0.07),
        ("4", 0.02),
        ("5", 0.02),
        ("6", 0.06),
    ];
    let value = rows
        .iter()
        .map(|_| draw(&mut rng, &CLASSES).parse::<i32>().unwrap_or(2))
        .collect();
    m.i32("value", value);
    m
}

/// `pt_synapse_targets`: targets of layer-5 ET (PT) cell synapses, classified.
pub fn pt_targets(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = stream(ctx.world.seed, table, 0);
    let n = ctx.syn.len();
    let pre_pt = |r: usize| side_type(ctx, ctx.syn.pre_nuc[r]) == Some(CellType::P5Et);
    let rows = select_rows(&mut rng, n, (n / 300).min(2_000), pre_pt);
    let created = created_series(
        &mut rng,
        utc_ns((2023, 7, 28), (20, 45, 31), 600_000),
        rows.len(),
        3 * SECOND,
    );
    let mut m = synapse_reference(ctx, table, &rows, created);
    let (mut class, mut cell_type) = (Vec::new(), Vec::new());
    for &r in &rows {
        let (c, t) = match post_type(ctx, r) {
            Some(t) if t.class() == Class::Excitatory => ("excitatory", t.label()),
            Some(t) if t.class() == Class::Inhibitory => ("inhibitory", t.label()),
            _ => ("error", "none"),
        };
        class.push(c);
        cell_type.push(t);
    }
    m.utf8("classification_system", &class)
        .utf8("cell_type", &cell_type);
    m
}

/// `cg_cell_type_calls`: manual calls of the neurons Martinotti cells synapse onto.
pub fn cg_calls(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = stream(ctx.world.seed, table, 0);
    let n = ctx.syn.len();
    let keep = |r: usize| {
        side_type(ctx, ctx.syn.pre_nuc[r]) == Some(CellType::Mc) && post_on_neuron(ctx, r)
    };
    let rows = select_rows(&mut rng, n, (n / 500).min(1_000), keep);
    let created = created_series(
        &mut rng,
        utc_ns((2024, 12, 5), (0, 12, 3), 3_000),
        rows.len(),
        5 * SECOND,
    );
    let mut m = synapse_reference(ctx, table, &rows, created);
    let cells = &ctx.world.cells;
    let cell_type: Vec<&str> = rows
        .iter()
        .map(|&r| {
            let i = ctx.syn.post_nuc[r as usize] as usize;
            cells.ty[i].cg_label(f64::from(cells.depth[i]))
        })
        .collect();
    m.utf8("classification_system", &vec!["cg_calls"; rows.len()])
        .utf8("cell_type", &cell_type);
    m
}

/// `vortex_compartment_targets`: every input synapse of 8 proofread cells labelled in year 1
/// and of 13 more (5 basket, 8 pyramidal) in year 2, at most ≈ 1/75 of the synapses in all.
/// Rows accumulate: year-2 rows appear after v1181.
pub fn compartments(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = stream(ctx.world.seed, table, 0);
    let cells = &ctx.world.cells;
    let proofread: Vec<u32> = ctx.world.proof.cells.iter().map(|c| c.nucleus).collect();
    let pick = |ty: fn(CellType) -> bool, skip: usize, n: usize| -> Vec<u32> {
        proofread
            .iter()
            .copied()
            .filter(|&i| ty(cells.ty[i as usize]))
            .skip(skip)
            .take(n)
            .collect()
    };
    let excitatory = |t: CellType| t.class() == Class::Excitatory;
    let mut targets = pick(excitatory, 40, 8);
    targets.extend(pick(|t| t == CellType::Bc, 40, 5));
    targets.extend(pick(excitatory, 48, 8));
    let cap = (ctx.syn.len() / 75 / targets.len().max(1)).max(10);
    let mut per_cell: Vec<Vec<u32>> = vec![Vec::new(); targets.len()];
    for (r, &post) in ctx.syn.post_nuc.iter().enumerate() {
        if let Some(k) = targets.iter().position(|&t| t == post)
            && per_cell[k].len() < cap
        {
            per_cell[k].push(r as u32);
        }
    }
    let year1 = utc_ns((2024, 2, 5), (15, 0, 0), 0);
    let year2 = utc_ns((2024, 10, 7), (15, 0, 0), 0);
    let (mut rows, mut created) = (Vec::new(), Vec::new());
    let step = (3 * DAY / cap as i64).min(20 * SECOND);
    for (k, list) in per_cell.iter().enumerate() {
        let (base, slot) = if k < 8 { (year1, k) } else { (year2, k - 8) };
        let start = base + slot as i64 * 5 * DAY;
        created.extend(created_series(&mut rng, start, list.len(), step));
        rows.extend_from_slice(list);
    }
    let mut m = synapse_reference(ctx, table, &rows, created.clone());
    m.accumulates = Some(created);
    let tag: Vec<&str> = rows
        .iter()
        .map(|&r| match post_type(ctx, r).map(CellType::class) {
            Some(Class::Inhibitory) => draw(
                &mut rng,
                &[
                    ("shaft", 0.85),
                    ("soma", 0.06),
                    ("spine", 0.03),
                    ("orphan", 0.03),
                    ("other", 0.03),
                ],
            ),
            _ => draw(
                &mut rng,
                &[
                    ("spine", 0.62),
                    ("shaft", 0.30),
                    ("soma", 0.03),
                    ("soma_spine", 0.01),
                    ("orphan", 0.02),
                    ("other", 0.02),
                ],
            ),
        })
        .collect();
    m.utf8("tag", &tag);
    m
}
