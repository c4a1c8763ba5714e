// A misspelt table: the error is on that literal, with a did-you-mean.
mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["proofreading_status_and_strategy", "synapses_pni2"]
    );
}

fn main() {}
