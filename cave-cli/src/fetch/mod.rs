//! Refresh a snapshot from a CAVE server: `cave fetch` and `check`.
//!
//! ```text
//! info ─┐  versions + tables per version ─┐  table metadata ─┐  unique values ─┐  types_all
//!       └──── download (cave_runtime's blocking client: token, retries, limits) ────┘
//!                                   │ ServerData (memory)
//!            existing snapshot ──merge──▶ Snapshot ──validate──▶ write (fetch) / diff (check)
//! ```
//!
//! | module | what it does |
//! |---|---|
//! | `config` | what to fetch, and the runtime client for it ([`FetchConfig::client`]) |
//! | `server_data` | the server's records (`cave_wire`) as read ([`ServerData`]), and the checks a snapshot needs beyond their shape |
//! | `download` | the requests of a fetch, in order, with [`Progress`] |
//! | `merge` | the merge rules (docs/SNAPSHOT.md, "Refreshing") |
//! | `diff` | what differs between two snapshots, one line per change |
//! | `refresh` | [`fetch_snapshot`] and [`check_snapshot`] end to end |
//!
//! ```no_run
//! use cave_cli::fetch::{FetchConfig, Progress, check_snapshot, find_token};
//! let mut config = FetchConfig::new("https://global.daf-apis.com", "minnie65_public");
//! config.token = find_token(None, std::env::var("CAVE_TOKEN").ok().as_deref(), None, &config.server)?;
//! let outcome = check_snapshot(&config, "schemas/minnie65_public".as_ref(), &mut Progress::stderr())?;
//! print!("{}", outcome.changes);
//! # Ok::<(), cave_cli::fetch::FetchError>(())
//! ```

mod config;
mod diff;
mod download;
mod error;
mod merge;
mod progress;
mod refresh;
mod server_data;

pub use cave_runtime::{FoundToken, TOKEN_ENV, Token, TokenSource, find_token};
pub use config::FetchConfig;
pub use diff::{DiffSection, SnapshotDiff, diff};
pub use download::download;
pub use error::FetchError;
pub use merge::{DEFAULT_TYPES_DIR, Merged, merge};
pub use progress::Progress;
pub use refresh::{
    CheckOutcome, FetchOutcome, check_snapshot, data_differs, fetch_snapshot, fetched_summary,
};
pub use server_data::{MAX_SCHEMA_TYPES, ServerData, ServerVersion};
