//! The real snapshot, every table, expanded by the macro: the generated API as the README
//! shows it, compiled under `deny(warnings, missing_docs)`.
#![deny(warnings, missing_docs)]

/// All of minnie65_public.
pub mod minnie {
    cave_runtime::datastack!("schemas/minnie65_public");
}

#[test]
fn compiles() {
    assert!(minnie::TABLES.contains(&"synapses_pni_2"));
}
