//! `cave-ballista`: a Ballista scheduler or executor that knows CAVE's export tables.
//!
//! ```text
//! cave-ballista scheduler --bind 0.0.0.0:50050
//! cave-ballista executor --scheduler 10.0.0.1:50050 --host 10.0.0.2 --flight-port 50051 --grpc-port 50052
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
