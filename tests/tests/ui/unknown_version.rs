// A version the snapshot does not have: the error lists the versions it has.
mod minnie {
    cave_runtime::datastack!("schemas/minnie65_public", version = 7);
}

fn main() {}
