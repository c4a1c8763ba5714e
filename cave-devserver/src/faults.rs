//! Faults on demand, for client reliability tests: answer matching requests with a status
//! (500, 502, 503, 504, 429 with `Retry-After`), add latency, cut the body short, or send a wrong
//! content type; the next N matching requests, every one, or a random fraction of them drawn
//! from a seed, so that a mix of faults is reproducible.
//!
//! On the command line a fault is one `--fault` value of comma-separated `key=value` pairs:
//!
//! | key | meaning |
//! |---|---|
//! | `status=503` | answer with this status (JSON body as the ingress sends) |
//! | `retry_after=2` | with `status`: add `Retry-After: 2` |
//! | `latency_ms=300` | wait this long before answering |
//! | `truncate=1000` | send only the first N bytes of the body, then drop the connection |
//! | `content_type=text/html` | replace the response's `Content-Type` |
//! | `count=3` | affect this many matching requests (default 1; `count=all` for every one; with `rate`, default `all`) |
//! | `rate=0.3` | affect each matching request with this probability (0 to 1), until `count` are affected |
//! | `seed=7` | with `rate`: the seed of the draws (default 0) |
//! | `path=/materialize` | match only paths starting with this (default: every path) |
//! | `method=POST` | match only this method |
//!
//! Faults are tried in order and the first one that matches and fires wins: a request a fault
//! with `rate` passes over goes on to the next fault, so several `rate` faults make a mix. The
//! draw for a fault's n-th matching request is a hash of its seed and n, so the same sequence of
//! requests meets the same faults on every run (with concurrent clients the order of requests,
//! and so which request meets which fault, varies; how many of each fault a run meets does not,
//! for the same number of requests).
//!
//! e.g. `--fault status=503,count=2,path=/materialize --fault latency_ms=200,count=all`, or a
//! mix: `--fault status=503,rate=0.05,seed=1 --fault truncate=100,rate=0.05,seed=2
//! --fault latency_ms=30,rate=0.2,seed=3`.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

/// What a fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultAction {
    /// Answer with this status instead of handling the request.
    pub status: Option<u16>,
    /// `Retry-After` seconds to send with `status`.
    pub retry_after: Option<u64>,
    /// Delay before answering.
    pub latency: Option<Duration>,
    /// Send only this many bytes of the body, then drop the connection.
    pub truncate: Option<usize>,
    /// Replace `Content-Type` with this.
    pub content_type: Option<String>,
}

/// One fault: which requests, how many, and what happens.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Path prefix the request must start with (None: all).
    pub path: Option<String>,
    /// Method the request must have (None: all).
    pub method: Option<String>,
    /// How many matching requests it affects (None: unlimited).
    pub count: Option<usize>,
    /// The probability that it affects a matching request (None: every one, until `count`).
    pub rate: Option<f64>,
    /// The seed of the `rate` draws.
    pub seed: u64,
    /// What it does.
    pub action: FaultAction,
}

const KEYS: [&str; 10] = [
    "status",
    "retry_after",
    "latency_ms",
    "truncate",
    "content_type",
    "count",
    "rate",
    "seed",
    "path",
    "method",
];

impl FaultSpec {
    /// A fault answering the next `count` requests under `path` with `status`.
    pub fn status(status: u16, count: usize, path: &str) -> Self {
        FaultSpec {
            path: Some(path.to_string()),
            method: None,
            count: Some(count),
            rate: None,
            seed: 0,
            action: FaultAction {
                status: Some(status),
                ..FaultAction::default()
            },
        }
    }

    /// The same fault on each matching request with probability `rate`, drawn from `seed`, for
    /// every matching request (no count).
    pub fn with_rate(mut self, rate: f64, seed: u64) -> Self {
        self.rate = Some(rate);
        self.seed = seed;
        self.count = None;
        self
    }

