//! `cave-build`'s opt-in refresh: the snapshot fetched from a server (here the devserver)
//! before the code is written, and the generated code then that of the fetched snapshot.

mod common;

use cave_devserver::{BackgroundServer, ServerConfig};
use common::{copy_snapshot, repo};

#[test]
fn a_refresh_fetches_the_snapshot_then_the_code_is_written_from_it() {
    let mut config = ServerConfig::new(repo().join("schemas/minnie65_public"));
    config.sample.synapses = 20_000;
    let server = BackgroundServer::start(config).expect("devserver starts");
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_snapshot(tmp.path());

    let builder = cave_build::Builder::new(&dir)
        .version(1300)
        .tables(["proofreading_status_and_strategy"]);
    builder
        .refresh_from(&server.base_url, Some("build-refresh-test-token-0123"))
        .unwrap();
    // The devserver's info record names itself as the local server: the refresh wrote that.
    let info = std::fs::read_to_string(dir.join("info.json")).unwrap();
    assert!(info.contains(&server.base_url), "{info}");

    let out = tmp.path().join("minnie.rs");
    builder.write_to(&out).unwrap();
    let code = std::fs::read_to_string(&out).unwrap();
    assert!(code.contains("pub struct ProofreadingStatusAndStrategy"));

    // A server that is not there: the error names the variable's meaning and the URL.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let e = cave_build::Builder::new(&dir)
        .refresh_from(&dead, Some("build-refresh-test-token-0123"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("CAVE_REFRESH_SNAPSHOT={dead}")) && e.contains("cannot connect"),
        "{e}"
    );
}
