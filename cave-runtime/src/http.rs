//! HTTP as caveclient speaks it (docs/WIRE.md: "HTTP conventions", "Sending the token", "Retries"): the token as `Authorization: Bearer`
//! and as the `middle_auth_token` cookie, one pooled connection set per client, and retries of
//! 502/503/504 and of broken connections with caveclient's backoff (0 s, 0.2 s, 0.4 s, ...),
//! waiting as told by `Retry-After` on 429 and 503.

use std::time::Duration;

use crate::token::{FoundToken, TokenSource};
use cave_wire::untrusted::Redactor;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde_json::Value;

use crate::error::Error;
use crate::limits::{Limits, Timeouts};

/// How a client retries (docs/WIRE.md, "Retries").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (caveclient: 3, so 4 attempts in all).
    pub max_retries: u32,
    /// The backoff factor: retry `n` (from 1) waits `factor * 2^(n-1)`, except the first,
    /// which waits nothing (urllib3's rule: 0 s, 0.2 s, 0.4 s for 0.1 s).
    pub backoff_factor: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// The longest `Retry-After` wait honoured; a longer one ends the retries.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            backoff_factor: Duration::from_millis(100),
            max_backoff: Duration::from_secs(120),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, retry: u32) -> Duration {
        if retry <= 1 {
            return Duration::ZERO;
        }
        let factor = 2u32.saturating_pow(retry - 1);
        self.backoff_factor
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// The `Accept-Encoding` of query POSTs: the server then compresses the Arrow buffers with ZSTD.
pub(crate) const ARROW_ACCEPT_ENCODING: &str = "zstd";

/// How much of an error answer's body is read for its message.
const ERROR_BODY_MAX: u64 = 1 << 20;

/// Redirects followed, all to the server first asked (a redirect elsewhere is not followed).
const MAX_REDIRECTS: usize = 5;

/// The HTTP side of a client.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    token: Option<FoundToken>,
    retry: RetryPolicy,
    /// The server whose token files were searched, for hints.
    token_server: String,
    redactor: Redactor,
    timeouts: Timeouts,
    limits: Limits,
}

/// A request to send: GET of JSON, POST of a query's JSON body, or a chunkedgraph call.
pub(crate) enum Request<'a> {
    Get,
    /// JSON text, plus the `Accept-Encoding` to ask for.
    Post {
        body: &'a str,
        accept_encoding: &'static str,
    },
    /// A chunkedgraph call (docs/WIRE.md, "Chunkedgraph"): `method` with `body` sent as it
    /// is, a `Content-Type` only when one is given (caveclient passes `data=str` or bytes, for
    /// which requests sets none), the default `Accept-Encoding`, the answer bounded by
    /// `answer`.
    Call {
        method: Method,
        body: Body<'a>,
        content_type: Option<&'static str>,
        answer: AnswerBound,
    },
}

/// The method of a [`Request::Call`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

/// The body of a [`Request::Call`]: none, JSON text (also on a GET: PCG reads bodies of
/// GETs), or raw bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Body<'a> {
    Empty,
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// How big the answer of a [`Request::Call`] may be.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AnswerBound {
    /// [`Limits::max_json_bytes`].
    Json,
    /// At most `bytes` (a raw answer whose size follows from the request); `what` names it
    /// in the error.
    Bytes { bytes: u64, what: &'static str },
}

impl Request<'_> {
    fn method(&self) -> &'static str {
        match self {
            Request::Get
            | Request::Call {
                method: Method::Get,
                ..
            } => "GET",
            Request::Post { .. }
            | Request::Call {
                method: Method::Post,
                ..
            } => "POST",
        }
    }

    /// The bound on the answer's size after content decoding.
    fn bound(&self, limits: &Limits) -> Bound {
        let json = Bound {
            bytes: limits.max_json_bytes,
            what: "JSON answers",
            setting: Some("max_json_bytes"),
        };
        match self {
            Request::Get => json,
            Request::Post { .. } => Bound {
                bytes: limits.max_page_bytes,
                what: "query pages",
                setting: Some("max_page_bytes"),
            },
            Request::Call { answer, .. } => match *answer {
                AnswerBound::Json => json,
                AnswerBound::Bytes { bytes, what } => Bound {
                    bytes,
                    what,
                    setting: None,
                },
            },
        }
    }
}

/// The most an answer may be: `bytes`, for `what`, raised with `Limits::<setting>` if any.
#[derive(Debug, Clone, Copy)]
struct Bound {
    bytes: u64,
    what: &'static str,
    setting: Option<&'static str>,
}

/// Why one attempt failed.
enum Failure {
    /// The exchange broke (connection, cut body, idle timeout): worth another attempt.
    Transport(String),
    /// The answer is over a limit: an error at once.
    TooLarge(String),
}

