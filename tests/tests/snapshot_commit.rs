//! A snapshot is written all at once (`cave_schema::commit`): a process killed at any step of
//! the write, or one whose disk fills up, leaves the old snapshot or the new one, never a mix
//! of the two or a torn file.
//!
//! The write runs in a child process (this test binary again, `commit_child`), which aborts at
//! step N of the commit for every N (`CAVE_SCHEMA_TEST_CRASH_AFTER`), is killed at random
//! moments of a real fetch from the devserver, or runs out of file size (`RLIMIT_FSIZE`).
//! After each, what a reader sees (`Snapshot::load`) and, once the next writer has finished or
//! undone the commit, every byte on disk, is the old snapshot or the new one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cave_schema::Snapshot;
use cave_schema::commit::{CRASH_AFTER_ENV, JOURNAL, recover};

/// What the child does: `write DIR` (the committed snapshot into DIR's datastack folder), or
/// `fetch URL DIR` (a real fetch from the devserver).
const CHILD_ENV: &str = "CAVE_COMMIT_CHILD";
/// Limit the child's file size to this many bytes (a full disk).
const FSIZE_ENV: &str = "CAVE_COMMIT_CHILD_FSIZE";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The child's side: run when `CAVE_COMMIT_CHILD` is set, else nothing.
#[test]
fn commit_child() {
    let Ok(job) = std::env::var(CHILD_ENV) else {
        return;
    };
    if let Some(limit) = std::env::var(FSIZE_ENV).ok().and_then(|v| v.parse().ok()) {
        let r = libc::rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        };
        // SAFETY: plain libc calls with valid arguments; a write past the limit then fails
        // with EFBIG instead of killing the process.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            libc::setrlimit(libc::RLIMIT_FSIZE, &r);
        }
    }
    let parts: Vec<&str> = job.split('\n').collect();
    match parts.as_slice() {
        ["write", dir] => {
            let new = Snapshot::load(repo().join("schemas/minnie65_public")).unwrap();
            match new.write_with_types(dir) {
                Ok(_) => println!("CHILD: written"),
                Err(e) => println!("CHILD: error: {e}"),
            }
        }
        ["fetch", url, dir] => {
            let mut config = cave_cli::fetch::FetchConfig::new(*url, "minnie65_public");
            config.local_server = Some(url.to_string());
            config.token = cave_cli::fetch::find_token(Some("t"), None, None, url).unwrap();
            let outcome = cave_cli::fetch::fetch_snapshot(
                &config,
                Path::new(dir),
                &mut cave_cli::fetch::Progress::silent(),
            );
            println!("CHILD: {:?}", outcome.map(|o| o.written.len()));
        }
        other => panic!("unknown job {other:?}"),
    }
}

fn child(job: &str, env: &[(&str, String)]) -> std::process::Child {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "commit_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, job)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().expect("the child starts")
}

