//! The views of the sample: stored queries over a version's tables, computed once per version
//! when the sample is built (docs/WIRE.md, "Views"). What each computes follows the view's
//! published description (`views.json`); the real SQL is not public, so these are this
//! server's reconstruction:
//!
//! - `nucleus_detection_lookup_v1`: every valid nucleus of `nucleus_detection_v0`, its root and
//!   supervoxel id (and `pt_position_lookup`) replaced by those of its
//!   `nucleus_alternative_points` row when it has one; `orig_root_id` is the nucleus's own.
//! - `soma_counts`: the lookup rows with the `nucleus_ref_neuron_svm` cell type, and per root
//!   id how many nuclei (`total_count`) and how many neurons (`neuron_count`) it has.
//! - `single_neurons`: `soma_counts` rows of neurons that are their root's only neuron.
//! - `aibs_cell_info`: every valid row of `aibs_metamodel_celltypes_v661` with its nucleus
//!   (lookup root id, volume, position), `broad_type` from its classification system, and the
//!   proofreading of its root id from `proofreading_status_and_strategy` (`t`/`f` and the
//!   strategies); `mtype` and `visual_area` are null.
//!
//! Other views of the snapshot have no rows here; querying them answers as a version without
//! data does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Int32Array, Int64Array, StringArray,
};
use cave_schema::Snapshot;

use crate::store::{BuildError, Dataset, TableBuilder, TableData, Values};

/// The views this server computes.
pub const COMPUTED: [&str; 4] = [
    "aibs_cell_info",
    "nucleus_detection_lookup_v1",
    "single_neurons",
    "soma_counts",
];

/// Compute the views every sampled version lists (and this server knows) into `dataset`.
pub fn assemble(snapshot: &Snapshot, dataset: &mut Dataset) -> Result<(), BuildError> {
    for (&version, tables) in &dataset.versions {
        let Some(listed) = snapshot.version(version).map(|v| &v.views) else {
            continue;
        };
        let wanted = |name: &str| listed.iter().any(|v| v == name) && snapshot.view(name).is_some();
        let mut views = BTreeMap::new();
        let lookup = match Lookup::new(tables) {
            Some(lookup) => lookup,
            None => continue,
        };
        if wanted("nucleus_detection_lookup_v1") {
            let data = lookup.table(snapshot)?;
            views.insert("nucleus_detection_lookup_v1".to_string(), Arc::new(data));
        }
        let counts = SomaCounts::new(&lookup, tables);
        if wanted("soma_counts") {
            let data = counts.table(snapshot, &lookup, "soma_counts", false)?;
            views.insert("soma_counts".to_string(), Arc::new(data));
        }
        if wanted("single_neurons") {
            let data = counts.table(snapshot, &lookup, "single_neurons", true)?;
            views.insert("single_neurons".to_string(), Arc::new(data));
        }
        if wanted("aibs_cell_info")
            && let Some(data) = cell_info(snapshot, tables, &lookup)?
        {
            views.insert("aibs_cell_info".to_string(), Arc::new(data));
        }
        if !views.is_empty() {
            dataset.views.insert(version, views);
        }
    }
    Ok(())
}

fn single<'a, T: 'static>(data: &'a TableData, name: &str) -> Option<&'a T> {
    match &data.column(name)?.values {
        Values::Single(a) => a.as_any().downcast_ref::<T>(),
        Values::Position(_) => None,
    }
}

fn position<'a>(data: &'a TableData, name: &str) -> Option<[&'a Int32Array; 3]> {
    match &data.column(name)?.values {
        Values::Position([x, y, z]) => Some([
            x.as_any().downcast_ref()?,
            y.as_any().downcast_ref()?,
            z.as_any().downcast_ref()?,
        ]),
        Values::Single(_) => None,
    }
}

fn point(xyz: &[&Int32Array; 3], row: usize) -> Option<[i32; 3]> {
    (0..3)
        .all(|k| xyz[k].is_valid(row))
        .then(|| [0, 1, 2].map(|k| xyz[k].value(row)))
}

