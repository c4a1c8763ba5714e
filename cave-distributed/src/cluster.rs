//! The cluster's processes and the client: a Ballista scheduler and executors that know export
//! tables and `cave_wkb_axis`, and a session that sends its queries to them.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use ballista_core::extension::SessionConfigExt;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use cave_sql::datafusion;
use cave_sql::delta::wkb;
use datafusion::execution::{FunctionRegistry, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use tokio::net::TcpListener;

use crate::codec::{LogicalCodec, PhysicalCodec};

/// An error of a cluster process, as text (Ballista's and DataFusion's errors, with where).
pub type ClusterError = String;

/// Run a scheduler on `listener` until the process ends (clients connect to
/// `df://<its address>`, executors to its address).
pub async fn run_scheduler(listener: TcpListener) -> Result<(), ClusterError> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let config = SchedulerConfig {
        bind_host: addr.ip().to_string(),
        external_host: addr.ip().to_string(),
        bind_port: addr.port(),
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        override_session_builder: Some(Arc::new(|config: SessionConfig| {
            let mut state = ballista_core::utils::default_session_builder(config)?;
            state.register_udf(Arc::new(wkb::udf()))?;
            Ok(state)
        })),
        ..SchedulerConfig::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| format!("the scheduler's state: {e}"))?;
    let scheduler =
        create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config))
            .await
            .map_err(|e| format!("starting the scheduler: {e}"))?;
    start_grpc_service_with_listener(listener, scheduler)
        .await
        .map_err(|e| format!("the scheduler on {addr}: {e}"))
}

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler, `host:port`.
    pub scheduler: SocketAddr,
    /// The address it binds and tells the scheduler (`127.0.0.1` on one machine).
    pub host: String,
    /// Its Arrow Flight port (shuffle data).
    pub flight_port: u16,
    /// Its gRPC port.
    pub grpc_port: u16,
    /// Tasks it runs at once.
    pub vcores: usize,
    /// Where it keeps shuffle files.
    pub work_dir: Option<String>,
}

/// Run an executor until the scheduler stops it or the process ends.
pub async fn run_executor(options: ExecutorOptions) -> Result<(), ClusterError> {
    let config = ExecutorProcessConfig {
        bind_host: options.host.clone(),
        external_host: Some(options.host.clone()),
        port: options.flight_port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler.ip().to_string(),
        scheduler_port: options.scheduler.port(),
        scheduler_connect_timeout_seconds: 10,
        vcores: options.vcores,
        work_dir: options.work_dir.clone(),
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config)).await.map_err(|e| {
        format!(
            "the executor on {}:{}: {e}",
            options.host, options.flight_port
        )
    })
}

/// A session whose queries run on the cluster of the scheduler at `scheduler`
/// (`df://host:port`), with `cave_wkb_axis` and the codecs of export tables.
pub async fn connect(scheduler: &str) -> Result<SessionContext, ClusterError> {
    connect_with(scheduler, SessionConfig::new()).await
}

/// [`connect`] with DataFusion settings of the caller's (a default schema, partitions).
pub async fn connect_with(
    scheduler: &str,
    config: SessionConfig,
) -> Result<SessionContext, ClusterError> {
    let config = config
        .upgrade_for_ballista()
        .with_ballista_logical_extension_codec(Arc::new(LogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(PhysicalCodec::default()));
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    state
        .register_udf(Arc::new(wkb::udf()))
        .map_err(|e| e.to_string())?;
    SessionContext::remote_with_state(scheduler, state)
        .await
        .map_err(|e| format!("connecting to the scheduler {scheduler}: {e}"))
}
