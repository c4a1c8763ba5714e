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
//! Views (stored queries the server keeps, such as minnie65's `aibs_cell_info`) get the same
//! treatment: `datastack!` generates a row struct and a filter for each view of the snapshot,
//! whose `query` runs `POST .../views/{view}/query`; [`ViewQuery`] queries any view by name;
//! [`Client::views`], [`Client::view_metadata`], [`Client::view_schema`] and
//! [`Client::view_schemas`] read their metadata.
//!
//! Where caveclient and the server disagree, the client does the correct thing:
//! - Not-in filters are sent as `filter_notin_dict`, as caveclient does, but current servers
//!   (MaterializationEngine 5.26) accept and ignore that key (docs/WIRE.md, "Not-in filters"), so the
//!   client also removes the excluded rows itself ([`QueryInfo::dropped_by_not_in`]).
//! - Results past the server's row cap (200,000 rows) are fetched page by page (`offset`) and
//!   joined, where caveclient only logs a warning; [`Paging::FirstPage`] keeps one page and
//!   says so ([`QueryInfo::truncated`]).

mod autapses;
pub mod blocking;
mod chunkedgraph;
mod client;
mod decode;
mod error;
mod filter;
mod http;
mod ids;
mod ipc;
mod limits;
mod memory;
mod not_in;
mod pager;
mod position;
mod pyjson;
mod query;
mod response;
mod result;
mod stream;
mod synapse;
mod table;
mod token;
mod untyped;

pub use cave_schema;
pub use cave_wire;
pub use cave_wire::{
    AlignedVolume, DatastackInfo, TableMetadata, VersionInfo, ViewColumn, ViewColumnType,
    ViewMetadata, ViewSchema,
};
pub use chrono;

/// The Arrow crates of the record batches this runtime returns ([`Batches`], [`BatchStream`]).
/// Name Arrow types through this module: an `arrow-array` of another major version in your
/// `Cargo.toml` compiles, but its `downcast_ref` then finds nothing at run time.
pub mod arrow {
    pub use arrow_array as array;
    pub use arrow_array::RecordBatch;
    pub use arrow_schema as schema;
}
pub use cave_wire::chunkedgraph::ChangeLog;
pub use chunkedgraph::{
    ChunkedGraph, DeltaRoots, IDS_PER_CHUNKEDGRAPH_REQUEST, LineageEdge, LineageGraph, LineageNode,
    PastIds, RootUpdate, SuggestedRoot,
};
pub use client::{Client, ClientBuilder, DEFAULT_SERVER, MIN_SERVER_VERSION};
pub use error::{DecodeError, DecodeProblem, Error};
pub use http::RetryPolicy;
pub use ids::{AnnotationId, NodeId, RootId, SupervoxelId};
pub use limits::{Limits, Timeouts};
pub use pager::{DEFAULT_PAGES_IN_FLIGHT, Paging};
pub use position::{Position, Resolution};
pub use query::{Compare, FilterOperand, FilterValue, Query, Selection, Side};
pub use response::{BodyBatches, read_rows, read_stream, rows_from_batches};
pub use result::{Batches, QueryInfo, Rows};
pub use stream::{BatchStream, RowStream};
pub use synapse::{POST_POSITION, POST_ROOT, PRE_ROOT, SynapseQuery, SynapseTable};
pub use table::{BoundRoots, ColumnInfo, RootSlot, Row, Table};
pub use token::{FoundToken, TOKEN_ENV, Token, TokenFileError, TokenSource, find_token};
pub use untyped::{ColumnRef, TableQuery, ViewQuery, target};

#[cfg(feature = "macros")]
pub use cave_macros::datastack;

/// A point in time, UTC (the type of `created` columns and live-query timestamps).
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// What the benchmarks, examples and tests of this crate measure and compare with. Not an API:
/// it changes with the reader.
#[doc(hidden)]
pub mod bench {
    /// Rows per chunk of a query's answer.
    pub const DEFAULT_CHUNK_ROWS: usize = crate::ipc::DEFAULT_CHUNK_ROWS;

    /// Record batches whose buffers hold at least this many (compressed) bytes are decoded
    /// on all cores.
    pub const PARALLEL_MIN_BYTES: usize = crate::ipc::PARALLEL_MIN_BYTES;

    /// Decompress every buffer of every record batch of an Arrow IPC stream, serially, in one
    /// call each: the time ZSTD or LZ4 alone need. Returns the rows of the batches and the
    /// bytes produced.
    pub fn decompress_only(bytes: &[u8]) -> Result<(usize, usize), String> {
        crate::ipc::decompress_only(bytes).map_err(|e| e.to_string())
    }

    /// JSON text as Python's `json.dumps` writes it (what caveclient sends), for the wire
    /// tests that compare request bodies byte for byte.
    pub fn python_json(value: &serde_json::Value) -> String {
        crate::pyjson::to_string(value)
    }
}

/// What generated code refers to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::__bound_roots as bound_roots;
    pub use crate::client::Client;
    pub use crate::decode::{
        Batch, BoolColumn, Float32Column, Float64Column, Int32Column, Int64Column, PositionColumn,
        TimestampColumn, Utf8Column,
    };
    pub use crate::error::{DecodeError, DecodeProblem, Error};
    pub use crate::filter::{column_names as names, raw};
    pub use crate::ids::{AnnotationId, RootId, SupervoxelId};
    pub use crate::position::Position;
    pub use crate::query::{Compare, FilterOperand, FilterValue, Query, Selection, Side};
    pub use crate::result::Rows;
    pub use crate::synapse::{SynapseQuery, SynapseTable};
    pub use crate::table::{BoundRoots, ColumnInfo, MaybeId, RootSlot, Row, Table};
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
