//! A user's crate, made from the README alone: its `Cargo.toml` and `src/main.rs` are the
//! README's "Use it in your crate" blocks (the runtime dependency pointed at this checkout),
//! its snapshot a copy of `schemas/`. It is built outside the workspace with only the
//! dependencies the README names, then run against the devserver, and must print what this
//! workspace's own client finds for the same query.

use std::process::Command;

mod common;

use cave_devserver::{BackgroundServer, ServerConfig};
use common::{copy_snapshot, repo};

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = ["proofreading_status_and_strategy"]
    );
}

/// The code block after the README's `<!-- user-crate: NAME -->` marker.
fn readme_block(readme: &str, name: &str) -> String {
    let marker = format!("<!-- user-crate: {name} -->");
    let after = readme
        .split_once(&marker)
        .unwrap_or_else(|| panic!("README.md has no `{marker}`"))
        .1;
    let body = after
        .split_once("```")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no code block after `{marker}`"));
    body.split_once("```")
        .unwrap_or_else(|| panic!("the block after `{marker}` does not end"))
        .0
        .to_string()
}

#[test]
fn the_readme_crate_builds_outside_the_workspace_and_runs_against_the_devserver() {
    let repo = repo().canonicalize().unwrap();
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let manifest = readme_block(&readme, "Cargo.toml");
    let main = readme_block(&readme, "src/main.rs");

    // The README's dependency on the published crate, pointed at this checkout.
    let published = "cave-runtime = \"0.1\"";
    assert!(
        manifest.contains(published),
        "the README's Cargo.toml has no `{published}`:\n{manifest}"
    );
    let runtime = repo.join("cave-runtime");
    let manifest = manifest.replace(
        published,
        &format!(
            "cave-runtime = {{ path = {:?} }}",
            runtime.display().to_string()
        ),
    );
    let dependencies: Vec<&str> = manifest
        .split_once("[dependencies]")
        .unwrap()
        .1
        .lines()
        .filter_map(|l| l.split_once('=').map(|(name, _)| name.trim()))
        .collect();
    assert_eq!(dependencies, ["cave-runtime", "tokio"], "{manifest}");

    let tmp = tempfile::tempdir().unwrap();
    let krate = tmp.path().join("proofread-axons");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(krate.join("Cargo.toml"), &manifest).unwrap();
    std::fs::write(krate.join("src/main.rs"), &main).unwrap();
    copy_snapshot(&krate);
    // The workspace's versions, so that the build uses what CI has already downloaded.
    std::fs::copy(repo.join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();

    let mut config = ServerConfig::new(repo.join("schemas/minnie65_public"));
    config.sample.synapses = 20_000; // not queried; keeps start-up short
    let server = BackgroundServer::start(config).expect("devserver starts");
    let run = |server_url: &str| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        Command::new(cargo)
            .args(["run", "--quiet"])
            .current_dir(&krate)
            // Its own target folder: the test's cargo holds the workspace's.
            .env("CARGO_TARGET_DIR", repo.join("target/user-crate"))
            .env_remove("CAVE_SCHEMA_DIR")
            .env("CAVE_SERVER", server_url)
            .env("CAVE_TOKEN", "user-crate-test-token-0123456789")
            .output()
            .expect("cargo runs")
    };
    let out = run(&server.base_url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README crate failed:\n{stderr}\n{stdout}"
    );

    // What this workspace's client finds for the same query.
    let client = cave_runtime::blocking::Client::new(
        cave_runtime::Client::builder("minnie65_public")
            .server(&server.base_url)
            .token("user-crate-test-token-0123456789")
            .progress(false)
            .build()
            .unwrap(),
    )
    .unwrap();
    let cells = client
        .query(
            minnie::ProofreadingStatusAndStrategy::filter()
                .status_axon(true)
                .strategy_axon(minnie::ProofreadingStrategy::AxonFullyExtended),
        )
        .unwrap();
    assert!(!cells.is_empty());
    let expected = format!(
        "{} cells with a fully extended axon at version Some(1300)",
        cells.len()
    );
    assert!(
        stdout.contains(&expected),
        "expected `{expected}` in:\n{stdout}"
    );
    assert!(
        stdout.contains(&format!("  nucleus {} at ", cells[0].valid_id)),
        "{stdout}"
    );

    // A server that is not there: `Error: ` and the message (URL and cause), exit code 1.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let out = run(&dead);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "Error: GET {dead}/info/api/v2/datastack/full/minnie65_public: cannot connect"
        )),
        "{stderr}"
    );
}
