//! The MICrONS tutorial "Querying proofread neurons", typed.
//!
//! ```sh
//! cargo run --release --example proofread_cells                                      # local sample data
//! cargo run --release --example proofread_cells -- --server https://global.daf-apis.com  # the real CAVE
//! ```
//!
//! By default it starts `cave-devserver` in this process, over deterministic sample data that
//! reproduces the published `minnie65_public` v1300 numbers, and runs against it. With
//! `--server URL` (or `CAVE_SERVER`) it runs against a real CAVE deployment, with the token of
//! `CAVE_TOKEN` or caveclient's token files (`~/.cloudvolume/secrets/*-cave-secret.json`).

mod tutorial;

use std::path::PathBuf;
use std::process::ExitCode;

use cave_devserver::{RunningServer, ServerConfig};
use cave_runtime::{Client, DEFAULT_SERVER};

const USAGE: &str = "\
The MICrONS tutorial \"Querying proofread neurons\", with typed tables.

Usage: cargo run --release --example proofread_cells -- [OPTIONS]

Options:
  --server URL        a CAVE deployment's global server, e.g. https://global.daf-apis.com
                      (default: $CAVE_SERVER, else a local in-process server with sample data);
                      the token comes from CAVE_TOKEN or caveclient's ~/.cloudvolume/secrets files
  --datastack NAME    the datastack (default: minnie65_public)
  --version N         the materialization version to pin (default: 1300)
  -h, --help          this text
";

struct Args {
    server: Option<String>,
    datastack: String,
    version: u32,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        server: std::env::var("CAVE_SERVER").ok().filter(|s| !s.is_empty()),
        datastack: "minnie65_public".into(),
        version: 1300,
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
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--server" => parsed.server = Some(value()?),
            "--datastack" => parsed.datastack = value()?,
            "--version" => {
                let v = value()?;
                parsed.version = v
                    .parse()
                    .map_err(|_| format!("--version `{v}` is not a version number"))?;
            }
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: starting the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&*e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), tutorial::Error> {
    let mut out = std::io::stdout();
    // The local server lives until the end of this function.
    let (client, _local) = match &args.server {
        Some(server) => {
            println!(
                "CAVE server {server}, datastack {}, version {}.",
                args.datastack, args.version
            );
            let client = Client::builder(&args.datastack)
                .server(server)
                .version(args.version)
                .build()?;
            (client, None)
        }
        None => {
            let snapshot =
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/minnie65_public");
            if !snapshot.is_dir() {
                return Err(format!(
                    "the sample data's snapshot {} is missing; pass --server URL to use a CAVE deployment",
                    snapshot.display()
                )
                .into());
            }
            let server = RunningServer::start(ServerConfig::new(snapshot))
                .await
                .map_err(|e| format!("starting the local server: {e}"))?;
            println!(
                "LOCAL SAMPLE DATA from an in-process CAVE server (cave-devserver) at {}:\n\
                 deterministic, it reproduces the published minnie65_public v1300 numbers, but it is\n\
                 not the real MICrONS data. For the real CAVE: --server {DEFAULT_SERVER}\n\
                 (token from CAVE_TOKEN or ~/.cloudvolume/secrets/*-cave-secret.json).",
                server.base_url
            );
            let client = Client::builder(&args.datastack)
                .server(&server.base_url)
                // The local server accepts any token; never send the user's real one.
                .token("local-sample-data")
                .token_search(None, false)
                .version(args.version)
                .build()?;
            (client, Some(server))
        }
    };
    tutorial::run(&client, &mut out).await?;
    Ok(())
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
