//! The client of one datastack on a CAVE deployment: where the services are, the token, the
//! version queries run at, and the calls: info and metadata GETs, and queries that page past
//! the server's row cap and decode into typed rows or Arrow record batches.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cave_runtime::Error> {
//! let client = cave_runtime::Client::builder("minnie65_public").version(1300).build()?;
//! let info = client.info().await?;
//! println!("{}", info.description.unwrap_or_default());
//! for v in client.versions_metadata().await? {
//!     println!("{} {}", v.version, v.time_stamp);
//! }
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cave_wire::paths::{self, Template, materialize::v2, materialize::v3};
use cave_wire::{DatastackInfo, TableMetadata, VersionInfo, ViewMetadata, ViewSchema};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::error::Error;
use crate::http::{Http, RetryPolicy};
use crate::limits::{Limits, Timeouts};
use crate::pager::{self, At, DEFAULT_PAGES_IN_FLIGHT, Pager, PagerSetup, Paging};
use crate::query::{Query, Side, Spec};
use crate::response;
use crate::result::{Batches, Rows};
use crate::stream::RowStream;
use crate::table::Table;
use crate::token::FoundToken;

/// The global CAVE server caveclient uses by default (docs/WIRE.md, "Servers and services").
pub const DEFAULT_SERVER: &str = "https://global.daf-apis.com";

/// The oldest materialization server that answers queries as this client expects (caveclient
/// refuses older ones too, docs/WIRE.md, "Bootstrap").
pub const MIN_SERVER_VERSION: (u64, u64, u64) = (5, 13, 0);

/// Query-string flags of materialized queries, in caveclient's order (docs/WIRE.md, "Query bodies");
/// `random_sample` goes before `direct_sql_pandas`.
const FROZEN_FLAGS: &str = "return_pyarrow=True&arrow_format=True&split_positions=True";
/// Query-string flags of live queries (docs/WIRE.md, "Live queries"); `random_sample` goes last.
const LIVE_FLAGS: &str = "return_pyarrow=True&arrow_format=True&merge_reference=False&allow_missing_lookups=False&allow_invalid_root_ids=False&direct_sql_pandas=True";

/// Builds a [`Client`]; every setting has a default.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    datastack: String,
    server: String,
    local_server: Option<String>,
    token: Option<String>,
    found_token: Option<Option<FoundToken>>,
    token_env: bool,
    token_home: Option<PathBuf>,
    version: Option<u32>,
    timestamp: Option<DateTime<Utc>>,
    retry: RetryPolicy,
    timeouts: Timeouts,
    limits: Limits,
    allow_insecure_http: bool,
    paging: Paging,
    progress: bool,
    pages_in_flight: usize,
}

impl ClientBuilder {
    fn new(datastack: impl Into<String>) -> Self {
        ClientBuilder {
            datastack: datastack.into(),
            server: DEFAULT_SERVER.to_string(),
            local_server: None,
            token: None,
            found_token: None,
            token_env: true,
            token_home: std::env::home_dir(),
            version: None,
            timestamp: None,
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            allow_insecure_http: false,
            paging: Paging::All,
            progress: true,
            pages_in_flight: DEFAULT_PAGES_IN_FLIGHT,
        }
    }

    /// The global server (info service and auth), default [`DEFAULT_SERVER`].
    pub fn server(mut self, url: impl Into<String>) -> Self {
        self.server = url.into().trim_end_matches('/').to_string();
        self
    }

    /// The materialization server, instead of the info record's `local_server`.
    pub fn local_server(mut self, url: impl Into<String>) -> Self {
        self.local_server = Some(url.into().trim_end_matches('/').to_string());
        self
    }

    /// The token to send. Without one the client reads `CAVE_TOKEN`, then caveclient's token
    /// files (`~/.cloudvolume/secrets/<server host>-cave-secret.json`, `cave-secret.json`,
    /// `chunkedgraph-secret.json`).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// A token already looked up with [`crate::token::find_token`] (or `None`: send no token),
    /// so that auth hints can say where it came from; no other search is made.
    pub fn found_token(mut self, token: Option<FoundToken>) -> Self {
        self.found_token = Some(token);
        self
    }

    /// Where token files are looked for (`$HOME` by default; `None`: nowhere), and whether
    /// `CAVE_TOKEN` is read. For tests and unusual setups.
    pub fn token_search(mut self, home: Option<PathBuf>, read_env: bool) -> Self {
        self.token_home = home;
        self.token_env = read_env;
        self
    }

    /// Run queries at this materialization version unless a query names its own.
    pub fn version(mut self, version: u32) -> Self {
        self.version = Some(version);
        self.timestamp = None;
        self
    }

