//! Load benchmark of the client: M queries with N in flight from one `Client` against an
//! in-process devserver, for several N, with latency percentiles, peak memory and the TCP
//! connections the server accepted (a client that reuses its connections opens about N).
//!
//! ```sh
//! cargo run --release --example load                                   # N = 1, 4, 16, 64
//! cargo run --release --example load -- --concurrency 8 --queries 5000 --rows 2000
//! ```
//!
//! The mix, as a connectomics analysis runs it: 50 % single-neuron synapse queries
//! (`synapses_pni_2` filtered by `post_pt_root_id`: the inputs of one of the 500 neurons with
//! the most inputs; the sample's neurons have tens of them), 30 % synapses in a box of about
//! `--rows` rows (`ctr_pt_position_bbox`), 10 % proofreading-table queries
//! (`proofreading_status_and_strategy` by axon strategy) and 10 % cell types of 200 root ids
//! (`aibs_metamodel_celltypes_v661`, which the server joins with `nucleus_detection_v0`).
//!
//! Server and client share this process and its cores (the server on a runtime of its own), so
//! latencies and throughput are those of the pair; the CPU columns split the time between the
//! client's threads and the server's (the devserver answers each query with a scan of its
//! table, which dominates), and peak RSS includes the server's sample data. Each run has a
//! fresh client, so its connection count starts from zero.

#[path = "support/memory.rs"]
mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arrow_array::{Array, Int32Array, Int64Array};
use cave_devserver::{BackgroundServer, ServerConfig};
use cave_runtime::{Client, RootId};

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = [
            "synapses_pni_2",
            "proofreading_status_and_strategy",
            "aibs_metamodel_celltypes_v661"
        ]
    );
}

use minnie::{
    AibsMetamodelCelltypesV661, ProofreadingStatusAndStrategy, ProofreadingStrategy, SynapsesPni2,
};

const USAGE: &str = "\
Load benchmark of cave_runtime::Client against an in-process cave-devserver.

Usage: cargo run --release --example load -- [OPTIONS]

Options:
  --concurrency N[,N..]  queries in flight at once; one run per value (default: 1,4,16,64)
  --queries M            queries per run (default: 2000)
  --rows R               rows of a box query, about (default: 3000)
  --synapses S           rows of the sample's synapses_pni_2 (default: 300000)
  -h, --help             this text
";

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    concurrency: Vec<usize>,
    queries: usize,
    rows: usize,
    synapses: usize,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        concurrency: vec![1, 4, 16, 64],
        queries: 2000,
        rows: 3000,
        synapses: 300_000,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let number = |v: String| -> Result<usize, String> {
            v.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{flag}: `{v}` is not a positive whole number"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--concurrency" => {
                parsed.concurrency = value()?
                    .split(',')
                    .map(|v| number(v.to_string()))
                    .collect::<Result<_, _>>()?
            }
            "--queries" => parsed.queries = number(value()?)?,
            "--rows" => parsed.rows = number(value()?)?,
            "--synapses" => parsed.synapses = number(value()?)?,
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    Ok(Some(parsed))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("Error: {message}");
            return ExitCode::FAILURE;
        }
    };
    // The server on its own runtime and threads, so that CPU time can be told apart.
    let snapshot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/minnie65_public");
    let mut config = ServerConfig::new(snapshot);
    config.sample.synapses = args.synapses;
    config.sample.versions = vec![1300];
    let started = Instant::now();
    let server = match BackgroundServer::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: starting the local server: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "cave-devserver at {} ({} synapses, row cap {}), started in {:.1} s; {} cores",
        server.base_url,
        args.synapses,
        cave_devserver::server::DEFAULT_ROW_LIMIT,
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: starting the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(&server, args));
    drop(runtime);
    drop(server);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One query of the mix, as data.
#[derive(Debug, Clone)]
enum Work {
    /// The input synapses of one neuron.
    Neuron(RootId),
    /// The synapses in a box (voxels, bounds included).
    Box([i32; 3], [i32; 3]),
    /// Proofreading rows of one axon strategy.
    Proofreading(ProofreadingStrategy),
    /// Cell types of root ids (a join).
    CellTypes(Vec<RootId>),
}

