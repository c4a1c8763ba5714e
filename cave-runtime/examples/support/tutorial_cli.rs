//! What the typed tutorials share: their command line (`--server`, `--datastack`,
//! `--version`), and a client for a real CAVE deployment or for a local in-process devserver
//! over the sample data.

use std::path::PathBuf;

use cave_devserver::{RunningServer, ServerConfig};
use cave_runtime::{Client, DEFAULT_SERVER};

/// What went wrong.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The parsed command line.
pub struct Args {
    /// A real deployment's global server; `None`: the local sample server.
    pub server: Option<String>,
    /// The datastack.
    pub datastack: String,
    /// The version to pin.
    pub version: u32,
    /// Flags of the tutorial itself (`--name value`), in order.
    pub extra: Vec<(String, String)>,
}

/// Parse `args` (without the program name); `Ok(None)` for `--help`. Flags other than the
/// shared ones go to `extra` when `takes(flag)`.
pub fn parse_args(
    mut args: impl Iterator<Item = String>,
    takes: impl Fn(&str) -> bool,
) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        server: std::env::var("CAVE_SERVER").ok().filter(|s| !s.is_empty()),
        datastack: "minnie65_public".into(),
        version: 1300,
        extra: Vec::new(),
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
            "--version" => parsed.version = version(&flag, &value()?)?,
            other if takes(other) => {
                let v = value()?;
                parsed.extra.push((flag, v));
            }
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    Ok(Some(parsed))
}

/// A version number given to `flag`.
pub fn version(flag: &str, v: &str) -> Result<u32, String> {
    v.parse()
        .map_err(|_| format!("{flag} `{v}` is not a version number"))
}

/// A client for `args`: the real deployment, or a local server started here (returned, to
/// keep it alive).
pub async fn client(args: &Args) -> Result<(Client, Option<RunningServer>), Error> {
    match &args.server {
        Some(server) => {
            println!(
                "CAVE server {server}, datastack {}, version {}.",
                args.datastack, args.version
            );
            let client = Client::builder(&args.datastack)
                .server(server)
                .version(args.version)
                .build()?;
            Ok((client, None))
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
            Ok((client, Some(server)))
        }
    }
}

/// Run `main` on a tokio runtime; errors printed as `Error: ...` with exit code 1 (a closed
/// pipe, as in `| head`, is not an error).
pub fn run_main<F>(main: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = Result<(), Error>>,
{
    use std::process::ExitCode;
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
    match runtime.block_on(main) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&*e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
