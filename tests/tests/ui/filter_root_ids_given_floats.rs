// `pt_root_id_in` takes root ids, not floats.
mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["proofreading_status_and_strategy"]
    );
}

fn main() {
    let _ = minnie::ProofreadingStatusAndStrategy::filter().pt_root_id_in([1.5]);
}
