//! What the request handlers share: the snapshot, the sample data and the server's settings.

use std::sync::{Arc, Mutex};

use cave_schema::Snapshot;

use crate::faults::Faults;
pub use crate::row_order::RowOrder;
use crate::store::Dataset;

/// What handlers share.
pub struct AppState {
    /// The committed snapshot the metadata comes from.
    pub snapshot: Snapshot,
    /// The sample tables.
    pub data: Dataset,
    /// The base URL clients reach this server at (`http://127.0.0.1:PORT`).
    pub base_url: String,
    /// The `local_server` of the info record.
    pub local_server: String,
    /// The query row cap.
    pub row_limit: usize,
    /// The order rows are answered in.
    pub row_order: RowOrder,
    /// Queries answered so far (each random order is drawn from the seed and this number).
    pub queries: std::sync::atomic::AtomicU64,
    /// Accept only this token.
    pub token: Option<String>,
    /// Pending faults.
    pub faults: Arc<Faults>,
    /// The chunkedgraph over the sample's edit history.
    pub chunkedgraph: crate::chunkedgraph::Service,
    /// Answers of repeated queries (`--answer-cache-mib`), if on.
    pub answer_cache: Option<crate::answer_cache::AnswerCache>,
    /// Where requests are logged (`--log-requests`).
    pub(crate) log: Option<Mutex<std::fs::File>>,
}
