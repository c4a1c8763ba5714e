//! `cave-ballista`: a Ballista scheduler or executor that knows CAVE's export tables.
//!
//! ```text
//! cave-ballista scheduler --bind 0.0.0.0:50050
//! cave-ballista executor --scheduler 10.0.0.1:50050 --host 10.0.0.2 --flight-port 50051 --grpc-port 50052
//! cave-ballista sql --scheduler df://10.0.0.1:50050 --exports /data/exports --version 1507 \
//!     "SELECT pre_pt_root_id, COUNT(*) FROM export.synapses_pni_2 GROUP BY 1"
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A Ballista scheduler or executor that knows CAVE's export tables (cave-distributed).
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Run the scheduler; prints `listening on ADDR` when it is.
    Scheduler {
        /// Where it listens (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: SocketAddr,
    },
    /// Run SQL on the cluster over a folder of CAVE's exports (`export.<table>`, as
    /// `cave-sql --exports`), printing the result as a table.
    Sql {
        /// The query.
        sql: String,
        /// The scheduler, df://host:port.
        #[arg(long, default_value = "df://127.0.0.1:50050")]
        scheduler: String,
        /// The folder of exports (`<DIR>/<datastack>/v<version>/<table>/<spec>`), by the same
        /// path on every executor.
        #[arg(long, value_name = "DIR")]
        exports: std::path::PathBuf,
        /// The datastack.
        #[arg(long, default_value = "minnie65_public")]
        datastack: String,
        /// The materialization version exported.
        #[arg(long)]
        version: u32,
        /// The datastack's snapshot folder, for joining reference tables with their target
        /// (default: `schemas/<datastack>`, if it exists).
        #[arg(long, value_name = "DIR")]
        snapshot: Option<std::path::PathBuf>,
        /// The most rows printed (the rest are counted).
        #[arg(long, default_value_t = 50)]
        max_rows: usize,
    },
    /// Run an executor.
    Executor {
        /// Print Ballista's messages (tasks received and done) on stderr.
        #[arg(long)]
        verbose: bool,
        /// The scheduler, host:port.
        #[arg(long)]
        scheduler: SocketAddr,
        /// The address it binds and the scheduler reaches it at.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Its Arrow Flight port.
        #[arg(long, default_value_t = 50051)]
        flight_port: u16,
        /// Its gRPC port.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Tasks run at once [default: the cores].
        #[arg(long)]
        vcores: Option<usize>,
        /// Where shuffle files go [default: a temporary folder].
        #[arg(long)]
        work_dir: Option<String>,
    },
}

/// `cave-ballista sql`.
async fn run_sql(
    sql: &str,
    scheduler: &str,
    exports: &std::path::Path,
    datastack: &str,
    version: u32,
    snapshot: Option<std::path::PathBuf>,
    max_rows: usize,
) -> Result<(), String> {
    let folder = snapshot.unwrap_or_else(|| std::path::Path::new("schemas").join(datastack));
    let snapshot = if folder.is_dir() {
        Some(
            cave_sql::cave_schema::Snapshot::load(&folder)
                .map_err(|e| format!("the snapshot {}: {e}", folder.display()))?,
        )
    } else {
        None
    };
    let ctx = cave_distributed::connect(scheduler).await?;
    cave_distributed::register_export_root(&ctx, exports, datastack, version, snapshot.as_ref())
        .await
        .map_err(|e| e.to_string())?;
    let batches = ctx
        .sql(sql)
        .await
        .map_err(|e| e.to_string())?
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    print!(
        "{}",
        cave_sql::table_text(&batches, max_rows).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// Ballista's messages at info and above, one a line on stderr.
struct Stderr;

static STDERR: Stderr = Stderr;

impl log::Log for Stderr {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Info && m.target().starts_with("ballista")
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!("{} {}: {}", r.level(), r.target(), r.args());
        }
    }
    fn flush(&self) {}
}

fn main() -> ExitCode {
    let args = Args::parse();
    // DataFusion's planner and the plan codecs recurse deeply: threads of 16 MiB.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let done = runtime.block_on(async {
        match args.role {
            Role::Scheduler { bind } => {
                let listener = tokio::net::TcpListener::bind(bind)
                    .await
                    .map_err(|e| format!("binding {bind}: {e}"))?;
                let addr = listener.local_addr().map_err(|e| e.to_string())?;
                println!("listening on {addr}");
                cave_distributed::run_scheduler(listener).await
            }
            Role::Sql {
                sql,
                scheduler,
                exports,
                datastack,
                version,
                snapshot,
                max_rows,
            } => {
                run_sql(
                    &sql, &scheduler, &exports, &datastack, version, snapshot, max_rows,
                )
                .await
            }
            Role::Executor {
                verbose,
                scheduler,
                host,
                flight_port,
                grpc_port,
                vcores,
                work_dir,
            } => {
                if verbose {
                    log::set_logger(&STDERR).map_err(|e| e.to_string())?;
                    log::set_max_level(log::LevelFilter::Info);
                }
                let vcores = vcores
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
                cave_distributed::run_executor(cave_distributed::ExecutorOptions {
                    scheduler,
                    host,
                    flight_port,
                    grpc_port,
                    vcores,
                    work_dir,
                })
                .await
            }
        }
    });
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
