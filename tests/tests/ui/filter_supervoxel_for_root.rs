// A supervoxel id is not a root id.
mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["proofreading_status_and_strategy"]
    );
}

fn main() {
    let _ =
        minnie::ProofreadingStatusAndStrategy::filter().pt_root_id(cave_runtime::SupervoxelId(1));
}
