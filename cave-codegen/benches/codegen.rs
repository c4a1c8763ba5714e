//! Code generation of the whole committed snapshot (every table of every version), as the
//! `datastack!` macro and `cave generate` do it: `cargo bench -p cave-codegen`.

use std::path::PathBuf;

use cave_codegen::{Options, expand};
use cave_schema::Snapshot;

fn main() {
    divan::main();
}

fn snapshot() -> Snapshot {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/minnie65_public");
    Snapshot::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// Loading the snapshot folder (JSON files, checked).
#[divan::bench]
fn load_snapshot() -> Snapshot {
    snapshot()
}

/// Tokens for every table (what the macro hands the compiler).
#[divan::bench]
fn expand_every_table(bencher: divan::Bencher) {
    let snapshot = snapshot();
    let options = Options::default();
    bencher.bench(|| expand(divan::black_box(&snapshot), &options).map(|t| t.to_string().len()));
}

/// Formatted source for every table (what `cave generate` prints).
#[divan::bench]
fn generate_source_every_table(bencher: divan::Bencher) {
    let snapshot = snapshot();
    let options = Options::default();
    bencher.bench(|| cave_codegen::generate_source(divan::black_box(&snapshot), &options));
}
