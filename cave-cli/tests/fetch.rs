//! `cave_cli::fetch` against a tiny HTTP server in this file (loopback only): errors name the
//! URL, status and message and leave the snapshot untouched; the token is found in the right
//! order, sent as header and cookie, and never shown; a small datastack is fetched, refetched
//! and merged by the documented rules.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cave_cli::fetch::{
    FetchConfig, FetchError, FoundToken, Progress, Token, TokenSource, check_snapshot,
    fetch_snapshot, find_token,
};
use cave_runtime::Timeouts;
use cave_runtime::blocking::Client;
use cave_schema::Snapshot;
use cave_schema::snapshot::{Provenance, SnapshotKind};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server: one thread, one request per connection, answers from a closure.

/// A request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, extra headers, body, and a delay before it.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    delay: Duration,
}

fn reply(status: u16, body: impl Into<String>) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: body.into().into_bytes(),
        delay: Duration::ZERO,
    }
}

fn json_reply(status: u16, body: Value) -> Reply {
    reply(status, body.to_string())
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

struct FakeServer {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeServer {
    fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (handler, log) = (handler.clone(), log.clone());
                std::thread::spawn(move || serve(stream, &*handler, &log));
            }
        });
        FakeServer { base, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    handler: &(dyn Fn(&Seen) -> Reply + Send + Sync),
    log: &Mutex<Vec<Seen>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let request = Seen { path, headers };
    log.lock().unwrap().push(request.clone());
    let answer = handler(&request);
    std::thread::sleep(answer.delay);
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (k, v) in &answer.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&answer.body);
    let _ = out.flush();
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A temp copy of the committed `schemas/` (datastack and types), and the datastack folder.
fn committed_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    for sub in ["minnie65_public", "types"] {
        copy_dir(&repo().join("schemas").join(sub), &tmp.path().join(sub));
    }
    let dir = tmp.path().join("minnie65_public");
    (tmp, dir)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Every file under `dir` with its bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn config(base: &str, datastack: &str) -> FetchConfig {
    let mut c = FetchConfig::new(base, datastack);
    c.token = find_token(Some("test-token"), None, None, base).unwrap();
    c.timeouts = Timeouts {
        connect: Duration::from_secs(5),
        idle: Duration::from_secs(10),
        request: Duration::from_secs(30),
        query: Duration::from_secs(30),
    };
    c
}

/// The client a fetch of `minnie65_public` from `base` uses, with `token`; its `info()` is a
/// GET of `{base}/info/api/v2/datastack/full/minnie65_public`.
fn fetch_client(base: &str, token: Option<FoundToken>) -> Client {
    let mut c = FetchConfig::new(base, "minnie65_public");
    c.token = token;
    c.client().expect("a client")
}

/// A fetch of minnie65_public into a copy of the committed snapshot whose server fails as
/// `handler` says; returns the error text after checking that no file changed.
fn failing_fetch(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> (String, FakeServer) {
    let server = FakeServer::start(handler);
    let (tmp, dir) = committed_copy();
    let before = contents(tmp.path());
    let err = fetch_snapshot(
        &config(&server.base, "minnie65_public"),
        &dir,
        &mut Progress::silent(),
    )
    .expect_err("the fetch fails");
    assert_eq!(contents(tmp.path()), before, "a failed fetch changed files");
    (err.to_string(), server)
}

/// The info record of the committed snapshot, pointing at `local`.
fn info_for(local: &str) -> Value {
    let mut info: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/minnie65_public/info.json")).unwrap(),
    )
    .unwrap();
    info["local_server"] = json!(local);
    info
}

// ---------------------------------------------------------------------------------------------
// Errors.

#[test]
fn unauthorized_names_url_status_message_and_a_token_hint_and_changes_nothing() {
    let (text, server) = failing_fetch(|_| {
        json_reply(
            401,
            json!({"error": "no_token", "message": "Unauthorized - No Token Provided"}),
        )
    });
    let url = format!("{}/info/api/v2/datastack/full/minnie65_public", server.base);
    assert!(
        text.contains(&format!(
            "GET {url}: HTTP 401 no_token: Unauthorized - No Token Provided"
        )),
        "{text}"
    );
    assert!(
        text.contains("hint: the token given (`--token`") && text.contains("was refused"),
        "{text}"
    );
    assert!(!text.contains("test-token"), "{text}");

    // Without a token the hint says how to give one.
    let e = fetch_client(&server.base, None)
        .info()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no token was sent: give one (`--token`") && e.contains("set CAVE_TOKEN"),
        "{e}"
    );
}

