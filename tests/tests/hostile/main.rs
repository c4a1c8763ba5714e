//! The hostile-server suite: the client and `cave fetch`/`check` against a server that
//! lies, cuts, bombs, stalls, redirects and echoes the token (`scenarios.rs`), each scenario
//! in a child process of its own so that its peak memory and exit status are its own.
//!
//! Every scenario must end in the exact rows or a clear error naming what was wrong, within its
//! time, under its memory bound, without a panic or an abort, with the token in no output and
//! never sent to another host, and with nothing written outside the snapshot.
//!
//! `cargo test -p cave-tests --test hostile [-- NAME...]` runs all scenarios (or those whose
//! names contain a NAME) and prints a table: scenario, outcome, time, peak memory.

mod bodies;
mod child;
mod proxy;
mod scenarios;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cave_devserver::{BackgroundServer, ServerConfig};
use serde_json::Value;

use scenarios::{Expect, SCENARIOS, Scenario, TOKEN};

/// A child that runs longer than this is a hang.
const WATCHDOG: Duration = Duration::from_secs(60);

/// Scenarios run at once (each is a process; most of their time is waiting).
const PARALLEL: usize = 4;

fn main() {
    if let Ok(name) = std::env::var(child::SCENARIO_ENV) {
        child::run(&name);
        return;
    }
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let chosen: Vec<&'static Scenario> = SCENARIOS
        .iter()
        .filter(|s| filters.is_empty() || filters.iter().any(|f| s.name.contains(f.as_str())))
        .collect();
    if chosen.is_empty() {
        println!("hostile: no scenario matches {filters:?}");
        return;
    }

    let started = Instant::now();
    let mut config = ServerConfig::new(repo().join("schemas/minnie65_public"));
    // Small, but with two pages for the 1,865 proofreading rows.
    config.sample.synapses = 2_000;
    config.row_limit = 1_000;
    config.advertise_local_server = Some("https://minnie.microns-daf.com".into());
    let server = BackgroundServer::start(config).expect("the devserver starts");
    let proxy = proxy::Proxy::start(&server.base_url, scenarios::behaviour);
    // Made before any scenario's clock starts.
    let _ = bodies::gzip_parts();

    let queue = Arc::new(Mutex::new(chosen.clone()));
    let reports = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL {
            let (queue, reports, proxy, direct) =
                (queue.clone(), reports.clone(), &proxy, &server.base_url);
            scope.spawn(move || {
                loop {
                    let Some(scenario) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let report = run_child(scenario, proxy, direct);
                    reports.lock().unwrap().push(report);
                }
            });
        }
    });
    let mut reports = std::mem::take(&mut *reports.lock().unwrap());
    reports.sort_by_key(|r| {
        SCENARIOS
            .iter()
            .position(|s| s.name == r.scenario.name)
            .unwrap_or(usize::MAX)
    });

    let mut failures = 0;
    println!("\nscenarios:");
    for r in &reports {
        println!("  {:<28} {}", r.scenario.name, r.scenario.what);
    }
    println!(
        "\n{:<28} {:<14} {:<7} {:>7} {:>9}  outcome",
        "scenario", "workload", "verdict", "secs", "peak MiB"
    );
    for r in &reports {
        for line in &r.lines {
            println!(
                "{:<28} {:<14} {:<7} {:>7.2} {:>9.0}  {}",
                r.scenario.name,
                line.workload,
                if line.problems.is_empty() {
                    "ok"
                } else {
                    "FAIL"
                },
                line.secs,
                r.peak_kib as f64 / 1024.0,
                line.summary
            );
            for p in &line.problems {
                println!("{:>28}   ! {p}", "");
            }
            failures += usize::from(!line.problems.is_empty());
        }
        for p in &r.problems {
            println!("{:<28} {:<14} FAIL    ! {p}", r.scenario.name, "(process)");
            failures += 1;
        }
    }
    println!(
        "\nhostile: {} scenarios, {failures} failures, {:.1} s",
        reports.len(),
        started.elapsed().as_secs_f64()
    );
    if failures > 0 {
        std::process::exit(1);
    }
}

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What one child did.
struct Report {
    scenario: &'static Scenario,
    lines: Vec<Line>,
    peak_kib: u64,
    /// Problems of the process as a whole: exit status, hang, the token, other hosts.
    problems: Vec<String>,
}

/// One workload's outcome and what is wrong with it.
struct Line {
    workload: String,
    secs: f64,
    summary: String,
    problems: Vec<String>,
}

