//! Faults on demand, for client reliability tests: answer the next N matching requests with a
//! status (500, 502, 503, 504, 429 with `Retry-After`), add latency, cut the body short, or send
//! a wrong content type.
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
//! | `count=3` | affect this many matching requests (default 1; `count=all` for every one) |
//! | `path=/materialize` | match only paths starting with this (default: every path) |
//! | `method=POST` | match only this method |
//!
//! e.g. `--fault status=503,count=2,path=/materialize --fault latency_ms=200,count=all`.

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
    /// What it does.
    pub action: FaultAction,
}

impl FaultSpec {
    /// A fault answering the next `count` requests under `path` with `status`.
    pub fn status(status: u16, count: usize, path: &str) -> Self {
        FaultSpec {
            path: Some(path.to_string()),
            method: None,
            count: Some(count),
            action: FaultAction {
                status: Some(status),
                ..FaultAction::default()
            },
        }
    }

    /// Parse the command-line form (module docs).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut spec = FaultSpec {
            path: None,
            method: None,
            count: Some(1),
            action: FaultAction::default(),
        };
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
                "count" if value == "all" => spec.count = None,
                "count" => spec.count = Some(number("count")? as usize),
                "path" => spec.path = Some(value.to_string()),
                "method" => spec.method = Some(value.to_ascii_uppercase()),
                other => {
                    return Err(format!(
                        "fault `{text}`: unknown key `{other}`{} (keys: status, retry_after, latency_ms, truncate, content_type, count, path, method)",
                        cave_schema::suggest::did_you_mean(
                            other,
                            [
                                "status",
                                "retry_after",
                                "latency_ms",
                                "truncate",
                                "content_type",
                                "count",
                                "path",
                                "method"
                            ]
                        )
                    ));
                }
            }
        }
        if spec.action == FaultAction::default() {
            return Err(format!(
                "fault `{text}` does nothing: give status, latency_ms, truncate or content_type"
            ));
        }
        Ok(spec)
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.path.as_deref().is_none_or(|p| path.starts_with(p))
            && self.method.as_deref().is_none_or(|m| m == method)
    }
}

/// The faults of a running server; tests may add faults while it runs.
#[derive(Debug, Default)]
pub struct Faults {
    pending: Mutex<Vec<FaultSpec>>,
}

impl Faults {
    /// Faults from a list, applied in order (the first matching one wins).
    pub fn new(specs: Vec<FaultSpec>) -> Self {
        Faults {
            pending: Mutex::new(specs),
        }
    }

    /// Add a fault after those already pending.
    pub fn push(&self, spec: FaultSpec) {
        self.lock().push(spec);
    }

    /// Remove every pending fault.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The action for this request, if a fault matches (using up one of its count).
    pub fn take(&self, method: &str, path: &str) -> Option<FaultAction> {
        let mut pending = self.lock();
        let index = pending.iter().position(|f| f.matches(method, path))?;
        let action = pending[index].action.clone();
        if let Some(count) = pending[index].count.as_mut() {
            *count = count.saturating_sub(1);
            if *count == 0 {
                pending.remove(index);
            }
        }
        Some(action)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultSpec>> {
        // A panic while holding this lock cannot leave the list inconsistent; keep serving.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
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
    }
}
