//! The library half of the `cave` command-line tool: [`fetch`] reads a datastack from CAVE
//! servers and merges it into a snapshot (`cave fetch`), or compares the two (`cave check`).
//!
//! The binary `cave` is this crate's `main.rs`; install it with
//! `cargo install --path cave-cli` from a checkout.

pub mod fetch;
