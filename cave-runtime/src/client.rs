//! The client of a CAVE deployment. Issue 5 gives it HTTP: endpoints, auth, retries, paging
//! and Arrow decoding; until then it holds the configuration and the typed entry points that
//! generated code calls, so that `filter().query(&client)` type-checks.

use crate::error::Error;
use crate::query::Query;
use crate::table::Table;

/// A client for one datastack of a CAVE deployment.
#[derive(Debug, Clone)]
pub struct Client {
    server: String,
    datastack: String,
}

impl Client {
    /// A client of `datastack` on the CAVE deployment at `server` (e.g.
    /// `https://global.daf-apis.com`).
    pub fn new(server: impl Into<String>, datastack: impl Into<String>) -> Self {
        Client {
            server: server.into(),
            datastack: datastack.into(),
        }
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The datastack.
    pub fn datastack(&self) -> &str {
        &self.datastack
    }

    /// Run a typed query and decode its rows.
    pub async fn query<T: Table>(&self, query: Query<T>) -> Result<Vec<T>, Error> {
        let _ = query;
        Err(Error::Unavailable(format!(
            "running queries against {} (HTTP) is not built yet",
            self.server
        )))
    }
}
