// The fixture's tables.json misses a comma: the error names the file, line and column.
mod broken {
    cave_runtime::datastack!("tests/fixtures/broken_json");
}

fn main() {}