    /// Run queries live, at this moment, unless a query names a version or a timestamp.
    pub fn timestamp(mut self, timestamp: DateTime<Utc>) -> Self {
        self.timestamp = Some(timestamp);
        self.version = None;
        self
    }

    /// Retries of 502/503/504, 429 and broken connections (default: 3, as caveclient).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry.max_retries = retries;
        self
    }

    /// The whole retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Time allowed to connect (default 30 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// Time allowed for a whole request: the answer read to its end, retries and their waits
    /// included (default 15 minutes). A server that sends a byte a second still ends in an
    /// error then.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.request = timeout;
        self
    }

    /// Time allowed between two reads of an answer, the wait for its first byte included
    /// (default 5 minutes): a stalled server fails instead of hanging.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.idle = timeout;
        self
    }

    /// Time allowed for all the requests of one query, every page (default 2 hours; the time
    /// a stream's caller spends on its rows does not count). Raise it for streams of
    /// hundreds of pages.
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.query = timeout;
        self
    }

    /// Every timeout at once.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// How big the server's answers may be, and how many columns and pages they may have
    /// (see [`Limits`] for the defaults).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Allow plain `http://` servers that are not on this machine (default: only `https://`,
    /// and `http://` on loopback). Over plain http the token travels unencrypted.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Fetch every page (default) or only the first.
    pub fn paging(mut self, paging: Paging) -> Self {
        self.paging = paging;
        self
    }

    /// How many requests of one query may be in flight at once when its rows are fetched in
    /// several (default [`DEFAULT_PAGES_IN_FLIGHT`]; at least 1). Each request may hold up to
    /// [`Limits::max_page_bytes`] while it is read, so memory grows with this number. Each
    /// request keeps to a `429`'s or `503`'s `Retry-After` on its own.
    pub fn pages_in_flight(mut self, n: usize) -> Self {
        self.pages_in_flight = n.max(1);
        self
    }

    /// Show a progress bar on a terminal while a query fetches many pages (default: on; it
    /// never shows when stderr is not a terminal).
    pub fn progress(mut self, show: bool) -> Self {
        self.progress = show;
        self
    }

    /// The client. No request is sent yet.
    pub fn build(self) -> Result<Client, Error> {
        let server = checked_url("server", &self.server, self.allow_insecure_http, true)
            .map_err(Error::Config)?;
        let local_server = match &self.local_server {
            Some(url) => Some(
                checked_url("local server", url, self.allow_insecure_http, true)
                    .map_err(Error::Config)?,
            ),
            None => None,
        };
        if self.datastack.is_empty() {
            return Err(Error::Config("the datastack name is empty".into()));
        }
        let token = match self.found_token {
            Some(found) => found,
            None => {
                let env = if self.token_env {
                    std::env::var(crate::token::TOKEN_ENV).ok()
                } else {
                    None
                };
                crate::token::find_token(
                    self.token.as_deref(),
                    env.as_deref(),
                    self.token_home.as_deref(),
                    &self.server,
                )
                .map_err(|e| Error::Config(e.to_string()))?
            }
        };
        let http = Http::new(
            token,
            server.clone(),
            self.retry,
            self.timeouts,
            self.limits,
        )?;
        Ok(Client {
            inner: Arc::new(Inner {
                http: Arc::new(http),
                server,
                datastack: self.datastack,
                allow_insecure_http: self.allow_insecure_http,
                local_server: OnceCell::new_with(local_server),
                info: OnceCell::new(),
                compatible: OnceCell::new(),
                versions: OnceCell::new(),
                metadata: Mutex::new(HashMap::new()),
                version: self.version,
                timestamp: self.timestamp,
                paging: self.paging,
                progress: self.progress,
                pages_in_flight: self.pages_in_flight,
            }),
        })
    }
}

/// A client for one datastack of a CAVE deployment. Cheap to clone: clones share connections
/// and caches.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: Arc<Http>,
    server: String,
    datastack: String,
    allow_insecure_http: bool,
    local_server: OnceCell<String>,
    info: OnceCell<DatastackInfo>,
    compatible: OnceCell<String>,
    versions: OnceCell<Vec<VersionInfo>>,
    metadata: Mutex<HashMap<(u32, String), TableMetadata>>,
    version: Option<u32>,
    timestamp: Option<DateTime<Utc>>,
    paging: Paging,
    progress: bool,
    pages_in_flight: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.inner.server)
            .field("datastack", &self.inner.datastack)
            .field(
                "local_server",
                &self.inner.local_server.get().map(|s| self.http().clean(s)),
            )
            .field("token", &self.inner.http.token().map(|t| &t.token))
            .field("version", &self.inner.version)
            .field("timestamp", &self.inner.timestamp)
            .finish()
    }
}

