// A snapshot folder that does not exist: the error lists the paths tried and the command that
// creates the snapshot.
mod minnie {
    cave_runtime::datastack!("schemas/no_such_datastack");
}

fn main() {}