fn opt_i64(a: &Int64Array, row: usize) -> Option<i64> {
    a.is_valid(row).then(|| a.value(row))
}

fn opt_str(a: &StringArray, row: usize) -> Option<String> {
    a.is_valid(row).then(|| a.value(row).to_string())
}

/// The valid rows of a table (all of them without a `valid` column).
fn valid_rows(data: &TableData) -> Vec<usize> {
    match single::<BooleanArray>(data, "valid") {
        Some(v) => (0..data.rows)
            .filter(|&i| v.is_valid(i) && v.value(i))
            .collect(),
        None => (0..data.rows).collect(),
    }
}

/// An `Option` point column as the builder wants it: three nullable `int32` arrays.
fn point_arrays(points: &[Option<[i32; 3]>]) -> [ArrayRef; 3] {
    [0, 1, 2].map(|k| -> ArrayRef {
        Arc::new(Int32Array::from(
            points.iter().map(|p| p.map(|p| p[k])).collect::<Vec<_>>(),
        ))
    })
}

/// A bound point's root id, supervoxel id and position.
type PointIds = (Option<i64>, Option<i64>, Option<[i32; 3]>);

/// `nucleus_detection_lookup_v1`, row by row.
struct Lookup {
    id: Vec<i64>,
    volume: Vec<Option<f64>>,
    position: Vec<Option<[i32; 3]>>,
    root: Vec<Option<i64>>,
    orig_root: Vec<Option<i64>>,
    supervoxel: Vec<Option<i64>>,
    lookup_position: Vec<Option<[i32; 3]>>,
    /// Nucleus id → row.
    by_id: HashMap<i64, usize>,
}

impl Lookup {
    fn new(tables: &BTreeMap<String, Arc<TableData>>) -> Option<Lookup> {
        let nuclei = tables.get("nucleus_detection_v0")?;
        let ids = single::<Int64Array>(nuclei, "id")?;
        let volume = single::<Float32Array>(nuclei, "volume")?;
        let pos = position(nuclei, "pt_position")?;
        let roots = single::<Int64Array>(nuclei, "pt_root_id")?;
        let svs = single::<Int64Array>(nuclei, "pt_supervoxel_id")?;
        // The alternative point of a nucleus, if any: (root, supervoxel, position).
        let mut alternative: HashMap<i64, PointIds> = HashMap::new();
        if let Some(alt) = tables.get("nucleus_alternative_points")
            && let (Some(target), Some(root), Some(sv), Some(p)) = (
                single::<Int64Array>(alt, "target_id"),
                single::<Int64Array>(alt, "pt_root_id"),
                single::<Int64Array>(alt, "pt_supervoxel_id"),
                position(alt, "pt_position"),
            )
        {
            for i in valid_rows(alt) {
                if target.is_valid(i) {
                    alternative.insert(
                        target.value(i),
                        (opt_i64(root, i), opt_i64(sv, i), point(&p, i)),
                    );
                }
            }
        }
        let rows = valid_rows(nuclei);
        let mut out = Lookup {
            id: Vec::with_capacity(rows.len()),
            volume: Vec::with_capacity(rows.len()),
            position: Vec::with_capacity(rows.len()),
            root: Vec::with_capacity(rows.len()),
            orig_root: Vec::with_capacity(rows.len()),
            supervoxel: Vec::with_capacity(rows.len()),
            lookup_position: Vec::with_capacity(rows.len()),
            by_id: HashMap::with_capacity(rows.len()),
        };
        for i in rows {
            let id = ids.value(i);
            let own = (opt_i64(roots, i), opt_i64(svs, i), point(&pos, i));
            let (root, sv, lookup) = alternative.get(&id).copied().unwrap_or(own);
            out.by_id.insert(id, out.id.len());
            out.id.push(id);
            out.volume
                .push(volume.is_valid(i).then(|| f64::from(volume.value(i))));
            out.position.push(own.2);
            out.root.push(root);
            out.orig_root.push(own.0);
            out.supervoxel.push(sv);
            out.lookup_position.push(lookup);
        }
        Some(out)
    }

