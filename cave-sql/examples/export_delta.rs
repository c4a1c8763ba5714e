//! Write a Delta Lake export of a table in CAVE's layout (`cave_sql::delta::export`), from the
//! local sample server by default or a real deployment with `--server URL`, for querying with
//! `cave-sql --delta NAME=DIR`:
//!
//! ```text
//! cargo run --release -p cave-sql --example export_delta -- --out /tmp/exports \
//!     --table synapses_pni_2 --partition-by pre_pt_root_id [--buckets 16] [--version 1300]
//! ```

#[path = "../../cave-runtime/examples/support/tutorial_cli.rs"]
mod tutorial_cli;

use std::path::PathBuf;
use std::time::Instant;

use cave_sql::delta::{ExportSpec, export};

fn main() -> std::process::ExitCode {
    tutorial_cli::run_main(run())
}

async fn run() -> Result<(), tutorial_cli::Error> {
    let ours = ["--out", "--table", "--partition-by", "--buckets"];
    let Some(args) = tutorial_cli::parse_args(std::env::args().skip(1), |f| ours.contains(&f))?
    else {
        println!(
            "usage: export_delta --out DIR [--table synapses_pni_2] [--partition-by pre_pt_root_id] \
             [--buckets 16] [--server URL] [--version N]"
        );
        return Ok(());
    };
    let flag = |name: &str| {
        args.extra
            .iter()
            .rev()
            .find(|(f, _)| f == name)
            .map(|(_, v)| v.clone())
    };
    let out = PathBuf::from(flag("--out").ok_or("--out DIR is needed")?);
    let spec = ExportSpec {
        table: flag("--table").unwrap_or_else(|| "synapses_pni_2".into()),
        partition_by: flag("--partition-by").unwrap_or_else(|| "pre_pt_root_id".into()),
        buckets: flag("--buckets")
            .map(|b| {
                b.parse()
                    .map_err(|_| format!("--buckets `{b}` is not a number"))
            })
            .transpose()?
            .unwrap_or(16),
    };
    let (client, _server) = tutorial_cli::client(&args).await?;
    let clock = Instant::now();
    let done = export(&client, args.version, &spec, &out).await?;
    println!(
        "{} rows of {} at version {} in {} ({} buckets of {}), {:.1} s",
        done.rows,
        spec.table,
        args.version,
        done.dir.display(),
        done.bounds.len() + 1,
        spec.partition_by,
        clock.elapsed().as_secs_f64()
    );
    Ok(())
}
