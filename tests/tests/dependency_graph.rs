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
