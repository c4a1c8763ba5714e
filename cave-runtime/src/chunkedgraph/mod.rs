//! The chunkedgraph: PyChunkedGraph's segmentation service, the history of every root id
//! (docs/WIRE.md, "Chunkedgraph"). [`Client::chunkedgraph`] gives a [`ChunkedGraph`] for the
//! datastack's segmentation; its calls send what caveclient 8.2.1's `client.chunkedgraph`
//! sends (paths, query strings and bodies byte for byte), with the client's token, retries,
//! deadlines, limits and error messages.
//!
//! Where this differs from caveclient, on purpose:
//! - A call without a timestamp uses now, or sends none where caveclient may send none; the
//!   client's own version or timestamp ([`ClientBuilder::version`](crate::ClientBuilder::version),
//!   [`ClientBuilder::timestamp`](crate::ClientBuilder::timestamp)) is not used: give the time
//!   to each call.
//! - Inputs of more than [`IDS_PER_CHUNKEDGRAPH_REQUEST`] ids to [`ChunkedGraph::roots`],
//!   [`ChunkedGraph::is_latest_roots`] and [`ChunkedGraph::root_timestamps`] go in several
//!   requests, several at once; caveclient sends one.
//! - [`ChunkedGraph::lineage_graph`] without a future bound sends no `name=timestamp_future`
//!   (caveclient's slip, `params.update(..., name="timestamp_future")`, which the server
//!   ignores).
//! - [`ChunkedGraph::root_timestamps`] with `latest` returns the server's times as they are
//!   (caveclient subtracts 1 ms).
//! - [`ChunkedGraph::latest_roots`] and [`ChunkedGraph::original_roots`] ask for the root's
//!   creation time with `timestamp=<now>`; caveclient sends its client's timestamp there,
//!   whatever the call was given (the server does not read it for creation times).
//! - `roots_binary`'s `assert_roots` and `fail_to_zero` flags are never sent: PCG reads them
//!   with Python's `bool(str)`, so any value, `False` included, turns them on.

mod answer;
mod body;
mod chunks;
mod graph;
mod history;
mod leaves;
mod params;
mod roots;
mod service;
mod suggest;
mod time;
mod update;

use std::sync::Arc;

use cave_wire::paths::{Template, segmentation};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::client::Client;
use crate::error::Error;
use crate::http::Http;

pub use graph::{LineageEdge, LineageGraph, LineageNode};
pub use history::{DeltaRoots, PastIds};
pub use suggest::SuggestedRoot;
pub use update::RootUpdate;

/// The most ids one request carries; bigger inputs are sent in several requests, up to
/// [`ClientBuilder::pages_in_flight`](crate::ClientBuilder::pages_in_flight) at once.
pub const IDS_PER_CHUNKEDGRAPH_REQUEST: usize = 100_000;

/// The chunkedgraph of a datastack's segmentation, from [`Client::chunkedgraph`]: on the
/// datastack's `local_server`, for the table named by its `segmentation_source`. Cheap to
/// clone: clones share the client's connections.
#[derive(Clone)]
pub struct ChunkedGraph<'c> {
    client: &'c Client,
    server: String,
    table: String,
    info: OnceCell<Value>,
}

impl std::fmt::Debug for ChunkedGraph<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkedGraph")
            .field("server", &self.http().clean(&self.server))
            .field("table", &self.http().clean(&self.table))
            .finish()
    }
}

impl Client {
    /// The chunkedgraph of this datastack's segmentation: on the datastack's `local_server`
    /// (checked by the client's transport rule), for the table that ends the info record's
    /// `segmentation_source` (`graphene://https://host/segmentation/table/minnie65_public` is
    /// `minnie65_public`; the host is not used, as caveclient does not use it). Reads the
    /// info record (once per client); sends nothing else.
    ///
    /// A datastack without a `graphene://` segmentation source has no chunkedgraph: that is
    /// `Error::Config` naming the field and its value.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), cave_runtime::Error> {
    /// use cave_runtime::{RootId, SupervoxelId, chrono::Utc};
    ///
    /// let client = cave_runtime::Client::builder("minnie65_public").build()?;
    /// let cg = client.chunkedgraph().await?;
    /// let roots = cg.roots(&[SupervoxelId(88946092208576394)], None, None).await?;
    /// let latest = cg.is_latest_roots(&roots, None).await?;
    /// let history = cg.lineage_graph(&[RootId(864691135013445270)], None, Some(Utc::now())).await?;
    /// println!("{roots:?} {latest:?}, newest: {:?}", history.latest_roots());
    /// # Ok(()) }
    /// ```
    pub async fn chunkedgraph(&self) -> Result<ChunkedGraph<'_>, Error> {
        let info = self.info().await?;
        let table = table_of(info.segmentation_source.as_deref())
            .map_err(|e| self.http().clean_error(e))?;
        let server = self.local_server().await?;
        Ok(ChunkedGraph {
            client: self,
            server,
            table,
            info: OnceCell::new(),
        })
    }
}

