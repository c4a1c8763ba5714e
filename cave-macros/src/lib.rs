//! The `datastack!` proc-macro (issue 4): typed row structs, filter builders and enums for
//! every table of a committed CAVE snapshot, generated at compile time by
//! `cave_schema::codegen`. It depends on `cave-schema` without its CLI and network features.
