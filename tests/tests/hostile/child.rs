//! One scenario in a process of its own: each workload runs against the devserver directly
//! (the reference) and through the hostile server, and one JSON line per workload says what
//! came out. The parent reads those lines, the process's peak memory and its exit status.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cave_cli::fetch::{FetchConfig, Progress, check_snapshot, fetch_snapshot, find_token};
use cave_runtime::{Client, Error, TableQuery};
use serde_json::json;

use crate::scenarios::{self, ABSOLUTE_TARGET, LocalServer, Scenario, TOKEN, Workload};

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = ["proofreading_status_and_strategy"]
    );
}
use minnie::ProofreadingStatusAndStrategy as Proofreading;

/// Environment variables the parent sets.
pub const SCENARIO_ENV: &str = "CAVE_HOSTILE_SCENARIO";
pub const BASE_ENV: &str = "CAVE_HOSTILE_BASE";
pub const DIRECT_ENV: &str = "CAVE_HOSTILE_DIRECT";

/// The client's bounds in the suite: short, so that slow scenarios end quickly.
pub const TIMEOUT: Duration = Duration::from_secs(4);
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Limits low enough that the memory a scenario may cost is measurable (the defaults allow
/// gigabytes).
const LIMITS: cave_runtime::Limits = cave_runtime::Limits {
    max_page_bytes: 64 << 20,
    max_json_bytes: 1 << 20,
    max_decoded_bytes: 256 << 20,
    max_columns: 1024,
    max_pages: 50,
};

/// The address space allowed: a bomb that gets through ends in an allocation failure (an
/// abort the parent reports) instead of taking the machine's memory.
const ADDRESS_SPACE: u64 = 4 << 30;

pub fn run(name: &str) {
    limit_address_space();
    let scenario = scenarios::find(name).unwrap_or_else(|| panic!("no scenario `{name}`"));
    let base = std::env::var(BASE_ENV).expect("the scenario's base URL");
    let direct = std::env::var(DIRECT_ENV).expect("the devserver's URL");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _ = std::fs::remove_file(format!("{ABSOLUTE_TARGET}.json"));
    let inputs = scenario
        .workloads
        .iter()
        .any(|w| w.chunkedgraph())
        .then(|| runtime.block_on(Inputs::from_devserver(&direct)));
    for &workload in scenario.workloads {
        let line = runtime.block_on(run_workload(
            scenario,
            workload,
            &base,
            &direct,
            inputs.as_ref(),
        ));
        println!("RESULT {line}");
    }
    println!("PEAK_KIB {}", peak_kib());
    let _ = std::fs::remove_dir_all(fetch_root());
}

/// What the chunkedgraph workloads work on, read from the devserver itself (so that both runs
/// of a workload get the same input): the proofreading rows of version 1300 and two times.
pub struct Inputs {
    rows: Vec<Proofreading>,
    /// Version 1300's timestamp.
    at_1300: chrono::DateTime<chrono::Utc>,
    /// Now (after every edit of the devserver's history).
    now: chrono::DateTime<chrono::Utc>,
    /// A root of the rows edited since version 1300.
    edited: cave_runtime::RootId,
}

impl Inputs {
    async fn from_devserver(direct: &str) -> Inputs {
        let client = client(direct, LocalServer::Explicit);
        let rows = client
            .query(Proofreading::filter())
            .await
            .expect("the rows of version 1300")
            .into_vec();
        let at_1300 = client.timestamp(1300).await.expect("version 1300's time");
        let now = chrono::Utc::now();
        let cg = client.chunkedgraph().await.expect("the chunkedgraph");
        let stale = cg.stale_roots(&rows, now).await.expect("the stale roots");
        let edited = *stale.first().expect("a root edited since version 1300");
        Inputs {
            rows,
            at_1300,
            now,
            edited,
        }
    }
}

async fn run_workload(
    scenario: &Scenario,
    workload: Workload,
    base: &str,
    direct: &str,
    inputs: Option<&Inputs>,
) -> serde_json::Value {
    let reference = outcome(
        workload,
        &client(direct, LocalServer::Explicit),
        direct,
        LocalServer::Explicit,
        inputs,
    )
    .await
    .expect("the workload works against the devserver itself");
    let started = Instant::now();
    let got = outcome(
        workload,
        &client(base, scenario.local),
        base,
        scenario.local,
        inputs,
    )
    .await;
    let secs = started.elapsed().as_secs_f64();
    let outside = written_outside();
    match got {
        Ok(got) => json!({
            "workload": workload.name(),
            "ok": true,
            "exact": got.value == reference.value,
            "rows": got.rows,
            "text": got.shown,
            "raw_controls": has_raw_controls(&got.shown),
            "secs": secs,
            "outside": outside,
        }),
        Err(e) => json!({
            "workload": workload.name(),
            "ok": false,
            "text": e.shown,
            "debug": e.debug,
            "raw_controls": has_raw_controls(&e.shown),
            "secs": secs,
            "outside": outside,
        }),
    }
}

/// A successful workload: what to compare with the reference, and what a user would print.
struct Done {
    value: Compared,
    rows: usize,
    shown: String,
}

/// What a workload's result is compared by.
#[derive(Debug, PartialEq)]
enum Compared {
    Text(String),
    Batch(arrow_array::RecordBatch),
}

/// A failed workload: the error's Display and Debug.
#[derive(Debug)]
struct Failed {
    shown: String,
    debug: String,
}

fn failed(e: impl std::fmt::Display + std::fmt::Debug) -> Failed {
    Failed {
        shown: e.to_string(),
        debug: format!("{e:?}"),
    }
}

fn client(base: &str, local: LocalServer) -> Client {
    let mut builder = Client::builder("minnie65_public")
        .server(base)
        .token(TOKEN)
        .token_search(None, false)
        .progress(false)
        .version(1300)
        .timeout(TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .limits(LIMITS);
    if local == LocalServer::Explicit {
        builder = builder.local_server(base);
    }
    builder.build().expect("a client")
}

async fn outcome(
    workload: Workload,
    client: &Client,
    base: &str,
    local: LocalServer,
    inputs: Option<&Inputs>,
) -> Result<Done, Failed> {
    if workload.chunkedgraph() {
        let inputs = inputs.expect("the chunkedgraph workloads' inputs");
        return chunkedgraph(workload, client, inputs).await;
    }
    match workload {
        Workload::Info => {
            let info = client.info().await.map_err(failed)?;
            Ok(Done {
                value: Compared::Text(format!("{:?}", info.description)),
                rows: 1,
                shown: format!("{info:?}"),
            })
        }
        Workload::Typed | Workload::TypedLimit1 => {
            let mut query = Proofreading::filter().into_query();
            if workload == Workload::TypedLimit1 {
                query = query.limit(1);
            }
            let rows = client.query(query).await.map_err(failed)?;
            Ok(typed(&rows, rows.info()))
        }
        Workload::Stream => {
            let mut stream = client
                .stream(Proofreading::filter())
                .await
                .map_err(failed)?;
            let mut rows = Vec::new();
            while let Some(chunk) = stream.next().await.map_err(failed)? {
                rows.extend(chunk);
            }
            Ok(typed(&rows, stream.info()))
        }
        Workload::Live => {
            let t = live_timestamp(client).await.map_err(failed)?;
            let rows = client
                .live_query(Proofreading::filter(), t)
                .await
                .map_err(failed)?;
            Ok(typed(&rows, rows.info()))
        }
        Workload::Untyped => {
            let batches = TableQuery::new("proofreading_status_and_strategy")
                .query(client)
                .await
                .map_err(failed)?;
            let all = batches.concat().map_err(failed)?;
            Ok(Done {
                value: Compared::Batch(by_id(&all)),
                rows: all.num_rows(),
                shown: format!("{:?}", batches.info()),
            })
        }
        Workload::Fetch => fetch_on_a_thread(base, local, false),
        Workload::Check => fetch_on_a_thread(base, local, true),
        _ => unreachable!("the chunkedgraph workloads are above"),
    }
}

/// A chunkedgraph workload on `client`'s chunkedgraph.
async fn chunkedgraph(
    workload: Workload,
    client: &Client,
    inputs: &Inputs,
) -> Result<Done, Failed> {
    let cg = client.chunkedgraph().await.map_err(failed)?;
    let shown = format!("{cg:?}");
    let rows = &inputs.rows;
    let (value, count) = match workload {
        Workload::CgRoots => {
            let svs: Vec<i64> = rows
                .iter()
                .filter_map(|r| r.pt_supervoxel_id)
                .map(|s| s.0)
                .collect();
            let roots = cg
                .roots(&svs, Some(inputs.at_1300), None)
                .await
                .map_err(failed)?;
            (format!("{roots:?}"), roots.len())
        }
        Workload::CgIsLatest => {
            let roots: Vec<_> = rows.iter().filter_map(|r| r.pt_root_id).collect();
            let latest = cg
                .is_latest_roots(&roots, Some(inputs.now))
                .await
                .map_err(failed)?;
            (format!("{latest:?}"), latest.len())
        }
        Workload::CgLineage => {
            let graph = cg
                .lineage_graph(&[inputs.edited], None, Some(inputs.now))
                .await
                .map_err(failed)?;
            let latest = graph.latest_roots();
            (format!("{graph:?} {latest:?}"), graph.nodes().len())
        }
        Workload::UpdateRoots => {
            let mut rows = rows.clone();
            let update = cg
                .update_roots(&mut rows, inputs.now)
                .await
                .map_err(failed)?;
            rows.sort_by_key(|r| r.id);
            (format!("{update:?} {rows:?}"), update.replaced)
        }
        _ => unreachable!("not a chunkedgraph workload"),
    };
    Ok(Done {
        value: Compared::Text(value),
        rows: count,
        shown,
    })
}

/// The rows in id order, without the pandas metadata of whichever page came first: pages
/// come in the order they arrive, and the server promises no row order anyway.
fn by_id(batch: &arrow_array::RecordBatch) -> arrow_array::RecordBatch {
    use arrow_array::Array;
    let Some(ids) = batch
        .column_by_name("id")
        .and_then(|c| c.as_any().downcast_ref::<arrow_array::Int64Array>())
    else {
        return batch.clone();
    };
    let mut order: Vec<u32> = (0..batch.num_rows() as u32).collect();
    order.sort_by_key(|&i| ids.value(i as usize));
    let sorted =
        arrow_select::take::take_record_batch(batch, &arrow_array::UInt32Array::from(order))
            .expect("a batch takes its own rows");
    let schema = arrow_schema::Schema::new(sorted.schema().fields().clone());
    arrow_array::RecordBatch::try_new(schema.into(), sorted.columns().to_vec())
        .expect("the same columns")
}

fn typed(rows: &[Proofreading], info: &cave_runtime::QueryInfo) -> Done {
    let mut rows = rows.to_vec();
    rows.sort_by_key(|r| r.id);
    Done {
        value: Compared::Text(format!("{rows:?}")),
        rows: rows.len(),
        shown: format!("{info:?}"),
    }
}

/// An hour after version 1300, from the devserver's record (the same for both runs).
async fn live_timestamp(client: &Client) -> Result<chrono::DateTime<chrono::Utc>, Error> {
    Ok(client.timestamp(1300).await? + chrono::Duration::hours(1))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where the fetch workloads work: `<root>/schemas/{minnie65_public,types}`.
fn fetch_root() -> PathBuf {
    std::env::temp_dir().join(format!("cave-hostile-{}", std::process::id()))
}

fn fresh_copy() -> PathBuf {
    let root = fetch_root();
    let _ = std::fs::remove_dir_all(&root);
    for sub in ["minnie65_public", "types"] {
        let (from, to) = (
            repo().join("schemas").join(sub),
            root.join("schemas").join(sub),
        );
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    root.join("schemas").join("minnie65_public")
}

/// `fetch` runs the blocking client, which refuses to run on a thread of an async runtime.
fn fetch_on_a_thread(base: &str, local: LocalServer, check: bool) -> Result<Done, Failed> {
    std::thread::scope(|s| {
        s.spawn(|| fetch(base, local, check))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// `fetch` (or `check`) of a fresh copy of the committed snapshot.
fn fetch(base: &str, local: LocalServer, check: bool) -> Result<Done, Failed> {
    let dir = fresh_copy();
    let mut config = FetchConfig::new(base, "minnie65_public");
    if local == LocalServer::Explicit {
        config.local_server = Some(base.to_string());
    }
    config.token = find_token(Some(TOKEN), None, None, base).unwrap();
    config.timeouts = cave_runtime::Timeouts {
        connect: READ_TIMEOUT,
        idle: READ_TIMEOUT,
        request: TIMEOUT,
        query: TIMEOUT,
    };
    let mut progress = Progress::silent();
    if check {
        let outcome = check_snapshot(&config, &dir, &mut progress).map_err(failed)?;
        let changes = outcome.changes.to_string();
        return Ok(Done {
            value: Compared::Text(format!("differs={} {changes}", outcome.differs)),
            rows: 0,
            shown: changes,
        });
    }
    let outcome = fetch_snapshot(&config, &dir, &mut progress).map_err(failed)?;
    let files = tree(&fetch_root());
    Ok(Done {
        value: Compared::Text(format!("{files:?}")),
        rows: files.len(),
        shown: outcome.changes.to_string(),
    })
}

/// Every file under `root` with its content.
fn tree(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, std::fs::read_to_string(&path).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

/// Files written outside the snapshot's two folders (under the fetch root), and the absolute
/// path a hostile type name points at.
fn written_outside() -> Vec<String> {
    let root = fetch_root();
    let mut outside: Vec<String> = tree(&root)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !p.starts_with("schemas/minnie65_public/") && !p.starts_with("schemas/types/"))
        .collect();
    if Path::new(&format!("{ABSOLUTE_TARGET}.json")).exists() {
        outside.push(format!("{ABSOLUTE_TARGET}.json"));
    }
    outside
}

/// Control characters a terminal would act on (escape codes, bidi overrides) in text shown
/// to a user; newlines and tabs are fine.
fn has_raw_controls(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

fn limit_address_space() {
    let limit = libc::rlimit {
        rlim_cur: ADDRESS_SPACE,
        rlim_max: ADDRESS_SPACE,
    };
    // SAFETY: setrlimit reads the struct it is given.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &limit);
    }
}

/// The process's peak resident memory.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
