//! Tests of the sample data against the published numbers (minnie65_public.md) and structural
//! rules. Run with `cargo test -p cave-devserver --lib sample` (add `--release` for speed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Int32Array, Int64Array, StringArray,
    TimestampNanosecondArray,
};
use cave_schema::{ColumnRole, EnumValue, FieldKind, Snapshot, WireType};

use super::ids::{ROOT_BASE, root_is_valid, supervoxel_matches};
use super::*;
use crate::store::{TableData, Values};

fn snapshot() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/minnie65_public");
        Snapshot::load(dir).expect("snapshot loads")
    })
}

/// The default dataset, generated once for all tests.
fn dataset() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| generate(snapshot(), &SampleConfig::default()).expect("generates"))
}

fn table(v: u32, name: &str) -> &'static TableData {
    dataset()
        .table(v, name)
        .unwrap_or_else(|| panic!("{name} at {v}"))
}

fn single<'a>(t: &'a TableData, name: &str) -> &'a ArrayRef {
    match &t
        .column(name)
        .unwrap_or_else(|| panic!("{}.{name}", t.name))
        .values
    {
        Values::Single(a) => a,
        Values::Position(_) => panic!("{name} is a position"),
    }
}

fn i64s(t: &TableData, name: &str) -> Vec<i64> {
    let a = single(t, name);
    if let Some(ts) = a.as_any().downcast_ref::<TimestampNanosecondArray>() {
        return ts.values().to_vec();
    }
    let a = a.as_any().downcast_ref::<Int64Array>().expect("int64");
    (0..a.len())
        .map(|i| if a.is_null(i) { 0 } else { a.value(i) })
        .collect()
}

fn strings(t: &TableData, name: &str) -> Vec<String> {
    let a = single(t, name)
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("utf8");
    (0..a.len()).map(|i| a.value(i).to_string()).collect()
}

fn bools(t: &TableData, name: &str) -> Vec<bool> {
    let a = single(t, name)
        .as_any()
        .downcast_ref::<BooleanArray>()
        .expect("bool");
    (0..a.len()).map(|i| a.value(i)).collect()
}

fn points(t: &TableData, name: &str) -> Vec<[i32; 3]> {
    let Values::Position(xyz) = &t.column(name).expect("position").values else {
        panic!("{name} is not a position");
    };
    let axes: Vec<&Int32Array> = xyz
        .iter()
        .map(|a| a.as_any().downcast_ref::<Int32Array>().expect("int32"))
        .collect();
    (0..t.rows)
        .map(|i| [axes[0].value(i), axes[1].value(i), axes[2].value(i)])
        .collect()
}

/// Rows with `valid = true`.
fn valid_rows(t: &TableData) -> Vec<usize> {
    let valid = bools(t, "valid");
    (0..t.rows).filter(|&i| valid[i]).collect()
}

fn count<'a>(values: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for v in values {
        *m.entry(v.to_string()).or_insert(0) += 1;
    }
    m
}

fn expect_counts(got: &BTreeMap<String, usize>, want: &[(&str, usize)]) {
    for &(k, n) in want {
        assert_eq!(got.get(k).copied().unwrap_or(0), n, "count of {k}: {got:?}");
    }
    assert_eq!(got.len(), want.len(), "labels: {got:?}");
}

/// Nucleus id → (root, position) at version `v`.
fn nuclei(v: u32) -> BTreeMap<i64, (i64, [i32; 3])> {
    let t = table(v, "nucleus_detection_v0");
    let (ids, roots, pos) = (
        i64s(t, "id"),
        i64s(t, "pt_root_id"),
        points(t, "pt_position"),
    );
    (0..t.rows).map(|i| (ids[i], (roots[i], pos[i]))).collect()
}

/// The metamodel rows with their root at `v`: `(root, classification_system, cell_type)`.
fn metamodel(v: u32) -> Vec<(i64, String, String)> {
    let t = table(v, "aibs_metamodel_celltypes_v661");
    let n = nuclei(v);
    let (target, class, ty) = (
        i64s(t, "target_id"),
        strings(t, "classification_system"),
        strings(t, "cell_type"),
    );
    (0..t.rows)
        .map(|i| (n[&target[i]].0, class[i].clone(), ty[i].clone()))
        .collect()
}

