//! Load properties of the client, fast: one client reuses its connections, and its memory does
//! not grow with the number of queries. `cargo run --release --example load` measures the
//! figures.
//!
//! Connections: thousands of queries open about as many connections as are in flight, not one
//! per query. Not exactly as many: hyper hands a connection back to the pool from a task of its
//! own once the answer is read, and when the next request finds the pool empty before that, it
//! starts a connection too, which hyper finishes in the background and pools. Sequential
//! queries so open a few connections (up to the client's idle pool of 10) before every request
//! finds one idle; concurrent ones, up to those in flight plus the idle pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cave_devserver::{BackgroundServer, ServerConfig};
use cave_runtime::{Client, RootId};

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = ["synapses_pni_2", "proofreading_status_and_strategy"]
    );
}

use minnie::{ProofreadingStatusAndStrategy, SynapsesPni2};

const SYNAPSES: usize = 5_000;
/// The most idle connections the client keeps per host (`pool_max_idle_per_host`).
const IDLE_POOL: u64 = 10;

fn snapshot_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/minnie65_public").to_string()
}

fn client(server: &BackgroundServer) -> Client {
    Client::builder("minnie65_public")
        .server(&server.base_url)
        .token("0123456789abcdef0123456789abcdef")
        .token_search(None, false)
        .progress(false)
        .build()
        .unwrap()
}

/// The resident set of this process, in kB (Linux).
fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `n` queries of a small mix, `concurrency` at a time; the rows they returned.
async fn run(client: &Client, roots: &Arc<Vec<RootId>>, n: usize, concurrency: usize) -> usize {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, roots, next) = (client.clone(), roots.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut rows = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return rows;
                }
                // A whole table (1,865 rows) now and then, so that a leak of answers shows.
                rows += if i % 5 == 4 {
                    ProofreadingStatusAndStrategy::filter()
                        .query(&client)
                        .await
                        .unwrap()
                        .len()
                } else {
                    SynapsesPni2::filter()
                        .post_pt_root_id(roots[i % roots.len()])
                        .query(&client)
                        .await
                        .unwrap()
                        .len()
                };
            }
        }));
    }
    let mut rows = 0;
    for t in tasks {
        rows += t.await.unwrap();
    }
    rows
}

#[test]
fn one_client_reuses_its_connections_and_its_memory_stays_flat() {
    let mut config = ServerConfig::new(snapshot_dir());
    config.sample.synapses = SYNAPSES;
    config.sample.versions = vec![1300];
    let server = BackgroundServer::start(config).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Neurons with inputs.
        let setup = client(&server);
        let mut roots: Vec<RootId> = SynapsesPni2::filter()
            .query(&setup)
            .await
            .unwrap()
            .iter()
            .filter_map(|s| s.post_pt_root_id)
            .collect();
        roots.sort_unstable();
        roots.dedup();
        roots.truncate(100);
        let roots = Arc::new(roots);

        // A fresh client: every connection the server accepts from now on is its own.
        let before = server.connections();
        let client = client(&server);
        let mut queries = 0;
        for (n, concurrency) in [(250, 1), (250, 4), (250, 8), (250, 1)] {
            let rows = run(&client, &roots, n, concurrency).await;
            assert!(rows > n, "{rows} rows");
            queries += n;
            let opened = server.connections() - before;
            println!(
                "{queries} queries, the last {n} {concurrency} at once: {opened} connections so far"
            );
            // In use plus idle, plus two hyper may still be finishing; one per query would be
            // hundreds.
            assert!(
                opened <= concurrency as u64 + IDLE_POOL + 2,
                "{opened} connections for {queries} queries, {concurrency} at once"
            );
        }

        // Memory: after a warm-up, four times the queries leave the resident set where it was.
        run(&client, &roots, 300, 8).await;
        let Some(warm) = rss_kb() else {
            println!("no /proc/self/status: memory not checked");
            return;
        };
        run(&client, &roots, 1_200, 8).await;
        let after = rss_kb().unwrap();
        let grown = after.saturating_sub(warm);
        println!(
            "memory: {} MB after 300 queries, {} MB after 1,200 more",
            warm / 1024,
            after / 1024
        );
        assert!(
            grown < 16 * 1024,
            "the resident set grew by {} MB over 1,200 queries",
            grown / 1024
        );
    });
}