impl Client {
    /// A builder for a client of `datastack`.
    pub fn builder(datastack: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(datastack)
    }

    /// A client of `datastack` on the CAVE deployment whose global server is `server`, with
    /// the token found as [`ClientBuilder::token`] describes.
    pub fn new(server: impl Into<String>, datastack: impl Into<String>) -> Result<Self, Error> {
        Self::builder(datastack).server(server).build()
    }

    /// The global server's URL.
    pub fn server(&self) -> &str {
        &self.inner.server
    }

    /// The datastack.
    pub fn datastack(&self) -> &str {
        &self.inner.datastack
    }

    /// The version queries run at by default, if one was set.
    pub fn default_version(&self) -> Option<u32> {
        self.inner.version
    }

    pub(crate) fn http(&self) -> &Http {
        &self.inner.http
    }

    /// The HTTP side, shared (for requests on tasks of their own).
    pub(crate) fn shared_http(&self) -> Arc<Http> {
        self.inner.http.clone()
    }

    /// How many requests of one call may be in flight ([`ClientBuilder::pages_in_flight`]).
    pub(crate) fn pages_in_flight(&self) -> usize {
        self.inner.pages_in_flight
    }

    /// The datastack's info record (fetched once).
    pub async fn info(&self) -> Result<DatastackInfo, Error> {
        self.inner
            .info
            .get_or_try_init(|| async {
                let url = self.info_url();
                self.get(url, "a datastack info record").await
            })
            .await
            .cloned()
    }

    /// The materialization server (the info record's `local_server`, unless set). The record
    /// is trusted only as far as the token is safe: an `http://` server is accepted only on
    /// loopback and only when the global server is on loopback too (or with
    /// [`ClientBuilder::allow_insecure_http`]).
    pub async fn local_server(&self) -> Result<String, Error> {
        self.inner
            .local_server
            .get_or_try_init(|| async {
                let info = self.info().await?;
                let bad = |problem: String| {
                    self.http().clean_error(Error::BadResponse {
                        url: self.info_url(),
                        problem,
                    })
                };
                let advertised = match info.local_server {
                    Some(s) if !s.is_empty() => s,
                    _ => return Err(bad("the info record has no local_server".into())),
                };
                // Plain http on loopback is fine when the global server is on loopback too (a
                // local devserver, a tunnel), not when one elsewhere names it.
                checked_url(
                    "local_server of the info record",
                    &advertised,
                    self.inner.allow_insecure_http,
                    cave_wire::untrusted::is_loopback_url(&self.inner.server),
                )
                .map_err(bad)
            })
            .await
            .cloned()
    }

    fn info_url(&self) -> String {
        paths::info::DATASTACK_FULL.url(&self.inner.server, &[&self.inner.datastack])
    }

    /// A materialization endpoint of this datastack: `template` filled with the datastack,
    /// then `rest`, on the local server.
    async fn materialize_url(&self, template: Template, rest: &[&str]) -> Result<String, Error> {
        let mut values = Vec::with_capacity(rest.len() + 1);
        values.push(self.inner.datastack.as_str());
        values.extend_from_slice(rest);
        Ok(template.url(&self.local_server().await?, &values))
    }