/// Every file of `root`'s two snapshot folders, and anything else under `root`.
fn disk(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// The committed snapshot copied under `root`, then changed everywhere a fetch can change it:
/// the datastack record, the tables, a type edited, a type missing (fetch writes it back).
fn old_snapshot(root: &Path) -> PathBuf {
    for sub in ["minnie65_public", "types"] {
        let (from, to) = (repo().join("schemas").join(sub), root.join(sub));
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    let ds = root.join("minnie65_public");
    let edit = |path: PathBuf, from: &str, to: &str| {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{} has {from}", path.display());
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    edit(ds.join("info.json"), "publicly released", "OLD released");
    edit(
        ds.join("tables.json"),
        "\"description\": \"",
        "\"description\": \"OLD ",
    );
    edit(
        root.join("types/synapse.json"),
        "\"title\": \"",
        "\"title\": \"OLD ",
    );
    std::fs::remove_file(root.join("types/bound_double_tag_user.json")).unwrap();
    ds
}

/// The snapshot a reader sees, as its rendered files.
fn seen(ds: &Path) -> Result<BTreeMap<String, String>, String> {
    let s = Snapshot::load(ds).map_err(|e| e.to_string())?;
    let mut files: BTreeMap<String, String> = s
        .render()
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
    files.extend(
        s.types
            .render()
            .into_iter()
            .map(|(n, t)| (format!("types/{n}"), t)),
    );
    Ok(files)
}

struct States {
    old_disk: BTreeMap<String, Vec<u8>>,
    new_disk: BTreeMap<String, Vec<u8>>,
    old_seen: BTreeMap<String, String>,
    new_seen: BTreeMap<String, String>,
}

/// The old and new states, from one write that is not interrupted.
fn states() -> States {
    let tmp = tempfile::tempdir().unwrap();
    let ds = old_snapshot(tmp.path());
    let (old_disk, old_seen) = (disk(tmp.path()), seen(&ds).unwrap());
    let out = child(&format!("write\n{}", ds.display()), &[])
        .wait_with_output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("CHILD: written"), "{stdout}");
    let (new_disk, new_seen) = (disk(tmp.path()), seen(&ds).unwrap());
    assert_ne!(old_seen, new_seen);
    assert_ne!(old_disk, new_disk);
    States {
        old_disk,
        new_disk,
        old_seen,
        new_seen,
    }
}

/// After a stopped write: the reader sees old or new; the next writer's recovery leaves that
/// same state on disk, byte for byte, and nothing else.
fn check_after_stop(root: &Path, ds: &Path, s: &States, what: &str) -> &'static str {
    let before = seen(ds).unwrap_or_else(|e| panic!("{what}: the snapshot does not load: {e}"));
    let view = if before == s.new_seen {
        "new"
    } else if before == s.old_seen {
        "old"
    } else {
        panic!("{what}: a reader sees a mix of the old and the new snapshot");
    };
    recover(root).unwrap_or_else(|e| panic!("{what}: recovery: {e}"));
    let after = disk(root);
    let expected = if view == "new" {
        &s.new_disk
    } else {
        &s.old_disk
    };
    if &after != expected {
        let differ: Vec<&String> = after
            .keys()
            .chain(expected.keys())
            .filter(|k| after.get(*k) != expected.get(*k))
            .collect();
        panic!("{what}: after recovery the files are not the {view} snapshot: {differ:?}");
    }
    view
}

#[test]
fn a_write_stopped_at_any_step_leaves_the_old_or_the_new_snapshot() {
    let s = states();
    let mut views = Vec::new();
    for step in 0.. {
        let tmp = tempfile::tempdir().unwrap();
        let ds = old_snapshot(tmp.path());
        let out = child(
            &format!("write\n{}", ds.display()),
            &[(CRASH_AFTER_ENV, step.to_string())],
        )
        .wait_with_output()
        .unwrap();
        if out.status.success() {
            // The write has fewer steps than this: it completed.
            assert_eq!(disk(tmp.path()), s.new_disk, "complete at step {step}");
            break;
        }
        assert!(step < 2000, "the write never completes");
        views.push(check_after_stop(
            tmp.path(),
            &ds,
            &s,
            &format!("stopped at step {step}"),
        ));
        assert!(!tmp.path().join(JOURNAL).exists());
    }
    // Stops both before and after the commit point were tried.
    assert!(
        views.contains(&"old") && views.contains(&"new"),
        "{views:?}"
    );
    eprintln!(
        "{} stops: {} saw the old snapshot, {} the new",
        views.len(),
        views.iter().filter(|v| **v == "old").count(),
        views.iter().filter(|v| **v == "new").count()
    );
}

#[test]
fn a_full_disk_leaves_the_old_snapshot_and_nothing_else() {
    let s = states();
    let tmp = tempfile::tempdir().unwrap();
    let ds = old_snapshot(tmp.path());
    // Files of the snapshot are up to a few hundred kB: 16 kB is too little for some.
    let out = child(
        &format!("write\n{}", ds.display()),
        &[(FSIZE_ENV, (16 << 10).to_string())],
    )
    .wait_with_output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("CHILD: error") && stdout.contains("File too large"),
        "{stdout}"
    );
    assert_eq!(
        disk(tmp.path()),
        s.old_disk,
        "nothing changed, nothing left"
    );
}

#[test]
fn a_fetch_killed_at_random_moments_leaves_the_old_or_the_new_snapshot() {
    let mut config = cave_devserver::ServerConfig::new(repo().join("schemas/minnie65_public"));
    config.advertise_local_server = Some("https://minnie.microns-daf.com".into());
    config.sample.synapses = 1_000;
    let server = cave_devserver::BackgroundServer::start(config).unwrap();
    // The old and new states of a fetch: the old snapshot, and what a whole fetch makes of it
    // (timed, to spread the kills over it).
    let tmp = tempfile::tempdir().unwrap();
    let ds = old_snapshot(tmp.path());
    let (old_disk, old_seen) = (disk(tmp.path()), seen(&ds).unwrap());
    let started = std::time::Instant::now();
    let out = child(
        &format!("fetch\n{}\n{}", server.base_url, ds.display()),
        &[],
    )
    .wait_with_output()
    .unwrap();
    let whole = started.elapsed();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("CHILD: Ok("),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let s = States {
        old_disk,
        old_seen,
        new_disk: disk(tmp.path()),
        new_seen: seen(&ds).unwrap(),
    };
    assert_ne!(s.old_seen, s.new_seen, "the fetch changes the snapshot");
    let mut rng = 0x9e3779b97f4a7c15u64;
    for i in 0..12 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let delay = whole.mul_f64((rng % 1000) as f64 / 1000.0);
        let tmp = tempfile::tempdir().unwrap();
        let ds = old_snapshot(tmp.path());
        let mut c = child(
            &format!("fetch\n{}\n{}", server.base_url, ds.display()),
            &[],
        );
        std::thread::sleep(delay);
        let _ = c.kill();
        let _ = c.wait();
        check_after_stop(
            tmp.path(),
            &ds,
            &s,
            &format!("kill {i} after {} ms", delay.as_millis()),
        );
    }
}
