//! Time one typed query end to end: the request, the answer over HTTP, decoding into rows.
//! The Rust side of `bench/compare.sh`'s end-to-end comparison with caveclient's
//! `query_table` (`bench/py_query.py`).
//!
//! ```sh
//! cargo run --release -p cave-devserver -- --synapses 1000000 --row-limit 1000000   # prints its URL
//! cargo run --release --example e2e_query -- --server http://127.0.0.1:PORT --rows 200000
//! ```
//!
//! Prints `rows=<n> seconds=<s> rows_per_s=<r> peak_rss_mib=<m> base_rss_mib=<b> mode=rust-query`.
//! The client is built and the server's version checked before the clock starts, as
//! caveclient's client is built before `query_table` is timed.

use std::process::ExitCode;
use std::time::Instant;

use cave_runtime::Client;

#[path = "support/memory.rs"]
mod support;

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = ["synapses_pni_2"]
    );
}

async fn run(server: &str, rows: u64) -> Result<(usize, f64), cave_runtime::Error> {
    let client = Client::builder("minnie65_public")
        .server(server)
        .token(std::env::var("CAVE_TOKEN").unwrap_or_else(|_| "benchmark-token".into()))
        .token_search(None, false)
        .progress(false)
        .build()?;
    client.server_version().await?;
    let start = Instant::now();
    let synapses = minnie::SynapsesPni2::filter()
        .limit(rows)
        .query(&client)
        .await?;
    Ok((synapses.len(), start.elapsed().as_secs_f64()))
}

fn main() -> ExitCode {
    let mut server = None;
    let mut rows: u64 = 200_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--server", Some(v)) => server = Some(v),
            ("--rows", Some(v)) => match v.parse() {
                Ok(n) => rows = n,
                Err(_) => {
                    eprintln!("Error: --rows `{v}` is not a whole number");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("Usage: e2e_query --server URL [--rows N]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(server) = server else {
        eprintln!("Usage: e2e_query --server URL [--rows N]");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let base = support::status_mib("VmRSS:").unwrap_or(f64::NAN);
    match runtime.block_on(run(&server, rows)) {
        Ok((n, seconds)) => {
            println!(
                "rows={n} seconds={seconds:.6} rows_per_s={:.0} peak_rss_mib={:.1} base_rss_mib={base:.1} mode=rust-query table=synapses_pni_2 runs=1",
                n as f64 / seconds,
                support::status_mib("VmHWM:").unwrap_or(f64::NAN)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
