//! The proc-macro stays light: no CLI, network or Arrow crates in its build graph (DESIGN.md).

use std::process::Command;

/// The crates `krate` builds with (normal and build dependencies), one name each, itself
/// included.
fn build_graph(krate: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            krate,
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree -p {krate} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn cave_macros_builds_without_cli_or_network_crates() {
    let crates = build_graph("cave-macros");
    let tree = crates.join("\n");
    let has = |name: &str| crates.iter().any(|c| c == name);
    assert!(has("cave-schema"), "{tree}");
    assert!(has("cave-codegen"), "{tree}");
    for banned in [
        "clap",
        "reqwest",
        "hyper",
        "tokio",
        "arrow",
        "arrow-ipc",
        "axum",
        "ureq",
        "rustls",
    ] {
        assert!(!has(banned), "cave-macros pulls in {banned}:\n{tree}");
    }
}

/// The core crates' users do not compile the query engines: DataFusion (and anything built on
/// it) comes only with `cave-sql`, and Ballista only with `cave-distributed`.
#[test]
fn the_core_crates_build_without_datafusion() {
    for krate in [
        "cave-wire",
        "cave-schema",
        "cave-codegen",
        "cave-macros",
        "cave-runtime",
        "cave-cli",
        "cave-build",
    ] {
        for name in build_graph(krate) {
            assert!(
                !(name.starts_with("datafusion")
                    || name.starts_with("deltalake")
                    || name.starts_with("ballista")
                    || name == "parquet"),
                "{krate} pulls in {name}"
            );
        }
    }
}
