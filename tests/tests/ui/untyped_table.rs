// A table whose schema type the snapshot does not know gets no types; naming it is an error
// on its literal.
mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["allen_soma_coarse_cell_class_model_v1"]
    );
}

fn main() {}
