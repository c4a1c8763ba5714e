// A typed query takes no column names: its filters and selections come from the table's
// `Filter`, whose methods are typed per column (the untyped `TableQuery` takes names).
mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["proofreading_status_and_strategy"]
    );
}

use cave_runtime::{Query, Side};
use minnie::ProofreadingStatusAndStrategy;

fn main() {
    let _ = Query::<ProofreadingStatusAndStrategy>::new().equal(Side::Table, "status_axon", "x");
    let _ = Query::<ProofreadingStatusAndStrategy>::new().select(vec![(Side::Table, "nope")]);
}
