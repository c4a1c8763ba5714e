//! Starting the server: configuration, shared state, the middleware every request passes
//! (request log, faults, auth) and the in-process handle tests use.
//!
//! The handles count the TCP connections the server accepts ([`RunningServer::connections`]),
//! so that tests and benchmarks can see whether a client reuses its connections.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use cave_schema::Snapshot;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::error::{ApiError, json_response};
use crate::faults::{FaultAction, FaultSpec, Faults};
use crate::query_string::query_param;
use crate::sample::{self, SampleConfig};
use crate::state::AppState;

/// The engine's default row cap (`QUERY_LIMIT_SIZE`, docs/WIRE.md, "Query bodies").
pub const DEFAULT_ROW_LIMIT: usize = 200_000;

/// How to run a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The datastack snapshot folder (`schemas/minnie65_public`).
    pub snapshot_dir: PathBuf,
    /// The sample data to generate.
    pub sample: SampleConfig,
    /// Faults to inject, in order.
    pub faults: Vec<FaultSpec>,
    /// Append one JSON line per request to this file: `method`, `path`, `query`, `headers`
    /// (the token redacted), `body_bytes`, `body` (as text; a body that is not UTF-8 is shown
    /// lossily and its exact bytes are in `body_hex` as well; a body over
    /// [`LOGGED_BODY_BYTES`] only as `body_fnv1a64`, its FNV-1a digest), `status`, `millis`.
    pub log_requests: Option<PathBuf>,
    /// Accept only this token (default: any token, but one must be sent).
    pub token: Option<String>,
    /// The query row cap.
    pub row_limit: usize,
    /// The order query rows come back in (`RowOrder::Random`: a new order per query).
    pub row_order: crate::row_order::RowOrder,
    /// The `local_server` the info record advertises (default: this server's own URL).
    pub advertise_local_server: Option<String>,
    /// Keep the answers of repeated queries, up to this many body bytes (0: off, the default),
    /// so that a benchmark of a client does not time the server's compression
    /// ([`crate::answer_cache`]).
    pub answer_cache_bytes: usize,
}

impl ServerConfig {
    /// Defaults: loopback on a free port, the given snapshot, default sample, no faults.
    pub fn new(snapshot_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            snapshot_dir: snapshot_dir.into(),
            sample: SampleConfig::default(),
            faults: Vec::new(),
            log_requests: None,
            token: None,
            row_limit: DEFAULT_ROW_LIMIT,
            row_order: crate::row_order::RowOrder::Stored,
            advertise_local_server: None,
            answer_cache_bytes: 0,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The snapshot did not load.
    #[error(transparent)]
    Snapshot(#[from] cave_schema::SnapshotError),
    /// The sample data could not be built.
    #[error("sample data: {0}")]
    Sample(#[from] crate::store::BuildError),
    /// Binding the address or opening the log failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

/// A server running on a tokio runtime; dropping it stops the server.
pub struct RunningServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    /// The address it listens on.
    pub addr: SocketAddr,
    faults: Arc<Faults>,
    connections: Arc<AtomicU64>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Load the snapshot, generate the sample, bind and start serving on the current runtime.
    pub async fn start(config: ServerConfig) -> Result<Self, StartError> {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|source| StartError::Io {
                what: format!("binding {}", config.addr),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Io {
            what: "reading the bound address".into(),
            source,
        })?;
        let base_url = format!("http://{addr}");
        let state = tokio::task::spawn_blocking({
            let base_url = base_url.clone();
            move || build_state(config, base_url)
        })
        .await
        .map_err(|e| StartError::Io {
            what: "generating the sample data".into(),
            source: std::io::Error::other(e.to_string()),
        })??;
        let faults = state.faults.clone();
        let app = router(Arc::new(state));
        let (tx, rx) = oneshot::channel::<()>();
        let connections = Arc::new(AtomicU64::new(0));
        let listener = listener.tap_io({
            let connections = connections.clone();
            move |_| {
                connections.fetch_add(1, Ordering::Relaxed);
            }
        });
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                eprintln!("cave-devserver: {e}");
            }
        });
        Ok(RunningServer {
            base_url,
            addr,
            faults,
            connections,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The server's faults: push more while it runs.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The TCP connections accepted since the server started: a client that reuses its
    /// connections opens about as many as it has requests in flight at once.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Requests received since the server started (faulted or not).
    pub fn requests(&self) -> u64 {
        self.faults.requests()
    }

    /// Serve until the task ends (it ends only on shutdown).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Stop serving and wait until the listener is closed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A server on its own runtime in a background thread, for blocking tests and examples.
pub struct BackgroundServer {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    server: Option<RunningServer>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BackgroundServer {
    /// Start a server on a fresh two-thread runtime.
    pub fn start(config: ServerConfig) -> Result<Self, StartError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|source| StartError::Io {
                what: "starting a tokio runtime".into(),
                source,
            })?;
        let server = runtime.block_on(RunningServer::start(config))?;
        Ok(BackgroundServer {
            base_url: server.base_url.clone(),
            server: Some(server),
            runtime: Some(runtime),
        })
    }

    /// The server's faults.
    pub fn faults(&self) -> &Faults {
        self.server().faults()
    }

    /// The TCP connections accepted since the server started ([`RunningServer::connections`]).
    pub fn connections(&self) -> u64 {
        self.server().connections()
    }

    /// Requests received since the server started (faulted or not).
    pub fn requests(&self) -> u64 {
        self.server().requests()
    }

    fn server(&self) -> &RunningServer {
        self.server.as_ref().expect("server present until drop")
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let (Some(server), Some(runtime)) = (self.server.take(), self.runtime.take()) {
            runtime.block_on(server.stop());
            runtime.shutdown_background();
        }
    }
}

fn build_state(config: ServerConfig, base_url: String) -> Result<AppState, StartError> {
    let snapshot = Snapshot::load(&config.snapshot_dir)?;
    let data = sample::generate(&snapshot, &config.sample)?;
    let log = match &config.log_requests {
        Some(path) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| StartError::Io {
                    what: format!("opening the request log {}", path.display()),
                    source,
                })?,
        )),
        None => None,
    };
    let chunkedgraph = crate::chunkedgraph::Service::of(&snapshot, &data);
    Ok(AppState {
        chunkedgraph,
        snapshot,
        data,
        local_server: config
            .advertise_local_server
            .clone()
            .unwrap_or_else(|| base_url.clone()),
        base_url,
        row_limit: config.row_limit.max(1),
        row_order: config.row_order,
        queries: std::sync::atomic::AtomicU64::new(0),
        token: config.token,
        faults: Arc::new(Faults::new(config.faults)),
        answer_cache: (config.answer_cache_bytes > 0)
            .then(|| crate::answer_cache::AnswerCache::new(config.answer_cache_bytes)),
        log,
    })
}

