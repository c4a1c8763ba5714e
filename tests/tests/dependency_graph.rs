//! The proc-macro stays light: no CLI, network or Arrow crates in its build graph (DESIGN.md).

use std::process::Command;

#[test]
fn cave_macros_builds_without_cli_or_network_crates() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "cave-macros",
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
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(crates.contains(&"cave-schema"), "{tree}");
    assert!(crates.contains(&"cave-codegen"), "{tree}");
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
        assert!(
            !crates.contains(&banned),
            "cave-macros pulls in {banned}:\n{tree}"
        );
    }
}

/// The core crates' users do not compile the query engines: DataFusion (and anything built on
/// it) comes only with `cave-sql`.
#[test]
fn the_core_crates_build_without_datafusion() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for krate in [
        "cave-wire",
        "cave-schema",
        "cave-codegen",
        "cave-macros",
        "cave-runtime",
        "cave-cli",
        "cave-build",
    ] {
        let out = Command::new(&cargo)
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
        let tree = String::from_utf8(out.stdout).unwrap();
        for line in tree.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            assert!(
                !(name.starts_with("datafusion")
                    || name.starts_with("deltalake")
                    || name == "parquet"),
                "{krate} pulls in {name}"
            );
        }
    }
}
