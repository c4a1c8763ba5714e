// The README's use: every table of version 1300, filters built, their query body read, and a
// query run (only type-checked here), all without a warning.
#![deny(warnings)]

pub mod minnie {
    cave_runtime::datastack!("schemas/minnie65_public", version = 1300);
}

use cave_runtime::RootId;
use minnie::{
    AibsMetamodelCellType, AibsMetamodelCelltypesV661, ProofreadingStatusAndStrategy,
    ProofreadingStrategy,
};

/// Run two queries; only type-checked, never called.
pub async fn run(client: &cave_runtime::Client) -> Result<(), cave_runtime::Error> {
    let proofread: cave_runtime::Rows<ProofreadingStatusAndStrategy> =
        ProofreadingStatusAndStrategy::filter()
        .status_axon(true)
        .strategy_axon(ProofreadingStrategy::AxonFullyExtended)
        .limit(10)
        .query(client)
        .await?;
    let roots: Vec<RootId> = proofread.iter().filter_map(|row| row.pt_root_id).collect();
    let cells: Vec<AibsMetamodelCelltypesV661> = AibsMetamodelCelltypesV661::filter()
        .pt_root_id_in(&roots)
        .cell_type(AibsMetamodelCellType::_23p)
        .live_query(client, cave_runtime::chrono::Utc::now())
        .await?
        .into_vec();
    for cell in &cells {
        let _: Option<RootId> = cell.target.pt_root_id;
        let _: &AibsMetamodelCellType = &cell.cell_type;
    }
    Ok(())
}

fn main() {
    assert_eq!(minnie::VERSION, Some(1300));
    let proofread = ProofreadingStatusAndStrategy::filter()
        .status_axon(true)
        .strategy_axon(ProofreadingStrategy::AxonFullyExtended)
        .limit(10)
        .into_query();
    assert_eq!(
        proofread.body(),
        serde_json::json!({
            "filter_equal_dict": {
                "proofreading_status_and_strategy": {
                    "status_axon": true,
                    "strategy_axon": "axon_fully_extended",
                },
            },
            "limit": 10,
        })
    );

    let cells = AibsMetamodelCelltypesV661::filter()
        .pt_root_id_in([RootId(1)])
        .cell_type(AibsMetamodelCellType::_23p)
        .into_query();
    assert_eq!(
        cells.body(),
        serde_json::json!({
            "tables": [["aibs_metamodel_celltypes_v661", "target_id"], ["nucleus_detection_v0", "id"]],
            "filter_in_dict": {"nucleus_detection_v0": {"pt_root_id": [1]}},
            "filter_equal_dict": {"aibs_metamodel_celltypes_v661": {"cell_type": "23P"}},
            "suffix_map": {"aibs_metamodel_celltypes_v661": "", "nucleus_detection_v0": "_ref"},
        })
    );
}