#[test]
fn forbidden_carries_the_terms_of_service_link() {
    let server = FakeServer::start(|_| {
        json_reply(
            403,
            json!({"error": "missing_tos", "message": "Need to accept Terms of Service to access resource.", "data": {"tos_id": 2, "tos_form_url": "https://auth.example/api/v1/tos/2/accept"}}),
        )
    });
    let e = fetch_client(&server.base, None)
        .info()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("HTTP 403 missing_tos: Need to accept Terms of Service"),
        "{e}"
    );
    assert!(
        e.contains("https://auth.example/api/v1/tos/2/accept"),
        "{e}"
    );
}

/// A server that serves the info record (pointing back at itself) and answers the rest with
/// `rest`.
fn info_then(rest: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> (String, FakeServer) {
    let me = Arc::new(Mutex::new(String::new()));
    let m = me.clone();
    let server = FakeServer::start(move |r| {
        if r.path.starts_with("/info/") {
            json_reply(200, info_for(&m.lock().unwrap()))
        } else {
            rest(r)
        }
    });
    *me.lock().unwrap() = server.base.clone();
    let (tmp, dir) = committed_copy();
    let before = contents(tmp.path());
    let err = fetch_snapshot(
        &config(&server.base, "minnie65_public"),
        &dir,
        &mut Progress::silent(),
    )
    .expect_err("the fetch fails");
    assert_eq!(contents(tmp.path()), before, "a failed fetch changed files");
    (err.to_string(), server)
}

#[test]
fn wrapped_500_shows_the_servers_message_not_the_traceback() {
    let (text, server) = info_then(|_| {
        json_reply(
            500,
            json!({"code": 500, "message": "404 Not Found: version 9 not found in minnie65_phase3_v1", "traceback": ["Traceback (most recent call last):", "secret internals"]}),
        )
    });
    let url = format!(
        "{}/materialize/api/v3/datastack/minnie65_public/metadata?expired=True",
        server.base
    );
    assert!(
        text.contains(&format!(
            "GET {url}: HTTP 500: 404 Not Found: version 9 not found in minnie65_phase3_v1"
        )),
        "{text}"
    );
    assert!(
        !text.contains("Traceback") && !text.contains("hint"),
        "{text}"
    );
}

#[test]
fn a_failure_after_the_first_requests_still_changes_nothing() {
    // Info, versions and table lists answer; the table metadata is refused.
    let (text, server) = info_then(|r| {
        if r.path.ends_with("/metadata?expired=True") {
            json_reply(
                200,
                json!([{"version": 1300, "time_stamp": "2025-01-13T10:10:01.286229", "valid": true, "expires_on": null, "is_merged": false}]),
            )
        } else if r.path.ends_with("/version/1300/tables") {
            json_reply(200, json!(["synapses_pni_2"]))
        } else if r.path.ends_with("/version/1300/views") {
            // No views at the version: a server without them answers 404.
            json_reply(404, json!({"message": "no views"}))
        } else {
            json_reply(
                403,
                json!({"error": "missing_permission", "message": "Missing permission: view for dataset minnie65_phase3", "data": {"required_permission": "view", "auth_dataset": "minnie65_phase3"}}),
            )
        }
    });
    let url = format!(
        "{}/materialize/api/v3/datastack/minnie65_public/version/1300/tables/metadata",
        server.base
    );
    assert!(
        text.contains(&format!(
            "GET {url}: HTTP 403 missing_permission: Missing permission: view for dataset \
             minnie65_phase3"
        )),
        "{text}"
    );
    assert!(
        text.contains("is valid but its account may not read this dataset"),
        "{text}"
    );
}

#[test]
fn malformed_json_names_the_url_and_quotes_the_start() {
    let (text, server) = info_then(|_| reply(200, "<html><body>Sign in</body></html>"));
    assert!(
        text.contains(&format!(
            "{}/materialize/api/v3/datastack/minnie65_public/metadata?expired=True: unexpected \
             response: expected JSON, got `<html><body>Sign in</body></html>`",
            server.base
        )),
        "{text}"
    );
    assert!(!text.contains("--local-server"), "{text}");

    let (text, _) = info_then(|_| reply(200, r#"[{"version": 1300, "time_st"#));
    assert!(text.contains("expected JSON"), "{text}");
}

#[test]
fn json_of_the_wrong_shape_says_what_was_expected_where() {
    let (text, _) = info_then(|_| json_reply(200, json!({"versions": []})));
    assert!(
        text.contains(
            "not a list of version records: at $: invalid type: map, expected a sequence"
        ),
        "{text}"
    );

    let (text, _) = info_then(|r| {
        if r.path.ends_with("/metadata?expired=True") {
            json_reply(
                200,
                json!([{"version": 1300, "time_stamp": "13 Jan 2025", "valid": true}]),
            )
        } else {
            json_reply(200, json!([]))
        }
    });
    assert!(
        text.contains("at [0].time_stamp: expected a timestamp, found `13 Jan 2025`"),
        "{text}"
    );
}

#[test]
fn unreachable_server_is_reported_quickly_and_changes_nothing() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let (tmp, dir) = committed_copy();
    let before = contents(tmp.path());
    let start = Instant::now();
    let err = fetch_snapshot(
        &config(&base, "minnie65_public"),
        &dir,
        &mut Progress::silent(),
    )
    .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(&err, FetchError::Request { error, .. } if error.status().is_none()),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "GET {base}/info/api/v2/datastack/full/minnie65_public: cannot connect"
        )) && text.contains("Connection refused"),
        "{text}"
    );
    assert_eq!(contents(tmp.path()), before);
}

