// A misspelt column method: rustc suggests the right one.
mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["proofreading_status_and_strategy"]
    );
}

fn main() {
    let _ = minnie::ProofreadingStatusAndStrategy::filter().status_axonn(true);
}