/// The chunkedgraph table of a `segmentation_source`: its last path segment, as caveclient's
/// `seg_source.split("/")[-1]`, for a `graphene://` source.
fn table_of(source: Option<&str>) -> Result<String, Error> {
    let config = |why: &str| {
        Err(Error::Config(format!(
            "the datastack has no chunkedgraph: the info record's segmentation_source is {why}"
        )))
    };
    let Some(source) = source else {
        return config("missing");
    };
    let shown = format!("`{}`", cave_wire::untrusted::printable(source));
    if !source.starts_with("graphene://") {
        return config(&format!(
            "{shown}, not a graphene:// source (a chunkedgraph table)"
        ));
    }
    match source.rsplit('/').next() {
        Some(table) if !table.is_empty() && source.len() > "graphene://".len() + table.len() => {
            Ok(table.to_string())
        }
        _ => config(&format!(
            "{shown}, which does not end in a table name (graphene://<server>/segmentation/table/<table>)"
        )),
    }
}

impl<'c> ChunkedGraph<'c> {
    /// The chunkedgraph table (e.g. `minnie65_public`).
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The server it is on (the datastack's local server).
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The client it was made from.
    pub fn client(&self) -> &'c Client {
        self.client
    }

    fn http(&self) -> &Http {
        self.client.http()
    }

    fn shared_http(&self) -> Arc<Http> {
        self.client.shared_http()
    }

    /// How many requests of one call may be in flight.
    fn in_flight(&self) -> usize {
        self.client.pages_in_flight()
    }

    /// A v1 endpoint of this table: `template` filled with the table, then `rest`.
    fn url(&self, template: Template, rest: &[&str]) -> String {
        let mut values = Vec::with_capacity(rest.len() + 1);
        values.push(self.table.as_str());
        values.extend_from_slice(rest);
        template.url(&self.server, &values)
    }

    /// A service endpoint without placeholders (`/segmentation/api/version`).
    fn service_url(&self, template: Template) -> String {
        template.url(&self.server, &[])
    }

    /// The info endpoint of this table.
    fn info_url(&self) -> String {
        segmentation::INFO.url(&self.server, &[&self.table])
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        call: answer::Call<'_>,
        what: &str,
    ) -> Result<T, Error> {
        answer::json(self.http(), &self.table, call, what).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_the_last_segment_of_a_graphene_source() {
        assert_eq!(
            table_of(Some(
                "graphene://https://minnie.microns-daf.com/segmentation/table/minnie65_public"
            ))
            .unwrap(),
            "minnie65_public"
        );
        assert_eq!(table_of(Some("graphene://https://h/t/../x")).unwrap(), "x");
        assert_eq!(table_of(Some("graphene://https://h/t/..")).unwrap(), "..");
        for (source, says) in [
            (None, "segmentation_source is missing"),
            (
                Some("precomputed://gs://b/seg"),
                "`precomputed://gs://b/seg`, not a graphene://",
            ),
            (
                Some("graphene://https://h/table/"),
                "does not end in a table name",
            ),
            (Some("graphene://"), "does not end in a table name"),
            (Some("graphene://minnie65"), "does not end in a table name"),
        ] {
            let e = table_of(source).unwrap_err();
            assert!(
                matches!(&e, Error::Config(m) if m.contains(says) && m.contains("segmentation_source")),
                "{source:?}: {e}"
            );
        }
    }

    #[test]
    fn a_table_is_one_path_segment_of_every_url() {
        let url = segmentation::ROOT.url("https://h", &["../x", "5"]);
        assert_eq!(
            url,
            "https://h/segmentation/api/v1/table/..%2Fx/node/5/root"
        );
        let url = segmentation::INFO.url("https://h", &[".."]);
        assert_eq!(url, "https://h/segmentation/table/%2E%2E/info");
    }
}