#[test]
fn a_slow_server_times_out() {
    let server = FakeServer::start(|_| Reply {
        delay: Duration::from_secs(3),
        ..json_reply(200, json!([]))
    });
    let mut c = FetchConfig::new(&server.base, "minnie65_public");
    c.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        idle: Duration::from_millis(300),
        request: Duration::from_secs(30),
        query: Duration::from_secs(30),
    };
    let e = c.client().unwrap().info().unwrap_err();
    assert!(e.to_string().contains("minnie65_public: timed out"), "{e}");
}

#[test]
fn gzip_answers_are_decoded() {
    let server = FakeServer::start(|r| {
        assert!(
            r.header("accept-encoding")
                .is_some_and(|v| v.contains("gzip"))
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(json!({"synapse_table": "synapses"}).to_string().as_bytes())
            .unwrap();
        Reply {
            headers: vec![("Content-Encoding", "gzip".into())],
            body: gz.finish().unwrap(),
            ..reply(200, "")
        }
    });
    let info = fetch_client(&server.base, None).info().unwrap();
    assert_eq!(info.synapse_table.as_deref(), Some("synapses"));
}

#[test]
fn gateway_errors_are_retried_and_redirects_reported() {
    let calls = Arc::new(Mutex::new(0));
    let c = calls.clone();
    let server = FakeServer::start(move |r| {
        if r.path.ends_with("/login") {
            return Reply {
                headers: vec![("Location", "https://auth.example/authorize".into())],
                ..reply(302, "")
            };
        }
        let mut n = c.lock().unwrap();
        *n += 1;
        if *n <= 2 {
            json_reply(503, json!({"message": "busy"}))
        } else {
            json_reply(200, json!({"soma_table": "nuclei"}))
        }
    });
    let info = fetch_client(&server.base, None).info().unwrap();
    assert_eq!(info.soma_table.as_deref(), Some("nuclei"));
    assert_eq!(*calls.lock().unwrap(), 3);
    let mut c = FetchConfig::new(&server.base, "login");
    c.token = None;
    let e = c.client().unwrap().info().unwrap_err().to_string();
    assert!(
        e.contains("HTTP 302")
            && e.contains("redirected to https://auth.example/authorize")
            && e.contains("the token is missing or refused"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// The token.

fn write_secret(home: &Path, file: &str, text: &str) {
    let dir = home.join(".cloudvolume/secrets");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), text).unwrap();
}

#[test]
fn token_precedence_argument_then_environment_then_files() {
    let home = tempfile::tempdir().unwrap();
    let h = Some(home.path());
    let server = "https://global.daf-apis.com";
    let find = |arg: Option<&str>, env: Option<&str>| find_token(arg, env, h, server).unwrap();

    assert_eq!(find(None, None), None);
    write_secret(
        home.path(),
        "chunkedgraph-secret.json",
        r#"{"token": "from-chunkedgraph"}"#,
    );
    let t = find(None, None).unwrap();
    assert_eq!(t.token, Token::new("from-chunkedgraph").unwrap());
    assert!(matches!(&t.source, TokenSource::File(p) if p.ends_with("chunkedgraph-secret.json")));

    write_secret(
        home.path(),
        "cave-secret.json",
        r#"{"token": "from-generic"}"#,
    );
    assert_eq!(
        find(None, None).unwrap().token,
        Token::new("from-generic").unwrap()
    );

    // The server's own file wins over cave-secret.json; lacking the key, chunkedgraph is next
    // (cave-secret.json is not consulted then, as in caveclient).
    write_secret(
        home.path(),
        "global.daf-apis.com-cave-secret.json",
        r#"{"other": 1}"#,
    );
    assert_eq!(
        find(None, None).unwrap().token,
        Token::new("from-chunkedgraph").unwrap()
    );
    write_secret(
        home.path(),
        "global.daf-apis.com-cave-secret.json",
        r#"{"token": "from-server-file"}"#,
    );
    let t = find(None, None).unwrap();
    assert_eq!(t.token, Token::new("from-server-file").unwrap());
    assert!(
        t.source
            .to_string()
            .ends_with("global.daf-apis.com-cave-secret.json")
    );

    let t = find(None, Some("from-env")).unwrap();
    assert_eq!(
        (t.token, t.source),
        (Token::new("from-env").unwrap(), TokenSource::Environment)
    );
    let t = find(Some("from-arg"), Some("from-env")).unwrap();
    assert_eq!(
        (t.token, t.source),
        (Token::new("from-arg").unwrap(), TokenSource::Argument)
    );
    // Empty values count as absent.
    assert_eq!(
        find(Some(""), Some(" ")).unwrap().source,
        t_file(home.path())
    );

    // A port is part of the file name.
    write_secret(
        home.path(),
        "localhost:8443-cave-secret.json",
        r#"{"token": "from-port-file"}"#,
    );
    let t = find_token(None, None, h, "localhost:8443")
        .unwrap()
        .unwrap();
    assert_eq!(t.token, Token::new("from-port-file").unwrap());

    // No home: no files.
    assert_eq!(find_token(None, None, None, server).unwrap(), None);
}

fn t_file(home: &Path) -> TokenSource {
    TokenSource::File(home.join(".cloudvolume/secrets/global.daf-apis.com-cave-secret.json"))
}

#[test]
fn a_broken_token_file_is_named_without_its_content() {
    let home = tempfile::tempdir().unwrap();
    write_secret(
        home.path(),
        "cave-secret.json",
        "{\"token\": \"abcdef-secret",
    );
    let e = find_token(None, None, Some(home.path()), "https://x.org")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cave-secret.json") && e.contains("not valid JSON"),
        "{e}"
    );
    assert!(!e.contains("abcdef-secret"), "{e}");
}

#[test]
fn the_token_goes_as_bearer_header_and_cookie_and_never_into_debug_or_errors() {
    let secret = "0123456789abcdef0123456789abcdef";
    let server = FakeServer::start(move |_| {
        // A server that echoes the token must not make it appear in our message.
        json_reply(
            401,
            json!({"error": "invalid_token", "message": format!("Token {secret} is Invalid or Expired")}),
        )
    });
    let mut cfg = FetchConfig::new(&server.base, "minnie65_public");
    cfg.token = find_token(Some(secret), Some("other"), None, &server.base).unwrap();
    let client = cfg.client().unwrap();
    for shown in [
        format!("{cfg:?}"),
        format!("{client:?}"),
        format!("{:?}", cfg.token),
    ] {
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
    let err = client.info().unwrap_err();
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(
        err.to_string().contains("Token <token> is Invalid"),
        "{err}"
    );

    let seen = server.seen();
    let r = &seen[0];
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {secret}").as_str())
    );
    assert_eq!(
        r.header("cookie"),
        Some(format!("middle_auth_token={secret}").as_str())
    );
    assert!(
        r.header("accept-encoding")
            .is_some_and(|v| v.contains("gzip")),
        "{r:?}"
    );

    // No token: neither header nor cookie.
    fetch_client(&server.base, None).info().unwrap_err();
    let r = server.seen().pop().unwrap();
    assert!(
        r.header("authorization").is_none() && r.header("cookie").is_none(),
        "{r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// A small datastack, fetched, edited on the server, refetched.

/// What the fake CAVE serves.
struct Tiny {
    base: String,
    versions: Vec<Value>,
    tables: BTreeMap<u32, Vec<&'static str>>,
    metadata: BTreeMap<&'static str, Value>,
    unique: BTreeMap<&'static str, Value>,
    types_all_works: bool,
}

fn type_doc(name: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(repo().join(format!("schemas/types/{name}.json"))).unwrap(),
    )
    .unwrap()
}

fn table_meta(name: &str, schema: &str, reference: Value, description: &str) -> Value {
    json!({"id": 1, "aligned_volume": "tiny", "table_name": name, "schema": schema, "schema_type": schema,
        "reference_table": reference, "description": description, "notice_text": null, "valid": true,
        "voxel_resolution_x": 4.0, "voxel_resolution_y": 4.0, "voxel_resolution_z": 40.0})
}

impl Tiny {
    fn new() -> Tiny {
        let mut metadata = BTreeMap::new();
        metadata.insert("syn", table_meta("syn", "synapse", Value::Null, "synapses"));
        // An older server's shape: `annotation_table` holds the name.
        let mut nuc = table_meta("nuc__seg", "nucleus_detection", json!(""), "nuclei");
        nuc["annotation_table"] = json!("nuc");
        metadata.insert("nuc", nuc);
        metadata.insert(
            "types",
            table_meta("types", "cell_type_reference", json!("nuc"), "cell types"),
        );
        metadata.insert(
            "old_syn",
            table_meta("old_syn", "synapse", Value::Null, "an old table"),
        );
        Tiny {
            base: String::new(),
            versions: vec![
                json!({"id": 1, "datastack": "tiny", "version": 1, "time_stamp": "2024-06-12T10:10:01", "valid": false, "expires_on": "2024-07-12T10:10:01.500000", "status": "EXPIRED", "is_merged": true}),
                json!({"id": 2, "datastack": "tiny", "version": 2, "time_stamp": "2024-09-01T00:00:00.123456", "valid": true, "expires_on": null, "status": "AVAILABLE", "is_merged": false}),
            ],
            tables: BTreeMap::from([
                (1, vec!["old_syn", "nuc"]),
                (2, vec!["types", "syn", "nuc"]),
            ]),
            metadata,
            unique: BTreeMap::new(),
            types_all_works: true,
        }
    }

    fn answer(&self, path: &str) -> Reply {
        let v3 = "/materialize/api/v3/datastack/tiny";
        let v2 = "/materialize/api/v2/datastack/tiny";
        if path == "/info/api/v2/datastack/full/tiny" {
            return json_reply(
                200,
                json!({"aligned_volume": {"id": 7, "name": "tiny_volume", "display_name": null, "description": null, "image_source": "precomputed://x"},
                "local_server": self.base, "synapse_table": "syn", "soma_table": "nuc", "description": "a tiny datastack",
                "analysis_database": null, "cell_identification_table": null, "proofreading_review_table": null, "proofreading_status_table": null,
                "segmentation_source": "graphene://x/tiny", "skeleton_source": null, "viewer_resolution_x": 4.0, "viewer_resolution_y": 4.0, "viewer_resolution_z": 40.0,
                "viewer_site": null, "a_key_from_a_newer_server": {"kept": true}}),
            );
        }
        if path == format!("{v3}/metadata?expired=True") {
            return json_reply(200, Value::Array(self.versions.clone()));
        }
        if path == "/schema/api/v2/types_all" {
            return if self.types_all_works {
                json_reply(
                    200,
                    json!({"synapse": type_doc("synapse"), "nucleus_detection": type_doc("nucleus_detection"), "cell_type_reference": type_doc("cell_type_reference")}),
                )
            } else {
                json_reply(500, json!({"message": "types_all is down"}))
            };
        }
        if let Some(t) = path.strip_prefix("/schema/api/v2/type/") {
            return json_reply(200, type_doc(t));
        }
        if let Some(t) = path
            .strip_prefix(&format!("{v3}/table/"))
            .and_then(|r| r.strip_suffix("/unique_string_values"))
        {
            return json_reply(200, self.unique.get(t).cloned().unwrap_or(json!({})));
        }
        let version_part = path
            .strip_prefix(&format!("{v2}/version/"))
            .or_else(|| path.strip_prefix(&format!("{v3}/version/")));
        if let Some(rest) = version_part {
            let (v, rest) = rest.split_once('/').unwrap();
            let v: u32 = v.parse().unwrap();
            let tables = &self.tables[&v];
            if rest == "tables" {
                return json_reply(200, json!(tables));
            }
            if rest == "tables/metadata" {
                return json_reply(
                    200,
                    Value::Array(tables.iter().map(|t| self.metadata[t].clone()).collect()),
                );
            }
            if let Some(t) = rest
                .strip_prefix("table/")
                .and_then(|r| r.strip_suffix("/metadata"))
            {
                return json_reply(200, self.metadata[t].clone());
            }
        }
        json_reply(404, json!({"message": format!("no route {path}")}))
    }
}

fn tiny_server() -> (Arc<Mutex<Tiny>>, FakeServer) {
    let state = Arc::new(Mutex::new(Tiny::new()));
    let s = state.clone();
    let server = FakeServer::start(move |r| s.lock().unwrap().answer(&r.path));
    state.lock().unwrap().base = server.base.clone();
    (state, server)
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[test]
fn a_first_fetch_creates_the_snapshot_and_a_second_writes_nothing() {
    let (_state, server) = tiny_server();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tiny");
    let cfg = config(&server.base, "tiny");

    let first = fetch_snapshot(&cfg, &dir, &mut Progress::silent()).unwrap();
    assert!(first.changed);
    assert_eq!(first.version, 2);
    // The six datastack files (views.json too, with no views) and three types.
    assert_eq!(first.written.len(), 6 + 3, "{:?}", first.written);
    let s = Snapshot::load(&dir).unwrap();
    assert_eq!(s.manifest.provenance.kind, SnapshotKind::Fetched);
    assert_eq!(
        s.manifest.provenance.server.as_deref(),
        Some(server.base.as_str())
    );
    assert_eq!(s.manifest.types_dir, "../types");
    assert!(tmp.path().join("types/synapse.json").is_file());
    assert_eq!(
        s.versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(
        s.versions[1].tables,
        ["nuc", "syn", "types"],
        "stored sorted"
    );
    assert_eq!(
        s.versions[0].time_stamp.to_rfc3339(),
        "2024-06-12T10:10:01+00:00"
    );
    assert_eq!(s.versions[0].is_merged, Some(true));
    assert!(s.versions[1].expires_on.is_none());
    assert_eq!(
        s.table("types").unwrap().reference_table.as_deref(),
        Some("nuc")
    );
    assert_eq!(
        s.table("nuc").unwrap().reference_table,
        None,
        "\"\" is no reference"
    );
    assert_eq!(
        s.table("old_syn").unwrap().description.as_deref(),
        Some("an old table")
    );
    assert_eq!(
        s.table("syn").unwrap().provenance.description,
        Some(Provenance::Server)
    );
    assert_eq!(
        s.info.extra["a_key_from_a_newer_server"],
        json!({"kept": true})
    );

    // Only tables of the chosen version go through the all-tables route; `old_syn` (only in
    // version 1) is read alone, at version 1.
    let paths: Vec<String> = server.seen().into_iter().map(|r| r.path).collect();
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("/version/1/table/old_syn/metadata")),
        "{paths:#?}"
    );
    assert!(
        !paths
            .iter()
            .any(|p| p.ends_with("/version/1/tables/metadata")),
        "{paths:#?}"
    );

    let before = contents(tmp.path());
    let again = fetch_snapshot(&cfg, &dir, &mut Progress::silent()).unwrap();
    assert!(!again.changed && again.written.is_empty() && again.changes.is_empty());
    assert_eq!(contents(tmp.path()), before);
    let check = check_snapshot(&cfg, &dir, &mut Progress::silent()).unwrap();
    assert!(
        !check.differs && check.changes.is_empty(),
        "{}",
        check.changes
    );
}

#[test]
fn refetching_follows_the_merge_rules() {
    let (state, server) = tiny_server();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tiny");
    let cfg = config(&server.base, "tiny");
    fetch_snapshot(&cfg, &dir, &mut Progress::silent()).unwrap();

    // Curate by hand: provenance of two facts, a value set on `types.cell_type`.
    edit_json(&dir.join("tables.json"), |t| {
        t["tables"]["syn"]["provenance"]["description"] = json!("doc");
        t["tables"]["nuc"]["provenance"]["description"] = json!("doc");
        t["tables"]["old_syn"]["provenance"]["schema_type"] = json!("seen");
    });
    edit_json(&dir.join("value_sets.json"), |v| {
        *v = json!({"columns": {"types": {"cell_type": "tiny_cell_type"}},
            "value_sets": {"tiny_cell_type": {"doc": "cell types", "provenance": "doc",
                "values": [{"value": "L23", "doc": "layer 2/3"}, {"value": "gone_from_server", "doc": "kept"}]}}});
    });
    edit_json(&dir.join("snapshot.json"), |m| {
        m["provenance"]["summary"] = json!("hand-made")
    });
    cave_schema::Snapshot::load(&dir)
        .unwrap()
        .write(&dir)
        .unwrap();

    {
        let mut s = state.lock().unwrap();
        s.metadata.get_mut("nuc").unwrap()["description"] = json!("nuclei, revised");
        s.metadata.insert(
            "new_t",
            table_meta("new_t", "synapse", Value::Null, "brand new"),
        );
        s.versions.push(json!({"version": 3, "time_stamp": "2024-10-01T00:00:00", "valid": true, "expires_on": null, "is_merged": false}));
        s.versions.remove(0);
        s.tables.insert(3, vec!["types", "syn", "nuc", "new_t"]);
        s.unique.insert(
            "types",
            json!({"cell_type": ["L23", "L4", "L5"], "classification_system": ["excitatory"]}),
        );
    }

    // check sees every change and writes nothing.
    let before = contents(tmp.path());
    let check = check_snapshot(&cfg, &dir, &mut Progress::silent()).unwrap();
    assert!(check.differs);
    let lines: Vec<String> = check.changes.lines().collect();
    for expected in [
        "versions: - version 1 (2024-06-12T10:10:01.000000Z): no longer listed by the server",
        "versions: + version 3 (2024-10-01T00:00:00.000000Z; valid; 4 tables)",
        "tables: + new_t: schema type synapse",
        "tables: ~ nuc: description \"nuclei\" → \"nuclei, revised\"",
        "value sets: ~ tiny_cell_type (types.cell_type): + value \"L4\" (new enum value from the server)",
        "value sets: ~ tiny_cell_type (types.cell_type): + value \"L5\" (new enum value from the server)",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "missing {expected:?} in\n{lines:#?}"
        );
    }
    assert_eq!(lines.len(), 6, "{lines:#?}");
    assert!(
        check.notes.iter().any(|n| n.starts_with(
            "types.classification_system: 1 distinct values on the server and no value set"
        )),
        "{:?}",
        check.notes
    );
    assert_eq!(contents(tmp.path()), before);

    let out = fetch_snapshot(&cfg, &dir, &mut Progress::silent()).unwrap();
    assert!(out.changed);
    let s = Snapshot::load(&dir).unwrap();
    assert_eq!(
        s.versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [2, 3]
    );
    // Unchanged facts keep their provenance, changed and new ones say `server`.
    assert_eq!(
        s.table("syn").unwrap().provenance.description,
        Some(Provenance::Doc)
    );
    assert_eq!(
        s.table("nuc").unwrap().provenance.description,
        Some(Provenance::Server)
    );
    assert_eq!(
        s.table("new_t").unwrap().provenance.schema_type,
        Some(Provenance::Server)
    );
    // A table no version lists any more keeps what the snapshot said.
    assert_eq!(
        s.table("old_syn").unwrap().provenance.schema_type,
        Some(Provenance::Seen)
    );
    // Value sets grow at the end with empty docs and lose nothing; no set for the other column.
    let (_, set) = s.value_set("types", "cell_type").unwrap();
    let values: Vec<(&str, &str)> = set
        .values
        .iter()
        .map(|v| (v.value.as_str(), v.doc.as_str()))
        .collect();
    assert_eq!(
        values,
        [
            ("L23", "layer 2/3"),
            ("gone_from_server", "kept"),
            ("L4", ""),
            ("L5", "")
        ]
    );
    assert_eq!(set.provenance, Provenance::Doc);
    assert!(s.value_set("types", "classification_system").is_none());
    assert_eq!(s.manifest.provenance.kind, SnapshotKind::Fetched);
    assert!(
        s.manifest
            .provenance
            .summary
            .contains("table metadata as of version 3")
    );
}

#[test]
fn without_types_all_the_needed_types_are_read_one_by_one() {
    let (state, server) = tiny_server();
    state.lock().unwrap().types_all_works = false;
    let tmp = tempfile::tempdir().unwrap();
    let out = fetch_snapshot(
        &config(&server.base, "tiny"),
        &tmp.path().join("tiny"),
        &mut Progress::silent(),
    )
    .unwrap();
    assert_eq!(
        out.snapshot.types.names().collect::<Vec<_>>(),
        ["cell_type_reference", "nucleus_detection", "synapse"]
    );
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("types_all failed") && n.contains("types_all is down")),
        "{:?}",
        out.notes
    );
}