impl Work {
    /// Run it; the rows it returned.
    async fn run(&self, client: &Client) -> Result<usize, cave_runtime::Error> {
        Ok(match self {
            Work::Neuron(root) => SynapsesPni2::filter()
                .post_pt_root_id(*root)
                .query(client)
                .await?
                .len(),
            Work::Box(min, max) => SynapsesPni2::filter()
                .ctr_pt_position_bbox(*min, *max)
                .query(client)
                .await?
                .len(),
            Work::Proofreading(strategy) => ProofreadingStatusAndStrategy::filter()
                .strategy_axon(strategy.clone())
                .query(client)
                .await?
                .len(),
            Work::CellTypes(roots) => AibsMetamodelCelltypesV661::filter()
                .pt_root_id_in(roots.iter().copied())
                .query(client)
                .await?
                .len(),
        })
    }

    fn kind(&self) -> usize {
        match self {
            Work::Neuron(_) => 0,
            Work::Box(..) => 1,
            Work::Proofreading(_) => 2,
            Work::CellTypes(_) => 3,
        }
    }
}

/// Names of the kinds of work, by [`Work::kind`].
const KINDS: [&str; 4] = [
    "single-neuron inputs (post_pt_root_id = one neuron)",
    "synapses in a box (ctr_pt_position_bbox)",
    "proofreading_status_and_strategy by strategy_axon",
    "aibs_metamodel_celltypes_v661 of 200 root ids (joined)",
];

/// An int32 column of a batch.
fn int32<'a>(batch: &'a arrow_array::RecordBatch, name: &str) -> Result<&'a Int32Array, Error> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Int32Array>())
        .ok_or_else(|| format!("{name} is not an int32 column").into())
}

