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
#[path = "../support/tutorial_cli.rs"]
mod tutorial_cli;

use std::process::ExitCode;

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

fn main() -> ExitCode {
    let args = match tutorial_cli::parse_args(std::env::args().skip(1), |_| false) {
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
    tutorial_cli::run_main(async move {
        // The local server lives until the end of this block.
        let (client, _local) = tutorial_cli::client(&args).await?;
        tutorial::run(&client, &mut std::io::stdout()).await?;
        Ok(())
    })
}
