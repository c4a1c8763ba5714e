//! The chunkedgraph on the blocking client: [`crate::ChunkedGraph`]'s calls, each waiting for
//! its answer.

use std::collections::BTreeMap;

use cave_wire::chunkedgraph::ChangeLog;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Client;
use crate::chunkedgraph::{DeltaRoots, LineageGraph, PastIds, SuggestedRoot};
use crate::error::Error;
use crate::ids::{NodeId, RootId};

/// The chunkedgraph of a datastack's segmentation on the blocking client, from
/// [`Client::chunkedgraph`]: the calls of [`crate::ChunkedGraph`], each waiting for its
/// answer.
#[derive(Debug)]
pub struct ChunkedGraph<'c> {
    client: &'c Client,
    inner: crate::ChunkedGraph<'c>,
}

impl Client {
    /// See [`crate::Client::chunkedgraph`].
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), cave_runtime::Error> {
    /// use cave_runtime::SupervoxelId;
    ///
    /// let client = cave_runtime::blocking::Client::new(
    ///     cave_runtime::Client::builder("minnie65_public").build()?,
    /// )?;
    /// let cg = client.chunkedgraph()?;
    /// println!("{:?}", cg.roots(&[SupervoxelId(88946092208576394)], None, None)?);
    /// # Ok(()) }
    /// ```
    pub fn chunkedgraph(&self) -> Result<ChunkedGraph<'_>, Error> {
        let inner = self.block(self.as_async().chunkedgraph())??;
        Ok(ChunkedGraph {
            client: self,
            inner,
        })
    }
}