/// Rows whose root occurs once (pandas `drop_duplicates(keep=False)`).
fn dedup(rows: &[(i64, String, String)]) -> Vec<&(i64, String, String)> {
    let mut per_root: BTreeMap<i64, usize> = BTreeMap::new();
    for r in rows {
        *per_root.entry(r.0).or_insert(0) += 1;
    }
    rows.iter().filter(|r| per_root[&r.0] == 1).collect()
}

#[test]
fn every_table_with_a_schema_at_each_version() {
    let d = dataset();
    assert_eq!(
        d.versions.keys().copied().collect::<Vec<_>>(),
        vec![1181, 1300]
    );
    assert_eq!(d.versions[&1300].len(), 31);
    assert_eq!(d.versions[&1181].len(), 24);
    for (v, tables) in &d.versions {
        let listed = &snapshot().version(*v).expect("version").tables;
        for name in listed {
            assert_eq!(
                tables.contains_key(name),
                snapshot().schema_of(name).is_some(),
                "{name} at {v}"
            );
        }
        for (name, t) in tables {
            assert_eq!(&t.name, name);
        }
    }
}

#[test]
fn published_row_counts() {
    let want = [
        ("nucleus_detection_v0", 144_120),
        ("aibs_metamodel_celltypes_v661", 94_014),
        ("allen_v1_column_types_slanted_ref", 1_357),
        ("aibs_column_nonneuronal_ref", 542),
        ("nucleus_ref_neuron_svm", 144_120),
        ("functional_properties_v3_bcm", 12_094),
        ("coregistration_manual_v4", 19_181),
        (
            "coregistration_auto_phase3_fwd_apl_vess_combined_v2",
            83_046,
        ),
        ("aibs_metamodel_mtypes_v661_v2", 72_158),
        ("baylor_log_reg_cell_type_coarse_v1", 55_063),
        ("baylor_gnn_cell_type_fine_model_v2", 49_051),
        ("nucleus_alternative_points", 8_388),
        ("allen_column_mtypes_v2", 1_351),
        ("nucleus_functional_area_assignment", 144_120),
        ("synapses_pni_2", 300_000),
    ];
    for (name, n) in want {
        assert_eq!(table(1300, name).valid_rows(), n, "{name}");
    }
    assert_eq!(table(1181, "synapses_pni_2").rows, 300_000);
    let distinct = |name: &str| {
        i64s(table(1300, name), "target_id")
            .into_iter()
            .collect::<BTreeSet<_>>()
            .len()
    };
    assert_eq!(distinct("functional_properties_v3_bcm"), 10_631);
    assert_eq!(distinct("coregistration_manual_v4"), 15_439);
    assert_eq!(
        distinct("coregistration_auto_phase3_fwd_apl_vess_combined_v2"),
        35_466
    );
    let areas = count(
        strings(table(1300, "nucleus_functional_area_assignment"), "tag")
            .iter()
            .map(String::as_str),
    );
    expect_counts(
        &areas,
        &[("V1", 90_765), ("RL", 31_622), ("AL", 20_859), ("LM", 874)],
    );
    let clean = strings(
        table(1300, "vortex_astrocyte_proofreading_status"),
        "status",
    );
    assert_eq!(clean.iter().filter(|s| *s == "clean").count(), 12);
}

