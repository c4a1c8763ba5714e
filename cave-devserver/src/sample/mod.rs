//! Deterministic sample data for `minnie65_public`.
//!
//! One universe of 144,120 nuclei (types, multi-soma merges, positions, nucleus ids) is built
//! from the seed; every sampled version sees it through its own root ids (about 10 % of objects
//! change between versions, proofread cells among them). Each table of a version's table list
//! that has a schema type gets rows: the published `minnie65_public` counts (the MICrONS
//! tutorials and table notices) where known, plausible guesses elsewhere, and a generic filling for tables of
//! other versions. Columns that do not change between versions are shared by `Arc`.
//!
//! Module map: `rng` random streams; `ids` root/supervoxel ids and time; `celltypes`; `cells`
//! the nuclei; `proofread` the proofreading plan; `roots` versions and root ids; `synapses`;
//! `master` per-table rows over versions; `tables`, `refs`, `coreg`, `vortex`, `generic` the
//! table recipes; `views` the views, computed from a version's tables.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cave_schema::Snapshot;

use crate::store::{BuildError, Dataset, TableData};

mod cells;
mod celltypes;
mod coreg;
mod generic;
mod ids;
mod master;
mod proofread;
mod refs;
pub(crate) mod rng;
mod roots;
mod synapses;
mod tables;
#[cfg(test)]
mod tests;
mod views;
mod vortex;

pub use ids::chunk_box;
pub use views::COMPUTED as COMPUTED_VIEWS;

use cells::Cells;
use master::Master;
use proofread::ProofPlan;
use roots::{Epochs, Roots};
use synapses::Synapses;

/// The synapse table of the datastack.
const SYNAPSE_TABLE: &str = "synapses_pni_2";

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleConfig {
    /// Seed of every random choice: the same seed gives the same bytes.
    pub seed: u64,
    /// Rows of `synapses_pni_2` per version.
    pub synapses: usize,
    /// The versions that get data.
    pub versions: Vec<u32>,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            seed: 1300,
            synapses: 300_000,
            versions: vec![1181, 1300],
        }
    }
}

/// The universe every table is drawn from.
pub(crate) struct World {
    /// The seed.
    pub seed: u64,
    /// The sampled versions.
    pub epochs: Epochs,
    /// The nuclei.
    pub cells: Cells,
    /// The proofread cells.
    pub proof: ProofPlan,
    /// Root ids per version.
    pub roots: Roots,
}

impl World {
    fn new(seed: u64, epochs: Epochs) -> World {
        let cells = Cells::generate(seed);
        let proof = ProofPlan::new(&cells, seed);
        let roots = Roots::new(&cells, &proof, &epochs, seed);
        World {
            seed,
            epochs,
            cells,
            proof,
            roots,
        }
    }
}

/// Generate the sample data: one [`TableData`] per table with a schema type in the table list
/// of each requested version that the snapshot has (other versions are skipped).
pub fn generate(snapshot: &Snapshot, config: &SampleConfig) -> Result<Dataset, BuildError> {
    let epochs = Epochs::new(snapshot, &config.versions);
    let lists = table_lists(snapshot, &epochs);
    let needed: BTreeSet<&str> = lists.iter().flatten().copied().collect();
    let world = World::new(config.seed, epochs);
    let synapses_needed = needed.iter().any(|t| {
        *t == SYNAPSE_TABLE
            || snapshot.table(t).and_then(|m| m.reference_table.as_deref()) == Some(SYNAPSE_TABLE)
    });
    let syn = if synapses_needed {
        Synapses::generate(&world, config.synapses)
    } else {
        Synapses::default()
    };
    let masters = build_masters(snapshot, &world, syn, &needed)?;
    let mut dataset = assemble(snapshot, &world.epochs, &lists, &masters)?;
    views::assemble(snapshot, &mut dataset)?;
    Ok(dataset)
}

/// For each sampled version, its tables that have a schema type.
fn table_lists<'a>(snapshot: &'a Snapshot, epochs: &Epochs) -> Vec<Vec<&'a str>> {
    epochs
        .list
        .iter()
        .map(|e| {
            snapshot
                .version(e.version)
                .map(|v| {
                    v.tables
                        .iter()
                        .map(String::as_str)
                        .filter(|t| snapshot.schema_of(t).is_some())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

fn build_masters(
    snapshot: &Snapshot,
    world: &World,
    syn: Synapses,
    needed: &BTreeSet<&str>,
) -> Result<BTreeMap<String, Master>, BuildError> {
    let mut masters = BTreeMap::new();
    {
        let ctx = tables::Ctx {
            world,
            syn: &syn,
            snapshot,
        };
        for &t in needed.iter().filter(|&&t| t != SYNAPSE_TABLE) {
            masters.insert(t.to_string(), tables::master(&ctx, t)?);
        }
    }
    if needed.contains(SYNAPSE_TABLE) {
        let m = tables::synapse_master(SYNAPSE_TABLE, syn);
        masters.insert(SYNAPSE_TABLE.to_string(), m);
    }
    Ok(masters)
}

/// Build each version's tables; a table that is the same at two versions is shared.
fn assemble(
    snapshot: &Snapshot,
    epochs: &Epochs,
    lists: &[Vec<&str>],
    masters: &BTreeMap<String, Master>,
) -> Result<Dataset, BuildError> {
    let mut dataset = Dataset::default();
    let mut shared: BTreeMap<(String, usize), Arc<TableData>> = BTreeMap::new();
    for (j, (epoch, list)) in epochs.list.iter().zip(lists).enumerate() {
        let mut tables = BTreeMap::new();
        for &t in list {
            let m = masters
                .get(t)
                .ok_or_else(|| BuildError::NoSchema(t.to_string()))?;
            let key = (t.to_string(), m.visible_rows(epoch.ts));
            let data = match shared.get(&key) {
                Some(d) if m.version_independent() => Arc::clone(d),
                _ => Arc::new(m.assemble(snapshot, j, epoch.ts)?),
            };
            if m.version_independent() {
                shared.insert(key, Arc::clone(&data));
            }
            tables.insert(t.to_string(), data);
        }
        dataset.versions.insert(epoch.version, tables);
    }
    Ok(dataset)
}
