//! The hostile server: a small HTTP/1.1 server on loopback in front of the devserver. A client
//! whose server is `http://127.0.0.1:P/s/<scenario>` gets the devserver's answers passed
//! through the scenario's behaviour, which may change them, cut them, slow them down, make
//! them endless or replace them. One thread per connection, blocking I/O: slow and endless
//! answers are plain loops.
//!
//! Every request the proxy sees is recorded (host, path, whether it carried the token), so
//! that the suite can check where the token went.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest any answer goes on (endless, stalled or trickled): the proxy's threads end even
/// when a client never gives up.
const MAX_ANSWER_TIME: Duration = Duration::from_secs(90);

/// One request, its path taken after the scenario prefix.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path after `/s/<scenario>`, with its query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The bearer token the client sent.
    pub fn token(&self) -> Option<String> {
        self.header("authorization")?
            .strip_prefix("Bearer ")
            .map(str::to_string)
    }
}

/// An answer: status, headers (in order, repeats allowed) and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Answer {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Answer::new(status, "application/json", value.to_string())
    }

    /// Replace every header `name` by one with `value`.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.remove_header(name);
        self.headers.push((name.to_string(), value.into()));
    }

    pub fn add_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.push((name.to_string(), value.into()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The status line and headers, with `Content-Length` unless `length` is `None`.
    fn head(&self, length: Option<u64>, extra: &[(&str, &str)]) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (n, v) in &self.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        for (n, v) in extra {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        if let Some(len) = length {
            out.push_str(&format!("Content-Length: {len}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// What the proxy does with one request.
pub enum Reply {
    /// A complete answer, with its Content-Length; the connection stays open.
    Answer(Answer),
    /// These bytes as they are, then the connection is closed.
    Raw(Vec<u8>),
    /// The answer `step` bytes at a time with a pause between (headers too, with `head_too`).
    Trickle {
        answer: Answer,
        step: usize,
        every: Duration,
        head_too: bool,
    },
    /// The head, `first`, then `chunk` again and again until the client goes away: as chunked
    /// transfer encoding, or under a Content-Length of `declared` bytes that is never reached.
    Endless {
        head: Answer,
        first: Vec<u8>,
        chunk: Vec<u8>,
        declared: Option<u64>,
    },
    /// The head (if any), then nothing until the client goes away.
    Stall(Option<Answer>),
}

/// The kind of route a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    Info,
    Schema,
    ServerVersion,
    Query,
    Count,
    /// The chunkedgraph (`/segmentation/...`).
    Segmentation,
    Meta,
}

impl Route {
    fn of(method: &str, path: &str) -> Route {
        let path = path.split('?').next().unwrap_or("");
        if path.starts_with("/info/") {
            Route::Info
        } else if path.starts_with("/schema/") {
            Route::Schema
        } else if path.starts_with("/segmentation/") {
            Route::Segmentation
        } else if path == "/materialize/version" {
            Route::ServerVersion
        } else if method == "POST" && path.ends_with("/query") {
            Route::Query
        } else if path.ends_with("/count") {
            Route::Count
        } else {
            Route::Meta
        }
    }
}

/// A scenario's view of one request.
pub struct Exchange<'a> {
    pub request: Request,
    pub route: Route,
    /// Requests of this route in this scenario so far, this one included (from 1).
    pub nth: u64,
    /// `http://127.0.0.1:P/s/<scenario>`: this scenario's base URL on this proxy.
    pub base: String,
    /// The same scenario's base on the other ("foreign") listener.
    pub foreign: String,
    /// Which listener took the request: `main` or `foreign`.
    pub listener: &'static str,
    upstream: &'a str,
    agent: &'a reqwest::blocking::Client,
}

impl Exchange<'_> {
    /// The devserver's answer to this request.
    pub fn forward(&self) -> Answer {
        self.forward_request(&self.request)
    }

    /// The devserver's answer to `request`.
    pub fn forward_request(&self, request: &Request) -> Answer {
        let url = format!("{}{}", self.upstream, request.path);
        let method = match reqwest::Method::from_bytes(request.method.as_bytes()) {
            Ok(m) => m,
            Err(e) => return Answer::new(502, "text/plain", format!("proxy: {e}")),
        };
        let with_body = !request.body.is_empty()
            || [
                reqwest::Method::POST,
                reqwest::Method::PUT,
                reqwest::Method::PATCH,
            ]
            .contains(&method);
        let mut builder = self.agent.request(method, &url);
        for (n, v) in &request.headers {
            let skip = ["host", "content-length", "connection", "accept-encoding"];
            if !skip.iter().any(|s| n.eq_ignore_ascii_case(s)) {
                builder = builder.header(n.as_str(), v.as_str());
            }
        }
        // ZSTD buffers in Arrow answers are asked with `Accept-Encoding: zstd`; keep that, but
        // never an HTTP-level gzip the proxy would have to undo.
        if request
            .header("accept-encoding")
            .is_some_and(|v| v.contains("zstd"))
        {
            builder = builder.header("Accept-Encoding", "zstd");
        } else {
            builder = builder.header("Accept-Encoding", "identity");
        }
        if with_body {
            builder = builder.body(request.body.clone());
        }
        let response = match builder.send() {
            Ok(r) => r,
            Err(e) => return Answer::new(502, "text/plain", format!("proxy: {e}")),
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(n, _)| {
                !["content-length", "transfer-encoding", "connection", "date"].contains(&n.as_str())
            })
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        // The body as the devserver sent it, up to 1 GiB; none when longer or cut.
        const MAX_BODY: u64 = 1 << 30;
        let mut body = Vec::new();
        if response.take(MAX_BODY + 1).read_to_end(&mut body).is_err()
            || body.len() as u64 > MAX_BODY
        {
            body = Vec::new();
        }
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// A scenario's behaviour: what to answer to one request.
pub type Behaviour = fn(&Exchange) -> Reply;

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub scenario: String,
    pub listener: &'static str,
    pub path: String,
    pub with_token: bool,
}

/// A running proxy: a main listener on 127.0.0.1 and a "foreign" one on another loopback
/// address (a different host, as a redirect or an advertised server elsewhere would be).
pub struct Proxy {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

struct Shared {
    upstream: String,
    behaviours: fn(&str) -> Option<Behaviour>,
    counts: Mutex<HashMap<(String, Route), u64>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    main: SocketAddr,
    foreign: SocketAddr,
    agent: reqwest::blocking::Client,
}

impl Proxy {
    /// Start both listeners; requests are forwarded to `upstream` (the devserver's base URL).
    pub fn start(upstream: &str, behaviours: fn(&str) -> Option<Behaviour>) -> Proxy {
        let main = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        // Another loopback host; where the platform has only 127.0.0.1, `localhost` is another
        // host name for it, which is what clients compare.
        let foreign = TcpListener::bind("127.0.0.2:0")
            .or_else(|_| TcpListener::bind("127.0.0.1:0"))
            .expect("bind a second listener");
        let (main_addr, foreign_addr) = (main.local_addr().unwrap(), foreign.local_addr().unwrap());
        // Answers pass through as they are: redirects not followed, bodies not decoded, no
        // time limit of its own.
        let agent = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .no_deflate()
            .no_brotli()
            .no_zstd()
            .timeout(None)
            .build()
            .expect("the proxy's HTTP client");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            behaviours,
            counts: Mutex::new(HashMap::new()),
            seen: seen.clone(),
            main: main_addr,
            foreign: foreign_addr,
            agent,
        });
        for (listener, name) in [(main, "main"), (foreign, "foreign")] {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let shared = shared.clone();
                    std::thread::spawn(move || serve(stream, &shared, name));
                }
            });
        }
        Proxy {
            addr: main_addr,
            seen,
        }
    }

    /// The base URL of `scenario` on the main listener.
    pub fn base(&self, scenario: &str) -> String {
        format!("http://{}/s/{scenario}", self.addr)
    }

    /// The requests seen for `scenario`.
    pub fn seen(&self, scenario: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.scenario == scenario)
            .cloned()
            .collect()
    }
}