impl Http {
    pub(crate) fn new(
        token: Option<FoundToken>,
        token_server: String,
        retry: RetryPolicy,
        timeouts: Timeouts,
        limits: Limits,
    ) -> Result<Self, Error> {
        let mut headers = HeaderMap::new();
        // caveclient's (requests') default, byte for byte; reqwest would send `gzip,deflate`.
        // Still decoded, as reqwest's gzip/deflate features are on; query POSTs replace it.
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate"),
        );
        if let Some(found) = &token {
            let secret = found.token.secret();
            let mut bearer = HeaderValue::from_str(&format!("Bearer {secret}")).map_err(|_| {
                Error::Config("the token has characters a header cannot hold".into())
            })?;
            bearer.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, bearer);
            let mut cookie = HeaderValue::from_str(&format!("middle_auth_token={secret}"))
                .map_err(|_| {
                    Error::Config("the token has characters a cookie cannot hold".into())
                })?;
            cookie.set_sensitive(true);
            headers.insert(header::COOKIE, cookie);
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("cave-runtime/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.idle)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                // The token goes with every request: follow only redirects to the server that
                // was asked (scheme, host and port), as the answer is trusted as its own.
                let same = attempt
                    .previous()
                    .first()
                    .is_some_and(|first| same_origin(first, attempt.url()));
                if same && attempt.previous().len() <= MAX_REDIRECTS {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .pool_max_idle_per_host(10)
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let redactor = Redactor::new(token.as_ref().map(|t| t.token.secret()));
        Ok(Http {
            client,
            token,
            retry,
            token_server,
            redactor,
            timeouts,
            limits,
        })
    }

    pub(crate) fn token(&self) -> Option<&FoundToken> {
        self.token.as_ref()
    }

    /// What the server's answers may be.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The client's timeouts.
    pub(crate) fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// Server text fit for an error: the token replaced, escape codes escaped.
    pub(crate) fn clean(&self, text: &str) -> String {
        self.redactor.clean(text)
    }

    /// An error with every text in it cleaned ([`Http::clean`]).
    pub(crate) fn clean_error(&self, e: Error) -> Error {
        e.cleaned(&self.redactor)
    }

    /// The redactor of this client's token.
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// GET `url` and parse its JSON (the token, should the server echo it, replaced in it).
    pub(crate) async fn get_json(&self, url: &str) -> Result<Value, Error> {
        let bytes = self.send(url, Request::Get, None).await?.bytes;
        let mut value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            self.clean_error(Error::BadResponse {
                url: url.to_string(),
                problem: format!(
                    "expected JSON, got {} ({e})",
                    self.redactor.excerpt(&bytes, 300)
                ),
            })
        })?;
        self.redactor.redact_json(&mut value);
        Ok(value)
    }

    /// Send a request with retries, within the request's deadline (and the `query_left` of
    /// its query, if shorter); a 2xx answer comes back whole, anything else is an error.
    /// Errors come cleaned.
    pub(crate) async fn send(
        &self,
        url: &str,
        request: Request<'_>,
        query_left: Option<Duration>,
    ) -> Result<Received, Error> {
        self.send_raw(url, request, query_left)
            .await
            .map_err(|e| self.clean_error(e))
    }

    async fn send_raw(
        &self,
        url: &str,
        request: Request<'_>,
        query_left: Option<Duration>,
    ) -> Result<Received, Error> {
        let method = request.method();
        let deadline = Deadline::new(self.timeouts.request, query_left);
        let bound = request.bound(&self.limits);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let transport = |message: String, attempts: u32| Error::Transport {
                method,
                url: url.to_string(),
                message,
                attempts,
            };
            let outcome = match tokio::time::timeout_at(
                deadline.at,
                self.attempt(url, &request, bound),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => return Err(transport(deadline.describe(), attempt)),
            };
            let retry = attempt <= self.retry.max_retries;
            let wait = match outcome {
                Ok(received) if received.status.is_success() => return Ok(received),
                Ok(received) => {
                    let received = &received;
                    let status = received.status.as_u16();
                    let retryable = matches!(status, 429 | 502 | 503 | 504);
                    if !retry || !retryable {
                        return Err(self.status_error(method, url, received, attempt));
                    }
                    match retry_after(&received.headers).filter(|_| matches!(status, 429 | 503)) {
                        Some(wait) if wait > self.retry.max_retry_after => {
                            return Err(self.status_error(method, url, received, attempt));
                        }
                        Some(wait) => wait,
                        None => self.retry.backoff(attempt),
                    }
                }
                Err(Failure::TooLarge(message)) => {
                    return Err(Error::BadResponse {
                        url: url.to_string(),
                        problem: message,
                    });
                }
                Err(Failure::Transport(message)) => {
                    if !retry {
                        return Err(transport(message, attempt));
                    }
                    self.retry.backoff(attempt)
                }
            };
            if tokio::time::Instant::now() + wait >= deadline.at {
                return Err(transport(deadline.describe(), attempt));
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: the answer read to its end (at most `limit` bytes once decoded), or why
    /// the exchange failed.
    async fn attempt(
        &self,
        url: &str,
        request: &Request<'_>,
        bound: Bound,
    ) -> Result<Received, Failure> {
        let builder = match request {
            Request::Get => self.client.get(url),
            Request::Post {
                body,
                accept_encoding,
            } => self
                .client
                .post(url)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT_ENCODING, *accept_encoding)
                .body(body.to_string()),
            Request::Call {
                method,
                body,
                content_type,
                answer: _,
            } => {
                let builder = match method {
                    Method::Get => self.client.get(url),
                    Method::Post => self.client.post(url),
                };
                let builder = match content_type {
                    Some(t) => builder.header(header::CONTENT_TYPE, *t),
                    None => builder,
                };
                match body {
                    Body::Empty => builder,
                    Body::Text(text) => builder.body(text.to_string()),
                    Body::Bytes(bytes) => builder.body(bytes.to_vec()),
                }
            }
        };
        let limit = bound.bytes;
        let mut response = builder
            .send()
            .await
            .map_err(|e| Failure::Transport(describe(e)))?;
        let status = response.status();
        let headers = response.headers().clone();
        let too_large = |size: String| {
            let raise = match bound.setting {
                Some(setting) => {
                    format!(" (raise it with ClientBuilder::limits, Limits::{setting})")
                }
                None => String::new(),
            };
            // A bound of the request's own (not a setting) is exact: say it in bytes.
            let limit_text = match bound.setting {
                Some(_) => crate::limits::size(limit),
                None => format!("{limit} bytes"),
            };
            Failure::TooLarge(format!(
                "the answer {size} the limit of {limit_text} for {}{raise}",
                bound.what
            ))
        };
        // Error answers: only their start is read, for the message.
        let keep = if status.is_success() {
            limit
        } else {
            ERROR_BODY_MAX
        };
        let declared = response.content_length();
        if status.is_success()
            && let Some(n) = declared.filter(|n| *n > limit)
        {
            return Err(too_large(format!(
                "declares {n} bytes (Content-Length), over"
            )));
        }
        let mut bytes =
            bytes::BytesMut::with_capacity(declared.unwrap_or(0).min(keep).min(64 << 20) as usize);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (bytes.len() + chunk.len()) as u64 > keep {
                        if status.is_success() {
                            return Err(too_large("goes past".to_string()));
                        }
                        let room = keep as usize - bytes.len();
                        bytes.extend_from_slice(&chunk[..room]);
                        break;
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(Failure::Transport(format!(
                        "the response body was cut short or unreadable after the headers (HTTP {}): {}",
                        status.as_u16(),
                        describe(e)
                    )));
                }
            }
        }
        Ok(Received {
            status,
            headers,
            bytes: bytes.freeze(),
        })
    }

    fn status_error(
        &self,
        method: &'static str,
        url: &str,
        received: &Received,
        attempts: u32,
    ) -> Error {
        let status = received.status.as_u16();
        if received.status.is_redirection() {
            let location = received
                .headers
                .get(header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_else(|| "nowhere".to_string());
            return Error::Http {
                method,
                url: url.to_string(),
                status,
                message: format!(
                    "redirected to {location}, not followed: the token goes only to the \
                     configured servers, and the answer of another is not trusted (CAVE \
                     services also redirect to their login page when the token is missing or \
                     refused)"
                ),
                attempts,
            };
        }
        // The error is cleaned whole by `send`; excerpts are redacted here, before the cut.
        let json: Option<Value> = serde_json::from_slice(&received.bytes).ok();
        let code = json
            .as_ref()
            .and_then(|j| j.get("error"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let message = json
            .as_ref()
            .and_then(|j| match j {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| Some(self.redactor.excerpt(j.to_string().as_bytes(), 300))),
                _ => None,
            })
            .unwrap_or_else(|| self.redactor.excerpt(&received.bytes, 300));
        if matches!(status, 400 | 401 | 403)
            && let Some(code) = code
        {
            let tos_url = json
                .as_ref()
                .and_then(|j| j.pointer("/data/tos_form_url"))
                .and_then(Value::as_str)
                .map(str::to_string);
            return Error::Auth {
                method,
                url: url.to_string(),
                status,
                hint: self.auth_hint(&code, tos_url.as_deref()),
                code,
                message,
            };
        }
        Error::Http {
            method,
            url: url.to_string(),
            status,
            message,
            attempts,
        }
    }

    fn auth_hint(&self, code: &str, tos_url: Option<&str>) -> String {
        let source = match self.token.as_ref().map(|t| &t.source) {
            None => None,
            Some(TokenSource::Argument) => {
                Some("the token given (`--token`, or `.token(..)` of the client)".to_string())
            }
            Some(TokenSource::Environment) => Some("the token from $CAVE_TOKEN".to_string()),
            Some(TokenSource::File(path)) => Some(format!("the token from {}", path.display())),
        };
        let new_token = format!(
            "get a token at {}/auth/api/v1/create_token",
            self.token_server.trim_end_matches('/')
        );
        match (code, source) {
            ("missing_tos", _) => format!(
                "accept the dataset's terms of service at {} and try again",
                tos_url.unwrap_or("the URL in the message")
            ),
            ("missing_permission", Some(source)) => format!(
                "{source} is valid but its account may not read this dataset; ask the dataset's \
                 administrators for access"
            ),
            ("invalid_table_id", _) => {
                "the server does not know this datastack; check its name".to_string()
            }
            (_, None) => format!(
                "no token was sent: give one (`--token`, or `.token(..)` of the client \
                 builder), set CAVE_TOKEN, or save {{\"token\": \"...\"}} in \
                 ~/.cloudvolume/secrets/{}-cave-secret.json; {new_token}",
                crate::token::netloc(&self.token_server)
            ),
            (_, Some(source)) => {
                format!("{source} was refused (invalid or expired); {new_token}")
            }
        }
    }
}

/// When a request must be done by, and which setting says so.
struct Deadline {
    at: tokio::time::Instant,
    limit: Duration,
    setting: &'static str,
}

impl Deadline {
    /// The request's own deadline, or the query's if that comes first.
    fn new(request: Duration, query_left: Option<Duration>) -> Self {
        let now = tokio::time::Instant::now();
        let (limit, setting) = match query_left {
            Some(left) if left < request => (left, "the query's, ClientBuilder::query_timeout"),
            _ => (request, "the request's, ClientBuilder::timeout"),
        };
        Deadline {
            // A limit beyond any clock is no limit.
            at: now
                .checked_add(limit)
                .unwrap_or(now + Duration::from_secs(100 * 365 * 86_400)),
            limit,
            setting,
        }
    }

    fn describe(&self) -> String {
        format!(
            "timed out: no complete answer within {} ({})",
            crate::limits::duration(self.limit),
            self.setting
        )
    }
}

/// Whether two URLs have the same scheme, host and port.
fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A response read to its end.
#[derive(Debug)]
pub(crate) struct Received {
    pub status: reqwest::StatusCode,
    pub headers: HeaderMap,
    pub bytes: bytes::Bytes,
}

/// `Retry-After` in seconds (HTTP dates are not used by CAVE's servers). A wait too long for a
/// `Duration` is the longest one (which no retry policy honours).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: f64 = text.trim().parse().ok()?;
    (seconds >= 0.0).then(|| Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
}

/// A reqwest error with its causes, without the URL (callers name it).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        String::new()
    };
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        source = s.source();
    }
    if text.contains("before message completed") {
        text = format!("the answer was cut short ({text})");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_urllib3s() {
        let p = RetryPolicy::default();
        let waits: Vec<u128> = (1..=4).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(waits, [0, 200, 400, 800]);
    }

    #[test]
    fn retry_after_in_seconds() {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn retry_after_beyond_a_duration_saturates_instead_of_panicking() {
        let mut h = HeaderMap::new();
        for huge in ["1e20", "18446744073709551616", "inf", "1e308"] {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static(huge));
            assert_eq!(retry_after(&h), Some(Duration::MAX), "{huge}");
        }
        for bad in ["-1", "NaN", "-inf"] {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static(bad));
            assert_eq!(retry_after(&h), None, "{bad}");
        }
    }

    #[test]
    fn redirects_are_followed_only_within_one_server() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(same_origin(
            &u("https://a.org/x"),
            &u("https://a.org:443/y?z")
        ));
        assert!(!same_origin(&u("https://a.org/x"), &u("http://a.org/x")));
        assert!(!same_origin(&u("https://a.org/x"), &u("https://b.a.org/x")));
        assert!(!same_origin(
            &u("http://127.0.0.1:1/x"),
            &u("http://127.0.0.2:1/x")
        ));
        assert!(!same_origin(
            &u("http://127.0.0.1:1/x"),
            &u("http://127.0.0.1:2/x")
        ));
    }
}
