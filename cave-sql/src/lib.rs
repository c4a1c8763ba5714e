//! SQL over CAVE tables with [DataFusion](https://datafusion.apache.org): every table and view
//! of a datastack snapshot as a DataFusion table over the materialization service.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let snapshot = cave_runtime::cave_schema::Snapshot::load("schemas/minnie65_public")?;
//! let client = cave_runtime::Client::builder("minnie65_public").build()?;
//! let ctx = cave_sql::session(&client, &snapshot, cave_sql::Source::Version(1300))?;
//! let counts = ctx
//!     .sql("SELECT status_axon, COUNT(*) AS n FROM proofreading_status_and_strategy GROUP BY status_axon")
//!     .await?
//!     .collect()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! **What is registered.** Each table whose schema type the snapshot knows, with the
//! snapshot's columns (positions as `<point>_x`, `_y`, `_z`, int32, in the table's voxels). A
//! reference table is registered joined with its target, as caveclient's `query_table` and the
//! typed queries give it (a name both tables have gets `_ref` on the target's side), and alone
//! as `bare.<table>`. Each view whose columns the snapshot knows.
//!
//! **What is sent to the service** (the rest DataFusion does itself on the rows that come):
//! - the columns a query uses, as `select_columns`;
//! - `=` and `IN` on integer, boolean and string columns, and `<`, `<=`, `>`, `>=` on integer
//!   columns, as the service's filters, exactly;
//! - `NOT IN` and `<>`, and ranges on a point's `_x`/`_y`/`_z` (as a bounding box one voxel
//!   wider), as filters that may let more rows through, which DataFusion filters again;
//! - `LIMIT`, when every filter was sent exactly.
//!
//! Floats, string ranges, timestamps, `OR` and functions are never sent: the service compares
//! values the answer does not hold exactly (a float32 of a stored double) or orders strings by
//! another collation, so sending them could lose rows.
//!
//! **Scans** run through the runtime's pager: past the row cap a query is split by ranges of
//! `id` with several requests in flight, and its rows are exact whatever order the server uses.
//! The batches go to the session's partitions (`target_partitions`) as they arrive.

#![warn(missing_docs)]

mod columns;
pub mod delta;
mod error;
mod provider;
mod pushdown;
mod scan;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::prelude::SessionContext;

pub use cave_schema;
pub use columns::{Side, SqlColumn, TableColumns};
pub use datafusion;
pub use deltalake;
pub use error::SqlError;
pub use provider::ServiceTable;

/// A query's result as the command lines print it: a table of at most `max_rows` rows, then
/// the number of rows (and how to see them all when some are not shown).
pub fn table_text(
    batches: &[arrow_array::RecordBatch],
    max_rows: usize,
) -> Result<String, arrow_schema::ArrowError> {
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut shown = Vec::new();
    let mut left = max_rows;
    for b in batches {
        if left == 0 {
            break;
        }
        let n = b.num_rows().min(left);
        shown.push(b.slice(0, n));
        left -= n;
    }
    let mut text = datafusion::arrow::util::pretty::pretty_format_batches(&shown)?.to_string();
    text.push('\n');
    if total > max_rows {
        text.push_str(&format!(
            "{total} rows, the first {max_rows} shown (--max-rows, or --out FILE for all)\n"
        ));
    } else {
        text.push_str(&format!("{total} rows\n"));
    }
    Ok(text)
}

/// The DataFusion schema holding reference tables alone (`bare.<table>`).
pub const BARE_SCHEMA: &str = "bare";

/// Which state of the datastack a session's tables show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A materialization version.
    Version(u32),
    /// A time: a live query of the tables (views are not live).
    Timestamp(DateTime<Utc>),
    /// The client's own version or timestamp, else the latest version.
    Latest,
}

/// What [`register`] registered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registered {
    /// Tables, by name (reference tables joined).
    pub tables: Vec<String>,
    /// Reference tables also registered alone, in [`BARE_SCHEMA`].
    pub bare: Vec<String>,
    /// Views.
    pub views: Vec<String>,
    /// Tables and views left out, with why (no schema type, no view columns, a target the
    /// snapshot does not have).
    pub skipped: Vec<(String, String)>,
}

/// A DataFusion session with every table and view of `snapshot` ([`register`]).
pub fn session(
    client: &cave_runtime::Client,
    snapshot: &cave_schema::Snapshot,
    source: Source,
) -> Result<SessionContext, SqlError> {
    let ctx = SessionContext::new();
    register(&ctx, client, snapshot, source)?;
    Ok(ctx)
}

/// Register every table and view of `snapshot` in `ctx`, on `client`'s datastack at `source`.
pub fn register(
    ctx: &SessionContext,
    client: &cave_runtime::Client,
    snapshot: &cave_schema::Snapshot,
    source: Source,
) -> Result<Registered, SqlError> {
    let mut done = Registered::default();
    let catalog = ctx
        .catalog(&ctx.copied_config().options().catalog.default_catalog)
        .ok_or_else(|| SqlError::NotInSnapshot("the default catalog".into()))?;
    let bare = Arc::new(MemorySchemaProvider::new());
    catalog.register_schema(BARE_SCHEMA, bare.clone())?;
    let provider =
        |columns: TableColumns| Arc::new(ServiceTable::new(client.clone(), columns, source));
    for (name, meta) in &snapshot.tables {
        let table = match &meta.reference_table {
            Some(target) if !target.is_empty() => {
                if snapshot.table(target).is_none() {
                    let e = SqlError::MissingTarget {
                        table: name.clone(),
                        target: target.clone(),
                    };
                    done.skipped.push((name.clone(), e.to_string()));
                    continue;
                }
                match TableColumns::bare(snapshot, name) {
                    Ok(alone) => {
                        bare.register_table(name.clone(), provider(alone))?;
                        done.bare.push(name.clone());
                    }
                    Err(e) => {
                        done.skipped.push((name.clone(), e.to_string()));
                        continue;
                    }
                }
                TableColumns::merged(snapshot, name, target)
            }
            _ => TableColumns::bare(snapshot, name),
        };
        match table {
            Ok(columns) => {
                ctx.register_table(name.as_str(), provider(columns))?;
                done.tables.push(name.clone());
            }
            Err(e) => done.skipped.push((name.clone(), e.to_string())),
        }
    }
    for name in snapshot.views.keys() {
        match TableColumns::view(snapshot, name) {
            Ok(columns) => {
                ctx.register_table(name.as_str(), provider(columns))?;
                done.views.push(name.clone());
            }
            Err(e) => done.skipped.push((name.clone(), e.to_string())),
        }
    }
    Ok(done)
}
