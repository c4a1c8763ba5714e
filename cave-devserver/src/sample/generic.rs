//! Tables the sample has no specific recipe for (those of other versions than 1181 and 1300):
//! a few hundred rows filled column by column from the schema, on single-root neurons (or on
//! synapses for references to the synapse table), respecting value sets and enums.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array};
use cave_schema::{Column, ColumnRole, EnumValue, FieldKind, WireType};

use super::cells::Slot;
use super::ids::{SECOND, utc_ns};
use super::master::Master;
use super::rng::{Rng, below, chance, select, select_from, shuffle, stream, unit};
use super::tables::{Ctx, created_series, ids};
use crate::store::BuildError;

/// Rows of a generic table.
const ROWS: usize = 200;
/// The synapse table.
const SYNAPSE_TABLE: &str = "synapses_pni_2";

/// What a generic table's rows are about.
struct Subjects {
    nuclei: Vec<u32>,
    synapse_ids: Vec<i64>,
}

/// A generic table.
pub fn master(ctx: &Ctx<'_>, table: &str) -> Result<Master, BuildError> {
    let schema = ctx
        .snapshot
        .schema_of(table)
        .ok_or_else(|| BuildError::NoSchema(table.to_string()))?;
    let on_synapses = ctx
        .snapshot
        .table(table)
        .and_then(|t| t.reference_table.as_deref())
        == Some(SYNAPSE_TABLE);
    let mut rng = stream(ctx.world.seed, table, 0);
    let rows = if on_synapses {
        ROWS.min(ctx.syn.len())
    } else {
        ROWS
    };
    let subjects = subjects(ctx, &mut rng, rows);
    let created = created_series(
        &mut rng,
        utc_ns((2024, 1, 2), (12, 0, 0), 0),
        rows,
        60 * SECOND,
    );
    let mut m = Master::new(table, rows);
    for column in schema.columns() {
        fill(ctx, &mut m, &mut rng, &column, &subjects, &created);
    }
    Ok(m)
}

fn subjects(ctx: &Ctx<'_>, rng: &mut Rng, rows: usize) -> Subjects {
    let cells = &ctx.world.cells;
    let pool: Vec<u32> = (0..cells.n_meta as u32)
        .filter(|&i| cells.slot[i as usize] == Slot::Single && cells.ty[i as usize].is_neuron())
        .collect();
    let mut nuclei = select_from(rng, &pool, rows);
    shuffle(rng, &mut nuclei);
    while nuclei.len() < rows {
        nuclei.push(nuclei.first().copied().unwrap_or(0));
    }
    let synapse_ids = select(rng, ctx.syn.len(), rows)
        .into_iter()
        .map(|r| ctx.syn.id[r])
        .collect();
    Subjects {
        nuclei,
        synapse_ids,
    }
}

fn fill(
    ctx: &Ctx<'_>,
    m: &mut Master,
    rng: &mut Rng,
    column: &Column,
    s: &Subjects,
    created: &[i64],
) {
    let name = column.name.as_str();
    let rows = created.len();
    let cells = &ctx.world.cells;
    let nuclei = &s.nuclei[..rows];
    match (column.role, column.wire) {
        (ColumnRole::AnnotationId, _) => {
            m.i64(name, ids(rows));
        }
        (_, WireType::Timestamp) => {
            m.timestamp(name, created.to_vec());
        }
        (ColumnRole::Bookkeeping, WireType::Bool) => {
            m.bool(name, vec![true; rows]);
        }
        (ColumnRole::Bookkeeping, _) => {}
        (ColumnRole::ReferenceTarget, _) if s.synapse_ids.len() >= rows => {
            m.i64(name, s.synapse_ids[..rows].to_vec());
        }
        (ColumnRole::ReferenceTarget, _) => {
            m.i64(name, nuclei.iter().map(|&i| cells.id[i as usize]).collect());
        }
        (_, WireType::Position) => {
            let points: Vec<[i32; 3]> = nuclei.iter().map(|&i| cells.pos[i as usize]).collect();
            m.position(name, &points);
        }
        (ColumnRole::SupervoxelId, _) => {
            m.i64(name, nuclei.iter().map(|&i| cells.sv[i as usize]).collect());
        }
        (ColumnRole::RootId, _) => {
            m.per_version(name, roots(ctx, nuclei));
        }
        (_, WireType::Int64) if name == "valid_id" => {
            m.per_version(name, roots(ctx, nuclei));
        }
        (_, wire) => payload(ctx, m, rng, column, wire, rows),
    }
}

fn roots(ctx: &Ctx<'_>, nuclei: &[u32]) -> Vec<ArrayRef> {
    let w = ctx.world;
    (0..w.roots.versions())
        .map(|j| {
            let values = nuclei
                .iter()
                .map(|&i| w.roots.cell(&w.cells, j, i as usize));
            Arc::new(Int64Array::from_iter_values(values)) as ArrayRef
        })
        .collect()
}

/// Allowed string or integer values of a column: its value set, else its enum.
fn allowed(ctx: &Ctx<'_>, m: &Master, column: &Column) -> (Vec<String>, Vec<i64>) {
    if let Some((_, set)) = ctx.snapshot.value_set(&m.table, &column.name) {
        return (set.values.iter().map(|v| v.value.clone()).collect(), vec![]);
    }
    let mut strings = Vec::new();
    let mut ints = Vec::new();
    if let Some(FieldKind::Enum(e)) = column.field.as_ref().map(|f| &f.kind) {
        for v in &e.values {
            match v {
                EnumValue::Str(s) => strings.push(s.clone()),
                EnumValue::Int(i) => ints.push(*i),
            }
        }
    }
    (strings, ints)
}

fn payload(
    ctx: &Ctx<'_>,
    m: &mut Master,
    rng: &mut Rng,
    column: &Column,
    wire: WireType,
    rows: usize,
) {
    let (strings, ints) = allowed(ctx, m, column);
    let int = |rng: &mut Rng| -> i64 {
        if ints.is_empty() {
            below(rng, 0, 100) as i64
        } else {
            ints[below(rng, 0, ints.len() as u64) as usize]
        }
    };
    let name = column.name.as_str();
    match wire {
        WireType::Utf8 => {
            let values: Vec<String> = (0..rows)
                .map(|_| {
                    if strings.is_empty() {
                        format!("{name}_{}", below(rng, 1, 6))
                    } else {
                        strings[below(rng, 0, strings.len() as u64) as usize].clone()
                    }
                })
                .collect();
            m.utf8(name, &values);
        }
        WireType::Int64 => {
            m.i64(name, (0..rows).map(|_| int(rng)).collect());
        }
        WireType::Int32 => {
            m.i32(name, (0..rows).map(|_| int(rng) as i32).collect());
        }
        WireType::Float32 => {
            m.f32(name, (0..rows).map(|_| unit(rng) as f32).collect());
        }
        // Only views have float64 columns; tables are generated here.
        WireType::Float64 => {}
        WireType::Bool => {
            m.bool(name, (0..rows).map(|_| chance(rng, 0.5)).collect());
        }
        WireType::Timestamp | WireType::Position => {}
    }
}
