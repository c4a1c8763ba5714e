//! `cave-devserver`: run the local CAVE server until stopped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use cave_devserver::{FaultSpec, RunningServer, SampleConfig, ServerConfig};
use clap::Parser;

/// A local CAVE-compatible server (info, schema and materialization services) over
/// deterministic minnie65_public sample data.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// The datastack snapshot folder.
    #[arg(long)]
    datastack_dir: Option<PathBuf>,
    /// Seed of the sample data.
    #[arg(long, default_value_t = SampleConfig::default().seed)]
    seed: u64,
    /// Rows of synapses_pni_2 per version (tens of millions for benchmarks).
    #[arg(long, default_value_t = SampleConfig::default().synapses)]
    synapses: usize,
    /// Versions that get sample data, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = SampleConfig::default().versions)]
    versions: Vec<u32>,
    /// Inject a fault, e.g. `status=503,count=2,path=/materialize` (repeatable; the first
    /// matching fault that fires wins). Keys: status, retry_after, latency_ms, truncate,
    /// content_type, count (N or all), rate (fire on this fraction of matching requests, 0 to
    /// 1), seed (of the rate's draws: the same seed, the same faults), path, method. A
    /// reproducible mix: `--fault status=503,rate=0.05,seed=1 --fault
    /// truncate=100,rate=0.05,seed=2 --fault latency_ms=30,rate=0.2,seed=3`.
    #[arg(long = "fault", value_parser = FaultSpec::parse)]
    faults: Vec<FaultSpec>,
    /// Append one JSON line per request (method, path, query, headers without the token, body;
    /// a body that is not UTF-8 also as `body_hex`; a body over 1 MiB only by its length and
    /// FNV-1a digest, `body_fnv1a64`).
    #[arg(long)]
    log_requests: Option<PathBuf>,
    /// Accept only this token (default: any token, but one must be sent).
    #[arg(long)]
    token: Option<String>,
    /// The query row cap (the engine default is 200000; minnie's deployment uses 500000).
    #[arg(long, default_value_t = cave_devserver::server::DEFAULT_ROW_LIMIT)]
    row_limit: usize,
    /// The order query rows come back in: `stored` (the same every time), or `random` /
    /// `random:SEED` (a new order for every query, as PostgreSQL without ORDER BY may answer).
    #[arg(long, default_value = "stored")]
    row_order: cave_devserver::row_order::RowOrder,
    /// The `local_server` the info record advertises (default: this server's URL).
    #[arg(long)]
    advertise_local_server: Option<String>,
    /// Keep the answers of repeated queries (the same route, query string, Accept-Encoding and
    /// body), up to this many MiB of bodies, and send them again as they are: for benchmarks
    /// of a client, so that the server's compression is not timed. Never with `--row-order
    /// random` or `random_sample`. Off by default.
    #[arg(long, default_value_t = 0)]
    answer_cache_mib: usize,
}

/// The snapshot folder: `--datastack-dir`, else `schemas/minnie65_public` under the current
/// directory or one of its parents, else the one of this source tree.
fn default_snapshot_dir() -> PathBuf {
    let rel = PathBuf::from("schemas/minnie65_public");
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join(&rel).join("snapshot.json").is_file() {
                return dir.join(&rel);
            }
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = ServerConfig::new(args.datastack_dir.unwrap_or_else(default_snapshot_dir));
    config.addr = args.addr;
    config.sample.seed = args.seed;
    config.sample.synapses = args.synapses;
    config.sample.versions = args.versions;
    config.faults = args.faults;
    config.log_requests = args.log_requests;
    config.token = args.token;
    config.row_limit = args.row_limit;
    config.row_order = args.row_order;
    config.advertise_local_server = args.advertise_local_server;
    config.answer_cache_bytes = args.answer_cache_mib.saturating_mul(1 << 20);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cave-devserver: cannot start a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let server = match RunningServer::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cave-devserver: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("{}", server.base_url);
        use std::io::Write;
        let _ = std::io::stdout().flush();
        // The server runs on its own task; serve until Ctrl-C.
        let _ = tokio::signal::ctrl_c().await;
        server.stop().await;
        ExitCode::SUCCESS
    })
}
