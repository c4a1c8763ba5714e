//! Write Delta Lake exports of a table in CAVE's layout (`cave_sql::delta::export`), from the
//! local sample server by default or a real deployment with `--server URL`, for querying with
//! `cave-sql --exports DIR`:
//!
//! ```text
//! cargo run --release -p cave-sql --example export_delta -- --out /tmp/exports \
//!     --table synapses_pni_2 --by id,pre_pt_root_id,morton [--buckets 16] [--version 1300]
//! ```
//!
//! Each `--by` is one export, `<out>/<datastack>/v<version>/<table>/<spec>`: a column's name for
//! percentile buckets of it, `morton` for the Morton code of the table's first point.

#[path = "../../cave-runtime/examples/support/tutorial_cli.rs"]
mod tutorial_cli;

use std::path::PathBuf;
use std::time::Instant;

use cave_sql::delta::{ExportSpec, Partitioning, export};

fn main() -> std::process::ExitCode {
    tutorial_cli::run_main(run())
}

async fn run() -> Result<(), tutorial_cli::Error> {
    let ours = ["--out", "--table", "--by", "--buckets"];
    let Some(args) = tutorial_cli::parse_args(std::env::args().skip(1), |f| ours.contains(&f))?
    else {
        println!(
            "usage: export_delta --out DIR [--table synapses_pni_2] [--by id,pre_pt_root_id,morton] \
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
    let table = flag("--table").unwrap_or_else(|| "synapses_pni_2".into());
    let buckets = flag("--buckets")
        .map(|b| {
            b.parse()
                .map_err(|_| format!("--buckets `{b}` is not a number"))
        })
        .transpose()?
        .unwrap_or(16);
    let by = flag("--by").unwrap_or_else(|| "id,pre_pt_root_id,morton".into());
    let (client, _server) = tutorial_cli::client(&args).await?;
    for name in by.split(',').filter(|s| !s.is_empty()) {
        let by = match name {
            "morton" => Partitioning::Morton,
            column => Partitioning::Column(column.to_string()),
        };
        let spec = ExportSpec {
            buckets,
            ..ExportSpec::new(table.clone(), by)
        };
        let clock = Instant::now();
        let done = export(&client, args.version, &spec, &out).await?;
        println!(
            "{} rows of {table} at version {} in {} ({} buckets), {:.1} s",
            done.rows,
            args.version,
            done.dir.display(),
            done.bounds.len() + 1,
            clock.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
