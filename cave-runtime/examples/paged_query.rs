//! Time a query past the server's row cap end to end, and check it is exact: every synapse
//! of the table once. The Rust side of `bench/paging.sh`.
//!
//! ```sh
//! cargo run --release -p cave-devserver -- --synapses 1000000 --row-limit 200000 --row-order random
//! cargo run --release --example paged_query -- --server http://127.0.0.1:PORT --in-flight 4
//! cargo run --release --example paged_query -- --server http://127.0.0.1:PORT --stream --limit 500000
//! ```
//!
//! Prints `rows=<n> distinct=<d> total=<count> requests=<r> seconds=<s> peak_rss_mib=<m>
//! base_rss_mib=<b> mode=<query|stream> in_flight=<k>`. `--stream` keeps nothing but a count
//! (`distinct=-`), to show that a stream's memory does not grow with the rows; the query mode
//! keeps every id to check that each came once.

use std::collections::HashSet;
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

struct Args {
    server: String,
    in_flight: usize,
    stream: bool,
    limit: Option<u64>,
}

struct Measured {
    rows: usize,
    distinct: Option<usize>,
    total: Option<u64>,
    requests: usize,
    seconds: f64,
}

async fn run(args: &Args) -> Result<Measured, cave_runtime::Error> {
    let client = Client::builder("minnie65_public")
        .server(&args.server)
        .token(std::env::var("CAVE_TOKEN").unwrap_or_else(|_| "benchmark-token".into()))
        .token_search(None, false)
        .progress(false)
        .pages_in_flight(args.in_flight)
        .build()?;
    client.server_version().await?;
    let mut filter = minnie::SynapsesPni2::filter();
    if let Some(n) = args.limit {
        filter = filter.limit(n);
    }
    let start = Instant::now();
    let mut ids = HashSet::new();
    let (rows, info) = if args.stream {
        let mut stream = filter.stream(&client).await?;
        let mut rows = 0;
        while let Some(chunk) = stream.next().await? {
            rows += chunk.len();
        }
        (rows, stream.info().clone())
    } else {
        let synapses = filter.query(&client).await?;
        ids.extend(synapses.iter().map(|s| s.id.0));
        (synapses.len(), synapses.info().clone())
    };
    Ok(Measured {
        rows,
        distinct: (!args.stream).then_some(ids.len()),
        total: info.total,
        requests: info.pages,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        server: String::new(),
        in_flight: cave_runtime::DEFAULT_PAGES_IN_FLIGHT,
        stream: false,
        limit: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--server" => args.server = value("--server")?,
            "--in-flight" => {
                let v = value("--in-flight")?;
                args.in_flight = v.parse().map_err(|_| format!("--in-flight `{v}`"))?;
            }
            "--limit" => {
                let v = value("--limit")?;
                args.limit = Some(v.parse().map_err(|_| format!("--limit `{v}`"))?);
            }
            "--stream" => args.stream = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if args.server.is_empty() {
        return Err("--server is required".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "Error: {e}\nUsage: paged_query --server URL [--in-flight N] [--stream] [--limit N]"
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
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
    match runtime.block_on(run(&args)) {
        Ok(m) => {
            println!(
                "rows={} distinct={} total={} requests={} seconds={:.6} peak_rss_mib={:.1} base_rss_mib={base:.1} mode={} in_flight={}",
                m.rows,
                m.distinct.map_or("-".into(), |d| d.to_string()),
                m.total.map_or("?".into(), |t| t.to_string()),
                m.requests,
                m.seconds,
                support::status_mib("VmHWM:").unwrap_or(f64::NAN),
                if args.stream { "stream" } else { "query" },
                args.in_flight,
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
