//! HTTP as caveclient speaks it (API.md §1, §2.2, §11.3): the token as `Authorization: Bearer`
//! and as the `middle_auth_token` cookie, one pooled connection set per client, and retries of
//! 502/503/504 and of broken connections with caveclient's backoff (0 s, 0.2 s, 0.4 s, ...),
//! waiting as told by `Retry-After` on 429 and 503.

use std::time::Duration;

use cave_schema::token::{FoundToken, TokenSource};
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde_json::Value;

use crate::error::Error;

/// How a client retries (API.md §11.3).
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

/// The HTTP side of a client.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    token: Option<FoundToken>,
    retry: RetryPolicy,
    /// The server whose token files were searched, for hints.
    token_server: String,
}

/// A request to send: GET, or POST with a JSON body.
pub(crate) enum Request<'a> {
    Get,
    /// JSON text, plus the `Accept-Encoding` to ask for.
    Post {
        body: &'a str,
        accept_encoding: &'static str,
    },
}

impl Request<'_> {
    fn method(&self) -> &'static str {
        match self {
            Request::Get => "GET",
            Request::Post { .. } => "POST",
        }
    }
}

impl Http {
    pub(crate) fn new(
        token: Option<FoundToken>,
        token_server: String,
        retry: RetryPolicy,
        connect_timeout: Duration,
        timeout: Option<Duration>,
        read_timeout: Option<Duration>,
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
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("cave-runtime/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(connect_timeout)
            .pool_max_idle_per_host(10);
        if let Some(t) = timeout {
            builder = builder.timeout(t);
        }
        if let Some(t) = read_timeout {
            builder = builder.read_timeout(t);
        }
        let client = builder
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Http {
            client,
            token,
            retry,
            token_server,
        })
    }

    pub(crate) fn token(&self) -> Option<&FoundToken> {
        self.token.as_ref()
    }

    /// GET `url` and parse its JSON.
    pub(crate) async fn get_json(&self, url: &str) -> Result<Value, Error> {
        let bytes = self.send(url, Request::Get).await?.bytes;
        serde_json::from_slice(&bytes).map_err(|e| Error::BadResponse {
            url: url.to_string(),
            problem: format!(
                "expected JSON, got {} ({e})",
                excerpt(&String::from_utf8_lossy(&bytes))
            ),
        })
    }

    /// Send a request with retries; a 2xx answer comes back whole, anything else is an error.
    pub(crate) async fn send(&self, url: &str, request: Request<'_>) -> Result<Received, Error> {
        let method = request.method();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = self.attempt(url, &request).await;
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
                Err(message) => {
                    if !retry {
                        return Err(Error::Transport {
                            method,
                            url: url.to_string(),
                            message,
                            attempts: attempt,
                        });
                    }
                    self.retry.backoff(attempt)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: the answer read to its end, or why the exchange failed.
    async fn attempt(&self, url: &str, request: &Request<'_>) -> Result<Received, String> {
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
        };
        let response = builder.send().await.map_err(describe)?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(|e| {
            format!(
                "the response body was cut short or unreadable after the headers (HTTP {}): {}",
                status.as_u16(),
                describe(e)
            )
        })?;
        Ok(Received {
            status,
            headers,
            bytes,
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
        let text = String::from_utf8_lossy(&received.bytes);
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
                    .or_else(|| Some(j.to_string())),
                _ => None,
            })
            .unwrap_or_else(|| excerpt(&text));
        let message = self.redact(&message);
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
            Some(TokenSource::Argument) => Some("the token given to the client".to_string()),
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
                "no token was sent: pass one to the client builder (`.token(..)`), set \
                 CAVE_TOKEN, or save {{\"token\": \"...\"}} in \
                 ~/.cloudvolume/secrets/{}-cave-secret.json; {new_token}",
                cave_schema::token::netloc(&self.token_server)
            ),
            (_, Some(source)) => {
                format!("{source} was refused (invalid or expired); {new_token}")
            }
        }
    }

    /// Text with the token replaced, in case a server echoes it.
    fn redact(&self, text: &str) -> String {
        match &self.token {
            // Real tokens are 32 hex digits; a test token of a letter or two would mangle text.
            Some(found) if found.token.secret().len() >= 8 => {
                text.replace(found.token.secret(), "<token>")
            }
            _ => text.to_string(),
        }
    }
}

/// A response read to its end.
#[derive(Debug)]
pub(crate) struct Received {
    pub status: reqwest::StatusCode,
    pub headers: HeaderMap,
    pub bytes: bytes::Bytes,
}

/// `Retry-After` in seconds (HTTP dates are not used by CAVE's servers).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: f64 = text.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
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

/// The start of a body, for messages.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 300;
    let text = text.trim();
    if text.is_empty() {
        return "an empty body".to_string();
    }
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("`{}…`", &text[..cut]),
        None => format!("`{text}`"),
    }
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
}
