//! Blocking JSON GETs against CAVE services: the token as header and cookie (API.md §2.2),
//! gzip, timeouts, retries of gateway errors, and errors that name the URL, the status and the
//! server's message.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::error::FetchError;
use cave_schema::token::{FoundToken, TOKEN_ENV};
use cave_schema::untrusted::Redactor;

/// Answers larger than this, once gzip is undone, are refused (types_all is about 60 kB;
/// metadata lists are small).
pub const BODY_LIMIT: u64 = 32 << 20;

/// Pauses before the retries of a 502, 503 or 504 (as caveclient: three retries).
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(0),
    Duration::from_millis(200),
    Duration::from_millis(400),
];

/// How long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For the connection (TCP and TLS): 10 s by default.
    pub connect: Duration,
    /// For the answer, and for each read of its body: 120 s by default.
    pub read: Duration,
    /// For a whole request, the answer read to its end and retries included: 5 minutes by
    /// default (a server sending a byte a second still ends in an error).
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(120),
            total: Duration::from_secs(300),
        }
    }
}

/// An HTTP client for the info, schema and materialization services.
pub struct Client {
    agent: ureq::Agent,
    token: Option<FoundToken>,
    timeouts: Timeouts,
    redactor: Redactor,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `FoundToken`'s Debug already redacts; spelled out so that no later field leaks it.
        f.debug_struct("Client")
            .field(
                "token",
                &self
                    .token
                    .as_ref()
                    .map(|t| format!("<redacted> from {}", t.source)),
            )
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client sending `token` (if any) on every request.
    pub fn new(token: Option<FoundToken>, timeouts: Timeouts) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A token-less request to a CAVE service is redirected to a login page: report
            // the redirect instead of parsing the page.
            .max_redirects(0)
            .timeout_connect(Some(timeouts.connect))
            .timeout_recv_response(Some(timeouts.read))
            .timeout_per_read(Some(timeouts.read))
            .user_agent(concat!("cave-schema/", env!("CARGO_PKG_VERSION")))
            .build();
        let redactor = Redactor::new(token.as_ref().map(|t| t.token.secret()));
        Client {
            agent: config.into(),
            token,
            timeouts,
            redactor,
        }
    }

    /// Server text fit for a message: the token replaced, escape codes escaped.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The token this client sends, if any.
    pub fn token(&self) -> Option<&FoundToken> {
        self.token.as_ref()
    }

    /// GET `url` and parse the answer as JSON. 502, 503 and 504 are retried three times,
    /// within the request's deadline ([`Timeouts::total`]). Errors come cleaned of the token
    /// and of escape codes.
    pub fn get_json(&self, url: &str) -> Result<Value, FetchError> {
        self.get_json_raw(url)
            .map_err(|e| e.cleaned(&self.redactor))
    }

    fn get_json_raw(&self, url: &str) -> Result<Value, FetchError> {
        let deadline = std::time::Instant::now() + self.timeouts.total;
        let mut attempt = 0;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(self.past_deadline(url));
            }
            let (status, location, body) = self.get_once(url, left)?;
            if matches!(status, 502..=504) && attempt < RETRY_DELAYS.len() {
                if std::time::Instant::now() + RETRY_DELAYS[attempt] >= deadline {
                    return Err(self.past_deadline(url));
                }
                std::thread::sleep(RETRY_DELAYS[attempt]);
                attempt += 1;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(self.status_error(url, status, location, &body));
            }
            let mut value: Value = serde_json::from_slice(&body).map_err(|e| {
                FetchError::malformed(
                    url,
                    format!(
                        "expected JSON, found {} ({e})",
                        snippet(&self.redactor, &body)
                    ),
                )
            })?;
            self.redactor.redact_json(&mut value);
            return Ok(value);
        }
    }

    /// The request's deadline ([`Timeouts::total`], retries included) has passed.
    fn past_deadline(&self, url: &str) -> FetchError {
        FetchError::Timeout {
            url: url.to_string(),
            phase: format!(
                "with no complete answer within {} s (the request's deadline)",
                self.timeouts.total.as_secs_f64()
            ),
        }
    }

    /// One request within `left` (ureq's global timeout): status, `Location`, body.
    fn get_once(
        &self,
        url: &str,
        left: Duration,
    ) -> Result<(u16, Option<String>, Vec<u8>), FetchError> {
        let mut request = self
            .agent
            .get(url)
            .config()
            .timeout_global(Some(left))
            .build();
        if let Some(found) = &self.token {
            let secret = found.token.secret();
            request = request
                .header("Authorization", format!("Bearer {secret}"))
                .header("Cookie", format!("middle_auth_token={secret}"));
        }
        let mut response = request.call().map_err(|e| self.transport_error(url, e))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::Timeout(ureq::Timeout::Global) => self.past_deadline(url),
                ureq::Error::Timeout(_) => FetchError::Timeout {
                    url: url.to_string(),
                    phase: format!(
                        "reading the answer (limit {} s per read)",
                        self.timeouts.read.as_secs()
                    ),
                },
                ureq::Error::BodyExceedsLimit(limit) => FetchError::malformed(
                    url,
                    format!(
                        "the answer is larger than the limit of {} MiB for a JSON answer",
                        limit >> 20
                    ),
                ),
                e => FetchError::malformed(url, format!("cannot read the answer: {e}")),
            })?;
        Ok((status, location, body))
    }

    fn transport_error(&self, url: &str, e: ureq::Error) -> FetchError {
        let unreachable = |reason: String| FetchError::Unreachable {
            url: url.to_string(),
            reason,
        };
        match e {
            ureq::Error::Timeout(ureq::Timeout::Global) => self.past_deadline(url),
            ureq::Error::Timeout(t) => FetchError::Timeout {
                url: url.to_string(),
                phase: match t {
                    ureq::Timeout::Connect | ureq::Timeout::Resolve => format!(
                        "connecting (limit {} s): is the address right, and the server up?",
                        self.timeouts.connect.as_secs()
                    ),
                    other => format!(
                        "waiting for the answer ({other}; limit {} s)",
                        self.timeouts.read.as_secs()
                    ),
                },
            },
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                unreachable(format!(
                    "connection refused: nothing listens at {}; is the server running, and are --server / --local-server right?",
                    host_port(url)
                ))
            }
            ureq::Error::HostNotFound => unreachable(format!(
                "unknown host `{}`; check --server / --local-server",
                host_port(url)
            )),
            ureq::Error::ConnectionFailed => unreachable(format!(
                "cannot connect to {}; is the server running?",
                host_port(url)
            )),
            ureq::Error::Io(io) if io.to_string().contains("lookup address") => {
                unreachable(format!(
                    "unknown host `{}` ({io}); check --server / --local-server",
                    host_port(url)
                ))
            }
            ureq::Error::BadUri(m) => unreachable(format!("not a usable URL: {m}")),
            other => unreachable(format!("request failed: {other}")),
        }
    }

    fn status_error(
        &self,
        url: &str,
        status: u16,
        location: Option<String>,
        body: &[u8],
    ) -> FetchError {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        // Cleaned with every other error by `get_json`; redacted inside before any cut.
        let message = server_message(json.as_ref(), body, &self.redactor);
        let source = self.token.as_ref().map(|t| t.source.to_string());
        let hint = match (status, &source) {
            (401, None) => Some(format!(
                "the server wants a token: pass --token, set {TOKEN_ENV}, or save it as {{\"token\": \"...\"}} in ~/.cloudvolume/secrets/<server host>-cave-secret.json"
            )),
            (401, Some(source)) => Some(format!(
                "the token from {source} was refused: it may be expired or for another server; get a new one (caveclient: `client.auth.get_new_token()`) and pass it with --token or {TOKEN_ENV}"
            )),
            (403, source) => {
                let who = source
                    .as_ref()
                    .map_or("the request".to_string(), |s| format!("the token from {s}"));
                let tos = json
                    .as_ref()
                    .and_then(|j| j.pointer("/data/tos_form_url"))
                    .and_then(Value::as_str)
                    .map(|u| format!("; accept the terms of service at {u}"))
                    .unwrap_or_default();
                Some(format!(
                    "{who} lacks permission for this datastack{tos}; check --token / {TOKEN_ENV}"
                ))
            }
            (300..=399, None) => Some(format!(
                "redirected to {}: CAVE services send requests without a token to their login page; pass --token or set {TOKEN_ENV}",
                location.as_deref().unwrap_or("another page")
            )),
            (300..=399, Some(_)) => Some(format!(
                "redirected to {}; use that address",
                location.as_deref().unwrap_or("another page")
            )),
            _ => None,
        };
        FetchError::Status {
            url: url.to_string(),
            status,
            message,
            hint,
        }
    }
}

