//! Typed queries of CAVE's materialization service: the [`Client`] (async on tokio, plus a
//! [`blocking`] one), the query a generated filter builder collects and the request caveclient
//! 8.2.1 would send for it, paging past the server's row cap, and decoding of the Arrow answer
//! into generated rows ([`Rows`]) or record batches ([`Batches`]).
//!
//! Most users meet this crate through [`datastack!`], which generates a row struct, a filter
//! builder and enums for every table of a committed snapshot:
//!
//! ```ignore
//! mod minnie {
//!     cave_runtime::datastack!("schemas/minnie65_public", version = 1300);
//! }
//! let query = minnie::ProofreadingStatusAndStrategy::filter()
//!     .status_axon(true)
//!     .strategy_axon(minnie::ProofreadingStrategy::AxonFullyExtended);
//! ```
//!
//! Run it:
//!
//! ```ignore
//! let client = cave_runtime::Client::builder("minnie65_public").build()?;
//! let rows = query.query(&client).await?;   // Rows<ProofreadingStatusAndStrategy>
//! println!("{} rows at version {:?}", rows.len(), rows.info().version);
//! ```
//!
//! Where caveclient and the server disagree, the client does the correct thing:
//! - Not-in filters are sent as `filter_notin_dict`, as caveclient does, but current servers
//!   (MaterializationEngine 5.26) accept and ignore that key (shared/cave/API.md §11.5), so the
//!   client also removes the excluded rows itself ([`QueryInfo::dropped_by_not_in`]).
//! - Results past the server's row cap (200,000 rows) are fetched page by page (`offset`) and
//!   joined, where caveclient only logs a warning; [`Paging::FirstPage`] keeps one page and
//!   says so ([`QueryInfo::truncated`]).

pub mod blocking;
mod buffer_pool;
pub mod client;
pub mod decode;
pub mod error;
mod filter;
mod http;
pub mod ids;
pub mod info;
pub mod ipc;
pub mod limits;
mod memory;
mod not_in;
pub mod position;
pub mod pyjson;
pub mod query;
pub mod response;
pub mod result;
pub mod stream;
pub mod table;
pub mod untyped;
mod zstd_frame;

pub use cave_schema;
pub use chrono;
pub use client::{Client, ClientBuilder, DEFAULT_SERVER, Paging};
pub use error::{DecodeError, DecodeProblem, Error};
pub use http::RetryPolicy;
pub use ids::{AnnotationId, RootId, SupervoxelId};
pub use info::{AlignedVolume, DatastackInfo, TableMetadata, VersionInfo};
pub use limits::{Limits, Timeouts};
pub use position::{Position, Resolution};
pub use query::{Compare, FilterOperand, FilterValue, Query, Selection, Side};
pub use result::{Batches, QueryInfo, Rows};
pub use stream::{BatchStream, RowStream};
pub use table::{ColumnInfo, Row, Table};
pub use untyped::{ColumnRef, TableQuery, target};

#[cfg(feature = "macros")]
pub use cave_macros::datastack;

/// A point in time, UTC (the type of `created` columns and live-query timestamps).
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// What generated code refers to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::client::Client;
    pub use crate::decode::{
        Batch, BoolColumn, Float32Column, Int32Column, Int64Column, PositionColumn,
        TimestampColumn, Utf8Column,
    };
    pub use crate::error::{DecodeError, DecodeProblem, Error};
    pub use crate::filter::{column_names as names, raw};
    pub use crate::ids::{AnnotationId, RootId, SupervoxelId};
    pub use crate::position::Position;
    pub use crate::query::{Compare, FilterOperand, FilterValue, Query, Selection, Side};
    pub use crate::result::Rows;
    pub use crate::table::{ColumnInfo, Row, Table};
    pub use crate::{__filter_method as filter, __filter_type as filter_type};
    pub use cave_schema::{ColumnRole, WireType};

    /// The type of `created`.
    pub type Timestamp = crate::Timestamp;

    /// The error for a row type given the wrong number of wire names.
    pub fn names_error(table: &str, expected: usize, found: usize) -> DecodeError {
        DecodeError {
            table: table.to_string(),
            column: String::new(),
            row: None,
            problem: DecodeProblem::ColumnNames { expected, found },
        }
    }
}