/// A box around `center` holding about `rows` of `points` (x, y, z voxels of 4 × 4 × 40 nm):
/// a cube in nm, its size found by bisection.
fn box_of(points: &[[i32; 3]], center: [i32; 3], rows: usize) -> ([i32; 3], [i32; 3]) {
    let corners = |half_nm: f64| {
        let half = [half_nm / 4.0, half_nm / 4.0, half_nm / 40.0].map(|h| h.max(1.0) as i32);
        (
            std::array::from_fn(|k| center[k].saturating_sub(half[k])),
            std::array::from_fn(|k| center[k].saturating_add(half[k])),
        )
    };
    let count = |(min, max): ([i32; 3], [i32; 3])| {
        points
            .iter()
            .filter(|p| (0..3).all(|k| p[k] >= min[k] && p[k] <= max[k]))
            .count()
    };
    let (mut lo, mut hi) = (40.0_f64, 2.0e6_f64);
    for _ in 0..30 {
        let mid = (lo * hi).sqrt();
        if count(corners(mid)) < rows {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    corners(hi)
}

/// The mix, `n` queries: half single-neuron input queries (the neurons with the most inputs),
/// 30 % boxes of about `rows` synapses, 10 % proofreading queries, 10 % cell-type joins.
async fn plan(client: &Client, n: usize, rows: usize) -> Result<Vec<Work>, Error> {
    use minnie::synapses_pni_2::Column;
    // Post-synaptic roots and central points of the whole table, from a selection.
    let batches = SynapsesPni2::filter()
        .select([Column::PostPtRootId, Column::CtrPtPosition])
        .query(client)
        .await?;
    let mut per_root: HashMap<i64, usize> = HashMap::new();
    let mut points: Vec<[i32; 3]> = Vec::new();
    for batch in batches.batches() {
        let roots = batch
            .column_by_name("post_pt_root_id")
            .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
            .ok_or("post_pt_root_id is not an int64 column")?;
        for i in 0..roots.len() {
            if roots.is_valid(i) {
                *per_root.entry(roots.value(i)).or_default() += 1;
            }
        }
        let xyz = [
            int32(batch, "ctr_pt_position_x")?,
            int32(batch, "ctr_pt_position_y")?,
            int32(batch, "ctr_pt_position_z")?,
        ];
        points.extend((0..batch.num_rows()).map(|i| xyz.map(|c| c.value(i))));
    }
    drop(batches);
    if points.len() < rows {
        return Err(format!(
            "the sample has {} synapses, fewer than --rows {rows}",
            points.len()
        )
        .into());
    }
    let mut roots: Vec<(usize, i64)> = per_root.into_iter().map(|(r, c)| (c, r)).collect();
    roots.sort_unstable_by(|a, b| b.cmp(a));
    let neurons: Vec<RootId> = roots.iter().take(500).map(|(_, r)| RootId(*r)).collect();
    // Boxes around synapses spread through the table.
    let boxes: Vec<([i32; 3], [i32; 3])> = (0..40)
        .map(|j| box_of(&points, points[j * points.len() / 40], rows))
        .collect();
    drop(points);
    let proofread: Vec<RootId> = ProofreadingStatusAndStrategy::filter()
        .query(client)
        .await?
        .iter()
        .filter_map(|r| r.pt_root_id)
        .collect();
    let strategies = [
        ProofreadingStrategy::AxonPartiallyExtended,
        ProofreadingStrategy::AxonFullyExtended,
        ProofreadingStrategy::AxonInterareal,
        ProofreadingStrategy::None,
    ];
    Ok((0..n)
        .map(|i| match i % 10 {
            0 | 2 | 4 | 6 | 8 => Work::Neuron(neurons[(i * 7) % neurons.len()]),
            1 | 5 | 9 => {
                let (min, max) = boxes[(i * 3) % boxes.len()];
                Work::Box(min, max)
            }
            3 => Work::Proofreading(strategies[(i / 10) % strategies.len()].clone()),
            _ => Work::CellTypes(
                proofread
                    .iter()
                    .cycle()
                    .skip((i / 10) * 53 % proofread.len().max(1))
                    .take(200)
                    .copied()
                    .collect(),
            ),
        })
        .collect())
}

/// The name of the client runtime's threads.
const CLIENT_THREAD: &str = "load-client";

/// CPU seconds of this process's threads so far: (client's, others': the server's), from
/// `/proc/self/task/*/stat` (Linux; zero elsewhere). The main thread, which runs the client's
/// `block_on`, counts as the client's.
fn cpu_seconds() -> (f64, f64) {
    let main = std::process::id().to_string();
    let (mut client, mut other) = (0.0, 0.0);
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0.0, 0.0);
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // `tid (comm) state ...`: utime and stime are the 12th and 13th fields after `)`.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks: f64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
            .unwrap_or(0.0);
        // /proc counts in USER_HZ, 100 on Linux.
        if comm.starts_with(CLIENT_THREAD) || task.file_name().to_str() == Some(main.as_str()) {
            client += ticks / 100.0;
        } else {
            other += ticks / 100.0;
        }
    }
    (client, other)
}

/// Reset the peak RSS to the current RSS (Linux 4.0+), so that each run reports its own peak.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

struct Run {
    concurrency: usize,
    queries: usize,
    rows: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// Per kind of work: latencies (sorted) and rows.
    by_kind: [(Vec<Duration>, usize); KINDS.len()],
    peak_mb: Option<f64>,
    connections: u64,
    client_cpu: f64,
    server_cpu: f64,
}

async fn measure(
    server: &BackgroundServer,
    work: Arc<Vec<Work>>,
    concurrency: usize,
) -> Result<Run, Error> {
    // A fresh client per run: its connection pool starts empty, and every connection the
    // server accepts from now on is one it opened.
    let connections_before = server.connections();
    let client = client(server)?;
    // Its caches (info, version, table metadata) filled before the clock starts.
    client.server_version().await?;
    for w in work.iter().take(10) {
        w.run(&client).await?;
    }
    reset_peak();
    let cpu_before = cpu_seconds();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, work, next) = (client.clone(), work.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            // (kind, latency, rows) per query, and the errors.
            let mut done: Vec<(usize, Duration, usize)> = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(w) = work.get(i) else {
                    return (done, errors);
                };
                let t = Instant::now();
                match w.run(&client).await {
                    Ok(n) => done.push((w.kind(), t.elapsed(), n)),
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("query {i} failed: {e}");
                        }
                        errors += 1;
                    }
                }
            }
        }));
    }
    let mut run = Run {
        concurrency,
        queries: work.len(),
        rows: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        by_kind: Default::default(),
        peak_mb: None,
        connections: 0,
        client_cpu: 0.0,
        server_cpu: 0.0,
    };
    for task in tasks {
        let (done, errors) = task.await?;
        for (kind, latency, rows) in done {
            run.latencies.push(latency);
            run.rows += rows;
            run.by_kind[kind].0.push(latency);
            run.by_kind[kind].1 += rows;
        }
        run.errors += errors;
    }
    run.elapsed = started.elapsed();
    let cpu_after = cpu_seconds();
    (run.client_cpu, run.server_cpu) = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
    run.connections = server.connections() - connections_before;
    run.peak_mb = support::status_mib("VmHWM:");
    run.latencies.sort_unstable();
    for (latencies, _) in &mut run.by_kind {
        latencies.sort_unstable();
    }
    Ok(run)
}

