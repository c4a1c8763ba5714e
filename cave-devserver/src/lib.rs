//! A local CAVE-compatible server over deterministic `minnie65_public` sample data: the info
//! service, the schema service and the materialization service on one base URL, speaking the
//! wire format of docs/WIRE.md (status codes, error bodies, Arrow IPC responses, headers), for tests,
//! benchmarks, examples and the README's main command.
//!
//! In-process, on an ephemeral loopback port:
//!
//! ```no_run
//! # async fn demo() -> Result<(), cave_devserver::StartError> {
//! let server = cave_devserver::RunningServer::start(
//!     cave_devserver::ServerConfig::new("schemas/minnie65_public"),
//! )
//! .await?;
//! println!("CAVE at {}", server.base_url);
//! server.stop().await;
//! # Ok(()) }
//! ```
//!
//! Or as a binary: `cargo run --release -p cave-devserver -- --addr 127.0.0.1:8080`.

pub mod answer_cache;
pub mod chunkedgraph;
pub mod conformance;
pub mod error;
pub mod faults;
pub mod query;
pub mod query_string;
pub mod routes;
pub mod row_order;
pub mod sample;
pub mod server;
pub mod state;
pub mod store;

pub use faults::{FaultSpec, Faults};
pub use row_order::RowOrder;
pub use sample::SampleConfig;
pub use server::{BackgroundServer, LOGGED_BODY_BYTES, RunningServer, ServerConfig, StartError};