    /// GET `url` and read it as `T` (a record of `cave_wire::records`, or plain JSON).
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: String,
        what: &str,
    ) -> Result<T, Error> {
        let value = self.http().get_json(&url).await?;
        cave_wire::from_json(value).map_err(|e| self.bad_record(url, what, e))
    }

    fn bad_record(&self, url: String, what: &str, e: cave_wire::RecordError) -> Error {
        self.http().clean_error(Error::BadResponse {
            url,
            problem: format!("not {what}: {e}"),
        })
    }

    /// The valid materialization versions, oldest first.
    pub async fn versions(&self) -> Result<Vec<u32>, Error> {
        let url = self.materialize_url(v3::VERSIONS, &[]).await? + "?expired=False";
        let mut versions: Vec<u32> = self.get(url, "a list of versions").await?;
        versions.sort_unstable();
        Ok(versions)
    }

    /// The newest valid version.
    pub async fn latest_version(&self) -> Result<u32, Error> {
        let url = self.materialize_url(v3::VERSIONS, &[]).await? + "?expired=False";
        self.versions()
            .await?
            .into_iter()
            .max()
            .ok_or(Error::BadResponse {
                url,
                problem: "the datastack has no valid versions".into(),
            })
    }

    /// The valid versions with their timestamps, oldest first.
    pub async fn versions_metadata(&self) -> Result<Vec<VersionInfo>, Error> {
        self.versions_metadata_where("False").await
    }

    /// Every version the server lists, expired ones too, with their timestamps, oldest first.
    pub async fn all_versions_metadata(&self) -> Result<Vec<VersionInfo>, Error> {
        self.versions_metadata_where("True").await
    }

    async fn versions_metadata_where(&self, expired: &str) -> Result<Vec<VersionInfo>, Error> {
        let url = self.materialize_url(v3::METADATA, &[]).await? + "?expired=" + expired;
        let mut versions: Vec<VersionInfo> = self.get(url, "a list of version records").await?;
        versions.sort_by_key(|v| v.version);
        Ok(versions)
    }

    /// One version's record.
    pub async fn version_metadata(&self, version: u32) -> Result<VersionInfo, Error> {
        let url = self
            .materialize_url(v3::VERSION, &[&version.to_string()])
            .await?;
        self.get(url, "a version record").await
    }

    /// When `version` was materialized (UTC).
    pub async fn timestamp(&self, version: u32) -> Result<DateTime<Utc>, Error> {
        Ok(self.version_metadata(version).await?.time_stamp)
    }

    async fn version_or_default(&self, version: Option<u32>) -> Result<u32, Error> {
        match version.or(self.inner.version) {
            Some(v) => Ok(v),
            None => self.latest_version().await,
        }
    }

    /// The tables of `version` (default: the client's version, else the latest).
    pub async fn tables(&self, version: Option<u32>) -> Result<Vec<String>, Error> {
        let v = self.version_or_default(version).await?;
        let url = self.materialize_url(v2::TABLES, &[&v.to_string()]).await?;
        self.get(url, "a list of table names").await
    }

    /// Every table's metadata at `version` (default: the client's version, else the latest),
    /// in one request.
    pub async fn tables_metadata(&self, version: Option<u32>) -> Result<Vec<TableMetadata>, Error> {
        let v = self.version_or_default(version).await?;
        let url = self
            .materialize_url(v3::TABLES_METADATA, &[&v.to_string()])
            .await?;
        let value = self.http().get_json(&url).await?;
        TableMetadata::list_from_json(value)
            .map_err(|e| self.bad_record(url, "a list of table metadata records", e))
    }

    /// The distinct values of `table`'s string columns, by column (at the newest version).
    pub async fn unique_string_values(
        &self,
        table: &str,
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        let url = self
            .materialize_url(v3::UNIQUE_STRING_VALUES, &[table])
            .await?;
        let value = self.http().get_json(&url).await?;
        cave_wire::records::unique_string_values(value)
            .map_err(|e| self.bad_record(url, "the values of string columns", e))
    }

    /// Every schema type's JSON Schema document, by name, from the global server's schema
    /// service (as served; `cave_schema` parses them).
    pub async fn schema_types_all(&self) -> Result<BTreeMap<String, Value>, Error> {
        let url = paths::schema::TYPES_ALL.url(&self.inner.server, &[]);
        self.get(url, "an object of schema type documents by name")
            .await
    }

    /// One schema type's JSON Schema document, as served.
    pub async fn schema_type(&self, name: &str) -> Result<Value, Error> {
        let url = paths::schema::TYPE.url(&self.inner.server, &[name]);
        self.http().get_json(&url).await
    }

    /// A table's metadata at `version` (default: the client's version, else the latest); cached.
    pub async fn table_metadata(
        &self,
        table: &str,
        version: Option<u32>,
    ) -> Result<TableMetadata, Error> {
        let v = self.version_or_default(version).await?;
        let key = (v, table.to_string());
        if let Some(m) = self.lock_metadata().get(&key) {
            return Ok(m.clone());
        }
        let url = self
            .materialize_url(v3::TABLE_METADATA, &[&v.to_string(), table])
            .await?;
        let value = self.http().get_json(&url).await?;
        let meta = TableMetadata::from_json(value)
            .map_err(|e| self.bad_record(url, "a table metadata record", e))?;
        self.lock_metadata().insert(key, meta.clone());
        Ok(meta)
    }

    fn lock_metadata(&self) -> std::sync::MutexGuard<'_, HashMap<(u32, String), TableMetadata>> {
        // A panic while holding the lock leaves at worst a missing cache entry.
        self.inner
            .metadata
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The number of rows of `table` at `version` (default: the client's version, else the
    /// latest).
    pub async fn count(&self, table: &str, version: Option<u32>) -> Result<u64, Error> {
        let v = self.version_or_default(version).await?;
        let url = self
            .materialize_url(v2::TABLE_COUNT, &[&v.to_string(), table])
            .await?;
        self.get(url, "a row count").await
    }

    /// The views of `version` (default: the client's version, else the latest), by name, with
    /// their metadata (`GET .../version/{v}/views`, caveclient's `get_views`).
    pub async fn views(
        &self,
        version: Option<u32>,
    ) -> Result<BTreeMap<String, ViewMetadata>, Error> {
        let v = self.version_or_default(version).await?;
        let url = self.materialize_url(v3::VIEWS, &[&v.to_string()]).await?;
        let value = self.http().get_json(&url).await?;
        ViewMetadata::map_from_json(value)
            .map_err(|e| self.bad_record(url, "an object of view records by name", e))
    }

    /// One view's metadata at `version` (default: the client's version, else the latest;
    /// `GET .../views/{view}/metadata`, caveclient's `get_view_metadata`).
    pub async fn view_metadata(
        &self,
        view: &str,
        version: Option<u32>,
    ) -> Result<ViewMetadata, Error> {
        let v = self.version_or_default(version).await?;
        let url = self
            .materialize_url(v3::VIEW_METADATA, &[&v.to_string(), view])
            .await?;
        let value = self.http().get_json(&url).await?;
        ViewMetadata::from_json(value).map_err(|e| self.bad_record(url, "a view record", e))
    }

    /// One view's columns and their types at `version` (default: the client's version, else
    /// the latest; `GET .../views/{view}/schema`, caveclient's `get_view_schema`).
    pub async fn view_schema(&self, view: &str, version: Option<u32>) -> Result<ViewSchema, Error> {
        let v = self.version_or_default(version).await?;
        let url = self
            .materialize_url(v3::VIEW_SCHEMA, &[&v.to_string(), view])
            .await?;
        let value = self.http().get_json(&url).await?;
        ViewSchema::from_json(value).map_err(|e| self.bad_record(url, "a view schema", e))
    }

    /// Every view's columns at `version` (default: the client's version, else the latest;
    /// `GET .../views/schemas`, caveclient's `get_view_schemas`). A version without views
    /// answers 404 with `{}`; that is an empty map here (caveclient raises).
    pub async fn view_schemas(
        &self,
        version: Option<u32>,
    ) -> Result<BTreeMap<String, ViewSchema>, Error> {
        let v = self.version_or_default(version).await?;
        let url = self
            .materialize_url(v3::VIEW_SCHEMAS, &[&v.to_string()])
            .await?;
        let value = match self.http().get_json(&url).await {
            Ok(value) => value,
            Err(Error::Http {
                status: 404,
                message,
                ..
            }) if message.trim().trim_matches('`').trim() == "{}" => return Ok(BTreeMap::new()),
            Err(e) => return Err(e),
        };
        ViewSchema::map_from_json(value)
            .map_err(|e| self.bad_record(url, "an object of view schemas by view name", e))
    }

    /// The materialization server's software version, checked once against
    /// [`MIN_SERVER_VERSION`] before the first query.
    pub async fn server_version(&self) -> Result<String, Error> {
        self.inner
            .compatible
            .get_or_try_init(|| async {
                let url = paths::materialize::SERVER_VERSION.url(&self.local_server().await?, &[]);
                let version: String = self.get(url.clone(), "a version string").await?;
                let parsed: Vec<u64> = version
                    .split(['.', '-', '+'])
                    .take(3)
                    .map_while(|p| p.parse().ok())
                    .collect();
                let ok = match parsed.as_slice() {
                    [a, b, c] => (*a, *b, *c) >= MIN_SERVER_VERSION,
                    _ => false,
                };
                if ok {
                    Ok(version)
                } else {
                    let (a, b, c) = MIN_SERVER_VERSION;
                    Err(self.http().clean_error(Error::Incompatible(format!(
                        "{url}: the materialization server is version `{version}`; queries need {a}.{b}.{c} or newer"
                    ))))
                }
            })
            .await
            .cloned()
    }

    /// Run a typed query and decode its rows, fetching page after page past the server's row
    /// cap. The query runs at its own version or timestamp, else the client's, else the
    /// version the code was generated for, else the latest version. For answers too big to
    /// hold at once, [`Client::stream`] hands the rows out as they come.
    pub async fn query<T: Table>(&self, query: impl Into<Query<T>>) -> Result<Rows<T>, Error> {
        let query = query.into();
        let fallback = query.spec.desired_resolution.unwrap_or(T::VOXEL_RESOLUTION);
        let mut rows: Vec<T> = Vec::new();
        let (info, _) = self
            .pager(query.spec, T::VERSION)
            .await?
            .for_each(|piece| {
                response::reserve_rows(&mut rows, piece.batch.num_rows() + piece.rows_left);
                response::decode_rows::<T>(&piece.batch, piece.resolution, fallback, &mut rows)
            })
            .await?;
        Ok(Rows::new(rows, info))
    }

    /// The number of rows a query matches at its version, counted by the server: the query's
    /// request with `count=True`, as caveclient's `query_table(..., get_counts=True)` sends
    /// it, answered with one number however many rows there are.
    ///
    /// Counted are the rows of the queried table under its own filters: for a reference
    /// table, its rows, not joined with the target (the server does not count joins; rows
    /// whose target is gone are counted). Refused, with an error saying why: views, live
    /// queries (the server counts only materialized versions), filters on a target's columns, and
    /// not-in filters (the server ignores them, so its count would include the rows they
    /// exclude).
    ///
    /// ```no_run
    /// # mod minnie { cave_runtime::datastack!("schemas/minnie65_public", version = 1300, tables = ["synapses_pni_2"]); }
    /// # async fn demo(client: &cave_runtime::Client) -> Result<(), cave_runtime::Error> {
    /// let n = minnie::SynapsesPni2::filter()
    ///     .pre_pt_root_id(cave_runtime::RootId(864691135013445270))
    ///     .count(client)
    ///     .await?;
    /// println!("{n} output synapses");
    /// # Ok(()) }
    /// ```
    pub async fn count_rows<T: Table>(&self, query: impl Into<Query<T>>) -> Result<u64, Error> {
        self.count_spec(query.into().spec, T::VERSION).await
    }

    /// [`Client::count_rows`] of a query known by name.
    pub(crate) async fn count_spec(&self, spec: Spec, pinned: Option<u32>) -> Result<u64, Error> {
        pager::validate(&spec)?;
        let refuse = |why: &str| {
            Err(Error::InvalidArgument(format!(
                "{}: cannot count: {why}",
                spec.table
            )))
        };
        if spec.clauses.iter().any(|c| c.is_not_in()) {
            return refuse(
                "the server ignores not-in filters, so its count would include the rows they \
                 exclude; count without them, or query and count the rows",
            );
        }
        if spec.drop_equal_pair.is_some() {
            return refuse(
                "autapses are removed by the client, so the server's count would include them; \
                 query and count the rows",
            );
        }
        if spec.view {
            return refuse(
                "views are not counted (the engine's view query is not known to take `count`)",
            );
        }
        if spec.clauses.iter().any(|c| c.side == Side::Target) {
            return refuse(
                "the server counts the table alone, not a join with its target's filters",
            );
        }
        let at = self.at(&spec, pinned).await?;
        if let At::Timestamp(t) = at {
            return refuse(&format!(
                "the server counts rows only at a materialization version, not live at {t}"
            ));
        }
        self.server_version().await?;
        let mut alone = spec;
        alone.target = None;
        let url = self.count_url(&alone, at).await?;
        let body = crate::pyjson::to_string(&alone.body());
        let http = self.http();
        let received = http
            .send(
                &url,
                crate::http::Request::Post {
                    body: &body,
                    accept_encoding: crate::http::ARROW_ACCEPT_ENCODING,
                },
                None,
            )
            .await?;
        crate::response::read_count(
            &url,
            &received,
            crate::ipc::DecodeLimits::from(http.limits()),
            http.redactor(),
        )
        .map_err(|e| http.clean_error(e))
    }

    /// Run a typed query live, at `timestamp` (docs/WIRE.md, "Live queries").
    pub async fn live_query<T: Table>(
        &self,
        query: impl Into<Query<T>>,
        timestamp: DateTime<Utc>,
    ) -> Result<Rows<T>, Error> {
        self.query(query.into().timestamp(timestamp)).await
    }

    /// Run a typed query and hand its rows out as they arrive, a chunk at a time, without
    /// holding them all: for answers of millions of rows. Paging, versions and filters work
    /// as in [`Client::query`].
    ///
    /// ```no_run
    /// # mod minnie { cave_runtime::datastack!("schemas/minnie65_public", version = 1300, tables = ["synapses_pni_2"]); }
    /// # async fn demo(client: &cave_runtime::Client) -> Result<(), cave_runtime::Error> {
    /// let mut synapses = client.stream(minnie::SynapsesPni2::filter()).await?;
    /// let mut n = 0;
    /// while let Some(rows) = synapses.next().await? {
    ///     n += rows.len();
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn stream<T: Table>(
        &self,
        query: impl Into<Query<T>>,
    ) -> Result<RowStream<'_, T>, Error> {
        let query = query.into();
        let pager = self.pager(query.spec.clone(), T::VERSION).await?;
        Ok(RowStream::new(pager, &query))
    }

    /// The pager of a query: its version resolved, its arguments checked.
    async fn pager(&self, spec: Spec, pinned: Option<u32>) -> Result<Pager<'_>, Error> {
        let at = self.at(&spec, pinned).await?;
        self.pager_at(spec, at).await
    }

    /// Everything a pager needs, handed over: the pager never calls back into the client.
    async fn pager_at(&self, spec: Spec, at: At) -> Result<Pager<'_>, Error> {
        pager::validate(&spec)?;
        self.server_version().await?;
        let url = self.query_url(&spec, at).await?;
        // The server counts the rows of a materialized query of one table (`count=True`);
        // the pager asks when an answer is capped, to size the id ranges it splits into. A
        // join is sized by a count of its queried table alone.
        let counting = match at {
            // A view is not counted (its count, a view query with `count=True`, is not one
            // the engine documents).
            At::Version(_) if spec.view => None,
            At::Version(_) => {
                let mut alone = spec.clone();
                alone.target = None;
                Some(pager::Counting {
                    url: self.count_url(&alone, at).await?,
                    exact: spec.target.is_none(),
                })
            }
            At::Timestamp(_) => None,
        };
        Ok(Pager::new(
            PagerSetup {
                http: self.inner.http.clone(),
                at,
                url,
                counting,
                paging: self.inner.paging,
                progress: self.inner.progress,
                in_flight: self.inner.pages_in_flight,
                // A view may have no `id`: split by it only where the answer will show it
                // (the pager pages by offset if the first capped answer has none).
                by_id: !spec.view
                    || spec.select.as_ref().is_none_or(|s| {
                        s.iter().any(|(side, c)| *side == Side::Table && c == "id")
                    }),
            },
            spec,
        ))
    }

    /// Run an untyped query: the rows as Arrow record batches, positions split in
    /// `_x`/`_y`/`_z` columns as the server sends them. With `merge_reference`, the table's
    /// metadata (at the query's version, or the latest for a live query) says whether it is
    /// a reference table to join with its target, as caveclient's `merge_reference=True` does.
    pub(crate) async fn query_untyped(
        &self,
        spec: Spec,
        pinned: Option<u32>,
        merge_reference: bool,
    ) -> Result<Batches, Error> {
        let mut batches = Vec::new();
        let (info, schema) = self
            .pager_untyped(spec, pinned, merge_reference)
            .await?
            .keeping_every_batch()
            .for_each(|piece| {
                batches.push(piece.batch);
                Ok(())
            })
            .await?;
        Ok(Batches::new(schema, batches, info))
    }

    /// The pager of an untyped query ([`Client::query_untyped`]).
    pub(crate) async fn pager_untyped(
        &self,
        mut spec: Spec,
        pinned: Option<u32>,
        merge_reference: bool,
    ) -> Result<Pager<'_>, Error> {
        let at = self.at(&spec, pinned).await?;
        if merge_reference {
            let version = match at {
                At::Version(v) => v,
                At::Timestamp(_) => self.latest_version().await?,
            };
            let meta = self.table_metadata(&spec.table, Some(version)).await?;
            spec.target = meta.reference_table.map(std::borrow::Cow::Owned);
        }
        if spec.target.is_none()
            && let Some(c) = spec
                .clauses
                .iter()
                .find(|c| c.side == crate::query::Side::Target)
        {
            return Err(Error::InvalidArgument(format!(
                "{}: a filter on the target's column `{}`, but the table is not joined with a \
                 target (it is not a reference table, or merge_reference is off)",
                spec.table, c.column
            )));
        }
        self.pager_at(spec, at).await
    }

    /// What a query runs at: its own timestamp or version, else the client's, else the
    /// version pinned at generation, else the latest.
    pub(crate) async fn at(&self, spec: &Spec, pinned: Option<u32>) -> Result<At, Error> {
        if spec.view {
            return self.view_at(spec, pinned).await;
        }
        if let Some(t) = spec.timestamp {
            return self.live_or_version(t).await;
        }
        if let Some(v) = spec.version.or(self.inner.version) {
            return Ok(At::Version(v));
        }
        if let Some(t) = self.inner.timestamp {
            return self.live_or_version(t).await;
        }
        match pinned {
            Some(v) => Ok(At::Version(v)),
            None => Ok(At::Version(self.latest_version().await?)),
        }
    }

    /// What a view query runs at: a version (its own, the client's, the pinned one, else the
    /// latest). Views have no live queries (caveclient's `query_view` takes no timestamp, and
    /// the server reads a view from a version's database), so a timestamp is refused.
    async fn view_at(&self, spec: &Spec, pinned: Option<u32>) -> Result<At, Error> {
        let refuse = |whose: &str| {
            Err(Error::InvalidArgument(format!(
                "{}: {whose} a timestamp, but a view is queried at a materialization version                  (views have no live queries); give the query a version instead",
                spec.table
            )))
        };
        if spec.timestamp.is_some() {
            return refuse("the query has");
        }
        if let Some(v) = spec.version.or(self.inner.version) {
            return Ok(At::Version(v));
        }
        if self.inner.timestamp.is_some() {
            return refuse("the client runs queries at");
        }
        match pinned {
            Some(v) => Ok(At::Version(v)),
            None => Ok(At::Version(self.latest_version().await?)),
        }
    }

    /// A live query at `t`, or the version materialized at exactly `t`: servers refuse live
    /// queries at a version's timestamp (docs/WIRE.md, "Live queries"), and caveclient's `query_table` asks for
    /// the version then.
    async fn live_or_version(&self, t: DateTime<Utc>) -> Result<At, Error> {
        let versions = self
            .inner
            .versions
            .get_or_try_init(|| self.versions_metadata())
            .await?;
        Ok(match versions.iter().find(|v| v.time_stamp == t) {
            Some(v) => At::Version(v.version),
            None => At::Timestamp(t),
        })
    }

    pub(crate) async fn query_url(&self, spec: &Spec, at: At) -> Result<String, Error> {
        self.query_url_with(spec, at, "").await
    }

    /// The URL of the query asking for its number of rows (caveclient's
    /// `query_table(get_counts=True)`: `count=True` after the sample).
    pub(crate) async fn count_url(&self, spec: &Spec, at: At) -> Result<String, Error> {
        self.query_url_with(spec, at, "&count=True").await
    }

    async fn query_url_with(&self, spec: &Spec, at: At, count: &str) -> Result<String, Error> {
        let sample = spec
            .random_sample
            .map(|n| format!("&random_sample={n}"))
            .unwrap_or_default();
        Ok(match at {
            At::Version(v) => {
                let v = v.to_string();
                let path = match spec.target {
                    _ if spec.view => {
                        self.materialize_url(v3::VIEW_QUERY, &[&v, &spec.table])
                            .await?
                    }
                    Some(_) => self.materialize_url(v3::JOIN_QUERY, &[&v]).await?,
                    None => {
                        self.materialize_url(v3::TABLE_QUERY, &[&v, &spec.table])
                            .await?
                    }
                };
                format!("{path}?{FROZEN_FLAGS}{sample}{count}&direct_sql_pandas=True")
            }
            At::Timestamp(_) => {
                let path = self.materialize_url(v3::LIVE_QUERY, &[]).await?;
                format!("{path}?{LIVE_FLAGS}{sample}")
            }
        })
    }
}