impl ChunkedGraph<'_> {
    /// See [`crate::ChunkedGraph::table`].
    pub fn table(&self) -> &str {
        self.inner.table()
    }

    /// See [`crate::ChunkedGraph::server`].
    pub fn server(&self) -> &str {
        self.inner.server()
    }

    /// The async chunkedgraph inside.
    pub fn as_async(&self) -> &crate::ChunkedGraph<'_> {
        &self.inner
    }

    /// See [`crate::ChunkedGraph::roots`].
    pub fn roots(
        &self,
        supervoxels: &[impl Into<i64> + Copy],
        at: Option<DateTime<Utc>>,
        stop_layer: Option<u32>,
    ) -> Result<Vec<RootId>, Error> {
        self.client
            .block(self.inner.roots(supervoxels, at, stop_layer))?
    }

    /// See [`crate::ChunkedGraph::root`].
    pub fn root(
        &self,
        supervoxel: impl Into<i64>,
        at: Option<DateTime<Utc>>,
    ) -> Result<RootId, Error> {
        self.client.block(self.inner.root(supervoxel, at))?
    }

    /// See [`crate::ChunkedGraph::is_latest_roots`].
    pub fn is_latest_roots(
        &self,
        roots: &[RootId],
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<bool>, Error> {
        self.client.block(self.inner.is_latest_roots(roots, at))?
    }

    /// See [`crate::ChunkedGraph::root_timestamps`].
    pub fn root_timestamps(
        &self,
        roots: &[RootId],
        latest: bool,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<DateTime<Utc>>, Error> {
        self.client
            .block(self.inner.root_timestamps(roots, latest, at))?
    }

    /// See [`crate::ChunkedGraph::past_id_mapping`].
    pub fn past_id_mapping(
        &self,
        roots: &[RootId],
        past: Option<DateTime<Utc>>,
        future: Option<DateTime<Utc>>,
    ) -> Result<PastIds, Error> {
        self.client
            .block(self.inner.past_id_mapping(roots, past, future))?
    }

    /// See [`crate::ChunkedGraph::lineage_graph`].
    pub fn lineage_graph(
        &self,
        roots: &[RootId],
        past: Option<DateTime<Utc>>,
        future: Option<DateTime<Utc>>,
    ) -> Result<LineageGraph, Error> {
        self.client
            .block(self.inner.lineage_graph(roots, past, future))?
    }

    /// See [`crate::ChunkedGraph::latest_roots`].
    pub fn latest_roots(
        &self,
        root: RootId,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<RootId>, Error> {
        self.client.block(self.inner.latest_roots(root, at))?
    }

    /// See [`crate::ChunkedGraph::original_roots`].
    pub fn original_roots(
        &self,
        root: RootId,
        past: Option<DateTime<Utc>>,
    ) -> Result<Vec<RootId>, Error> {
        self.client.block(self.inner.original_roots(root, past))?
    }

    /// See [`crate::ChunkedGraph::suggest_latest_root`].
    pub fn suggest_latest_root(
        &self,
        root: RootId,
        at: Option<DateTime<Utc>>,
        stop_layer: Option<u32>,
    ) -> Result<SuggestedRoot, Error> {
        self.client
            .block(self.inner.suggest_latest_root(root, at, stop_layer))?
    }

    /// See [`crate::ChunkedGraph::stale_roots`].
    pub fn stale_roots<T: crate::BoundRoots>(
        &self,
        rows: &[T],
        at: DateTime<Utc>,
    ) -> Result<Vec<RootId>, Error> {
        self.client.block(self.inner.stale_roots(rows, at))?
    }

    /// See [`crate::ChunkedGraph::update_roots`].
    pub fn update_roots<T: crate::BoundRoots>(
        &self,
        rows: &mut [T],
        at: DateTime<Utc>,
    ) -> Result<crate::RootUpdate, Error> {
        self.client.block(self.inner.update_roots(rows, at))?
    }

    /// See [`crate::ChunkedGraph::delta_roots`].
    pub fn delta_roots(
        &self,
        past: DateTime<Utc>,
        future: Option<DateTime<Utc>>,
    ) -> Result<DeltaRoots, Error> {
        self.client.block(self.inner.delta_roots(past, future))?
    }

    /// See [`crate::ChunkedGraph::change_log`].
    pub fn change_log(&self, root: RootId) -> Result<ChangeLog, Error> {
        self.client.block(self.inner.change_log(root))?
    }

    /// See [`crate::ChunkedGraph::leaves`].
    pub fn leaves(
        &self,
        node: impl Into<i64>,
        bounds: Option<[[i64; 2]; 3]>,
        stop_layer: Option<u32>,
    ) -> Result<Vec<NodeId>, Error> {
        self.client
            .block(self.inner.leaves(node, bounds, stop_layer))?
    }

    /// See [`crate::ChunkedGraph::leaves_many`].
    pub fn leaves_many(
        &self,
        nodes: &[impl Into<i64> + Copy],
        bounds: Option<[[i64; 2]; 3]>,
        stop_layer: Option<u32>,
    ) -> Result<BTreeMap<NodeId, Vec<NodeId>>, Error> {
        self.client
            .block(self.inner.leaves_many(nodes, bounds, stop_layer))?
    }

    /// See [`crate::ChunkedGraph::valid_nodes`].
    pub fn valid_nodes(
        &self,
        ids: &[impl Into<i64> + Copy],
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Vec<bool>, Error> {
        self.client.block(self.inner.valid_nodes(ids, start, end))?
    }

    /// See [`crate::ChunkedGraph::oldest_timestamp`].
    pub fn oldest_timestamp(&self) -> Result<DateTime<Utc>, Error> {
        self.client.block(self.inner.oldest_timestamp())?
    }

    /// See [`crate::ChunkedGraph::segmentation_info`].
    pub fn segmentation_info(&self) -> Result<Value, Error> {
        self.client.block(self.inner.segmentation_info())?
    }

    /// See [`crate::ChunkedGraph::server_version`].
    pub fn server_version(&self) -> Result<String, Error> {
        self.client.block(self.inner.server_version())?
    }

    /// See [`crate::ChunkedGraph::api_versions`].
    pub fn api_versions(&self) -> Result<Vec<u32>, Error> {
        self.client.block(self.inner.api_versions())?
    }
}