/// Serve one connection: requests one after the other until either side closes.
fn serve(mut stream: TcpStream, shared: &Shared, listener: &'static str) {
    let _ = stream.set_nodelay(true);
    let mut pending = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut pending) else {
            return;
        };
        let Some((scenario, rest)) = request
            .path
            .strip_prefix("/s/")
            .and_then(|p| p.split_once('/'))
            .map(|(s, r)| (s.to_string(), format!("/{r}")))
        else {
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
            continue;
        };
        let request = Request {
            path: rest,
            ..request
        };
        let with_token = request.token().is_some()
            || request
                .header("cookie")
                .is_some_and(|c| c.contains("middle_auth_token"));
        shared.seen.lock().unwrap().push(Seen {
            scenario: scenario.clone(),
            listener,
            path: request.path.clone(),
            with_token,
        });
        let route = Route::of(&request.method, &request.path);
        let nth = {
            let mut counts = shared.counts.lock().unwrap();
            let n = counts.entry((scenario.clone(), route)).or_insert(0);
            *n += 1;
            *n
        };
        let behaviour = (shared.behaviours)(&scenario).unwrap_or(|ex| Reply::Answer(ex.forward()));
        let exchange = Exchange {
            request,
            route,
            nth,
            base: format!("http://{}/s/{scenario}", shared.main),
            foreign: format!("http://{}/s/{scenario}", shared.foreign),
            listener,
            upstream: &shared.upstream,
            agent: &shared.agent,
        };
        let keep_open = write_reply(&mut stream, behaviour(&exchange));
        if !keep_open {
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}

