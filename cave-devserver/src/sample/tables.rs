//! One [`Master`] per table: the dispatch, shared helpers, and the tables about nuclei and
//! cell types (§6.2-§6.8, §6.11).

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Int64Array};
use cave_schema::Snapshot;

use super::World;
use super::cells::{AREAS, Slot};
use super::celltypes::{CellType, Class, META_TYPES};
use super::ids::{SECOND, SV_K_MAX, micros, supervoxel, utc_ns};
use super::master::Master;
use super::proofread::ProofRow;
use super::rng::{Rng, below, chance, select_from, shuffle, stream, uniform, unit};
use super::synapses::Synapses;
use super::{coreg, generic, refs, vortex};
use crate::store::BuildError;

/// What table builders read.
pub struct Ctx<'a> {
    /// The universe.
    pub world: &'a World,
    /// The synapses (empty when no sampled version has synapse tables).
    pub syn: &'a Synapses,
    /// The snapshot (for generic tables).
    pub snapshot: &'a Snapshot,
}

impl Ctx<'_> {
    /// The RNG of one table.
    pub fn rng(&self, table: &str) -> Rng {
        stream(self.world.seed, table, 0)
    }
}

/// The rows of `table` over all sampled versions (`synapses_pni_2` excepted: see
/// [`synapse_master`]).
pub fn master(ctx: &Ctx<'_>, table: &str) -> Result<Master, BuildError> {
    let m = match table {
        "nucleus_detection_v0" => nucleus_detection(ctx, table),
        "aibs_metamodel_celltypes_v661" => metamodel(ctx, table),
        "aibs_metamodel_mtypes_v661_v2" => metamodel_mtypes(ctx, table),
        "allen_v1_column_types_slanted_ref" => column_types(ctx, table),
        "aibs_column_nonneuronal_ref" => column_glia(ctx, table),
        "allen_column_mtypes_v2" => column_mtypes(ctx, table),
        "nucleus_ref_neuron_svm" => neuron_svm(ctx, table),
        "nucleus_functional_area_assignment" => areas(ctx, table),
        "nucleus_alternative_points" => alternative_points(ctx, table),
        "baylor_log_reg_cell_type_coarse_v1" => baylor(ctx, table, false),
        "baylor_gnn_cell_type_fine_model_v2" => baylor(ctx, table, true),
        "proofreading_status_and_strategy" => proofreading(ctx, table),
        "bodor_pt_cells" => bodor_pt_cells(ctx, table),
        "bodor_pt_target_proofread" => bodor_targets(ctx, table),
        "l5et_column" => l5et_column(ctx, table),
        "gamlin_2023_mcs" => gamlin(ctx, table),
        "gamlin_2023_mcs_met_types" => gamlin_met(ctx, table),
        "coregistration_manual_v4"
        | "coregistration_auto_phase3_fwd_v2"
        | "coregistration_auto_phase3_fwd_apl_vess_combined_v2"
        | "apl_functional_coreg_vess_fwd" => coreg::coregistration(ctx, table),
        "functional_properties_v3_bcm" => coreg::functional(ctx, table),
        "vortex_manual_myelination_v0" => vortex::myelination(ctx, table),
        "vortex_manual_nodes_of_ranvier" => vortex::nodes(ctx, table),
        "vortex_astrocyte_proofreading_status" => vortex::astrocytes(ctx, table),
        "vortex_compartment_targets" => refs::compartments(ctx, table),
        "synapse_target_predictions_ssa" => refs::ssa(ctx, table),
        "synapse_target_structure" => refs::structure(ctx, table),
        "pt_synapse_targets" => refs::pt_targets(ctx, table),
        "cg_cell_type_calls" => refs::cg_calls(ctx, table),
        _ => return generic::master(ctx, table),
    };
    Ok(m)
}