#[test]
fn metamodel_matches_v1300() {
    let rows = metamodel(1300);
    assert_eq!(rows.len(), 94_014);
    let roots: BTreeSet<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(roots.len(), 91_423);
    assert_eq!(rows.iter().filter(|r| r.0 == 0).count(), 175);
    let mut sizes: BTreeMap<i64, usize> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.0 != 0) {
        *sizes.entry(r.0).or_insert(0) += 1;
    }
    let mut big: Vec<usize> = sizes.values().copied().filter(|&n| n > 1).collect();
    big.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(&big[..4], &[350, 102, 60, 43]);
    assert_eq!(big.len(), 1_119);
    let kept = dedup(&rows);
    assert_eq!(kept.len(), 90_303);
    expect_counts(
        &count(kept.iter().map(|r| r.1.as_str())),
        &[
            ("excitatory_neuron", 63_757),
            ("nonneuron", 18_699),
            ("inhibitory_neuron", 7_847),
        ],
    );
    expect_counts(
        &count(kept.iter().map(|r| r.2.as_str())),
        &[
            ("23P", 19_642),
            ("4P", 14_720),
            ("6P-IT", 11_637),
            ("5P-IT", 7_889),
            ("astrocyte", 7_108),
            ("oligo", 6_900),
            ("6P-CT", 6_755),
            ("BC", 3_309),
            ("MC", 2_433),
            ("microglia", 2_394),
            ("5P-ET", 2_157),
            ("BPC", 1_484),
            ("OPC", 1_451),
            ("5P-NP", 957),
            ("pericyte", 846),
            ("NGC", 621),
        ],
    );
    assert_eq!(rows.iter().filter(|r| r.2 == "BC").count(), 3_365);
    let t = table(1300, "aibs_metamodel_celltypes_v661");
    let ids = i64s(t, "id");
    assert_eq!(ids, (1..=94_014).collect::<Vec<i64>>());
    let created = i64s(t, "created");
    let (lo, hi) = (
        ids::utc_ns((2023, 12, 19), (22, 38, 0), 0),
        ids::utc_ns((2023, 12, 19), (23, 0, 0), 0),
    );
    assert!(created.iter().all(|&c| (lo..hi).contains(&c)));
}

#[test]
fn metamodel_drift_at_v1181() {
    let rows = metamodel(1181);
    let kept = dedup(&rows);
    expect_counts(
        &count(kept.iter().map(|r| r.1.as_str())),
        &[
            ("excitatory_neuron", 63_761),
            ("nonneuron", 18_697),
            ("inhibitory_neuron", 7_849),
        ],
    );
}

/// Valid proofreading rows at `v`, checked against nuclei and cell types.
fn check_proofreading(v: u32, rows: usize, axon: &[(&str, usize)]) -> Vec<i64> {
    let t = table(v, "proofreading_status_and_strategy");
    let valid = valid_rows(t);
    assert_eq!(valid.len(), rows);
    let strategy = strings(t, "strategy_axon");
    expect_counts(&count(valid.iter().map(|&i| strategy[i].as_str())), axon);
    let (root, valid_id, pos) = (
        i64s(t, "pt_root_id"),
        i64s(t, "valid_id"),
        points(t, "pt_position"),
    );
    let dendrite = strings(t, "strategy_dendrite");
    let status_dendrite = bools(t, "status_dendrite");
    let by_root: BTreeMap<i64, [i32; 3]> = nuclei(v).values().map(|&(r, p)| (r, p)).collect();
    let single: BTreeMap<i64, String> = dedup(&metamodel(v))
        .into_iter()
        .map(|r| (r.0, r.1.clone()))
        .collect();
    let mut roots = BTreeSet::new();
    let mut excitatory = 0;
    for &i in &valid {
        assert_ne!(root[i], 0);
        assert_eq!(valid_id[i], root[i], "valid_id at {v}");
        assert!(roots.insert(root[i]), "proofread root repeats");
        assert_eq!(
            by_root.get(&root[i]),
            Some(&pos[i]),
            "position is the nucleus'"
        );
        let class = single
            .get(&root[i])
            .expect("a single-root metamodel neuron");
        assert_ne!(class, "nonneuron");
        excitatory += usize::from(class == "excitatory_neuron");
        assert_eq!(status_dendrite[i], dendrite[i] != "none");
    }
    let share = excitatory as f64 / valid.len() as f64;
    assert!((0.75..0.85).contains(&share), "excitatory share {share}");
    let ids = i64s(t, "id");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(*ids.last().unwrap_or(&0) <= 3_066);
    valid.iter().map(|&i| root[i]).collect()
}

