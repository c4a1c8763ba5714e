//! The seed tutorial's join in SQL (`examples/sql/tutorial.sql`), on the materialization
//! service through DataFusion: on the local sample server by default, on a real CAVE
//! deployment with `--server URL`.
//!
//! ```text
//! cargo run -p cave-sql --example sql_tutorial [-- --server https://global.daf-apis.com --version 1300]
//! ```

#[path = "../../cave-runtime/examples/support/tutorial_cli.rs"]
mod tutorial_cli;

use std::path::PathBuf;
use std::time::Instant;

use cave_runtime::cave_schema::Snapshot;
use cave_sql::Source;

const SQL: &str = include_str!("sql/tutorial.sql");

fn main() -> std::process::ExitCode {
    tutorial_cli::run_main(run())
}

async fn run() -> Result<(), tutorial_cli::Error> {
    let Some(args) = tutorial_cli::parse_args(std::env::args().skip(1), |_| false)? else {
        println!("usage: sql_tutorial [--server URL] [--datastack NAME] [--version N]");
        return Ok(());
    };
    let (client, _server) = tutorial_cli::client(&args).await?;
    let snapshot_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas")
        .join(&args.datastack);
    let snapshot = Snapshot::load(&snapshot_dir)?;
    let ctx = cave_sql::session(&client, &snapshot, Source::Version(args.version))?;
    println!("\n{}", SQL.trim());
    let clock = Instant::now();
    let batches = ctx.sql(SQL).await?.collect().await?;
    println!(
        "\n{}",
        cave_sql::datafusion::arrow::util::pretty::pretty_format_batches(&batches)?
    );
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    println!("{total} cell types, {:.2} s", clock.elapsed().as_secs_f64());
    Ok(())
}