/// `synapses_pni_2`, taking the columns out of `syn` without copying.
pub fn synapse_master(table: &str, syn: Synapses) -> Master {
    let rows = syn.len();
    let mut m = Master::new(table, rows);
    m.i64("id", syn.id)
        .timestamp("created", syn.created)
        .null_superseded()
        .bool("valid", vec![true; rows])
        .f32("size", syn.size);
    for (name, axes) in [
        ("pre_pt_position", syn.pre),
        ("post_pt_position", syn.post),
        ("ctr_pt_position", syn.ctr),
    ] {
        let arrays = axes.map(|v| Arc::new(arrow_array::Int32Array::from(v)) as ArrayRef);
        m.position_arrays(name, arrays);
    }
    m.i64("pre_pt_supervoxel_id", syn.pre_sv)
        .i64("post_pt_supervoxel_id", syn.post_sv)
        .i64_per_version("pre_pt_root_id", syn.pre_root)
        .i64_per_version("post_pt_root_id", syn.post_root);
    m
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// `n` increasing `created` timestamps from `start`, about `step` ns apart, in microseconds.
pub fn created_series(rng: &mut Rng, start: i64, n: usize, step: i64) -> Vec<i64> {
    let mut t = start as f64;
    (0..n)
        .map(|_| {
            let now = micros(t as i64);
            t += step as f64 * uniform(rng, 0.6, 1.4);
            now
        })
        .collect()
}

/// A reference table on nuclei: ids 1..N in creation order, `target_id` = nucleus id.
pub fn nucleus_reference(
    ctx: &Ctx<'_>,
    table: &str,
    nuclei: &[u32],
    start: i64,
    step: i64,
) -> Master {
    let mut rng = stream(ctx.world.seed, table, 1);
    let created = created_series(&mut rng, start, nuclei.len(), step);
    let mut m = Master::new(table, nuclei.len());
    m.bookkeeping(ids(nuclei.len()), created, false);
    let cells = &ctx.world.cells;
    m.i64(
        "target_id",
        nuclei.iter().map(|&i| cells.id[i as usize]).collect(),
    );
    m
}

/// Ids `1..=n`.
pub fn ids(n: usize) -> Vec<i64> {
    (1..=n as i64).collect()
}

/// Nuclei sorted by nucleus id.
pub fn by_nucleus_id(ctx: &Ctx<'_>, mut nuclei: Vec<u32>) -> Vec<u32> {
    let cells = &ctx.world.cells;
    nuclei.sort_by_key(|&i| cells.id[i as usize]);
    nuclei
}

/// `<point>_position`, `_supervoxel_id` and per-version `_root_id` of the nucleus centroids
/// (root and supervoxel 0 where the centroid misses the segmentation).
pub fn nucleus_point(ctx: &Ctx<'_>, m: &mut Master, point: &str, nuclei: &[u32]) {
    let w = ctx.world;
    let cells = &w.cells;
    let positions: Vec<[i32; 3]> = nuclei.iter().map(|&i| cells.pos[i as usize]).collect();
    let sv = nuclei
        .iter()
        .map(|&i| {
            if cells.miss[i as usize] {
                0
            } else {
                cells.sv[i as usize]
            }
        })
        .collect();
    let roots = (0..w.roots.versions())
        .map(|j| {
            nuclei
                .iter()
                .map(|&i| w.roots.nucleus(cells, j, i as usize))
                .collect()
        })
        .collect();
    m.position(&format!("{point}_position"), &positions)
        .i64(&format!("{point}_supervoxel_id"), sv)
        .i64_per_version(&format!("{point}_root_id"), roots);
}

/// A bound point on the cells of `owners` at arbitrary positions (supervoxels drawn in the
/// chunk of each position).
pub fn cell_point(
    ctx: &Ctx<'_>,
    m: &mut Master,
    rng: &mut Rng,
    positions: &[[i32; 3]],
    owners: &[u32],
) {
    let w = ctx.world;
    let sv = positions
        .iter()
        .map(|&p| supervoxel(p, below(rng, 1, SV_K_MAX)))
        .collect();
    let roots = (0..w.roots.versions())
        .map(|j| {
            owners
                .iter()
                .map(|&i| w.roots.cell(&w.cells, j, i as usize))
                .collect()
        })
        .collect();
    m.position("pt_position", positions)
        .i64("pt_supervoxel_id", sv)
        .i64_per_version("pt_root_id", roots);
}

/// `valid_id`: the root of each owner at the version current when its row was created.
pub fn valid_ids(ctx: &Ctx<'_>, owners: &[u32], created: &[i64]) -> Vec<i64> {
    let w = ctx.world;
    owners
        .iter()
        .zip(created)
        .map(|(&i, &t)| w.roots.cell(&w.cells, w.epochs.at_time(t), i as usize))
        .collect()
}

/// Metamodel rows of the given class.
fn meta_nuclei(ctx: &Ctx<'_>, keep: impl Fn(CellType, Slot) -> bool) -> Vec<u32> {
    let cells = &ctx.world.cells;
    (0..cells.n_meta as u32)
        .filter(|&i| keep(cells.ty[i as usize], cells.slot[i as usize]))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Nuclei and cell types.

fn nucleus_detection(ctx: &Ctx<'_>, table: &str) -> Master {
    let cells = &ctx.world.cells;
    let order = &cells.row_order;
    let mut m = Master::new(table, order.len());
    m.bookkeeping(
        order.iter().map(|&i| cells.id[i as usize]).collect(),
        order.iter().map(|&i| cells.created[i as usize]).collect(),
        false,
    );
    m.f32(
        "volume",
        order.iter().map(|&i| cells.volume[i as usize]).collect(),
    );
    nucleus_point(ctx, &mut m, "pt", order);
    m
}

fn metamodel(ctx: &Ctx<'_>, table: &str) -> Master {
    let nuclei = by_nucleus_id(ctx, meta_nuclei(ctx, |_, _| true));
    let start = utc_ns((2023, 12, 19), (22, 38, 0), 5_113);
    let mut m = nucleus_reference(ctx, table, &nuclei, start, 13_900_000);
    let ty: Vec<CellType> = nuclei
        .iter()
        .map(|&i| ctx.world.cells.ty[i as usize])
        .collect();
    m.utf8("classification_system", &labels(&ty, CellType::class_label))
        .utf8("cell_type", &labels(&ty, CellType::label));
    m
}

fn labels(types: &[CellType], f: fn(CellType) -> &'static str) -> Vec<&'static str> {
    types.iter().map(|&t| f(t)).collect()
}

/// 72,158 rows: every single-root metamodel neuron and some on shared roots.
fn metamodel_mtypes(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = ctx.rng(table);
    let mut nuclei = meta_nuclei(ctx, |t, s| t.is_neuron() && s == Slot::Single);
    let shared = meta_nuclei(ctx, |t, s| t.is_neuron() && s != Slot::Single);
    let extra = 72_158usize.saturating_sub(nuclei.len());
    nuclei.extend(select_from(&mut rng, &shared, extra));
    let nuclei = by_nucleus_id(ctx, nuclei);
    let start = utc_ns((2023, 12, 19), (23, 4, 12), 431_000);
    let mut m = nucleus_reference(ctx, table, &nuclei, start, 13_900_000);
    let cells = &ctx.world.cells;
    let (mut class, mut mtype) = (Vec::new(), Vec::new());
    for &i in &nuclei {
        let t = cells.ty[i as usize];
        class.push(t.class_label());
        mtype.push(t.mtype(f64::from(cells.depth[i as usize]), &mut rng));
    }
    m.utf8("classification_system", &class)
        .utf8("cell_type", &mtype);
    m
}

fn column_class(t: CellType) -> &'static str {
    if t.class() == Class::Excitatory {
        "aibs_coarse_excitatory"
    } else {
        "aibs_coarse_inhibitory"
    }
}

fn column_types(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut nuclei = ctx.world.cells.roles.column_neurons.clone();
    shuffle(&mut ctx.rng(table), &mut nuclei);
    let start = utc_ns((2023, 3, 18), (14, 13, 21), 577_622);
    let mut m = nucleus_reference(ctx, table, &nuclei, start, 700_000);
    let ty: Vec<CellType> = nuclei
        .iter()
        .map(|&i| ctx.world.cells.ty[i as usize])
        .collect();
    let cell_type = labels(&ty, |t| {
        if t == CellType::Ngc {
            "Unsure"
        } else {
            t.label()
        }
    });
    m.utf8("classification_system", &labels(&ty, column_class))
        .utf8("cell_type", &cell_type);
    m
}

fn column_glia(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut nuclei = ctx.world.cells.roles.column_glia.clone();
    shuffle(&mut ctx.rng(table), &mut nuclei);
    let start = utc_ns((2023, 3, 18), (14, 25, 7), 120_311);
    let mut m = nucleus_reference(ctx, table, &nuclei, start, 700_000);
    let ty: Vec<CellType> = nuclei
        .iter()
        .map(|&i| ctx.world.cells.ty[i as usize])
        .collect();
    m.utf8(
        "classification_system",
        &vec!["aibs_coarse_nonneuronal"; ty.len()],
    )
    .utf8("cell_type", &labels(&ty, CellType::label));
    m
}

/// 1,351 column neurons (six of the unsure ones have no m-type).
fn column_mtypes(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = ctx.rng(table);
    let cells = &ctx.world.cells;
    let mut dropped = 0;
    let mut nuclei: Vec<u32> = Vec::new();
    for &i in &cells.roles.column_neurons {
        if cells.ty[i as usize] == CellType::Ngc && dropped < 6 {
            dropped += 1;
        } else {
            nuclei.push(i);
        }
    }
    shuffle(&mut rng, &mut nuclei);
    let start = utc_ns((2023, 8, 21), (21, 19, 5), 917_336);
    let mut m = nucleus_reference(ctx, table, &nuclei, start, 4 * SECOND);
    let (mut class, mut mtype) = (Vec::new(), Vec::new());
    for &i in &nuclei {
        let t = cells.ty[i as usize];
        class.push(column_class(t));
        mtype.push(t.mtype(f64::from(cells.depth[i as usize]), &mut rng));
    }
    m.utf8("classification_system", &class)
        .utf8("cell_type", &mtype);
    m
}

fn all_nuclei(ctx: &Ctx<'_>) -> Vec<u32> {
    by_nucleus_id(ctx, (0..ctx.world.cells.len() as u32).collect())
}

fn neuron_svm(ctx: &Ctx<'_>, table: &str) -> Master {
    let nuclei = all_nuclei(ctx);
    let start = utc_ns((2023, 3, 29), (17, 5, 12), 504_117);
    let mut m = nucleus_reference(ctx, table, &nuclei, start, 250_000);
    let cells = &ctx.world.cells;
    let cell_type: Vec<&str> = nuclei
        .iter()
        .map(|&i| {
            if cells.svm_neuron[i as usize] {
                "neuron"
            } else {
                "not-neuron"
            }
        })
        .collect();
    m.utf8("classification_system", &vec!["is_neuron"; nuclei.len()])
        .utf8("cell_type", &cell_type);
    m
}

fn areas(ctx: &Ctx<'_>, table: &str) -> Master {
    let nuclei = all_nuclei(ctx);
    let start = utc_ns((2024, 5, 28), (16, 20, 3), 812_000);
    let mut m = nucleus_reference(ctx, table, &nuclei, start, 300_000);
    let cells = &ctx.world.cells;
    let tag: Vec<&str> = nuclei
        .iter()
        .map(|&i| AREAS[cells.area[i as usize] as usize].0)
        .collect();
    m.utf8("tag", &tag).f32(
        "value",
        nuclei
            .iter()
            .map(|&i| cells.area_dist[i as usize])
            .collect(),
    );
    m
}

/// 8,388 better lookup points for nuclei whose centroid misses the segmentation.
fn alternative_points(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = ctx.rng(table);
    let cells = &ctx.world.cells;
    let missing: Vec<u32> = (0..cells.len() as u32)
        .filter(|&i| cells.miss[i as usize])
        .collect();
    let mut nuclei = select_from(&mut rng, &missing, 8_388);
    shuffle(&mut rng, &mut nuclei);
    let start = utc_ns((2023, 3, 30), (11, 2, 41), 66_000);
    let mut m = nucleus_reference(ctx, table, &nuclei, start, 2_000_000);
    let points: Vec<[i32; 3]> = nuclei
        .iter()
        .map(|&i| {
            let p = cells.pos[i as usize];
            let mut off = |span: f64| {
                let d = uniform(&mut rng, span * 0.15, span);
                if chance(&mut rng, 0.5) { -d } else { d }
            };
            super::ids::clamp_point([
                i64::from(p[0]) + off(1_200.0) as i64,
                i64::from(p[1]) + off(1_200.0) as i64,
                i64::from(p[2]) + off(30.0) as i64,
            ])
        })
        .collect();
    cell_point(ctx, &mut m, &mut rng, &points, &nuclei);
    m
}

/// Baylor coarse (E/I, 55,063 rows) or fine (subclass, 49,051 rows) calls on neurons.
fn baylor(ctx: &Ctx<'_>, table: &str, fine: bool) -> Master {
    let mut rng = ctx.rng(table);
    let cells = &ctx.world.cells;
    let pool: Vec<u32> = (0..cells.len() as u32)
        .filter(|&i| cells.ty[i as usize].is_neuron())
        .collect();
    let rows = if fine { 49_051 } else { 55_063 };
    let nuclei = by_nucleus_id(ctx, select_from(&mut rng, &pool, rows));
    let (start, system) = if fine {
        (
            utc_ns((2023, 3, 27), (18, 0, 4), 5_000),
            "baylor_gnn_cell_type_fine",
        )
    } else {
        (
            utc_ns((2023, 3, 27), (15, 0, 2), 771_000),
            "baylor_log_reg_cell_type_coarse",
        )
    };
    let mut m = nucleus_reference(ctx, table, &nuclei, start, 1_000_000);
    let neurons: Vec<CellType> = META_TYPES.into_iter().filter(|t| t.is_neuron()).collect();
    let cell_type: Vec<&str> = nuclei
        .iter()
        .map(|&i| {
            let t = cells.ty[i as usize];
            if fine {
                let wrong = chance(&mut rng, 0.08);
                let t = if wrong {
                    neurons[below(&mut rng, 0, neurons.len() as u64) as usize]
                } else {
                    t
                };
                t.baylor_fine()
            } else {
                let excitatory = (t.class() == Class::Excitatory) != chance(&mut rng, 0.03);
                if excitatory {
                    "excitatory"
                } else {
                    "inhibitory"
                }
            }
        })
        .collect();
    m.utf8(
        "classification_system",
        &vec![system; rows.min(nuclei.len())],
    )
    .utf8("cell_type", &cell_type);
    m
}

// ---------------------------------------------------------------------------------------------
// Proofreading and small cell lists.

/// `proofreading_status_and_strategy`: rows in id order; before v1300 the v1181 state, from
/// v1300 on the rows of edited cells are superseded by newer rows.
fn proofreading(ctx: &Ctx<'_>, table: &str) -> Master {
    let w = ctx.world;
    let plan = &w.proof;
    let rows: &[ProofRow] = &plan.rows;
    let n = rows.len();
    let mut m = Master::new(table, n);
    let created: Vec<i64> = rows.iter().map(|r| r.created).collect();
    m.accumulates = Some(created.clone());
    m.i64("id", rows.iter().map(|r| r.id).collect())
        .timestamp("created", created);
    let versions = w.roots.versions();
    let (mut valid, mut superseded) = (Vec::new(), Vec::new());
    for j in 0..versions {
        let late = w.epochs.late(j);
        let by = |r: &ProofRow| if late { r.superseded_by } else { None };
        valid.push(Arc::new(BooleanArray::from(
            rows.iter().map(|r| by(r).is_none()).collect::<Vec<_>>(),
        )) as ArrayRef);
        superseded
            .push(Arc::new(Int64Array::from(rows.iter().map(by).collect::<Vec<_>>())) as ArrayRef);
    }
    m.per_version("valid", valid)
        .per_version("superceded_id", superseded);
    let nuclei: Vec<u32> = rows.iter().map(|r| plan.cells[r.cell].nucleus).collect();
    nucleus_point(ctx, &mut m, "pt", &nuclei);
    let valid_id = rows
        .iter()
        .map(|r| {
            let i = plan.cells[r.cell].nucleus as usize;
            w.roots.cell(&w.cells, w.epochs.regime_index(r.late), i)
        })
        .collect();
    let (mut sd, mut sa, mut gd, mut ga) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in rows {
        let c = &plan.cells[r.cell];
        gd.push(c.dendrite);
        sd.push(c.dendrite != super::proofread::NONE);
        if r.late {
            ga.push(c.late_axon);
            sa.push(c.late_status_axon);
        } else {
            ga.push(c.early_axon.unwrap_or(super::proofread::NONE));
            sa.push(c.early_status_axon);
        }
    }
    m.i64("valid_id", valid_id)
        .bool("status_dendrite", sd)
        .bool("status_axon", sa)
        .utf8("strategy_dendrite", &gd)
        .utf8("strategy_axon", &ga);
    m
}

fn bodor_pt_cells(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = ctx.rng(table);
    let mut nuclei = ctx.world.cells.roles.bodor_pt.clone();
    shuffle(&mut rng, &mut nuclei);
    let created = created_series(
        &mut rng,
        utc_ns((2023, 7, 12), (10, 3, 55), 0),
        nuclei.len(),
        30 * SECOND,
    );
    let mut m = Master::new(table, nuclei.len());
    m.bookkeeping(ids(nuclei.len()), created, false);
    let cells = &ctx.world.cells;
    let area: Vec<&str> = nuclei
        .iter()
        .map(|&i| {
            if cells.area[i as usize] == 0 {
                "v1"
            } else {
                "hva"
            }
        })
        .collect();
    m.utf8("classification_system", &vec!["layer5_pt"; nuclei.len()])
        .utf8("cell_type", &area);
    nucleus_point(ctx, &mut m, "pt", &nuclei);
    m
}

/// Proofread basket and Martinotti cells targeted by L5 PT cells. The table refers to the
/// retired `nucleus_neuron_svm`, whose ids are nucleus ids too.
fn bodor_targets(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut rng = ctx.rng(table);
    let cells = &ctx.world.cells;
    let pool: Vec<u32> = ctx
        .world
        .proof
        .cells
        .iter()
        .map(|c| c.nucleus)
        .filter(|&i| matches!(cells.ty[i as usize], CellType::Bc | CellType::Mc))
        .collect();
    let mut nuclei = select_from(&mut rng, &pool, 120);
    shuffle(&mut rng, &mut nuclei);
    let start = utc_ns((2023, 7, 13), (16, 41, 2), 380_000);
    let mut m = nucleus_reference(ctx, table, &nuclei, start, 20 * SECOND);
    let ty: Vec<CellType> = nuclei.iter().map(|&i| cells.ty[i as usize]).collect();
    m.utf8(
        "classification_system",
        &vec!["proofread_inhib_target"; ty.len()],
    )
    .utf8("cell_type", &labels(&ty, CellType::label));
    m
}

fn l5et_column(ctx: &Ctx<'_>, table: &str) -> Master {
    let nuclei = by_nucleus_id(ctx, ctx.world.cells.roles.l5et_column.clone());
    let start = utc_ns((2023, 7, 20), (19, 12, 40), 14_000);
    nucleus_reference(ctx, table, &nuclei, start, 2 * SECOND)
}

fn gamlin(ctx: &Ctx<'_>, table: &str) -> Master {
    let mut nuclei = ctx.world.cells.roles.gamlin_mc.clone();
    shuffle(&mut ctx.rng(table), &mut nuclei);
    let start = utc_ns((2024, 11, 18), (19, 30, 11), 200_000);
    let mut m = nucleus_reference(ctx, table, &nuclei, start, 2 * SECOND);
    m.utf8(
        "classification_system",
        &vec!["allen_cortex_inhibitory"; nuclei.len()],
    )
    .utf8("cell_type", &vec!["Martinotti"; nuclei.len()]);
    m
}

/// MET-type labels (Sst MET types of Gouwens et al. 2020) with their reliability, for 16 of
/// the Martinotti cells.
fn gamlin_met(ctx: &Ctx<'_>, table: &str) -> Master {
    const MET: [&str; 6] = [
        "Sst-MET-2",
        "Sst-MET-3",
        "Sst-MET-4",
        "Sst-MET-6",
        "Sst-MET-8",
        "Sst-MET-13",
    ];
    let mut rng = ctx.rng(table);
    let nuclei = select_from(&mut rng, &ctx.world.cells.roles.gamlin_mc, 16);
    let start = utc_ns((2024, 11, 18), (19, 41, 50), 7_000);
    let mut m = nucleus_reference(ctx, table, &nuclei, start, 2 * SECOND);
    let tag: Vec<&str> = nuclei
        .iter()
        .map(|_| MET[below(&mut rng, 0, MET.len() as u64) as usize])
        .collect();
    let value = nuclei
        .iter()
        .map(|_| (0.5 + 0.5 * unit(&mut rng)) as f32)
        .collect();
    m.utf8("tag", &tag).f32("value", value);
    m
}