    /// Parse the command-line form (module docs).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut spec = FaultSpec {
            path: None,
            method: None,
            count: Some(1),
            rate: None,
            seed: 0,
            action: FaultAction::default(),
        };
        let mut count_given = false;
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("fault `{text}`: `{part}` is not key=value"))?;
            let number = |what: &str| -> Result<u64, String> {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("fault `{text}`: {what} `{value}` is not a whole number"))
            };
            match key {
                "status" => {
                    let status = number("status")?;
                    if !(100..=599).contains(&status) {
                        return Err(format!("fault `{text}`: status {status} is not 100-599"));
                    }
                    spec.action.status = Some(status as u16);
                }
                "retry_after" => spec.action.retry_after = Some(number("retry_after")?),
                "latency_ms" => {
                    spec.action.latency = Some(Duration::from_millis(number("latency_ms")?))
                }
                "truncate" => spec.action.truncate = Some(number("truncate")? as usize),
                "content_type" => spec.action.content_type = Some(value.to_string()),
                "count" => {
                    count_given = true;
                    spec.count = if value == "all" {
                        None
                    } else {
                        match number("count")? {
                            0 => {
                                return Err(format!(
                                    "fault `{text}`: count must be at least 1 (or `all`)"
                                ));
                            }
                            n => Some(n as usize),
                        }
                    };
                }
                "rate" => {
                    let rate = value
                        .parse::<f64>()
                        .ok()
                        .filter(|r| (0.0..=1.0).contains(r))
                        .ok_or_else(|| {
                            format!("fault `{text}`: rate `{value}` is not a number from 0 to 1")
                        })?;
                    spec.rate = Some(rate);
                }
                "seed" => spec.seed = number("seed")?,
                "path" => spec.path = Some(value.to_string()),
                "method" => spec.method = Some(value.to_ascii_uppercase()),
                other => {
                    return Err(format!(
                        "fault `{text}`: unknown key `{other}`{} (keys: {})",
                        cave_schema::suggest::did_you_mean(other, KEYS),
                        KEYS.join(", ")
                    ));
                }
            }
        }
        if spec.action == FaultAction::default() {
            return Err(format!(
                "fault `{text}` does nothing: give status, latency_ms, truncate or content_type"
            ));
        }
        if spec.rate.is_some() && !count_given {
            spec.count = None;
        }
        Ok(spec)
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.path.as_deref().is_none_or(|p| path.starts_with(p))
            && self.method.as_deref().is_none_or(|m| m == method)
    }
}

/// The command-line form: `FaultSpec::parse` of it gives the same fault.
impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.action;
        let mut parts: Vec<String> = Vec::new();
        if let Some(s) = a.status {
            parts.push(format!("status={s}"));
        }
        if let Some(s) = a.retry_after {
            parts.push(format!("retry_after={s}"));
        }
        if let Some(l) = a.latency {
            parts.push(format!("latency_ms={}", l.as_millis()));
        }
        if let Some(t) = a.truncate {
            parts.push(format!("truncate={t}"));
        }
        if let Some(c) = &a.content_type {
            parts.push(format!("content_type={c}"));
        }
        match self.count {
            None => parts.push("count=all".into()),
            Some(n) => parts.push(format!("count={n}")),
        }
        if let Some(r) = self.rate {
            parts.push(format!("rate={r}"));
            parts.push(format!("seed={}", self.seed));
        }
        if let Some(p) = &self.path {
            parts.push(format!("path={p}"));
        }
        if let Some(m) = &self.method {
            parts.push(format!("method={m}"));
        }
        f.write_str(&parts.join(","))
    }
}

/// Whether the `n`-th draw (from 0) of a fault with `rate` and `seed` fires: splitmix64 of the
/// seed and n, as a fraction of 2^64.
fn draw(seed: u64, n: u64, rate: f64) -> bool {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(n.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // 53 random bits as a fraction in [0, 1).
    ((z >> 11) as f64 / (1u64 << 53) as f64) < rate
}

/// A fault and what it has done so far.
#[derive(Debug)]
struct Pending {
    spec: FaultSpec,
    /// Matching requests seen (the draws made, with `rate`).
    seen: u64,
    /// Requests it affected.
    fired: u64,
}

impl Pending {
    fn spent(&self) -> bool {
        self.spec.count == Some(0)
    }
}

/// What one fault did: how many matching requests it saw and how many it affected.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultCount {
    /// The fault (its `count` is what remains of it).
    pub spec: FaultSpec,
    /// Matching requests that reached it (not taken by an earlier fault).
    pub seen: u64,
    /// Requests it affected.
    pub fired: u64,
}

