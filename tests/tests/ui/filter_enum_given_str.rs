// `strategy_axon` takes the enum `ProofreadingStrategy`, not its wire string.
mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["proofreading_status_and_strategy"]
    );
}

fn main() {
    let _ = minnie::ProofreadingStatusAndStrategy::filter().strategy_axon("axon_fully_extended");
}
