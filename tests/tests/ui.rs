//! `datastack!` under trybuild: misuses that must not compile, each with the error blessed
//! in its `.stderr` (`tests/ui/`), and uses that must compile without warnings
//! (`tests/pass/`). Re-bless with `TRYBUILD=overwrite cargo test -p cave-tests --test ui`,
//! then read the `.stderr` diff.

use std::path::Path;

#[test]
fn ui() {
    // trybuild compiles the cases in a scratch crate under `target/tests/trybuild/`, with a
    // copy of the workspace's Cargo.lock, so the macro's walk up from CARGO_MANIFEST_DIR stops
    // there and never reaches the repository. `$CAVE_SCHEMA_DIR` (tried first) points the
    // macro at the repository root, so `"schemas/minnie65_public"` and
    // `"tests/fixtures/broken_json"` resolve as they do from the repository.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is in the repository");
    // SAFETY: this is the test binary's only test, and it sets the variable before trybuild
    // starts; no other thread reads or writes the environment meanwhile.
    unsafe { std::env::set_var("CAVE_SCHEMA_DIR", root) };

    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/pass/*.rs");
}