/// The faults of a running server; tests may add faults while it runs.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Every fault added since the last `clear`, spent ones included (for `counts`).
    faults: Vec<Pending>,
    /// Requests seen since the server started.
    requests: u64,
}

impl Faults {
    /// Faults from a list, applied in order (the first matching one wins).
    pub fn new(specs: Vec<FaultSpec>) -> Self {
        let faults = Faults::default();
        for spec in specs {
            faults.push(spec);
        }
        faults
    }

    /// Add a fault after those already pending.
    pub fn push(&self, spec: FaultSpec) {
        self.lock().faults.push(Pending {
            spec,
            seen: 0,
            fired: 0,
        });
    }

    /// Remove every fault (and its counts).
    pub fn clear(&self) {
        self.lock().faults.clear();
    }

    /// The action for this request, if a fault matches and fires (using up one of its count).
    pub fn take(&self, method: &str, path: &str) -> Option<FaultAction> {
        let mut state = self.lock();
        state.requests += 1;
        for pending in state.faults.iter_mut() {
            if pending.spent() || !pending.spec.matches(method, path) {
                continue;
            }
            let n = pending.seen;
            pending.seen += 1;
            if let Some(rate) = pending.spec.rate
                && !draw(pending.spec.seed, n, rate)
            {
                continue;
            }
            pending.fired += 1;
            if let Some(count) = pending.spec.count.as_mut() {
                *count = count.saturating_sub(1);
            }
            return Some(pending.spec.action.clone());
        }
        None
    }

    /// Each fault added since the last [`Faults::clear`], spent ones included, with what it did.
    pub fn counts(&self) -> Vec<FaultCount> {
        self.lock()
            .faults
            .iter()
            .map(|p| FaultCount {
                spec: p.spec.clone(),
                seen: p.seen,
                fired: p.fired,
            })
            .collect()
    }

