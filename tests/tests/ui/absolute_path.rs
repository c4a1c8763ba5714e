// An absolute snapshot path would only build on this machine.
mod minnie {
    cave_runtime::datastack!("/tmp/x");
}

fn main() {}
