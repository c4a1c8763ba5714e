// `select` ends the filters: it returns a `cave_runtime::Selection`, which has no column
// methods.
mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["proofreading_status_and_strategy"]
    );
}

use minnie::proofreading_status_and_strategy::Column;

fn main() {
    let _ = minnie::ProofreadingStatusAndStrategy::filter()
        .select([Column::PtRootId, Column::StatusAxon])
        .status_axon(true);
}