/// The message of an error answer: the JSON `message` (with the `error` code of auth
/// failures), a JSON string, `schema_errors`, or the start of the text.
fn server_message(json: Option<&Value>, body: &[u8], redactor: &Redactor) -> String {
    match json {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(map)) => {
            let message = map.get("message").and_then(Value::as_str);
            let code = map.get("error").and_then(Value::as_str);
            match (message, code) {
                (Some(m), Some(c)) => format!("{m} ({c})"),
                (Some(m), None) => m.to_string(),
                _ => {
                    let mut compact = map.clone();
                    compact.remove("traceback");
                    shorten(&redactor.redact(&Value::Object(compact).to_string()))
                }
            }
        }
        Some(other) => shorten(&redactor.redact(&other.to_string())),
        None if body.is_empty() => String::new(),
        None => snippet(redactor, body),
    }
}

/// A short, one-line quotation of a body that is not the JSON expected (the token replaced
/// before it is cut, escape codes escaped).
fn snippet(redactor: &Redactor, body: &[u8]) -> String {
    if body.is_empty() {
        return "an empty answer".to_string();
    }
    redactor.excerpt(body, 200)
}

fn shorten(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// `host:port` of a URL, for messages.
fn host_port(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())]
}

/// `base` (trailing slashes dropped) followed by `path`.
pub fn join_url(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

pub use cave_schema::wire::segment;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_the_server_error_shapes() {
        let wrapped = serde_json::json!({"code": 500, "message": "404 Not Found: version 9 not found in ds", "traceback": ["x"]});
        let r = Redactor::new(None);
        assert_eq!(
            server_message(Some(&wrapped), b"", &r),
            "404 Not Found: version 9 not found in ds"
        );
        let auth =
            serde_json::json!({"error": "no_token", "message": "Unauthorized - No Token Provided"});
        assert_eq!(
            server_message(Some(&auth), b"", &r),
            "Unauthorized - No Token Provided (no_token)"
        );
        assert_eq!(
            server_message(Some(&serde_json::json!("No version found")), b"", &r),
            "No version found"
        );
        assert_eq!(
            server_message(None, b"<html>\n <b>gone</b></html>", &r),
            "`<html> <b>gone</b></html>`"
        );
    }

    #[test]
    fn segments_and_urls() {
        assert_eq!(segment("minnie65_public"), "minnie65_public");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
        assert_eq!(join_url("http://x:1/", "/info"), "http://x:1/info");
        assert_eq!(host_port("http://127.0.0.1:9/a?b"), "127.0.0.1:9");
    }
}
