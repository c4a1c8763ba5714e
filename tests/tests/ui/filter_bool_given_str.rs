// `status_axon` is a bool column.
mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["proofreading_status_and_strategy"]
    );
}

fn main() {
    let _ = minnie::ProofreadingStatusAndStrategy::filter().status_axon("t");
}
