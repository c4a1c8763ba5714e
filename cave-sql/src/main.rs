//! `cave-sql`: SQL over a CAVE datastack's tables from the command line (also run as
//! `cave sql ...`). The result is printed as a table, or written to a Parquet or CSV file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use cave_runtime::cave_schema::Snapshot;
use cave_runtime::cave_wire::untrusted::printable;
use cave_sql::Source;
use cave_sql::datafusion::dataframe::DataFrameWriteOptions;
use clap::Parser;

/// SQL over the tables and views of a CAVE datastack (DataFusion on the materialization
/// service). Table names are the snapshot's; a reference table is joined with its target, and
/// alone as `bare.<table>`.
#[derive(Parser, Debug)]
#[command(name = "cave-sql")]
struct Args {
    /// The query, e.g. "SELECT status_axon, COUNT(*) FROM proofreading_status_and_strategy
    /// GROUP BY status_axon".
    sql: String,
    /// The CAVE global server [default: $CAVE_SERVER, else https://global.daf-apis.com].
    #[arg(long)]
    server: Option<String>,
    /// The datastack.
    #[arg(long, default_value = "minnie65_public")]
    datastack: String,
    /// The datastack's snapshot folder [default: schemas/<datastack>].
    #[arg(long, value_name = "DIR")]
    snapshot: Option<PathBuf>,
    /// The materialization version to query [default: the latest].
    #[arg(long, conflicts_with = "timestamp")]
    version: Option<u32>,
    /// Query the tables live at this time (RFC 3339, e.g. 2025-01-13T10:10:01Z).
    #[arg(long)]
    timestamp: Option<String>,
    /// A Delta Lake export to query as a table too, as NAME=LOCATION (a folder, or a URL such
    /// as gs://bucket/path, read anonymously unless --store-option or GOOGLE_* give a
    /// credential); repeatable. The same SQL runs on it as on the service's table.
    #[arg(long, value_name = "NAME=LOCATION")]
    delta: Vec<String>,
    /// An option of the object store of --delta and --exports URLs, as KEY=VALUE with
    /// object_store's keys (google_service_account, google_base_url, allow_http, ...);
    /// repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    store_option: Vec<String>,
    /// A folder or URL of CAVE's exports (`<ROOT>/<datastack>/v<version>/<table>/<spec>`,
    /// e.g. gs://bucket/deltalake_exports): each table exported at --version is queried as
    /// `export.<table>`, from the export whose files the query's filters skip.
    #[arg(long, value_name = "ROOT", requires = "version")]
    exports: Option<String>,
    /// The datastack's folder under --exports [default: the datastack's name]. CAVE's public
    /// bucket keeps minnie65_public's exports under minnie65_phase3_v1.
    #[arg(long, value_name = "NAME", requires = "exports")]
    exports_folder: Option<String>,
    /// Write the result to this file (.parquet or .csv) instead of printing it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The most rows printed (the rest are counted).
    #[arg(long, default_value_t = 50)]
    max_rows: usize,
    /// Send the token over plain http to a server that is not on this machine.
    #[arg(long)]
    allow_insecure_http: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(printable(&text).as_bytes()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write the output: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("error: {}", printable(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<String, String> {
    let snapshot_dir = args
        .snapshot
        .clone()
        .unwrap_or_else(|| PathBuf::from("schemas").join(&args.datastack));
    let snapshot = Snapshot::load(&snapshot_dir)
        .map_err(|e| format!("the snapshot {}: {e}", snapshot_dir.display()))?;
    let server = args
        .server
        .clone()
        .or_else(|| std::env::var("CAVE_SERVER").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| cave_runtime::DEFAULT_SERVER.to_string());
    let client = cave_runtime::Client::builder(&args.datastack)
        .server(&server)
        .allow_insecure_http(args.allow_insecure_http)
        .build()
        .map_err(|e| e.to_string())?;
    let source = match (&args.version, &args.timestamp) {
        (Some(v), _) => Source::Version(*v),
        (None, Some(t)) => {
            Source::Timestamp(cave_runtime::cave_wire::parse_time(t).ok_or_else(|| {
                format!("--timestamp `{t}` is not a time (RFC 3339, e.g. 2025-01-13T10:10:01Z)")
            })?)
        }
        (None, None) => Source::Latest,
    };
    let ctx = cave_sql::session(&client, &snapshot, source).map_err(|e| e.to_string())?;
    let mut options = cave_sql::delta::StoreOptions::new();
    for option in &args.store_option {
        let (k, v) = option
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| format!("--store-option `{option}`: give KEY=VALUE"))?;
        options.insert(k.to_string(), v.to_string());
    }
    for export in &args.delta {
        let (name, location) = export
            .split_once('=')
            .filter(|(n, l)| !n.is_empty() && !l.is_empty())
            .ok_or_else(|| format!("--delta `{export}`: give NAME=LOCATION"))?;
        cave_sql::delta::register_export_with(&ctx, name, location, &options)
            .await
            .map_err(|e| e.to_string())?;
    }
    if let (Some(root), Some(version)) = (&args.exports, args.version) {
        let root = cave_sql::delta::ExportRoot::new(root.as_str()).with_options(options.clone());
        cave_sql::delta::register_export_root(
            &ctx,
            root,
            args.exports_folder.as_deref().unwrap_or(client.datastack()),
            version,
            Some(&snapshot),
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    let frame = ctx.sql(&args.sql).await.map_err(|e| e.to_string())?;
    if let Some(out) = &args.out {
        let path = out.to_string_lossy().to_string();
        let options = DataFrameWriteOptions::new().with_single_file_output(true);
        let written = match out.extension().and_then(|e| e.to_str()) {
            Some("parquet") => frame.write_parquet(&path, options, None).await,
            Some("csv") => frame.write_csv(&path, options, None).await,
            _ => {
                return Err(format!(
                    "--out {}: the file must end in .parquet or .csv",
                    out.display()
                ));
            }
        }
        .map_err(|e| format!("writing {}: {e}", out.display()))?;
        let rows: usize = written.iter().map(|b| b.num_rows()).sum();
        let count = written
            .first()
            .and_then(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<arrow_array::UInt64Array>()
                    .map(|c| c.value(0))
            })
            .unwrap_or(rows as u64);
        return Ok(format!("wrote {count} rows to {}\n", out.display()));
    }
    let batches = frame.collect().await.map_err(|e| e.to_string())?;
    cave_sql::table_text(&batches, args.max_rows).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Args::command().debug_assert();
    }
}