/// Read one request (head and Content-Length body); `None` when the client closed.
fn read_request(stream: &mut TcpStream, pending: &mut Vec<u8>) -> Option<Request> {
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(pending, b"\r\n\r\n") {
            break i;
        }
        if pending.len() > 1 << 20 {
            return None;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        pending.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&pending[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let start = head_end + 4;
    while pending.len() < start + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        pending.extend_from_slice(&buf[..n]);
    }
    let body = pending[start..start + length].to_vec();
    pending.drain(..start + length);
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Write a reply; whether the connection can carry another request.
fn write_reply(stream: &mut TcpStream, reply: Reply) -> bool {
    let started = Instant::now();
    let within = || started.elapsed() < MAX_ANSWER_TIME;
    match reply {
        Reply::Answer(answer) => {
            let mut bytes = answer.head(Some(answer.body.len() as u64), &[]);
            bytes.extend_from_slice(&answer.body);
            stream.write_all(&bytes).is_ok()
        }
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
            false
        }
        Reply::Trickle {
            answer,
            step,
            every,
            head_too,
        } => {
            let head = answer.head(Some(answer.body.len() as u64), &[]);
            let mut slow = answer.body.clone();
            if head_too {
                slow.splice(0..0, head);
            } else if stream.write_all(&head).is_err() {
                return false;
            }
            for piece in slow.chunks(step.max(1)) {
                if !within() || stream.write_all(piece).is_err() {
                    return false;
                }
                std::thread::sleep(every);
            }
            true
        }
        Reply::Endless {
            head,
            first,
            chunk,
            declared,
        } => {
            let bytes = match declared {
                Some(len) => head.head(Some(len), &[]),
                None => head.head(None, &[("Transfer-Encoding", "chunked")]),
            };
            if stream.write_all(&bytes).is_err() {
                return false;
            }
            let frame = |bytes: &[u8]| match declared {
                Some(_) => bytes.to_vec(),
                None => {
                    let mut c = format!("{:x}\r\n", bytes.len()).into_bytes();
                    c.extend_from_slice(bytes);
                    c.extend_from_slice(b"\r\n");
                    c
                }
            };
            if !first.is_empty() && stream.write_all(&frame(&first)).is_err() {
                return false;
            }
            let framed = frame(&chunk);
            while within() {
                if stream.write_all(&framed).is_err() {
                    break;
                }
            }
            false
        }
        Reply::Stall(head) => {
            if let Some(head) = head {
                let bytes = head.head(Some(head.body.len() as u64 + 1_000_000), &[]);
                if stream.write_all(&bytes).is_err() {
                    return false;
                }
            }
            // Wait until the client closes (a read of 0 bytes or an error) or the time is up.
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let mut byte = [0u8; 1];
            while within() {
                match stream.read(&mut byte) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break,
                }
            }
            false
        }
    }
}