fn client(server: &BackgroundServer) -> Result<Client, cave_runtime::Error> {
    Client::builder("minnie65_public")
        .server(&server.base_url)
        // The local server accepts any token; never send the user's real one.
        .token("local-sample-data")
        .token_search(None, false)
        .version(1300)
        .progress(false)
        .build()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

async fn run(server: &BackgroundServer, args: Args) -> Result<(), Error> {
    let work = Arc::new(plan(&client(server)?, args.queries, args.rows).await?);
    println!("{} queries per run:", work.len());
    for (kind, name) in KINDS.iter().enumerate() {
        println!(
            "  {:>5}  {name}",
            work.iter().filter(|w| w.kind() == kind).count()
        );
    }
    println!(
        "memory now {:.0} MB RSS (server sample data included); peak RSS is reset before each run{}",
        support::status_mib("VmRSS:").unwrap_or(0.0),
        if reset_peak() {
            ""
        } else {
            " (not possible here: the peak is the process's)"
        }
    );
    println!();
    println!(
        "{:>11}  {:>7}  {:>9}  {:>7}  {:>7}  {:>7}  {:>7}  {:>9}  {:>11}  {:>11}  {:>11}  {:>11}  {:>6}",
        "concurrency",
        "queries",
        "queries/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "rows/s",
        "client CPU*",
        "server CPU*",
        "peak RSS MB",
        "connections",
        "errors"
    );
    let mut runs = Vec::new();
    for &concurrency in &args.concurrency {
        let r = measure(server, work.clone(), concurrency).await?;
        let secs = r.elapsed.as_secs_f64();
        let per_query = |cpu: f64| cpu * 1000.0 / r.queries as f64;
        println!(
            "{:>11}  {:>7}  {:>9.0}  {:>7.1}  {:>7.1}  {:>7.1}  {:>7.1}  {:>9.0}  {:>11.2}  {:>11.2}  {:>11}  {:>11}  {:>6}",
            r.concurrency,
            r.queries,
            r.queries as f64 / secs,
            percentile(&r.latencies, 0.50),
            percentile(&r.latencies, 0.90),
            percentile(&r.latencies, 0.99),
            percentile(&r.latencies, 1.0),
            r.rows as f64 / secs,
            per_query(r.client_cpu),
            per_query(r.server_cpu),
            r.peak_mb.map_or("-".to_string(), |m| format!("{m:.0}")),
            r.connections,
            r.errors
        );
        runs.push(r);
    }
    println!(
        "\n* CPU ms per query: the client's threads, and the rest (the server's). connections: \
         TCP connections the server accepted from the run's client (a fresh one per run).\n"
    );
    print!(
        "{:<56}  {:>9}",
        "p50 / p99 ms by kind, at concurrency", "rows/query"
    );
    for r in &runs {
        print!("  {:>13}", r.concurrency);
    }
    println!();
    for (kind, name) in KINDS.iter().enumerate() {
        let (latencies, rows) = &runs[0].by_kind[kind];
        print!(
            "{name:<56}  {:>9.0}",
            *rows as f64 / latencies.len().max(1) as f64
        );
        for r in &runs {
            let latencies = &r.by_kind[kind].0;
            print!(
                "  {:>13}",
                format!(
                    "{:.1} / {:.1}",
                    percentile(latencies, 0.5),
                    percentile(latencies, 0.99)
                )
            );
        }
        println!();
    }
    if runs.iter().any(|r| r.errors > 0) {
        return Err("some queries failed".into());
    }
    Ok(())
}
