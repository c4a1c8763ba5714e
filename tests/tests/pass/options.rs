// The `crate = path` and `tables = [..]` options: only the named tables (and their reference
// targets) are generated, and the generated code reaches the runtime through the given path.
#![deny(warnings)]

pub mod runtime {
    pub use cave_runtime::*;
}

pub mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        crate = crate::runtime,
        tables = [
            "aibs_metamodel_celltypes_v661",
            "proofreading_status_and_strategy"
        ],
    );
}

pub mod absolute {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["proofreading_status_and_strategy"],
        crate = ::cave_runtime
    );
}

use cave_runtime::Table;

fn main() {
    // The reference target comes along.
    assert_eq!(
        minnie::TABLES,
        [
            "aibs_metamodel_celltypes_v661",
            "nucleus_detection_v0",
            "proofreading_status_and_strategy",
        ]
    );
    assert_eq!(minnie::VERSION, None);
    assert_eq!(absolute::TABLES, ["proofreading_status_and_strategy"]);
    assert_eq!(
        <minnie::AibsMetamodelCelltypesV661 as Table>::TARGET,
        Some("nucleus_detection_v0")
    );
    let query = absolute::ProofreadingStatusAndStrategy::filter()
        .pt_root_id(cave_runtime::RootId(864691135000000000))
        .into_query();
    assert_eq!(
        query.body(),
        serde_json::json!({
            "filter_equal_dict": {
                "proofreading_status_and_strategy": {"pt_root_id": 864691135000000000_i64},
            },
        })
    );
    let _ = minnie::nucleus_detection_v0::Filter::new().limit(1);
}