#[test]
fn proofreading_matches_published_counts() {
    check_proofreading(
        1300,
        1_865,
        &[
            ("axon_partially_extended", 1_459),
            ("axon_interareal", 130),
            ("axon_fully_extended", 127),
            ("none", 149),
        ],
    );
    check_proofreading(
        1181,
        1_621,
        &[
            ("axon_partially_extended", 979),
            ("axon_fully_extended", 80),
            ("axon_interareal", 144),
            ("axon_column_truncated", 233),
            ("none", 185),
        ],
    );
    let t = table(1300, "proofreading_status_and_strategy");
    let valid = valid_rows(t);
    let (status, strategy) = (bools(t, "status_axon"), strings(t, "strategy_axon"));
    assert_eq!(valid.iter().filter(|&&i| status[i]).count(), 1_723);
    assert_eq!(
        valid
            .iter()
            .filter(|&&i| status[i] && strategy[i] == "none")
            .count(),
        7
    );
    assert_eq!(i64s(t, "id").into_iter().max(), Some(3_066));
    let dendrite = count(valid.iter().map(|&i| strategy_dendrite(t, i)));
    let extended = dendrite["dendrite_extended"] as f64 / 1_865.0;
    assert!((0.3..0.4).contains(&extended), "{dendrite:?}");
    // Superseded rows are kept as invalid rows with the id of their successor.
    let superseded = i64s(t, "superceded_id");
    let invalid: Vec<usize> = (0..t.rows).filter(|i| !valid.contains(i)).collect();
    assert!(!invalid.is_empty());
    assert!(invalid.iter().all(|&i| superseded[i] > 0));
}

fn strategy_dendrite(t: &TableData, i: usize) -> &'static str {
    match strings(t, "strategy_dendrite")[i].as_str() {
        "dendrite_extended" => "dendrite_extended",
        "dendrite_clean" => "dendrite_clean",
        _ => "none",
    }
}

#[test]
fn roots_change_between_versions() {
    let (old, new) = (nuclei(1181), nuclei(1300));
    assert_eq!(
        old.keys().collect::<Vec<_>>(),
        new.keys().collect::<Vec<_>>()
    );
    let mut changed = 0;
    let mut both = 0;
    for (id, &(r_new, p_new)) in &new {
        let (r_old, p_old) = old[id];
        assert_eq!(p_old, p_new);
        if r_old != 0 && r_new != 0 {
            both += 1;
            if r_old != r_new {
                changed += 1;
            }
        }
    }
    let share = changed as f64 / both as f64;
    assert!((0.07..0.15).contains(&share), "changed share {share}");
    let proofread_1181: BTreeSet<i64> = valid_rows(table(1181, "proofreading_status_and_strategy"))
        .into_iter()
        .map(|i| {
            i64s(
                table(1181, "proofreading_status_and_strategy"),
                "pt_root_id",
            )[i]
        })
        .collect();
    let root_to_id: BTreeMap<i64, i64> = old.iter().map(|(id, r)| (r.0, *id)).collect();
    let moved = proofread_1181
        .iter()
        .filter(|r| new[&root_to_id[r]].0 != **r)
        .count();
    assert!(moved > 100, "{moved} proofread cells changed root");
    // Newer edits get larger counters.
    let n = |r: i64| r - ROOT_BASE;
    let newest_old = old.values().map(|r| n(r.0)).max().unwrap_or(0);
    for (id, &(r_new, _)) in &new {
        if old[id].0 != 0 && old[id].0 != r_new {
            assert!(n(r_new) > newest_old);
        }
    }
}

/// The allowed values of a column: its value set, else its schema enum.
fn allowed(table: &str, column: &cave_schema::Column) -> Option<BTreeSet<String>> {
    if let Some((_, set)) = snapshot().value_set(table, &column.name) {
        return Some(set.values.iter().map(|v| v.value.clone()).collect());
    }
    match column.field.as_ref().map(|f| &f.kind) {
        Some(FieldKind::Enum(e)) => Some(
            e.values
                .iter()
                .map(|v| match v {
                    EnumValue::Str(s) => s.clone(),
                    EnumValue::Int(i) => i.to_string(),
                })
                .collect(),
        ),
        _ => None,
    }
}

fn check_value_sets(d: &Dataset) -> usize {
    let mut checked = 0;
    for tables in d.versions.values() {
        for (name, t) in tables {
            let schema = snapshot().schema_of(name).expect("schema");
            for column in schema.columns() {
                let Some(allowed) = allowed(name, &column) else {
                    continue;
                };
                let values: Vec<String> = match column.wire {
                    WireType::Utf8 => strings(t, &column.name),
                    WireType::Int32 => {
                        let a = single(t, &column.name)
                            .as_any()
                            .downcast_ref::<Int32Array>()
                            .expect("int32");
                        a.values().iter().map(i32::to_string).collect()
                    }
                    _ => i64s(t, &column.name).iter().map(i64::to_string).collect(),
                };
                for v in &values {
                    assert!(allowed.contains(v), "{name}.{}: {v:?}", column.name);
                }
                checked += 1;
            }
        }
    }
    checked
}

