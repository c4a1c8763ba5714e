//! The build-script way to the generated code (`cave-build`), checked by compiling its output
//! for a fixture in this crate's library (`from_build_script`).

fn main() {
    if let Err(e) = cave_build::Builder::new("../cave-codegen/tests/fixtures/keywords")
        .file_name("keywords.rs")
        .generate()
    {
        panic!("{e}");
    }
}