    fn table(&self, snapshot: &Snapshot) -> Result<TableData, BuildError> {
        let mut b = TableBuilder::view(snapshot, "nucleus_detection_lookup_v1", self.id.len())?;
        b.int64("id", self.id.clone())?
            .float64_opt("volume", self.volume.clone())?
            .position_arrays("pt_position", point_arrays(&self.position))?
            .int64_opt("pt_root_id", self.root.clone())?
            .int64_opt("orig_root_id", self.orig_root.clone())?
            .int64_opt("pt_supervoxel_id", self.supervoxel.clone())?
            .position_arrays("pt_position_lookup", point_arrays(&self.lookup_position))?;
        b.finish()
    }
}

/// `soma_counts` over the lookup rows.
struct SomaCounts {
    cell_type: Vec<Option<String>>,
    neurons: Vec<i64>,
    total: Vec<i64>,
}

impl SomaCounts {
    fn new(lookup: &Lookup, tables: &BTreeMap<String, Arc<TableData>>) -> SomaCounts {
        let mut types: HashMap<i64, String> = HashMap::new();
        if let Some(svm) = tables.get("nucleus_ref_neuron_svm")
            && let (Some(target), Some(cell_type)) = (
                single::<Int64Array>(svm, "target_id"),
                single::<StringArray>(svm, "cell_type"),
            )
        {
            for i in valid_rows(svm) {
                if let (Some(t), Some(c)) = (opt_i64(target, i), opt_str(cell_type, i)) {
                    types.insert(t, c);
                }
            }
        }
        let cell_type: Vec<Option<String>> =
            lookup.id.iter().map(|id| types.get(id).cloned()).collect();
        let mut per_root: HashMap<i64, (i64, i64)> = HashMap::new();
        for (root, t) in lookup.root.iter().zip(&cell_type) {
            if let Some(root) = root {
                let e = per_root.entry(*root).or_default();
                e.1 += 1;
                e.0 += i64::from(t.as_deref() == Some("neuron"));
            }
        }
        let counts = |root: &Option<i64>| root.and_then(|r| per_root.get(&r)).copied();
        SomaCounts {
            neurons: lookup
                .root
                .iter()
                .map(|r| counts(r).map_or(0, |c| c.0))
                .collect(),
            total: lookup
                .root
                .iter()
                .map(|r| counts(r).map_or(0, |c| c.1))
                .collect(),
            cell_type,
        }
    }

    /// `soma_counts`, or (`single`) the `single_neurons` rows of it.
    fn table(
        &self,
        snapshot: &Snapshot,
        lookup: &Lookup,
        view: &str,
        single: bool,
    ) -> Result<TableData, BuildError> {
        let keep: Vec<usize> = (0..lookup.id.len())
            .filter(|&i| {
                !single || (self.cell_type[i].as_deref() == Some("neuron") && self.neurons[i] == 1)
            })
            .collect();
        let pick = |v: &[Option<i64>]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let points = |v: &[Option<[i32; 3]>]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let mut b = TableBuilder::view(snapshot, view, keep.len())?;
        b.int64("id", keep.iter().map(|&i| lookup.id[i]).collect())?
            .position_arrays("pt_position", point_arrays(&points(&lookup.position)))?
            .int64_opt("pt_root_id", pick(&lookup.root))?
            .int64_opt("pt_supervoxel_id", pick(&lookup.supervoxel))?;
        if !single {
            b.utf8_opt(
                "cell_type",
                keep.iter().map(|&i| self.cell_type[i].clone()).collect(),
            )?
            .int64(
                "neuron_count",
                keep.iter().map(|&i| self.neurons[i]).collect(),
            )?
            .int64("total_count", keep.iter().map(|&i| self.total[i]).collect())?;
        }
        b.finish()
    }
}

