//! What to fetch, from where, with which token.

use super::client::Timeouts;
use cave_schema::token::FoundToken;

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
    /// Connect and read timeouts.
    pub timeouts: Timeouts,
    /// Send the token over plain `http://` to servers that are not on this machine (default:
    /// only `https://`, and `http://` on loopback).
    pub allow_insecure_http: bool,
}

impl FetchConfig {
    /// A config with no version, no override, no token and the default timeouts.
    pub fn new(server: impl Into<String>, datastack: impl Into<String>) -> Self {
        FetchConfig {
            server: server.into(),
            datastack: datastack.into(),
            version: None,
            local_server: None,
            token: None,
            timeouts: Timeouts::default(),
            allow_insecure_http: false,
        }
    }

    /// The global server without trailing slashes, as recorded in the snapshot.
    pub fn server_url(&self) -> &str {
        self.server.trim_end_matches('/')
    }
}
