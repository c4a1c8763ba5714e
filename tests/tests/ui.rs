//! `datastack!` under trybuild: misuses that must not compile, each with the error blessed
//! in its `.stderr` (`tests/ui/`), and uses that must compile without warnings
//! (`tests/pass/`). Re-bless with `TRYBUILD=overwrite cargo test -p cave-tests --test ui`,
//! then read the `.stderr` diff.

#[test]
fn ui() {
    // trybuild compiles the cases in a scratch crate under `target/tests/trybuild/`; the
    // macro walks up from there past cargo's target folder to the repository, so
    // `"schemas/minnie65_public"` and `"tests/fixtures/broken_json"` resolve as they do from
    // the repository root.
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/pass/*.rs");
}
