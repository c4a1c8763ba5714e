//! The same SQL over CAVE's exports on a Ballista cluster started here on loopback (one
//! scheduler and two executors, each a `cave-ballista` process), in one process (delta-rs), and
//! on the devserver's materialization service: equal results. Every executor runs tasks of it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use cave_devserver::{BackgroundServer, RowOrder, ServerConfig};
use cave_runtime::Client;
use cave_runtime::cave_schema::Snapshot;
use cave_sql::Source;
use cave_sql::datafusion::arrow::array::RecordBatch;
use cave_sql::datafusion::arrow::util::pretty::pretty_format_batches;
use cave_sql::datafusion::prelude::{SessionConfig, SessionContext};
use cave_sql::delta::{ExportSpec, Partitioning, export, register_export_root};

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/minnie65_public");
const TABLE: &str = "synapses_pni_2";

fn server() -> &'static BackgroundServer {
    static SERVER: OnceLock<BackgroundServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let mut config = ServerConfig::new(SNAPSHOT);
        config.row_limit = 20_000;
        config.row_order = RowOrder::Random { seed: 5 };
        // Its own runtime cannot start on a thread of the test's.
        std::thread::spawn(move || BackgroundServer::start(config))
            .join()
            .expect("the devserver's thread")
            .expect("the devserver starts")
    })
}

fn client() -> Client {
    Client::builder("minnie65_public")
        .server(&server().base_url)
        .token("test-token")
        .token_search(None, false)
        .progress(false)
        .build()
        .unwrap()
}

