//! The shape of CAVE's HTTP API, with no I/O: the records its services answer with
//! ([`records`], [`views`], [`chunkedgraph`]), the URL paths of its endpoints ([`paths`]), the filter families of a query
//! body ([`FilterKind`]), its timestamps ([`parse_time`]), and the rules for text and names
//! that come from a server ([`untrusted`]).
//!
//! The client (`cave-runtime`), the `cave` tool and the devserver all use this crate, so that
//! a record or a path is written once. docs/WIRE.md in the repository describes the protocol
//! these types follow.

pub mod chunkedgraph;
mod filters;
pub mod paths;
pub mod records;
mod time;
pub mod untrusted;
pub mod views;

pub use filters::FilterKind;
pub use paths::{Template, join_url, segment};
pub use records::{
    AlignedVolume, DatastackInfo, RecordError, TableMetadata, VersionInfo, from_json, json_kind,
};
pub use time::parse_time;
pub use views::{ViewColumn, ViewColumnType, ViewMetadata, ViewSchema};
