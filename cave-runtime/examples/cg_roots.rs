//! Time the chunkedgraph's two bulk calls end to end: the roots of many supervoxels at a time
//! (`roots_binary`) and whether many roots are the latest (`is_latest_roots`). The Rust side
//! of `bench/chunkedgraph.sh`; `bench/py_chunkedgraph.py` is caveclient's.
//!
//! ```sh
//! cargo run --release --example cg_roots -- --server URL --prepare DIR --supervoxels 1000000 --roots 100000
//! cargo run --release --example cg_roots -- --server URL --supervoxels-file DIR/svs.u64 --mode roots
//! cargo run --release --example cg_roots -- --server URL --roots-file DIR/roots.u64 --mode latest
//! ```
//!
//! `--prepare` writes the inputs both clients time (little-endian u64): distinct supervoxels
//! of the synapse table and distinct v1181 roots. The timed modes print `mode=<roots|latest>
//! n=<ids> checksum=<sum of answers> seconds=<s> peak_rss_mib=<m> base_rss_mib=<b>`; the
//! timestamp is v1300's.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Instant;

use cave_runtime::{Client, RootId, TableQuery};

#[path = "support/memory.rs"]
mod support;

fn client(server: &str) -> Result<Client, cave_runtime::Error> {
    Client::builder("minnie65_public")
        .server(server)
        .token("benchmark-token")
        .token_search(None, false)
        .progress(false)
        .build()
}

fn int64s(batches: &cave_runtime::Batches, column: &str) -> Vec<i64> {
    use cave_runtime::arrow::array::{Array, Int64Array};
    batches
        .batches()
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(column).expect(column);
            let a = a.as_any().downcast_ref::<Int64Array>().expect("int64");
            (0..a.len())
                .filter(|&i| a.is_valid(i))
                .map(|i| a.value(i))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn write_ids(path: &std::path::Path, ids: &[i64]) -> std::io::Result<()> {
    let bytes: Vec<u8> = ids.iter().flat_map(|i| (*i as u64).to_le_bytes()).collect();
    std::fs::write(path, bytes)
}

fn read_ids(path: &str) -> Result<Vec<i64>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")) as i64)
        .collect())
}

async fn prepare(server: &str, dir: &str, svs: usize, roots: usize) -> Result<(), String> {
    let client = client(server).map_err(|e| e.to_string())?;
    let all = TableQuery::new("synapses_pni_2")
        .version(1300)
        .select(["pre_pt_supervoxel_id", "post_pt_supervoxel_id"])
        .query(&client)
        .await
        .map_err(|e| e.to_string())?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for sv in int64s(&all, "pre_pt_supervoxel_id")
        .into_iter()
        .chain(int64s(&all, "post_pt_supervoxel_id"))
    {
        if sv != 0 && seen.insert(sv) {
            out.push(sv);
        }
    }
    if out.len() < svs {
        return Err(format!(
            "the synapses have {} distinct supervoxels, fewer than {svs}",
            out.len()
        ));
    }
    out.truncate(svs);
    let early = TableQuery::new("synapses_pni_2")
        .version(1181)
        .select(["pre_pt_root_id", "post_pt_root_id"])
        .query(&client)
        .await
        .map_err(|e| e.to_string())?;
    let mut seen = BTreeSet::new();
    let mut old = Vec::new();
    for r in int64s(&early, "pre_pt_root_id")
        .into_iter()
        .chain(int64s(&early, "post_pt_root_id"))
    {
        if r != 0 && seen.insert(r) {
            old.push(r);
        }
    }
    if old.len() < roots {
        return Err(format!(
            "v1181 has {} distinct roots, fewer than {roots}",
            old.len()
        ));
    }
    old.truncate(roots);
    let dir = std::path::Path::new(dir);
    write_ids(&dir.join("svs.u64"), &out).map_err(|e| e.to_string())?;
    write_ids(&dir.join("roots.u64"), &old).map_err(|e| e.to_string())?;
    println!("prepared svs={} roots={}", out.len(), old.len());
    Ok(())
}

async fn timed(server: &str, mode: &str, file: &str) -> Result<(), String> {
    let ids = read_ids(file)?;
    let client = client(server).map_err(|e| e.to_string())?;
    let cg = client.chunkedgraph().await.map_err(|e| e.to_string())?;
    let at = client.timestamp(1300).await.map_err(|e| e.to_string())?;
    cg.oldest_timestamp().await.map_err(|e| e.to_string())?;
    let base = support::status_mib("VmRSS:").unwrap_or(f64::NAN);
    let start = Instant::now();
    let checksum: i128 = match mode {
        "roots" => cg
            .roots(&ids, Some(at), None)
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .map(|r| i128::from(r.0))
            .sum(),
        "latest" => {
            let roots: Vec<RootId> = ids.iter().map(|&r| RootId(r)).collect();
            cg.is_latest_roots(&roots, Some(at))
                .await
                .map_err(|e| e.to_string())?
                .iter()
                .filter(|l| **l)
                .count() as i128
        }
        other => return Err(format!("unknown mode {other}")),
    };
    let seconds = start.elapsed().as_secs_f64();
    let peak = support::status_mib("VmHWM:").unwrap_or(f64::NAN);
    println!(
        "mode={mode} n={} checksum={checksum} seconds={seconds:.6} peak_rss_mib={peak:.1} base_rss_mib={base:.1}",
        ids.len()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let Some(server) = get("--server") else {
        eprintln!("Error: --server URL is needed");
        return ExitCode::FAILURE;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let result = if let Some(dir) = get("--prepare") {
        let n =
            |flag: &str, default: usize| get(flag).and_then(|v| v.parse().ok()).unwrap_or(default);
        runtime.block_on(prepare(
            &server,
            &dir,
            n("--supervoxels", 1_000_000),
            n("--roots", 100_000),
        ))
    } else {
        let mode = get("--mode").unwrap_or_else(|| "roots".into());
        let file = get(if mode == "roots" {
            "--supervoxels-file"
        } else {
            "--roots-file"
        });
        match file {
            Some(file) => runtime.block_on(timed(&server, &mode, &file)),
            None => Err("--supervoxels-file or --roots-file is needed".into()),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
