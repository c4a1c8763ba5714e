//! The hand-made codegen fixtures (keywords, collisions, every column kind, nullable points,
//! integer enums) expand to code that compiles under `deny(warnings, missing_docs)`; their
//! formatted output is reviewed in cave-schema/tests/snapshots.
#![deny(warnings, missing_docs)]

/// Columns named like keywords and builder methods.
pub mod keywords {
    cave_runtime::datastack!("cave-codegen/tests/fixtures/keywords");
}
/// Names that collide after casing.
pub mod collisions {
    cave_runtime::datastack!("cave-codegen/tests/fixtures/collisions");
}
/// Every column kind.
pub mod every_kind {
    cave_runtime::datastack!("cave-codegen/tests/fixtures/every_kind");
}
/// Optional points.
pub mod nullable_points {
    cave_runtime::datastack!("cave-codegen/tests/fixtures/nullable_points");
}
/// Integer enums.
pub mod int_enums {
    cave_runtime::datastack!("cave-codegen/tests/fixtures/int_enums");
}

#[test]
fn fixtures_have_tables() {
    for tables in [
        keywords::TABLES,
        collisions::TABLES,
        every_kind::TABLES,
        nullable_points::TABLES,
        int_enums::TABLES,
    ] {
        assert!(!tables.is_empty());
    }
}
