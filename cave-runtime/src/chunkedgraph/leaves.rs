//! What nodes are made of (their leaves), and which nodes exist.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use cave_wire::chunkedgraph::{LeavesAnswer, LeavesManyAnswer, ValidNodesAnswer};
use cave_wire::paths::segmentation;

use super::ChunkedGraph;
use super::answer::Call;
use super::body;
use super::params::{self, Params};
use crate::error::Error;
use crate::ids::NodeId;

/// `valid_nodes`' default start: 2000-01-01 00:00:00 UTC, as caveclient's.
const VALID_SINCE: i64 = 946_684_800;

/// The query string of `leaves` and `leaves_many`: `bounds`, then `stop_layer`.
fn leaves_params(bounds: Option<[[i64; 2]; 3]>, stop_layer: Option<u32>) -> Params {
    Params::new()
        .maybe("bounds", bounds.map(params::bounds))
        .maybe("stop_layer", stop_layer)
}

impl ChunkedGraph<'_> {
    /// The URL of [`ChunkedGraph::leaves`].
    pub(super) fn leaves_url(
        &self,
        node: i64,
        bounds: Option<[[i64; 2]; 3]>,
        stop_layer: Option<u32>,
    ) -> Result<String, Error> {
        let id = body::checked_id(node, "node")?;
        Ok(
            leaves_params(bounds, stop_layer)
                .on(self.url(segmentation::LEAVES, &[&id.to_string()])),
        )
    }

    /// The supervoxels of a node (a root, or a node of any layer), or with `stop_layer` its
    /// descendants at that layer; with `bounds` (`[[x0, x1], [y0, y1], [z0, z1]]`, voxels of
    /// the segmentation's base resolution) only those in the box (caveclient's `get_leaves`):
    /// `GET .../node/{node}/leaves?bounds=x0-x1_y0-y1_z0-z1&stop_layer=..`.
    ///
    /// The answer is JSON, bounded by [`Limits::max_json_bytes`](crate::Limits::max_json_bytes)
    /// (16 MiB by default, about 800,000 ids): raise it for the biggest objects.
    pub async fn leaves(
        &self,
        node: impl Into<i64>,
        bounds: Option<[[i64; 2]; 3]>,
        stop_layer: Option<u32>,
    ) -> Result<Vec<NodeId>, Error> {
        let url = self.leaves_url(node.into(), bounds, stop_layer)?;
        let answer: LeavesAnswer = self
            .json(Call::get(&url), "leaves ({\"leaf_ids\": [..]})")
            .await?;
        Ok(answer.leaf_ids.into_iter().map(NodeId).collect())
    }

    /// The leaves of several nodes, as [`ChunkedGraph::leaves`] (caveclient's
    /// `get_leaves_many`): `POST .../node/leaves_many`, `{"node_ids": [...]}` with
    /// `Content-Type: application/json`; `bounds`, then `stop_layer`.
    pub async fn leaves_many(
        &self,
        nodes: &[impl Into<i64> + Copy],
        bounds: Option<[[i64; 2]; 3]>,
        stop_layer: Option<u32>,
    ) -> Result<BTreeMap<NodeId, Vec<NodeId>>, Error> {
        let ids = body::checked_ids(nodes, "node")?;
        let url = leaves_params(bounds, stop_layer).on(self.url(segmentation::LEAVES_MANY, &[]));
        let body = body::node_ids(&ids);
        let answer: LeavesManyAnswer = self
            .json(
                Call::post_json(&url, &body),
                "leaves by node ({\"<id>\": [..]})",
            )
            .await?;
        Ok(answer
            .leaves
            .into_iter()
            .map(|(k, v)| (NodeId(k), v.into_iter().map(NodeId).collect()))
            .collect())
    }

    /// Whether each node existed between `start` (default: 2000-01-01 UTC, as caveclient)
    /// and `end`, in the order given (caveclient's `is_valid_nodes`): a **GET with a JSON
    /// body**, `.../valid_nodes`, `{"node_ids": [...]}` of the ids above 0 (the others are
    /// `false` without asking; none above 0: no request);
    /// `start_timestamp`, then `end_timestamp` only when `end` is given (caveclient sends the
    /// client's timestamp when it has one; without, the server's default is now).
    pub async fn valid_nodes(
        &self,
        ids: &[impl Into<i64> + Copy],
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Vec<bool>, Error> {
        let ids: Vec<i64> = ids.iter().map(|&id| id.into()).collect();
        let asked: Vec<i64> = ids.iter().copied().filter(|&id| id > 0).collect();
        if asked.is_empty() {
            return Ok(vec![false; ids.len()]);
        }
        let start = start.unwrap_or_else(|| {
            DateTime::from_timestamp(VALID_SINCE, 0).expect("2000-01-01 is a time")
        });
        let url = Params::new()
            .time("start_timestamp", start)
            .maybe_time("end_timestamp", end)
            .on(self.url(segmentation::VALID_NODES, &[]));
        let body = body::node_ids(&asked);
        let answer: ValidNodesAnswer = self
            .json(
                Call::get_with(&url, &body),
                "valid nodes ({\"valid_roots\": [..]})",
            )
            .await?;
        let valid: BTreeSet<i64> = answer.valid_roots.into_iter().collect();
        Ok(ids.iter().map(|id| *id > 0 && valid.contains(id)).collect())
    }
}