#[test]
fn an_invalid_merged_snapshot_is_refused_before_writing() {
    let (state, server) = tiny_server();
    // A reference type without a reference table breaks the snapshot's own rules.
    state.lock().unwrap().metadata.get_mut("types").unwrap()["reference_table"] = json!(null);
    let tmp = tempfile::tempdir().unwrap();
    let err = fetch_snapshot(
        &config(&server.base, "tiny"),
        &tmp.path().join("tiny"),
        &mut Progress::silent(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("tables.json: at $.tables.types.reference_table"),
        "{err}"
    );
    assert!(!tmp.path().join("tiny").exists() && !tmp.path().join("types").exists());
}

#[test]
fn an_unknown_version_is_refused_with_the_list() {
    let (_state, server) = tiny_server();
    let mut cfg = config(&server.base, "tiny");
    cfg.version = Some(7);
    let tmp = tempfile::tempdir().unwrap();
    let err = fetch_snapshot(&cfg, &tmp.path().join("tiny"), &mut Progress::silent())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("version 7 is not among the versions") && err.ends_with(": 1, 2"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// The command line: exit statuses, and the token stays out of the output.

fn cli(args: &[&str], home: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cave"))
        .args(args)
        .env("HOME", home)
        .env_remove("CAVE_TOKEN")
        .output()
        .unwrap()
}

#[test]
fn cli_check_exits_0_1_2_and_fetch_reports() {
    let home = tempfile::tempdir().unwrap();
    let (state, server) = tiny_server();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tiny");
    let d = dir.to_str().unwrap();
    let base = server.base.as_str();

    let out = cli(
        &[
            "fetch",
            "--server",
            base,
            "--datastack",
            "tiny",
            "--out",
            d,
            "--token",
            "cli-secret",
        ],
        home.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("tiny: fetched from"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fetch: versions 2/2") && stderr.contains("fetch: types"),
        "{stderr}"
    );

    let out = cli(
        &[
            "check",
            "--server",
            base,
            "--datastack",
            "tiny",
            "--datastack-dir",
            d,
            "--token",
            "cli-secret",
        ],
        home.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    state.lock().unwrap().metadata.get_mut("syn").unwrap()["notice_text"] = json!("please cite");
    let out = cli(
        &[
            "check",
            "--server",
            base,
            "--datastack",
            "tiny",
            "--datastack-dir",
            d,
            "--token",
            "cli-secret",
        ],
        home.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("~ syn: notice_text null → \"please cite\""),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "cargo run -p cave-cli -- fetch --server {base} --datastack tiny --out {d}"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("cli-secret"));

    // No token anywhere (HOME is empty): the fake server does not care, but a dead one gives 2.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let out = cli(
        &[
            "check",
            "--server",
            &dead,
            "--datastack",
            "tiny",
            "--datastack-dir",
            d,
            "--token",
            "cli-secret",
        ],
        home.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Connection refused") && !stderr.contains("cli-secret"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_materialization_server_suggests_local_server() {
    let (state, server) = tiny_server();
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    state.lock().unwrap().base = dead.clone();
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config(&server.base, "tiny");
    let err = fetch_snapshot(&cfg, &tmp.path().join("tiny"), &mut Progress::silent())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "GET {dead}/materialize/api/v3/datastack/tiny/metadata?expired=True: cannot connect"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "the datastack record names {dead} as the materialization server"
        )) && err.contains("--local-server"),
        "{err}"
    );

    // With the override the requests go to the fake server, and the record is kept as served.
    cfg.local_server = Some(server.base.clone());
    let out = fetch_snapshot(&cfg, &tmp.path().join("tiny"), &mut Progress::silent()).unwrap();
    assert_eq!(
        out.snapshot.info.local_server.as_deref(),
        Some(dead.as_str())
    );
}
