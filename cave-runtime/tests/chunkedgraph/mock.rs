//! A loopback HTTP/1.1 server that records every request (method, target with its query
//! string, headers, body) and answers with what the test's handler says. It serves the info
//! record itself, with `local_server` pointing at it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// The token the tests' clients send.
pub const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// minnie65's segmentation source.
pub const MINNIE_SOURCE: &str =
    "graphene://https://minnie.microns-daf.com/segmentation/table/minnie65_public";

/// A request as it arrived.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET`, `POST`.
    pub method: String,
    /// The path with its query string.
    pub target: String,
    /// Names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The body as text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a text body")
    }

    /// The body as little-endian u64.
    pub fn ids(&self) -> Vec<u64> {
        self.body
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }
}

/// An answer.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Waited before answering.
    pub delay: Duration,
}

impl Reply {
    /// 200 with this JSON (as PCG writes it: compact, a newline at the end).
    pub fn json(value: Value) -> Reply {
        let mut body = serde_json::to_vec(&value).unwrap();
        body.push(b'\n');
        Reply {
            status: 200,
            content_type: "application/json",
            body,
            delay: Duration::ZERO,
        }
    }

    /// 200 with these bytes.
    pub fn raw(body: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            content_type: "application/octet-stream",
            body,
            delay: Duration::ZERO,
        }
    }

    /// 200 with little-endian u64.
    pub fn ids(ids: &[u64]) -> Reply {
        Reply::raw(ids.iter().flat_map(|i| i.to_le_bytes()).collect())
    }

    /// PCG's error answer: `{"timestamp", "duration", "code", "message": "[<code>]: <text>"}`.
    pub fn pcg_error(status: u16, text: &str) -> Reply {
        Reply {
            status,
            ..Reply::json(json!({
                "timestamp": "2025-01-13 10:10:01.286229",
                "duration": 0.0123,
                "code": status,
                "message": format!("[{status}]: {text}"),
            }))
        }
    }

    /// The same, after `delay`.
    pub fn after(self, delay: Duration) -> Reply {
        Reply { delay, ..self }
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// The running server.
pub struct Mock {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    most_at_once: Arc<AtomicUsize>,
}

impl Mock {
    /// A server whose info record has `segmentation_source` (`None`: none), answering the
    /// other requests with `handler`.
    pub fn start(
        segmentation_source: Option<&str>,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let info = json!({
            "local_server": url,
            "segmentation_source": segmentation_source,
            "viewer_site": "https://neuroglancer.neuvue.io",
        });
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (in_flight, most_at_once) =
            (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let handler: Arc<Handler> = Arc::new(handler);
        let shared = (seen.clone(), in_flight, most_at_once.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (seen, in_flight, most) = shared.clone();
                let (handler, info) = (handler.clone(), info.clone());
                std::thread::spawn(move || {
                    serve(stream, &info, &*handler, &seen, &in_flight, &most);
                });
            }
        });
        Mock {
            url,
            seen,
            most_at_once,
        }
    }

    /// The chunkedgraph requests since the last call (the info record's left out), in the
    /// order they arrived.
    pub fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
            .into_iter()
            .filter(|s| !s.target.starts_with("/info/"))
            .collect()
    }

    /// The most requests that were being answered at once.
    pub fn most_at_once(&self) -> usize {
        self.most_at_once.load(Ordering::SeqCst)
    }

    /// An async client of minnie65_public on this server.
    pub fn client(&self) -> cave_runtime::Client {
        self.builder().build().unwrap()
    }

    /// Its builder, to change a setting.
    pub fn builder(&self) -> cave_runtime::ClientBuilder {
        cave_runtime::Client::builder("minnie65_public")
            .server(&self.url)
            .token(TOKEN)
            .token_search(None, false)
            .progress(false)
            .max_retries(0)
    }
}

/// Requests of one connection, one after another (keep-alive), until it closes.
fn serve(
    stream: TcpStream,
    info: &Value,
    handler: &Handler,
    seen: &Mutex<Vec<Seen>>,
    in_flight: &AtomicUsize,
    most: &AtomicUsize,
) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        most.fetch_max(now, Ordering::SeqCst);
        seen.lock().unwrap().push(request.clone());
        let reply = if request.method == "GET"
            && request.target == "/info/api/v2/datastack/full/minnie65_public"
        {
            Reply::json(info.clone())
        } else {
            handler(&request)
        };
        std::thread::sleep(reply.delay);
        in_flight.fetch_sub(1, Ordering::SeqCst);
        let head = format!(
            "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
            reply.status,
            reply.content_type,
            reply.body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&reply.body).is_err() {
            return;
        }
    }
}

/// One request: the request line, headers, and a body of `Content-Length` bytes (a chunked
/// body is not expected from the client and fails the read).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.trim_end().splitn(3, ' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    assert!(
        !headers.iter().any(|(n, _)| n == "transfer-encoding"),
        "bodies are sent with a Content-Length: {headers:?}"
    );
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        target,
        headers,
        body,
    })
}