#[test]
fn value_sets_are_respected() {
    assert!(check_value_sets(dataset()) >= 40);
    // Documented vocabularies of tag columns without a value set.
    let tags = |v: u32, t: &str| {
        count(strings(table(v, t), "tag").iter().map(String::as_str))
            .into_keys()
            .collect::<BTreeSet<_>>()
    };
    let within = |got: BTreeSet<String>, allowed: &[&str]| {
        assert!(got.iter().all(|g| allowed.contains(&g.as_str())), "{got:?}");
    };
    within(
        tags(1300, "synapse_target_predictions_ssa"),
        &["spine", "shaft", "soma"],
    );
    within(
        tags(1300, "vortex_compartment_targets"),
        &["spine", "shaft", "soma", "soma_spine", "orphan", "other"],
    );
    within(tags(1300, "vortex_manual_nodes_of_ranvier"), &["node"]);
    within(
        tags(1300, "nucleus_functional_area_assignment"),
        &["V1", "AL", "RL", "LM"],
    );
    let structure = single(table(1300, "synapse_target_structure"), "value");
    let structure = structure
        .as_any()
        .downcast_ref::<Int32Array>()
        .expect("int32");
    assert!(structure.values().iter().all(|v| (0..=6).contains(v)));
}

/// Every bound point: supervoxel chunk bits follow the position, roots are well formed.
fn check_structure(d: &Dataset) {
    for (v, tables) in &d.versions {
        for (name, t) in tables {
            let schema = snapshot().schema_of(name).expect("schema");
            for column in schema.columns() {
                if column.role == ColumnRole::RootId {
                    for r in i64s(t, &column.name) {
                        assert!(root_is_valid(r), "{name}.{} at {v}: {r}", column.name);
                    }
                }
                if column.role != ColumnRole::Position || t.column(&column.name).is_none() {
                    continue;
                }
                let prefix = column.name.trim_end_matches("_position");
                let sv_name = format!("{prefix}_supervoxel_id");
                if schema.column(&sv_name).is_none() {
                    continue;
                }
                let pts = points(t, &column.name);
                let sv = i64s(t, &sv_name);
                let root = i64s(t, &format!("{prefix}_root_id"));
                for i in 0..t.rows {
                    assert!(
                        supervoxel_matches(sv[i], pts[i]),
                        "{name}.{sv_name} row {i}"
                    );
                    assert_eq!(
                        sv[i] == 0,
                        root[i] == 0,
                        "{name} row {i}: sv/root zero together"
                    );
                }
            }
            let ids = i64s(t, "id");
            let unique: BTreeSet<i64> = ids.iter().copied().collect();
            assert_eq!(unique.len(), ids.len(), "{name} ids unique");
        }
    }
}