/// The whole application: routes plus the middleware every request passes.
pub fn router(state: Arc<AppState>) -> Router {
    crate::routes::routes(state.clone())
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn_with_state(state.clone(), inject_faults))
        .layer(middleware::from_fn_with_state(state, log_request))
        // Filter lists of many root ids make big bodies; the real server takes them too.
        .layer(axum::extract::DefaultBodyLimit::max(256 << 20))
}

/// Paths the real services serve without a token (docs/WIRE.md, "Auth answers").
fn is_open(path: &str) -> bool {
    matches!(
        path,
        "/materialize/api/versions"
            | "/materialize/version"
            | "/info/version"
            | "/info/api/versions"
    ) || path.starts_with("/schema/")
}

/// The token of a request: `Authorization: Bearer` over `?middle_auth_token=` over the cookie.
fn token_of(headers: &HeaderMap, query: Option<&str>) -> Result<Option<String>, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or_default();
        return match value.strip_prefix("Bearer ") {
            Some(token) => Ok(Some(token.trim().to_string())),
            None => Err(ApiError::BadAuthHeader),
        };
    }
    if let Some(token) = query.and_then(|q| query_param(q, "middle_auth_token")) {
        return Ok(Some(token));
    }
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix("middle_auth_token=")
                .map(str::to_string)
        });
    Ok(cookie)
}

async fn auth(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if !is_open(&path) {
        match token_of(request.headers(), request.uri().query()) {
            Err(e) => return e.into_response(),
            Ok(None) => return ApiError::NoToken.into_response(),
            Ok(Some(token)) => {
                if state.token.as_deref().is_some_and(|want| want != token) {
                    return ApiError::InvalidToken.into_response();
                }
            }
        }
        if let Some(ds) = datastack_in(&path)
            && ds != state.snapshot.manifest.datastack
        {
            return ApiError::UnknownDatastack(ds.to_string()).into_response();
        }
    }
    next.run(request).await
}

/// The datastack named in a protected path (`.../datastack/{ds}/...` or `.../datastack/full/{ds}`).
fn datastack_in(path: &str) -> Option<&str> {
    let mut parts = path.split('/');
    while let Some(p) = parts.next() {
        if p == "datastack" {
            let next = parts.next()?;
            return if next == "full" {
                parts.next()
            } else {
                Some(next)
            };
        }
    }
    None
}

