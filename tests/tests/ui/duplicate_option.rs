// An option given twice: the error is on the second.
mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["proofreading_status_and_strategy"],
        version = 1300,
        version = 1181
    );
}

fn main() {}
