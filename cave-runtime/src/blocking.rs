//! A blocking client for scripts and tests: the async [`Client`](crate::Client) on a runtime of
//! its own. Do not use it inside an async runtime (it says so instead of blocking a worker).
//!
//! ```no_run
//! # fn demo() -> Result<(), cave_runtime::Error> {
//! let client = cave_runtime::blocking::Client::new(
//!     cave_runtime::Client::builder("minnie65_public").version(1300).build()?,
//! )?;
//! println!("{:?}", client.versions()?);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use cave_wire::{DatastackInfo, TableMetadata, VersionInfo, ViewMetadata, ViewSchema};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::Error;
use crate::query::{Query, Selection};
use crate::result::{Batches, Rows};
use crate::table::Table;
use crate::untyped::{TableQuery, ViewQuery};

mod chunkedgraph;

pub use chunkedgraph::ChunkedGraph;

/// The blocking client: the same calls as [`crate::Client`], each waiting for its answer.
#[derive(Debug)]
pub struct Client {
    inner: crate::Client,
    // Always `Some` until drop.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Client {
    fn drop(&mut self) {
        // Shut down without waiting, so that dropping the client inside an async runtime does
        // not panic.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Client {
    /// Wrap an async client.
    pub fn new(client: crate::Client) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start a tokio runtime: {e}")))?;
        Ok(Client {
            inner: client,
            runtime: Some(runtime),
        })
    }