/// The processes of the cluster, ended when dropped.
struct Cluster {
    children: Vec<Child>,
    scheduler: String,
    logs: Vec<PathBuf>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_cluster(dir: &Path) -> Cluster {
    let bin = env!("CARGO_BIN_EXE_cave-ballista");
    let mut scheduler = Command::new(bin)
        .args(["scheduler", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the scheduler starts");
    let mut line = String::new();
    BufReader::new(scheduler.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the scheduler says {line:?}"))
        .to_string();
    let mut cluster = Cluster {
        children: vec![scheduler],
        scheduler: format!("df://{addr}"),
        logs: Vec::new(),
    };
    // Ports are picked free here and bound by the executor a moment later: another process may
    // take one in between, so an executor that exits before registering is started again on
    // other ports.
    let executor = |log: &Path, work: &Path| {
        Command::new(bin)
            .args([
                "executor",
                "--verbose",
                "--scheduler",
                &addr,
                "--host",
                "127.0.0.1",
            ])
            .args(["--flight-port", &free_port().to_string()])
            .args(["--grpc-port", &free_port().to_string(), "--vcores", "1"])
            .arg("--work-dir")
            .arg(work)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("an executor starts")
    };
    let mut works = Vec::new();
    for i in 0..2 {
        let log = dir.join(format!("executor-{i}.log"));
        let work = dir.join(format!("executor-{i}"));
        std::fs::create_dir_all(&work).unwrap();
        cluster.children.push(executor(&log, &work));
        cluster.logs.push(log);
        works.push(work);
    }
    // Both executors registered before any query, so that the scheduler has both to give tasks
    // to (one task at a time each: a stage of several partitions runs on both).
    let clock = Instant::now();
    for (i, log) in cluster.logs.clone().iter().enumerate() {
        let mut starts = 1;
        while !std::fs::read_to_string(log).is_ok_and(|t| t.contains("registration succeed")) {
            let text = || std::fs::read_to_string(log).unwrap_or_default();
            assert!(
                clock.elapsed() < Duration::from_secs(60),
                "{} did not register: {}",
                log.display(),
                text()
            );
            if cluster.children[i + 1].try_wait().unwrap().is_some() {
                assert!(
                    starts < 3,
                    "{} exited {starts} times: {}",
                    log.display(),
                    text()
                );
                cluster.children[i + 1] = executor(log, &works[i]);
                starts += 1;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    cluster
}

async fn collect(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A result as sorted text lines (the engines' row orders differ without ORDER BY).
fn lines(batches: &[RecordBatch]) -> Vec<String> {
    let text = pretty_format_batches(batches).unwrap().to_string();
    let mut rows: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("| "))
        .skip(1)
        .map(str::to_owned)
        .collect();
    rows.sort();
    rows
}

/// DataFusion's planner and Ballista's plan codecs recurse deeply in a debug build: threads of
/// 16 MiB, not the default 2.
const STACK: usize = 16 << 20;

#[test]
fn a_cluster_answers_the_same_sql_as_one_process_and_the_service() {
    server();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(STACK)
        .enable_all()
        .build()
        .unwrap();
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || runtime.block_on(same_sql_everywhere()))
        .unwrap()
        .join()
        .unwrap();
}

async fn same_sql_everywhere() {
    let dir = std::env::temp_dir().join(format!("cave-distributed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let exports = dir.join("exports");
    let mut specs = Vec::new();
    for by in [
        Partitioning::Column("id".into()),
        Partitioning::Column("pre_pt_root_id".into()),
        Partitioning::Morton,
    ] {
        let spec = ExportSpec {
            buckets: 6,
            ..ExportSpec::new(TABLE, by)
        };
        specs.push(export(&client(), 1300, &spec, &exports).await.unwrap());
    }
    for table in [
        "proofreading_status_and_strategy",
        "aibs_metamodel_celltypes_v661",
        "nucleus_detection_v0",
    ] {
        let spec = ExportSpec {
            buckets: 2,
            ..ExportSpec::new(table, Partitioning::Column("id".into()))
        };
        export(&client(), 1300, &spec, &exports).await.unwrap();
    }
    // A checkpoint is a Parquet file in `_delta_log`: the listing must not read it as data.
    let pre =
        cave_sql::deltalake::open_table(url::Url::from_directory_path(&specs[1].dir).unwrap())
            .await
            .unwrap();
    cave_sql::deltalake::checkpoints::create_checkpoint(&pre, None)
        .await
        .unwrap();

    let cluster = start_cluster(&dir);
    // Eight partitions a stage: more tasks than the two executors' two slots.
    let remote = cave_distributed::connect_with(
        &cluster.scheduler,
        SessionConfig::new().with_target_partitions(8),
    )
    .await
    .unwrap();
    let table =
        cave_distributed::open_exports(&remote, TABLE, &exports, "minnie65_public", 1300, TABLE)
            .await
            .unwrap();
    remote.register_table(TABLE, Arc::new(table)).unwrap();
    let snapshot = Snapshot::load(SNAPSHOT).unwrap();
    // The tutorial's tables: the reference table alone, joined with its target's export as the
    // service joins it.
    for (name, table) in [
        (
            "proofreading_status_and_strategy",
            "proofreading_status_and_strategy",
        ),
        ("cell_types_alone", "aibs_metamodel_celltypes_v661"),
        ("nucleus_detection_v0", "nucleus_detection_v0"),
    ] {
        let t =
            cave_distributed::open_exports(&remote, name, &exports, "minnie65_public", 1300, table)
                .await
                .unwrap();
        remote.register_table(name, Arc::new(t)).unwrap();
    }
    cave_sql::delta::register_reference_view(
        &remote,
        "aibs_metamodel_celltypes_v661",
        &snapshot,
        "aibs_metamodel_celltypes_v661",
        "cell_types_alone",
        "nucleus_detection_v0",
    )
    .await
    .unwrap();

    // One process: every export as `export.<table>`, the default schema.
    let local = SessionContext::new_with_config(
        SessionConfig::new().with_default_catalog_and_schema("datafusion", "export"),
    );
    register_export_root(&local, &exports, "minnie65_public", 1300, Some(&snapshot))
        .await
        .unwrap();
    let service = cave_sql::session(&client(), &snapshot, Source::Version(1300)).unwrap();

    let proofread = lines(
        &collect(
            &service,
            "SELECT pt_root_id FROM proofreading_status_and_strategy WHERE status_axon = true",
        )
        .await,
    );
    let roots: Vec<&str> = proofread
        .iter()
        .map(|l| l.trim_matches(|c| c == '|' || c == ' '))
        .collect();
    assert!(roots.len() > 100, "{}", roots.len());
    let queries = [
        // The out-degree of the proofread cells.
        format!(
            "SELECT pre_pt_root_id, COUNT(*) AS n, SUM(size) AS size FROM {TABLE} \
             WHERE pre_pt_root_id IN ({}) GROUP BY pre_pt_root_id",
            roots.join(", ")
        ),
        // A box on the Morton point, and one on a point the export keeps as WKB.
        format!(
            "SELECT id, pre_pt_root_id, post_pt_position_x FROM {TABLE} \
             WHERE ctr_pt_position_x BETWEEN 150000 AND 250000 \
             AND ctr_pt_position_y BETWEEN 100000 AND 200000 AND ctr_pt_position_z BETWEEN 15000 AND 22000"
        ),
        format!(
            "SELECT id, post_pt_position_x, post_pt_position_y, post_pt_position_z FROM {TABLE} \
             WHERE post_pt_position_x BETWEEN 150000 AND 250000 \
             AND post_pt_position_y BETWEEN 100000 AND 200000 AND post_pt_position_z < 22000"
        ),
        // A whole-table aggregation (a shuffle between the executors).
        format!(
            "SELECT post_pt_root_id % 7 AS k, COUNT(*) AS n, MAX(id) AS top FROM {TABLE} GROUP BY 1"
        ),
    ];
    let clock = Instant::now();
    // The executors register a moment after they start: the first query retries until they do.
    let mut first = None;
    while first.is_none() {
        match remote.sql(&queries[3]).await {
            Ok(df) => match df.collect().await {
                Ok(b) => first = Some(b),
                Err(e) if clock.elapsed() < Duration::from_secs(60) => {
                    eprintln!("waiting for the cluster: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!("the cluster does not answer: {e}"),
            },
            Err(e) => panic!("{e}"),
        }
    }
    for (i, q) in queries.iter().enumerate() {
        let on_service = lines(&collect(&service, q).await);
        let in_process = lines(&collect(&local, q).await);
        let on_cluster = lines(&collect(&remote, q).await);
        assert!(!on_service.is_empty(), "query {i}");
        assert_eq!(
            in_process, on_service,
            "query {i}: one process vs the service"
        );
        assert_eq!(
            on_cluster, in_process,
            "query {i}: the cluster vs one process"
        );
    }
    // The command line, on the same cluster and exports.
    let cli = Command::new(env!("CARGO_BIN_EXE_cave-ballista"))
        .args(["sql", "--scheduler", &cluster.scheduler, "--version", "1300", "--snapshot", SNAPSHOT])
        .arg("--exports")
        .arg(&exports)
        .arg("SELECT cell_type, COUNT(*) AS n FROM export.aibs_metamodel_celltypes_v661 WHERE pt_root_id <> 0 GROUP BY cell_type ORDER BY n DESC, cell_type")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let expected = lines(
        &collect(
            &service,
            "SELECT cell_type, COUNT(*) AS n FROM aibs_metamodel_celltypes_v661 WHERE pt_root_id <> 0 GROUP BY cell_type",
        )
        .await,
    );
    for row in &expected {
        assert!(text.contains(row.as_str()), "{row} not in\n{text}");
    }
    assert!(text.contains(&format!("{} rows", expected.len())), "{text}");

    for log in &cluster.logs {
        let text = std::fs::read_to_string(log).unwrap();
        assert!(text.contains("Finished task"), "{}: {text}", log.display());
    }
    drop(cluster);

    // A Parquet file the Delta log does not know (a removed file not yet vacuumed, say) would
    // be read by a listing: refused, naming it.
    let part = std::fs::read_dir(&specs[0].dir)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("id_partition="))
        .unwrap()
        .path();
    let one = std::fs::read_dir(&part)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(&one, part.join("stray.parquet")).unwrap();
    let e =
        cave_distributed::open_exports(&remote, TABLE, &exports, "minnie65_public", 1300, TABLE)
            .await
            .unwrap_err()
            .to_string();
    assert!(e.contains("stray.parquet is not in the log"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
