//! The JSON bodies typed filter builders render: the keys, nesting and order caveclient 8.2.1
//! sends for the same query (docs/WIRE.md: "Query bodies", "Join queries", "Live queries").

use cave_runtime::{AnnotationId, RootId, SupervoxelId};
use chrono::{TimeZone, Utc};
use serde_json::json;

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = [
            "proofreading_status_and_strategy",
            "aibs_metamodel_celltypes_v661",
            "synapses_pni_2"
        ]
    );
}

use minnie::{
    AibsMetamodelCellType, AibsMetamodelCelltypesV661, ProofreadingStatusAndStrategy,
    ProofreadingStrategy, SynapsesPni2,
};

#[test]
fn simple_query_body() {
    let q = ProofreadingStatusAndStrategy::filter()
        .status_axon(true)
        .strategy_axon(ProofreadingStrategy::AxonFullyExtended)
        .pt_root_id_in([RootId(864691135000000001), RootId(2)])
        .pt_position_bbox([0, 0, 0], [1000, 1000, 100])
        .offset(5)
        .limit(10)
        .desired_resolution([1.0, 1.0, 1.0])
        .into_query();
    let body = q.body();
    assert_eq!(
        body.to_string(),
        json!({
            "filter_in_dict": {"proofreading_status_and_strategy": {"pt_root_id": [864691135000000001_i64, 2]}},
            "filter_equal_dict": {"proofreading_status_and_strategy": {"status_axon": true, "strategy_axon": "axon_fully_extended"}},
            "filter_spatial_dict": {"proofreading_status_and_strategy": {"pt_position": [[0, 0, 0], [1000, 1000, 100]]}},
            "offset": 5, "limit": 10, "desired_resolution": [1.0, 1.0, 1.0]
        })
        .to_string(),
        "keys in caveclient's order"
    );
    assert_eq!(q.get_version(), Some(1300), "pinned by `version = 1300`");
}

#[test]
fn the_last_filter_of_a_kind_wins_and_kinds_combine() {
    let body = SynapsesPni2::filter()
        .size_gt(10.0)
        .size_gt(0.1)
        .size_le(99.5)
        .id_not_in([AnnotationId(3)])
        .pre_pt_supervoxel_id(SupervoxelId(7))
        .into_query()
        .body();
    assert_eq!(
        body,
        json!({
            "filter_notin_dict": {"synapses_pni_2": {"id": [3]}},
            "filter_equal_dict": {"synapses_pni_2": {"pre_pt_supervoxel_id": 7}},
            "filter_greater_dict": {"synapses_pni_2": {"size": 0.1}},
            "filter_less_equal_dict": {"synapses_pni_2": {"size": 99.5}}
        }),
        "f32 values are sent as the decimal the user wrote"
    );
}

#[test]
fn reference_table_query_is_a_join_with_target_filters_nested_under_the_target() {
    let body = AibsMetamodelCelltypesV661::filter()
        .cell_type(AibsMetamodelCellType::from_wire("23P"))
        .pt_root_id_in([RootId(5)])
        .volume_gt(10.5)
        .target_id_in([AnnotationId(9)])
        .limit(5)
        .into_query()
        .body();
    assert_eq!(
        body.to_string(),
        json!({
            "tables": [["aibs_metamodel_celltypes_v661", "target_id"], ["nucleus_detection_v0", "id"]],
            "filter_in_dict": {
                "aibs_metamodel_celltypes_v661": {"target_id": [9]},
                "nucleus_detection_v0": {"pt_root_id": [5]}
            },
            "filter_equal_dict": {"aibs_metamodel_celltypes_v661": {"cell_type": "23P"}},
            "filter_greater_dict": {"nucleus_detection_v0": {"volume": 10.5}},
            "suffix_map": {"aibs_metamodel_celltypes_v661": "", "nucleus_detection_v0": "_ref"},
            "limit": 5
        })
        .to_string()
    );
}

#[test]
fn live_query_body() {
    let t = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
    let q = AibsMetamodelCelltypesV661::filter()
        .cell_type(AibsMetamodelCellType::from_wire("BC"))
        .limit(4)
        .timestamp(t + chrono::Duration::microseconds(123456))
        .into_query();
    assert_eq!(
        q.live_body().unwrap().to_string(),
        json!({
            "table": "aibs_metamodel_celltypes_v661",
            "timestamp": "2025-01-02T03:04:05.123456+00:00",
            "join_tables": [["aibs_metamodel_celltypes_v661", "target_id", "nucleus_detection_v0", "id"]],
            "filter_equal_dict": {"aibs_metamodel_celltypes_v661": {"cell_type": "BC"}},
            "limit": 4,
            "suffixes": {"aibs_metamodel_celltypes_v661": "", "nucleus_detection_v0": "_ref"}
        })
        .to_string()
    );
    let whole_second = ProofreadingStatusAndStrategy::filter()
        .timestamp(t)
        .into_query();
    assert_eq!(
        whole_second.live_body().unwrap()["timestamp"],
        "2025-01-02T03:04:05+00:00"
    );
    assert_eq!(
        ProofreadingStatusAndStrategy::filter()
            .into_query()
            .live_body(),
        None
    );
}

#[test]
fn selections_name_columns_per_table() {
    use minnie::aibs_metamodel_celltypes_v661::Column as C;
    use minnie::synapses_pni_2::Column as S;
    let s = SynapsesPni2::filter()
        .select([S::PrePtRootId, S::Size])
        .limit(3);
    assert_eq!(
        s.as_query().body(),
        json!({"select_columns": ["pre_pt_root_id", "size"], "limit": 3})
    );
    let c = AibsMetamodelCelltypesV661::filter().select([C::CellType, C::TargetPtRootId]);
    assert_eq!(
        c.as_query().body()["select_column_map"],
        json!({"aibs_metamodel_celltypes_v661": ["cell_type"], "nucleus_detection_v0": ["pt_root_id"]})
    );
    // The target's own `id` (the nucleus id), as caveclient's `select_columns` can pick it.
    let ids = AibsMetamodelCelltypesV661::filter().select([C::TargetRowId, C::CellType]);
    assert_eq!(
        ids.as_query().body()["select_column_map"],
        json!({"aibs_metamodel_celltypes_v661": ["cell_type"], "nucleus_detection_v0": ["id"]})
    );
}

#[test]
fn enums_round_trip_and_keep_unknown_values() {
    let s: ProofreadingStrategy = "axon_fully_extended".parse().unwrap();
    assert_eq!(s, ProofreadingStrategy::AxonFullyExtended);
    assert_eq!(s.to_string(), "axon_fully_extended");
    assert_eq!(
        ProofreadingStrategy::from_wire("none"),
        ProofreadingStrategy::None
    );
    let new = ProofreadingStrategy::from_wire("axon_to_the_moon");
    assert_eq!(new, ProofreadingStrategy::Other("axon_to_the_moon".into()));
    assert_eq!(new.as_str(), "axon_to_the_moon");
    assert_eq!(ProofreadingStrategy::KNOWN.len(), 7);
}