/// `url` as the client will use it (parsed, no trailing slash), if the token may go there
/// ([`cave_wire::untrusted::check_transport`]: https, or http with `insecure_ok`, or http to
/// this machine with `loopback_ok`).
fn checked_url(
    what: &str,
    url: &str,
    insecure_ok: bool,
    loopback_ok: bool,
) -> Result<String, String> {
    cave_wire::untrusted::check_transport(what, url, insecure_ok, loopback_ok)?;
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        format!(
            "the {what} `{}` is not a URL ({e})",
            cave_wire::untrusted::printable(url)
        )
    })?;
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy is `untrusted::check_transport`'s (tested there); here: what the client
    /// keeps of a URL.
    #[test]
    fn urls_are_kept_parsed_without_a_trailing_slash() {
        assert_eq!(
            checked_url("server", "http://127.0.0.2:1/x/", false, true).unwrap(),
            "http://127.0.0.2:1/x"
        );
        assert!(checked_url("local_server", "http://127.0.0.1:9", false, false).is_err());
        assert_eq!(
            checked_url("server", "https://a.org/", false, true).unwrap(),
            "https://a.org"
        );
        // Control characters in a URL are percent-encoded by the parser, or refused.
        let parsed = checked_url("server", "https://a.org/\u{1b}[2J", false, true);
        assert!(parsed.is_err() || !parsed.unwrap().contains('\u{1b}'));
    }

    #[test]
    fn the_builder_refuses_plain_http_elsewhere_unless_allowed() {
        let client = Client::builder("ds")
            .server("https://global.example.org")
            .token_search(None, false)
            .build()
            .unwrap();
        assert_eq!(client.server(), "https://global.example.org");
        assert!(
            Client::builder("ds")
                .server("http://cave.example.org")
                .build()
                .is_err()
        );
        assert!(
            Client::builder("ds")
                .server("http://cave.example.org")
                .allow_insecure_http(true)
                .token_search(None, false)
                .build()
                .is_ok()
        );
    }
}
