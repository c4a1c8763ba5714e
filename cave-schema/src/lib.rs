//! CAVE annotation schemas as a typed model.
//!
//! - [`parse`]: the schema service's JSON (one type, or `types_all`) → [`SchemaType`].
//! - [`columns`]: a type flattened into the columns a materialization query returns, each with
//!   its wire type, nullability and role.
//! - [`Snapshot`]: the committed, deterministic snapshot of a datastack (docs/SNAPSHOT.md):
//!   schema types, datastack info, versions, tables, views, value sets.
//!
//! This crate is what the `datastack!` macro builds on: it has no network, Arrow or CLI
//! dependencies. The code generator is `cave-codegen`; refreshing a snapshot from a server is
//! the `cave` command line (`cave-cli`).
//!
//! ```no_run
//! let snapshot = cave_schema::Snapshot::load("schemas/minnie65_public")?;
//! let schema = snapshot.schema_of("proofreading_status_and_strategy").unwrap();
//! for column in schema.columns() {
//!     println!("{} {}", column.name, column.wire.as_str());
//! }
//! # Ok::<(), cave_schema::SnapshotError>(())
//! ```

pub mod canonical_json;
pub mod columns;
pub mod commit;
mod error;
pub mod parse;
pub mod schema;
pub mod snapshot;
pub mod suggest;
pub mod types;

pub use columns::{Column, ColumnRole, PointRef, WireType};
pub use error::SnapshotError;
pub use parse::{SchemaError, parse_schema_type, parse_schema_type_str, parse_types_all_str};
pub use schema::{EnumField, EnumRepr, EnumValue, Field, FieldKind, Point, PointKind, SchemaType};
pub use snapshot::{Provenance, Snapshot, TableMeta, ValueSet, Version, ViewColumnEntry, ViewMeta};
pub use types::{TypeDoc, TypeSet};