async fn inject_faults(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(action) = state
        .faults
        .take(request.method().as_str(), request.uri().path())
    else {
        return next.run(request).await;
    };
    if let Some(latency) = action.latency {
        tokio::time::sleep(latency).await;
    }
    let mut response = match action.status {
        Some(status) => fault_status_response(status, &action),
        None => next.run(request).await,
    };
    if let Some(ct) = action
        .content_type
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    if let Some(keep) = action.truncate {
        response = truncate_body(response, keep).await;
    }
    response
}

fn fault_status_response(status: u16, action: &FaultAction) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "code": status.as_u16(),
        "message": format!(
            "{} {} (injected by cave-devserver)",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        ),
    });
    let mut response = json_response(status, &body);
    if let Some(seconds) = action.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Announce the full length, send `keep` bytes, then fail the stream so the connection drops.
async fn truncate_body(response: Response, keep: usize) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let full = bytes.len();
    let head = bytes.slice(..keep.min(full));
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
    let stream = futures_stream(head);
    Response::from_parts(parts, Body::from_stream(stream))
}

fn futures_stream(
    head: Bytes,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    struct Cut {
        head: Option<Bytes>,
        failed: bool,
    }
    impl futures_core::Stream for Cut {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            if let Some(head) = self.head.take() {
                return std::task::Poll::Ready(Some(Ok(head)));
            }
            if !self.failed {
                self.failed = true;
                return std::task::Poll::Ready(Some(Err(std::io::Error::other(
                    "body cut short by an injected fault",
                ))));
            }
            std::task::Poll::Ready(None)
        }
    }
    Cut {
        head: Some(head),
        failed: false,
    }
}

async fn log_request(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(log) = &state.log else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 256 << 20)
        .await
        .unwrap_or_default();
    let headers: serde_json::Map<String, Value> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or("<non-ascii>");
            let shown = match name.as_str() {
                "authorization" => "Bearer <redacted>".to_string(),
                "cookie" => redact_cookie(value),
                _ => value.to_string(),
            };
            (name.as_str().to_string(), Value::String(shown))
        })
        .collect();
    let query = parts.uri.query().map(redact_query);
    let mut line = json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": query,
        "headers": headers,
        "body_bytes": bytes.len(),
    });
    if bytes.len() <= LOGGED_BODY_BYTES {
        line["body"] = json!(String::from_utf8_lossy(&bytes));
        // Raw bodies (roots_binary's little-endian ids) exactly, which `body` cannot show.
        if std::str::from_utf8(&bytes).is_err() {
            line["body_hex"] = json!(hex(&bytes));
        }
    } else {
        // Recording megabytes of ids as hex cost more than answering them; a digest still
        // tells two requests' bodies apart.
        line["body_fnv1a64"] = json!(format!("{:016x}", fnv1a64(&bytes)));
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    line["status"] = json!(response.status().as_u16());
    line["millis"] = json!(started.elapsed().as_millis() as u64);
    if let Ok(mut file) = log.lock() {
        use std::io::Write;
        let _ = writeln!(file, "{line}");
    }
    response
}

/// The longest request body the request log holds itself; longer ones are logged by their
/// length and digest.
pub const LOGGED_BODY_BYTES: usize = 1 << 20;

/// The 64-bit FNV-1a hash of `bytes` (a digest for telling bodies apart, not a secure one).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Lowercase hex, two digits a byte.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

fn redact_cookie(value: &str) -> String {
    value
        .split(';')
        .map(|c| {
            let c = c.trim();
            if c.starts_with("middle_auth_token=") {
                "middle_auth_token=<redacted>".to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|p| {
            if p.starts_with("middle_auth_token=") {
                "middle_auth_token=<redacted>"
            } else {
                p
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datastack_is_found_in_paths() {
        assert_eq!(
            datastack_in("/info/api/v2/datastack/full/minnie65_public"),
            Some("minnie65_public")
        );
        assert_eq!(
            datastack_in("/materialize/api/v3/datastack/ds/version/1/tables"),
            Some("ds")
        );
        assert_eq!(datastack_in("/materialize/version"), None);
    }

    #[test]
    fn tokens_and_redaction() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; middle_auth_token=tok"),
        );
        assert_eq!(token_of(&h, None).unwrap().as_deref(), Some("tok"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic x"));
        assert_eq!(token_of(&h, None), Err(ApiError::BadAuthHeader));
        assert_eq!(
            redact_cookie("a=b; middle_auth_token=tok"),
            "a=b; middle_auth_token=<redacted>"
        );
        assert_eq!(
            redact_query("x=1&middle_auth_token=t"),
            "x=1&middle_auth_token=<redacted>"
        );
    }

    #[test]
    fn raw_bodies_are_logged_in_hex() {
        assert_eq!(hex(&[0x01, 0xff, 0x00, 0xab]), "01ff00ab");
        assert_eq!(hex(&[]), "");
    }
}