fn run_child(scenario: &'static Scenario, proxy: &proxy::Proxy, direct: &str) -> Report {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(child::SCENARIO_ENV, scenario.name)
        .env(child::BASE_ENV, proxy.base(scenario.name))
        .env(child::DIRECT_ENV, direct)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the child starts");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let mut problems = Vec::new();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            problems.push(format!("hang: killed after {} s", WATCHDOG.as_secs()));
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    if let Some(status) = status
        && !status.success()
    {
        // The panic's message, else the last line (an allocation failure's).
        let lines: Vec<&str> = stderr.lines().collect();
        let why = match lines.iter().position(|l| l.contains("panicked at")) {
            Some(i) => format!(
                "{} {}",
                lines[i].trim(),
                lines.get(i + 1).unwrap_or(&"").trim()
            ),
            None => lines
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or(&"")
                .trim()
                .to_string(),
        };
        problems.push(format!("crash: {status}: {}", one_line(&why)));
    }
    if stdout.contains(TOKEN) || stderr.contains(TOKEN) {
        problems.push("the token appears in the output".into());
    }
    let foreign: Vec<String> = proxy
        .seen(scenario.name)
        .into_iter()
        .filter(|s| s.listener == "foreign" && s.with_token)
        .map(|s| s.path)
        .collect();
    if !foreign.is_empty() {
        problems.push(format!(
            "the token was sent to another host: {}",
            foreign.join(", ")
        ));
    }
    let mut peak_kib = 0;
    let mut lines = Vec::new();
    for l in stdout.lines() {
        if let Some(v) = l.strip_prefix("PEAK_KIB ") {
            peak_kib = v.trim().parse().unwrap_or(0);
        }
        if let Some(json) = l.strip_prefix("RESULT ") {
            let v: Value = serde_json::from_str(json).expect("a result line");
            lines.push(judge(scenario, &v));
        }
    }
    if peak_kib > scenario.max_peak_mib << 10 {
        problems.push(format!(
            "peak memory {} MiB, more than {} MiB",
            peak_kib >> 10,
            scenario.max_peak_mib
        ));
    }
    if status.is_some_and(|s| s.success()) && lines.len() != scenario.workloads.len() {
        problems.push(format!(
            "{} of {} workloads reported",
            lines.len(),
            scenario.workloads.len()
        ));
    }
    Report {
        scenario,
        lines,
        peak_kib,
        problems,
    }
}

/// Check one workload's result against the scenario's expectation and the universal rules.
fn judge(scenario: &Scenario, v: &Value) -> Line {
    let workload = v["workload"].as_str().unwrap_or("?").to_string();
    let ok = v["ok"].as_bool().unwrap_or(false);
    let exact = v["exact"].as_bool().unwrap_or(false);
    // URLs of the proxy are long and the same everywhere: shorten them for the table.
    let text = v["text"].as_str().unwrap_or("").to_string();
    let shown = shorten_urls(&text);
    let secs = v["secs"].as_f64().unwrap_or(0.0);
    let mut problems = Vec::new();
    let summary = if ok {
        format!(
            "{} rows{}",
            v["rows"],
            if exact {
                ", exact"
            } else {
                ", NOT the reference"
            }
        )
    } else {
        format!("error: {}", one_line(&shown))
    };
    let has_all = |pieces: &[&str]| pieces.iter().all(|p| text.contains(p));
    match scenario.expect {
        Expect::Exact if !(ok && exact) => problems.push("expected the exact rows".into()),
        Expect::Ok if !ok => problems.push("expected success".into()),
        Expect::Error(pieces) if ok || !has_all(pieces) => {
            problems.push(format!("expected an error naming {pieces:?}"))
        }
        Expect::ExactOrError(pieces) if !((ok && exact) || (!ok && has_all(pieces))) => problems
            .push(format!(
                "expected the exact rows or an error naming {pieces:?}"
            )),
        _ => {}
    }
    if v["raw_controls"].as_bool().unwrap_or(false) {
        problems.push("raw control characters in the text shown".into());
    }
    if secs > scenario.max_secs {
        problems.push(format!(
            "took {secs:.1} s, more than {} s",
            scenario.max_secs
        ));
    }
    if let Some(outside) = v["outside"].as_array()
        && !outside.is_empty()
    {
        problems.push(format!("files written outside the snapshot: {outside:?}"));
    }
    Line {
        workload,
        secs,
        summary,
        problems,
    }
}

/// `http://127.0.0.1:P/s/<scenario>/path?query` as `…/path`.
fn shorten_urls(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("http://127.0.0.") {
        out.push_str(&rest[..i]);
        let url_end = rest[i..]
            .find(|c: char| c.is_whitespace() || c == '`')
            .map_or(rest.len(), |e| i + e);
        let url = rest[i..url_end].trim_end_matches(':');
        let path = url.splitn(6, '/').nth(5).unwrap_or("");
        let path = path.split('?').next().unwrap_or("");
        out.push_str(&format!("…/{path}"));
        rest = &rest[i + url.len()..];
    }
    out.push_str(rest);
    out
}

fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(220) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}
