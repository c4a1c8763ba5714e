// A misspelt option: the error is on it, with a did-you-mean and the list of options.
mod minnie {
    cave_runtime::datastack!("schemas/minnie65_public", versoin = 1300);
}

fn main() {}
