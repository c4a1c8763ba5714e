//! What generated code and users call to query CAVE: typed ids and positions, the query a
//! filter builder collects and the JSON body it sends, Arrow column readers that decode
//! responses into generated rows, and errors. The HTTP client arrives with issue 5.
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
//! Not-in filters are sent as `filter_notin_dict`, as caveclient does; current servers
//! (MaterializationEngine 5.26) accept but ignore that key (shared/cave/API.md §11.5).

pub mod client;
pub mod decode;
pub mod error;
pub mod ids;
pub mod position;
pub mod query;
pub mod table;

pub use cave_schema;
pub use chrono;
pub use client::Client;
pub use error::{DecodeError, DecodeProblem, Error};
pub use ids::{AnnotationId, RootId, SupervoxelId};
pub use position::{Position, Resolution};
pub use query::{Compare, FilterOperand, FilterValue, Query, Selection, Side};
pub use table::{ColumnInfo, Row, Table};

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
    pub use crate::ids::{AnnotationId, RootId, SupervoxelId};
    pub use crate::position::Position;
    pub use crate::query::{Compare, FilterOperand, FilterValue, Query, Selection, Side};
    pub use crate::table::{ColumnInfo, Row, Table};
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
