//! The MICrONS "materialization versions" workflow, typed: cells of an older version, their
//! root ids that proofreading changed by a newer version, their latest roots, the nucleus id
//! as the stable handle, and the lineage of one edited cell.
//!
//! ```sh
//! cargo run --release --example edited_cells                                       # local sample data
//! cargo run --release --example edited_cells -- --server https://global.daf-apis.com --from 943
//! ```
//!
//! By default it starts `cave-devserver` in this process (sample data with an edit history
//! between v1181 and v1300) and runs against it; `--server URL` (or `CAVE_SERVER`) runs it on
//! a real deployment, with the token of `CAVE_TOKEN` or caveclient's token files.

mod history;
#[path = "../support/tutorial_cli.rs"]
mod tutorial_cli;

use std::process::ExitCode;

const USAGE: &str = "\
The MICrONS \"materialization versions\" workflow, with typed tables and the chunkedgraph.

Usage: cargo run --release --example edited_cells -- [OPTIONS]

Options:
  --server URL        a CAVE deployment's global server, e.g. https://global.daf-apis.com
                      (default: $CAVE_SERVER, else a local in-process server with sample data);
                      the token comes from CAVE_TOKEN or caveclient's ~/.cloudvolume/secrets files
  --datastack NAME    the datastack (default: minnie65_public)
  --from N            the older version (default: 1181 locally, 943 on a real server, where
                      1181 has expired)
  --version N         the newer version (default: 1300)
  -h, --help          this text
";

fn main() -> ExitCode {
    let args = match tutorial_cli::parse_args(std::env::args().skip(1), |f| f == "--from") {
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
    let older = match args.extra.iter().find(|(f, _)| f == "--from") {
        Some((f, v)) => match tutorial_cli::version(f, v) {
            Ok(v) => v,
            Err(message) => {
                eprintln!("Error: {message}");
                return ExitCode::FAILURE;
            }
        },
        None if args.server.is_some() => 943,
        None => 1181,
    };
    tutorial_cli::run_main(async move {
        let (client, _local) = tutorial_cli::client(&args).await?;
        history::run(&client, older, args.version, &mut std::io::stdout()).await?;
        Ok(())
    })
}
