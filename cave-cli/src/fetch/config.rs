//! What to fetch, from where, with which token.

use std::time::Duration;

use cave_runtime::FoundToken;
use cave_runtime::{Limits, Timeouts};

/// The options of `cave fetch` and `check`.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchConfig {
    /// The global server (info and schema services), e.g. `https://global.daf-apis.com`.
    pub server: String,
    /// The datastack, e.g. `minnie65_public`.
    pub datastack: String,
    /// The version whose table metadata is read; default the newest valid version.
    pub version: Option<u32>,
    /// Send materialization requests here instead of the info record's `local_server` (an
    /// SSH tunnel, a local devserver). The info record is stored as served either way.
    pub local_server: Option<String>,
    /// The token to send (its `Debug` is redacted).
    pub token: Option<FoundToken>,
    /// Connect, read and per-request timeouts ([`FetchConfig::DEFAULT_TIMEOUTS`]).
    pub timeouts: Timeouts,
    /// Send the token over plain `http://` to servers that are not on this machine (default:
    /// only `https://`, and `http://` on loopback).
    pub allow_insecure_http: bool,
}

impl FetchConfig {
    /// The timeouts of a fetch: 10 s to connect, 2 minutes of silence, 5 minutes for a
    /// whole request with its retries (the answers are small; a server sending a byte a
    /// second still ends in an error).
    pub const DEFAULT_TIMEOUTS: Timeouts = Timeouts {
        connect: Duration::from_secs(10),
        idle: Duration::from_secs(120),
        request: Duration::from_secs(300),
        query: Duration::from_secs(300),
    };

    /// The largest answer a fetch reads, once gzip is undone: `types_all` is about 60 kB and
    /// metadata lists are small.
    pub const MAX_ANSWER_BYTES: u64 = 32 << 20;

    /// A config with no version, no override, no token and the default timeouts.
    pub fn new(server: impl Into<String>, datastack: impl Into<String>) -> Self {
        FetchConfig {
            server: server.into(),
            datastack: datastack.into(),
            version: None,
            local_server: None,
            token: None,
            timeouts: Self::DEFAULT_TIMEOUTS,
            allow_insecure_http: false,
        }
    }

    /// The global server without trailing slashes, as recorded in the snapshot.
    pub fn server_url(&self) -> &str {
        self.server.trim_end_matches('/')
    }

    /// The runtime's client for these settings: the token as found, the timeouts, the answer
    /// limit, the transport rule, no progress bar.
    pub fn client(&self) -> Result<cave_runtime::blocking::Client, cave_runtime::Error> {
        let mut builder = cave_runtime::Client::builder(&self.datastack)
            .server(self.server_url())
            .found_token(self.token.clone())
            .timeouts(self.timeouts)
            .limits(Limits {
                max_json_bytes: Self::MAX_ANSWER_BYTES,
                ..Limits::default()
            })
            .allow_insecure_http(self.allow_insecure_http)
            .progress(false);
        if let Some(local) = &self.local_server {
            builder = builder.local_server(local);
        }
        cave_runtime::blocking::Client::new(builder.build()?)
    }
}