#[test]
fn ids_and_positions_are_structurally_valid() {
    let d = dataset();
    check_structure(d);
    let t = table(1300, "nucleus_detection_v0");
    for p in points(t, "pt_position") {
        assert_eq!((p[0] % 16, p[1] % 16), (0, 0));
    }
    let ids = i64s(t, "id");
    assert!(ids.iter().all(|&i| (600..750_000).contains(&i)));
    let created = i64s(t, "created");
    let (lo, hi) = (
        ids::utc_ns((2020, 9, 28), (22, 40, 41), 0),
        ids::utc_ns((2020, 9, 28), (22, 45, 30), 0),
    );
    assert!(
        created
            .iter()
            .all(|&c| (lo..hi).contains(&c) && c % 1_000 == 0)
    );
    assert!(created.windows(2).all(|w| w[0] <= w[1]));
    let zero = i64s(t, "pt_root_id").iter().filter(|&&r| r == 0).count() as f64 / t.rows as f64;
    assert!((0.05..0.1).contains(&zero), "root-0 share {zero}");
    let volume = single(t, "volume")
        .as_any()
        .downcast_ref::<Float32Array>()
        .expect("float32");
    assert!(volume.values().iter().all(|&v| v > 25.0 && v < 2_000.0));

    let s = table(1300, "synapses_pni_2");
    for side in ["pre_pt_position", "post_pt_position"] {
        assert!(
            points(s, side)
                .iter()
                .all(|p| p[0] % 2 == 0 && p[1] % 2 == 0)
        );
    }
    let ids = i64s(s, "id");
    assert!(ids.iter().all(|&i| (4_000..485_000_000).contains(&i)));
    let size = single(s, "size")
        .as_any()
        .downcast_ref::<Float32Array>()
        .expect("float32");
    assert!(size.values().iter().all(|&v| v >= 4.0 && v % 4.0 == 0.0));
    let mut sorted: Vec<f32> = size.values().to_vec();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    assert!((3_000.0..4_800.0).contains(&median), "median size {median}");
    let created = i64s(s, "created");
    let (lo, hi) = (
        ids::utc_ns((2020, 11, 4), (6, 48, 0), 0),
        ids::utc_ns((2020, 11, 4), (14, 44, 0), 0),
    );
    assert!(created.iter().all(|&c| (lo..hi).contains(&c)));
    // pre-post distance ≈ 430 nm.
    let (pre, post) = (points(s, "pre_pt_position"), points(s, "post_pt_position"));
    let mut dist: Vec<f64> = pre
        .iter()
        .zip(&post)
        .map(|(a, b)| {
            let d = [4.0, 4.0, 40.0];
            (0..3)
                .map(|k| (f64::from(a[k] - b[k]) * d[k]).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    dist.sort_by(f64::total_cmp);
    let median = dist[dist.len() / 2];
    assert!((330.0..530.0).contains(&median), "median distance {median}");
}

#[test]
fn references_point_at_existing_rows() {
    for (v, tables) in &dataset().versions {
        let nuclei: BTreeSet<i64> = i64s(&tables["nucleus_detection_v0"], "id")
            .into_iter()
            .collect();
        let synapses: BTreeSet<i64> = i64s(&tables["synapses_pni_2"], "id").into_iter().collect();
        for (name, t) in tables {
            let Some(target) = snapshot()
                .table(name)
                .and_then(|m| m.reference_table.clone())
            else {
                continue;
            };
            let ids = i64s(t, "id");
            assert_eq!(
                ids,
                (1..=t.rows as i64).collect::<Vec<_>>(),
                "{name} ids 1..N"
            );
            let pool = if target == "synapses_pni_2" {
                &synapses
            } else {
                &nuclei
            };
            for id in i64s(t, "target_id") {
                assert!(pool.contains(&id), "{name} at {v}: target {id}");
            }
            let created = i64s(t, "created");
            assert!(
                created.windows(2).all(|w| w[0] <= w[1]),
                "{name} created order"
            );
        }
    }
}

#[test]
fn proofread_cells_have_inputs_and_outputs() {
    for v in [1181, 1300] {
        let t = table(v, "proofreading_status_and_strategy");
        let roots: Vec<i64> = valid_rows(t)
            .into_iter()
            .map(|i| i64s(t, "pt_root_id")[i])
            .collect();
        let s = table(v, "synapses_pni_2");
        let (pre, post) = (i64s(s, "pre_pt_root_id"), i64s(s, "post_pt_root_id"));
        let mut outputs: BTreeMap<i64, usize> = BTreeMap::new();
        let mut inputs: BTreeMap<i64, usize> = BTreeMap::new();
        let mut autapses = 0;
        for i in 0..s.rows {
            *outputs.entry(pre[i]).or_insert(0) += 1;
            *inputs.entry(post[i]).or_insert(0) += 1;
            autapses += usize::from(pre[i] == post[i]);
        }
        assert!(autapses > 100, "{autapses} autapses");
        for r in &roots {
            let (i, o) = (
                inputs.get(r).copied().unwrap_or(0),
                outputs.get(r).copied().unwrap_or(0),
            );
            assert!(
                i >= 50 && o >= 50,
                "root {r} at {v}: {i} inputs, {o} outputs"
            );
        }
        // Soma-less fragments are not cells.
        let cells: BTreeSet<i64> = nuclei(v).values().map(|r| r.0).collect();
        let fragment_share =
            pre.iter().filter(|r| !cells.contains(r)).count() as f64 / s.rows as f64;
        assert!(
            (0.4..0.8).contains(&fragment_share),
            "fragment share {fragment_share}"
        );
    }
}

#[test]
fn versions_share_unchanged_columns() {
    let (a, b) = (table(1181, "synapses_pni_2"), table(1300, "synapses_pni_2"));
    let buffer = |t: &TableData, name: &str| match &t.column(name).expect("column").values {
        Values::Single(x) => x.to_data().buffers()[0].as_ptr(),
        Values::Position(xyz) => xyz[0].to_data().buffers()[0].as_ptr(),
    };
    for name in [
        "id",
        "size",
        "pre_pt_position",
        "ctr_pt_position",
        "post_pt_supervoxel_id",
    ] {
        assert_eq!(buffer(a, name), buffer(b, name), "{name}");
    }
    assert_ne!(buffer(a, "pre_pt_root_id"), buffer(b, "pre_pt_root_id"));
    let d = dataset();
    assert!(Arc::ptr_eq(
        &d.versions[&1181]["aibs_metamodel_celltypes_v661"],
        &d.versions[&1300]["aibs_metamodel_celltypes_v661"]
    ));
}

fn same(a: &Dataset, b: &Dataset) -> bool {
    a.versions.len() == b.versions.len()
        && a.versions
            .iter()
            .zip(&b.versions)
            .all(|((va, ta), (vb, tb))| {
                va == vb
                    && ta.len() == tb.len()
                    && ta.iter().zip(tb).all(|((na, x), (nb, y))| {
                        na == nb
                            && x.rows == y.rows
                            && x.columns.iter().zip(&y.columns).all(|(c, d)| {
                                c.name == d.name
                                    && match (&c.values, &d.values) {
                                        (Values::Single(p), Values::Single(q)) => {
                                            p.to_data() == q.to_data()
                                        }
                                        (Values::Position(p), Values::Position(q)) => {
                                            (0..3).all(|k| p[k].to_data() == q[k].to_data())
                                        }
                                        _ => false,
                                    }
                            })
                    })
            })
}

#[test]
fn same_seed_same_data() {
    let config = SampleConfig {
        synapses: 20_000,
        ..SampleConfig::default()
    };
    let a = generate(snapshot(), &config).expect("generates");
    let b = generate(snapshot(), &config).expect("generates");
    assert!(same(&a, &b));
    let c = generate(snapshot(), &SampleConfig { seed: 7, ..config }).expect("generates");
    assert!(!same(&a, &c));
    let ids = |d: &Dataset| i64s(&d.versions[&1300]["nucleus_detection_v0"], "id");
    assert_ne!(ids(&a), ids(&c));
}

#[test]
fn other_versions_get_generic_tables() {
    let config = SampleConfig {
        synapses: 5_000,
        versions: vec![117, 943, 1718, 99_999],
        ..SampleConfig::default()
    };
    let d = generate(snapshot(), &config).expect("generates");
    assert_eq!(
        d.versions.keys().copied().collect::<Vec<_>>(),
        vec![117, 943, 1718]
    );
    for (v, tables) in &d.versions {
        let with_schema = snapshot()
            .version(*v)
            .expect("version")
            .tables
            .iter()
            .filter(|t| snapshot().schema_of(t).is_some())
            .count();
        assert_eq!(tables.len(), with_schema, "{v}");
    }
    assert!(check_value_sets(&d) > 0);
    check_structure(&d);
    let none = generate(
        snapshot(),
        &SampleConfig {
            versions: vec![],
            ..config
        },
    )
    .expect("generates");
    assert!(none.versions.is_empty());
}

#[test]
fn zero_synapses_work() {
    let config = SampleConfig {
        synapses: 0,
        versions: vec![1300],
        ..SampleConfig::default()
    };
    let d = generate(snapshot(), &config).expect("generates");
    assert_eq!(d.versions[&1300]["synapses_pni_2"].rows, 0);
    assert_eq!(d.versions[&1300]["synapse_target_predictions_ssa"].rows, 0);
}

/// `cargo test -p cave-devserver --release --lib sample::tests::timing -- --ignored --nocapture`
/// (20 million synapses in release builds only).
#[test]
#[ignore = "prints timings"]
fn timing() {
    let sizes: &[usize] = if cfg!(debug_assertions) {
        &[300_000]
    } else {
        &[300_000, 20_000_000]
    };
    for &synapses in sizes {
        let start = std::time::Instant::now();
        let d = generate(
            snapshot(),
            &SampleConfig {
                synapses,
                ..SampleConfig::default()
            },
        )
        .expect("generates");
        println!("{synapses} synapses: {:?}", start.elapsed());
        drop(d);
    }
}
