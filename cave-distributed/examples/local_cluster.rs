//! A Ballista cluster on this machine (one scheduler, two executors, in this process on
//! loopback), the seed tutorial's SQL and the out-degree of the proofread cells on it, over
//! Delta Lake exports written first from the local sample server (or a real deployment with
//! `--server URL`), or read from `--exports DIR`:
//!
//! ```text
//! cargo run --release -p cave-distributed --example local_cluster [-- --exports DIR --version 1300]
//! ```

// Its `run_main` is not used: this example's runtime needs threads with larger stacks.
#[allow(dead_code)]
#[path = "../../cave-runtime/examples/support/tutorial_cli.rs"]
mod tutorial_cli;

use std::path::PathBuf;
use std::time::Instant;

use cave_distributed::{
    ExecutorOptions, connect_with, register_export_root, run_executor, run_scheduler,
};
use cave_sql::datafusion::arrow::util::pretty::pretty_format_batches;
use cave_sql::datafusion::prelude::SessionConfig;
use cave_sql::delta::{ExportSpec, Partitioning, export};

const TUTORIAL: &str = include_str!("../../cave-sql/examples/sql/tutorial.sql");

const OUT_DEGREE: &str = "SELECT COUNT(*) AS proofread_cells, SUM(n) AS synapses, MAX(n) AS most \
    FROM (SELECT pre_pt_root_id, COUNT(*) AS n FROM synapses_pni_2 WHERE pre_pt_root_id IN \
    (SELECT pt_root_id FROM proofreading_status_and_strategy WHERE status_axon = true) \
    GROUP BY pre_pt_root_id)";

fn main() -> std::process::ExitCode {
    // DataFusion's planner and the plan codecs recurse deeply: threads of 16 MiB.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn free_port() -> Result<u16, tutorial_cli::Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn run() -> Result<(), tutorial_cli::Error> {
    let Some(args) = tutorial_cli::parse_args(std::env::args().skip(1), |f| f == "--exports")?
    else {
        println!(
            "usage: local_cluster [--exports DIR] [--server URL] [--datastack NAME] [--version N]"
        );
        return Ok(());
    };
    let given = args
        .extra
        .iter()
        .rev()
        .find(|(f, _)| f == "--exports")
        .map(|(_, v)| PathBuf::from(v));
    let scratch = std::env::temp_dir().join(format!("cave-local-cluster-{}", std::process::id()));
    let root = match &given {
        Some(dir) => dir.clone(),
        None => {
            let (client, _server) = tutorial_cli::client(&args).await?;
            let clock = Instant::now();
            let specs = [
                ("synapses_pni_2", Partitioning::Column("id".into())),
                (
                    "synapses_pni_2",
                    Partitioning::Column("pre_pt_root_id".into()),
                ),
                ("synapses_pni_2", Partitioning::Morton),
                (
                    "proofreading_status_and_strategy",
                    Partitioning::Column("id".into()),
                ),
                (
                    "aibs_metamodel_celltypes_v661",
                    Partitioning::Column("id".into()),
                ),
                ("nucleus_detection_v0", Partitioning::Column("id".into())),
            ];
            for (table, by) in specs {
                export(&client, args.version, &ExportSpec::new(table, by), &scratch).await?;
            }
            println!(
                "exports written to {} in {:.1} s",
                scratch.display(),
                clock.elapsed().as_secs_f64()
            );
            scratch.clone()
        }
    };

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let scheduler = listener.local_addr()?;
    tokio::spawn(run_scheduler(listener));
    for _ in 0..2 {
        tokio::spawn(run_executor(ExecutorOptions {
            scheduler,
            host: "127.0.0.1".into(),
            flight_port: free_port()?,
            grpc_port: free_port()?,
            vcores: 1,
            work_dir: None,
        }));
    }
    println!("a Ballista scheduler at {scheduler} and two executors, in this process");

    let ctx = connect_with(
        &format!("df://{scheduler}"),
        SessionConfig::new().with_default_catalog_and_schema("datafusion", "export"),
    )
    .await?;
    let snapshot = cave_sql::cave_schema::Snapshot::load(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../schemas")
            .join(&args.datastack),
    )?;
    register_export_root(&ctx, &root, &args.datastack, args.version, Some(&snapshot)).await?;
    // The executors register with the scheduler a moment after they start.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    for sql in [TUTORIAL, OUT_DEGREE] {
        println!("\n{}", sql.trim());
        let clock = Instant::now();
        let batches = ctx.sql(sql).await?.collect().await?;
        println!(
            "{}\n{:.2} s on the cluster",
            pretty_format_batches(&batches)?,
            clock.elapsed().as_secs_f64()
        );
    }
    if given.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    Ok(())
}
