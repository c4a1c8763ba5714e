// A table of the snapshot that materialization version 1300 does not have.
mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = ["proofreading_status_public_release"]
    );
}

fn main() {}