    /// Requests the server has seen (faulted or not) since it started.
    pub fn requests(&self) -> u64 {
        self.lock().requests
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the list inconsistent; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_counts_down() {
        let spec = FaultSpec::parse("status=503,count=2,path=/materialize,retry_after=1").unwrap();
        assert_eq!(spec.action.status, Some(503));
        assert_eq!(spec.action.retry_after, Some(1));
        let faults = Faults::new(vec![spec]);
        assert!(faults.take("GET", "/info/version").is_none());
        assert!(faults.take("POST", "/materialize/x").is_some());
        assert!(faults.take("POST", "/materialize/x").is_some());
        assert!(faults.take("POST", "/materialize/x").is_none());
    }

    #[test]
    fn unlimited_and_method() {
        let faults = Faults::new(vec![
            FaultSpec::parse("latency_ms=5,count=all,method=post").unwrap(),
        ]);
        for _ in 0..5 {
            assert!(faults.take("POST", "/a").is_some());
        }
        assert!(faults.take("GET", "/a").is_none());
    }

    #[test]
    fn bad_specs_say_why() {
        assert!(
            FaultSpec::parse("statsu=500")
                .unwrap_err()
                .contains("status")
        );
        assert!(
            FaultSpec::parse("status=700")
                .unwrap_err()
                .contains("100-599")
        );
        assert!(
            FaultSpec::parse("count=3")
                .unwrap_err()
                .contains("does nothing")
        );
        assert!(
            FaultSpec::parse("status")
                .unwrap_err()
                .contains("key=value")
        );
        for bad in [
            "status=503,rate=1.5",
            "status=503,rate=-0.1",
            "status=503,rate=x",
        ] {
            assert!(
                FaultSpec::parse(bad).unwrap_err().contains("from 0 to 1"),
                "{bad}"
            );
        }
        assert!(
            FaultSpec::parse("status=503,count=0")
                .unwrap_err()
                .contains("at least 1")
        );
        assert!(FaultSpec::parse("rtae=0.1").unwrap_err().contains("rate"));
    }

    fn fired(faults: &Faults, requests: usize) -> Vec<bool> {
        (0..requests)
            .map(|_| faults.take("POST", "/materialize/q").is_some())
            .collect()
    }

    #[test]
    fn rates_fire_on_about_that_fraction_reproducibly() {
        let spec = FaultSpec::parse("status=503,rate=0.3,seed=7").unwrap();
        assert_eq!(spec.count, None, "a rate fault lasts unless counted");
        let a = fired(&Faults::new(vec![spec.clone()]), 10_000);
        let b = fired(&Faults::new(vec![spec.clone()]), 10_000);
        assert_eq!(a, b, "the same seed gives the same faults");
        let hits = a.iter().filter(|f| **f).count();
        assert!(
            (2_800..3_200).contains(&hits),
            "{hits} of 10000 at rate 0.3"
        );
        let other = fired(
            &Faults::new(vec![
                FaultSpec::parse("status=503,rate=0.3,seed=8").unwrap(),
            ]),
            10_000,
        );
        assert_ne!(a, other, "another seed, other faults");
        // Not in runs: at most a few faults in a row at 0.3.
        let longest = a
            .split(|f| !*f)
            .map(<[bool]>::len)
            .max()
            .unwrap_or_default();
        assert!(longest < 15, "{longest}");

        assert!(
            fired(&Faults::new(vec![spec.clone().with_rate(0.0, 1)]), 1000)
                .iter()
                .all(|f| !f)
        );
        assert!(
            fired(&Faults::new(vec![spec.with_rate(1.0, 1)]), 1000)
                .iter()
                .all(|f| *f)
        );
    }

    #[test]
    fn a_mix_of_rates_passes_requests_on_and_counts_what_it_did() {
        let faults = Faults::new(vec![
            FaultSpec::parse("status=503,rate=0.1,seed=1,path=/materialize").unwrap(),
            FaultSpec::parse("truncate=10,rate=0.2,seed=2,count=50").unwrap(),
            FaultSpec::parse("latency_ms=1,rate=0.5,seed=3,method=post").unwrap(),
        ]);
        let mut kinds = [0usize; 4];
        for _ in 0..10_000 {
            match faults.take("POST", "/materialize/q") {
                Some(a) if a.status.is_some() => kinds[0] += 1,
                Some(a) if a.truncate.is_some() => kinds[1] += 1,
                Some(a) if a.latency.is_some() => kinds[2] += 1,
                Some(a) => panic!("{a:?}"),
                None => kinds[3] += 1,
            }
        }
        assert!((900..1_100).contains(&kinds[0]), "{kinds:?}");
        assert_eq!(kinds[1], 50, "count caps a rate fault: {kinds:?}");
        // What the first two leave, half of it.
        assert!((4_200..4_800).contains(&kinds[2]), "{kinds:?}");
        assert_eq!(kinds.iter().sum::<usize>(), 10_000);
        // A GET outside /materialize meets only the truncation, which is spent.
        assert!(faults.take("GET", "/info/x").is_none());

        let counts = faults.counts();
        assert_eq!(faults.requests(), 10_001);
        assert_eq!(counts.len(), 3);
        assert_eq!(counts[0].seen, 10_000);
        assert_eq!(counts[0].fired as usize, kinds[0]);
        assert_eq!(counts[1].fired, 50);
        assert_eq!(counts[1].spec.count, Some(0));
        assert_eq!(counts[2].fired as usize, kinds[2]);
        assert_eq!(counts[2].seen as usize, kinds[2] + kinds[3]);
        faults.clear();
        assert!(faults.counts().is_empty());
    }

    #[test]
    fn display_is_the_command_line_form() {
        for text in [
            "status=429,retry_after=0,count=all,rate=0.05,seed=9,path=/materialize",
            "truncate=100,count=3",
            "latency_ms=20,content_type=text/html,count=1,method=GET",
        ] {
            let spec = FaultSpec::parse(text).unwrap();
            assert_eq!(spec.to_string(), text);
            assert_eq!(FaultSpec::parse(&spec.to_string()).unwrap(), spec);
        }
    }
}
