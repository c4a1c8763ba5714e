//! Shared helpers of the devserver tests: start a server, make requests, read Arrow bodies.

#![allow(dead_code)]

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::OnceLock;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_schema::SchemaRef;
use cave_devserver::{BackgroundServer, ServerConfig};
use serde_json::Value;

/// The committed snapshot.
pub fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/minnie65_public")
}

/// A config with a small synapse table, so tests start quickly.
pub fn small_config() -> ServerConfig {
    let mut config = ServerConfig::new(snapshot_dir());
    config.sample.synapses = 20_000;
    config
}

/// One server shared by the read-only tests of a test binary.
pub fn shared() -> &'static BackgroundServer {
    static SERVER: OnceLock<BackgroundServer> = OnceLock::new();
    SERVER.get_or_init(|| BackgroundServer::start(small_config()).expect("devserver starts"))
}

/// An HTTP answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_all(name).first().copied()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as an Arrow IPC stream: schema and batches.
    pub fn arrow(&self) -> (SchemaRef, Vec<RecordBatch>) {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        let reader = StreamReader::try_new(Cursor::new(&self.body), None).expect("Arrow stream");
        let schema = reader.schema();
        let batches = reader.collect::<Result<Vec<_>, _>>().expect("batches");
        (schema, batches)
    }
}

/// The HTTP client of the tests: no timeout, answers of any status, gzip bodies decoded (and
/// no other content coding), a new connection per request.
pub fn agent() -> &'static reqwest::blocking::Client {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::blocking::Client::builder()
            .timeout(None)
            .gzip(true)
            .no_deflate()
            .no_brotli()
            .no_zstd()
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client")
    })
}

fn collect(response: reqwest::Result<reqwest::blocking::Response>) -> Reply {
    let response = response.expect("request reaches the server");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let body = response.bytes().expect("body").to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// GET with a token.
pub fn get(url: &str) -> Reply {
    collect(
        agent()
            .get(url)
            .header("Authorization", "Bearer test-token")
            .send(),
    )
}

/// GET with no token.
pub fn get_anonymous(url: &str) -> Reply {
    collect(agent().get(url).send())
}

/// POST a JSON body with a token and `Accept-Encoding`.
pub fn post(url: &str, body: &str, accept_encoding: &str) -> Reply {
    collect(
        agent()
            .post(url)
            .header("Authorization", "Bearer test-token")
            .header("Accept-Encoding", accept_encoding)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send(),
    )
}

/// The materialization v3 base of the shared datastack.
pub fn v3(base: &str) -> String {
    format!("{base}/materialize/api/v3/datastack/minnie65_public")
}

/// The query string caveclient sends on frozen queries.
pub const FLAGS: &str =
    "return_pyarrow=True&arrow_format=True&split_positions=True&direct_sql_pandas=True";

/// POST a simple query of `table` at `version` the way caveclient does.
pub fn query(base: &str, version: u32, table: &str, body: &str) -> Reply {
    post(
        &format!("{}/version/{version}/table/{table}/query?{FLAGS}", v3(base)),
        body,
        "zstd",
    )
}

/// POST a join query at `version`.
pub fn join(base: &str, version: u32, body: &str) -> Reply {
    post(
        &format!("{}/version/{version}/query?{FLAGS}", v3(base)),
        body,
        "zstd",
    )
}

/// Total rows over batches.
pub fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

/// Column names of a schema.
pub fn names(schema: &SchemaRef) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}