/// `aibs_cell_info` (this server's reconstruction; see the module docs).
fn cell_info(
    snapshot: &Snapshot,
    tables: &BTreeMap<String, Arc<TableData>>,
    lookup: &Lookup,
) -> Result<Option<TableData>, BuildError> {
    const SOURCE: &str = "aibs_metamodel_celltypes_v661";
    let Some(types) = tables.get(SOURCE) else {
        return Ok(None);
    };
    let (Some(target), Some(cell_type), Some(class)) = (
        single::<Int64Array>(types, "target_id"),
        single::<StringArray>(types, "cell_type"),
        single::<StringArray>(types, "classification_system"),
    ) else {
        return Ok(None);
    };
    // Proofreading by root id: (dendrite, axon, dendrite strategy, axon strategy).
    type Proof = (bool, bool, Option<String>, Option<String>);
    let mut proof: HashMap<i64, Proof> = HashMap::new();
    if let Some(p) = tables.get("proofreading_status_and_strategy")
        && let (Some(root), Some(sd), Some(sa), Some(td), Some(ta)) = (
            single::<Int64Array>(p, "pt_root_id"),
            single::<BooleanArray>(p, "status_dendrite"),
            single::<BooleanArray>(p, "status_axon"),
            single::<StringArray>(p, "strategy_dendrite"),
            single::<StringArray>(p, "strategy_axon"),
        )
    {
        for i in valid_rows(p) {
            if let Some(r) = opt_i64(root, i) {
                let flag = |a: &BooleanArray| a.is_valid(i) && a.value(i);
                proof.insert(r, (flag(sd), flag(sa), opt_str(td, i), opt_str(ta, i)));
            }
        }
    }
    let rows: Vec<(usize, usize)> = valid_rows(types)
        .into_iter()
        .filter_map(|i| Some((i, *lookup.by_id.get(&opt_i64(target, i)?)?)))
        .collect();
    let n = rows.len();
    let of = |j: usize| lookup.root[j].and_then(|r| proof.get(&r));
    let tf = |b: bool| Some(if b { "t" } else { "f" }.to_string());
    let broad = |c: Option<String>| {
        c.map(|c| match c.as_str() {
            "excitatory_neuron" => "excitatory".to_string(),
            "inhibitory_neuron" => "inhibitory".to_string(),
            _ => c,
        })
    };
    let source = vec![Some(SOURCE.to_string()); n];
    let mut b = TableBuilder::view(snapshot, "aibs_cell_info", n)?;
    b.int64("id", rows.iter().map(|&(_, j)| lookup.id[j]).collect())?
        .int64_opt(
            "pt_root_id",
            rows.iter().map(|&(_, j)| lookup.root[j]).collect(),
        )?
        .float64_opt(
            "nuc_volume",
            rows.iter().map(|&(_, j)| lookup.volume[j]).collect(),
        )?
        .utf8_opt(
            "broad_type",
            rows.iter()
                .map(|&(i, _)| broad(opt_str(class, i)))
                .collect(),
        )?
        .utf8_opt("broad_type_source", source.clone())?
        .utf8_opt(
            "cell_type",
            rows.iter().map(|&(i, _)| opt_str(cell_type, i)).collect(),
        )?
        .utf8_opt("cell_type_source", source)?
        .utf8_opt(
            "dendrite_cleaned",
            rows.iter()
                .map(|&(_, j)| tf(of(j).is_some_and(|p| p.0)))
                .collect(),
        )?
        .utf8_opt(
            "axon_cleaned",
            rows.iter()
                .map(|&(_, j)| tf(of(j).is_some_and(|p| p.1)))
                .collect(),
        )?
        .utf8_opt(
            "dendrite_strategy",
            rows.iter()
                .map(|&(_, j)| of(j).and_then(|p| p.2.clone()))
                .collect(),
        )?
        .utf8_opt(
            "axon_strategy",
            rows.iter()
                .map(|&(_, j)| of(j).and_then(|p| p.3.clone()))
                .collect(),
        )?
        .position_arrays(
            "pt_position",
            point_arrays(
                &rows
                    .iter()
                    .map(|&(_, j)| lookup.position[j])
                    .collect::<Vec<_>>(),
            ),
        )?;
    b.finish().map(Some)
}
