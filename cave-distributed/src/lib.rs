//! The SQL of [`cave_sql`] over CAVE's Delta Lake exports on a
//! [Ballista](https://datafusion.apache.org/ballista/) cluster: distributed DataFusion, one
//! scheduler and any number of executors.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! let ctx = cave_distributed::connect("df://127.0.0.1:50050").await?;
//! let synapses = cave_distributed::open_exports(
//!     &ctx, "synapses_pni_2", "/data/exports", "minnie65_public", 1507, "synapses_pni_2",
//! ).await?;
//! ctx.register_table("synapses_pni_2", Arc::new(synapses))?;
//! let out_degree = ctx
//!     .sql("SELECT pre_pt_root_id, COUNT(*) FROM synapses_pni_2 GROUP BY pre_pt_root_id")
//!     .await?
//!     .collect()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! **Why Ballista.** It is DataFusion's own distributed engine (Apache DataFusion project,
//! release 55 on DataFusion 55, the version `cave-sql` is built on), with a scheduler and
//! executors as separate processes, shuffles between stages, and codecs through which a
//! project's own tables and functions travel. datafusion-distributed (also on DataFusion 55)
//! distributes plans from the client's process with no scheduler of its own.
//!
//! **The pieces.** [`run_scheduler`] and [`run_executor`] are the processes (the `cave-ballista`
//! program runs them); [`connect`] is the client. The scheduler plans each query and its
//! executors run the stages: an export table reaches them as its folders' URLs and picks, per
//! query, the export whose files the filters skip, as in one process. Every process needs this
//! crate's codecs, so a cluster runs `cave-ballista`, not Ballista's stock binaries.
//!
//! **Files.** Every executor reads the exports' Parquet files by the same path: on one machine,
//! a folder; on a cluster, a shared file system mounted at the same place on every node.

#![warn(missing_docs)]

mod cluster;
pub mod codec;
mod listing;

pub use cluster::{
    ClusterError, ExecutorOptions, connect, connect_with, run_executor, run_scheduler,
};
pub use listing::{open_exports, register_export_root};