    /// The async client inside.
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    fn block<F: std::future::Future>(&self, f: F) -> Result<F::Output, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::InvalidArgument(
                "the blocking client was called inside an async runtime, where it would block \
                 a worker; use cave_runtime::Client and .await instead"
                    .into(),
            ));
        }
        match &self.runtime {
            Some(runtime) => Ok(runtime.block_on(f)),
            None => Err(Error::Config("the client's runtime is gone".into())),
        }
    }

    /// See [`crate::Client::info`].
    pub fn info(&self) -> Result<DatastackInfo, Error> {
        self.block(self.inner.info())?
    }

    /// See [`crate::Client::versions`].
    pub fn versions(&self) -> Result<Vec<u32>, Error> {
        self.block(self.inner.versions())?
    }

    /// See [`crate::Client::versions_metadata`].
    pub fn versions_metadata(&self) -> Result<Vec<VersionInfo>, Error> {
        self.block(self.inner.versions_metadata())?
    }

    /// See [`crate::Client::all_versions_metadata`].
    pub fn all_versions_metadata(&self) -> Result<Vec<VersionInfo>, Error> {
        self.block(self.inner.all_versions_metadata())?
    }

    /// See [`crate::Client::version_metadata`].
    pub fn version_metadata(&self, version: u32) -> Result<VersionInfo, Error> {
        self.block(self.inner.version_metadata(version))?
    }

    /// See [`crate::Client::timestamp`].
    pub fn timestamp(&self, version: u32) -> Result<DateTime<Utc>, Error> {
        self.block(self.inner.timestamp(version))?
    }

    /// See [`crate::Client::tables`].
    pub fn tables(&self, version: Option<u32>) -> Result<Vec<String>, Error> {
        self.block(self.inner.tables(version))?
    }

    /// See [`crate::Client::table_metadata`].
    pub fn table_metadata(
        &self,
        table: &str,
        version: Option<u32>,
    ) -> Result<TableMetadata, Error> {
        self.block(self.inner.table_metadata(table, version))?
    }

    /// See [`crate::Client::tables_metadata`].
    pub fn tables_metadata(&self, version: Option<u32>) -> Result<Vec<TableMetadata>, Error> {
        self.block(self.inner.tables_metadata(version))?
    }

    /// See [`crate::Client::unique_string_values`].
    pub fn unique_string_values(
        &self,
        table: &str,
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        self.block(self.inner.unique_string_values(table))?
    }

    /// See [`crate::Client::schema_types_all`].
    pub fn schema_types_all(&self) -> Result<BTreeMap<String, Value>, Error> {
        self.block(self.inner.schema_types_all())?
    }

    /// See [`crate::Client::schema_type`].
    pub fn schema_type(&self, name: &str) -> Result<Value, Error> {
        self.block(self.inner.schema_type(name))?
    }

    /// See [`crate::Client::local_server`].
    pub fn local_server(&self) -> Result<String, Error> {
        self.block(self.inner.local_server())?
    }

    /// See [`crate::Client::count`].
    pub fn count(&self, table: &str, version: Option<u32>) -> Result<u64, Error> {
        self.block(self.inner.count(table, version))?
    }

    /// See [`crate::Client::count_rows`].
    pub fn count_rows<T: Table>(&self, query: impl Into<Query<T>>) -> Result<u64, Error> {
        self.block(self.inner.count_rows(query))?
    }

    /// See [`crate::Client::views`].
    pub fn views(&self, version: Option<u32>) -> Result<BTreeMap<String, ViewMetadata>, Error> {
        self.block(self.inner.views(version))?
    }

    /// See [`crate::Client::view_metadata`].
    pub fn view_metadata(&self, view: &str, version: Option<u32>) -> Result<ViewMetadata, Error> {
        self.block(self.inner.view_metadata(view, version))?
    }

    /// See [`crate::Client::view_schema`].
    pub fn view_schema(&self, view: &str, version: Option<u32>) -> Result<ViewSchema, Error> {
        self.block(self.inner.view_schema(view, version))?
    }

    /// See [`crate::Client::view_schemas`].
    pub fn view_schemas(
        &self,
        version: Option<u32>,
    ) -> Result<BTreeMap<String, ViewSchema>, Error> {
        self.block(self.inner.view_schemas(version))?
    }

    /// Run an untyped view query ([`ViewQuery::query`]).
    pub fn query_view(&self, query: ViewQuery) -> Result<Batches, Error> {
        self.block(query.query(&self.inner))?
    }

    /// See [`crate::Client::query`] (a generated view's filter runs a view query).
    pub fn query<T: Table>(&self, query: impl Into<Query<T>>) -> Result<Rows<T>, Error> {
        self.block(self.inner.query(query))?
    }

    /// See [`crate::Client::live_query`].
    pub fn live_query<T: Table>(
        &self,
        query: impl Into<Query<T>>,
        timestamp: DateTime<Utc>,
    ) -> Result<Rows<T>, Error> {
        self.block(self.inner.live_query(query, timestamp))?
    }

    /// Run a typed query and iterate over its rows as they arrive, a chunk at a time
    /// ([`crate::Client::stream`]).
    pub fn stream<T: Table>(&self, query: impl Into<Query<T>>) -> Result<RowIter<'_, T>, Error> {
        let stream = self.block(self.inner.stream(query))??;
        Ok(RowIter {
            client: self,
            stream,
        })
    }

    /// Run a typed query for Arrow record batches ([`crate::Client::batches`]).
    pub fn batches<T: Table>(&self, query: impl Into<Query<T>>) -> Result<Batches, Error> {
        self.block(self.inner.batches(query))?
    }

    /// Run an untyped query ([`TableQuery::query`]).
    pub fn query_table(&self, query: TableQuery) -> Result<Batches, Error> {
        self.block(query.query(&self.inner))?
    }

    /// Run a selection ([`Selection::query`]).
    pub fn query_selection<T: Table>(&self, selection: &Selection<T>) -> Result<Batches, Error> {
        self.block(selection.query(&self.inner))?
    }
}

/// The rows of a typed query, chunk by chunk as they arrive: a blocking
/// [`RowStream`](crate::RowStream), from [`Client::stream`].
pub struct RowIter<'c, T> {
    client: &'c Client,
    stream: crate::RowStream<'c, T>,
}

impl<T: Table> RowIter<'_, T> {
    /// How the query went so far.
    pub fn info(&self) -> &crate::QueryInfo {
        self.stream.info()
    }
}

impl<T: Table> Iterator for RowIter<'_, T> {
    type Item = Result<Vec<T>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.client.block(self.stream.next()) {
            Ok(Ok(Some(rows))) => Some(Ok(rows)),
            Ok(Ok(None)) => None,
            Ok(Err(e)) | Err(e) => Some(Err(e)),
        }
    }
}
