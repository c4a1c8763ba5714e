//! Cross-crate tests of the toolkit live in `tests/tests/`. This library holds generated code
//! whose rustdoc CI checks with `RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p cave-tests`
//! (escaped service text, no broken links, no bare URLs, a doc on every item).
#![deny(missing_docs)]

/// Every typed table of `minnie65_public`, through `cave_runtime::datastack!`.
pub mod minnie {
    cave_runtime::datastack!("schemas/minnie65_public");
}

/// Columns named like keywords and builder methods, through `cave_macros::datastack!` directly
/// (the macro crate's own path works as well as the runtime's re-export).
pub mod keywords {
    cave_macros::datastack!("cave-codegen/tests/fixtures/keywords");
}

/// Names that collide after casing.
pub mod collisions {
    cave_macros::datastack!("cave-codegen/tests/fixtures/collisions");
}

/// The README's Rust examples, compiled by `cargo test --doc -p cave-tests` (they are
/// `no_run`: they would need a CAVE server).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
