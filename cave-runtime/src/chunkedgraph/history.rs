//! The history of roots: lineage graphs, past and future ids, the latest and original roots
//! of an object (caveclient's compositions), the roots edits retired and made, change logs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use cave_wire::chunkedgraph::{self as wire, ChangeLog, DeltaRootsAnswer, PastIdMapping};
use cave_wire::paths::segmentation;

use super::ChunkedGraph;
use super::answer::{self, Call};
use super::body;
use super::graph::{LineageEdge, LineageGraph, LineageNode};
use super::params::Params;
use crate::error::Error;
use crate::ids::RootId;

/// Past and future ids of roots ([`ChunkedGraph::past_id_mapping`], PyChunkedGraph's
/// `SegmentHistory.past_future_id_mapping`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PastIds {
    /// Root asked → its oldest ancestors since `past` (the root itself when it has none).
    pub past: BTreeMap<RootId, Vec<RootId>>,
    /// Past id (a value of `past`) → its one latest descendant, for the past ids whose
    /// descendants never split (the others are left out).
    pub future: BTreeMap<RootId, RootId>,
}

/// The roots edits retired and made in a time window ([`ChunkedGraph::delta_roots`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeltaRoots {
    /// Roots an edit in the window retired.
    pub old: Vec<RootId>,
    /// Roots an edit in the window made (and none retired in it).
    pub new: Vec<RootId>,
}

impl ChunkedGraph<'_> {
    /// For each root, its oldest ancestors since `past`, and for those, their latest
    /// descendant (caveclient's `get_past_ids`): a **GET with a JSON body**,
    /// `.../past_id_mapping`, `{"root_ids": [...]}` (sorted, each once); `timestamp_past` and
    /// `timestamp_future` only when given. The server does not read `timestamp_future` here
    /// (its future is now, docs/WIRE.md, "Chunkedgraph"); it is sent as caveclient sends it.
    pub async fn past_id_mapping(
        &self,
        roots: &[RootId],
        past: Option<DateTime<Utc>>,
        future: Option<DateTime<Utc>>,
    ) -> Result<PastIds, Error> {
        let ids = body::sorted_unique(&body::checked_ids(roots, "root")?);
        let url = Params::new()
            .maybe_time("timestamp_past", past)
            .maybe_time("timestamp_future", future)
            .on(self.url(segmentation::PAST_ID_MAPPING, &[]));
        let body = body::root_ids(&ids);
        let answer: PastIdMapping = self
            .json(
                Call::get_with(&url, &body),
                "a past id mapping ({\"past_id_map\": {..}, \"future_id_map\": {..}})",
            )
            .await?;
        Ok(PastIds {
            past: answer
                .past_id_map
                .into_iter()
                .map(|(k, v)| (RootId(k), v.into_iter().map(RootId).collect()))
                .collect(),
            future: answer
                .future_id_map
                .into_iter()
                .map(|(k, v)| (RootId(k), RootId(v)))
                .collect(),
        })
    }

    /// The lineage graph of roots between `past` and `future` (caveclient's
    /// `get_lineage_graph`): `POST .../lineage_graph_multiple`, `{"root_ids": [...]}`
    /// (sorted, each once) without a content type; `timestamp_past` and `timestamp_future`
    /// only when given (the server's defaults: the segmentation's start, and now).
    ///
    /// Without `future`, caveclient also sends `name=timestamp_future` (and the client's
    /// timestamp as `timestamp`, which the server does not read here), a slip of
    /// `params.update(..., name=...)`; this client does not copy it.
    pub async fn lineage_graph(
        &self,
        roots: &[RootId],
        past: Option<DateTime<Utc>>,
        future: Option<DateTime<Utc>>,
    ) -> Result<LineageGraph, Error> {
        let ids = body::sorted_unique(&body::checked_ids(roots, "root")?);
        let url = Params::new()
            .maybe_time("timestamp_past", past)
            .maybe_time("timestamp_future", future)
            .on(self.url(segmentation::LINEAGE_GRAPH_MULTIPLE, &[]));
        let body = body::root_ids(&ids);
        let answer: wire::LineageGraph = self
            .json(
                Call::post(&url, &body),
                "a lineage graph (networkx node-link data)",
            )
            .await?;
        typed_graph(answer).map_err(|problem| answer::bad(self.http(), &url, problem))
    }

    /// The roots an object of `root` has at `at` (default: now), as caveclient's
    /// `get_latest_roots` finds them: the root's creation time (`root_timestamps`), then,
    /// for an `at` after it, the lineage graph from creation to `at` without the roots made
    /// after `at`, and its roots without successors; for an `at` not after its creation, the
    /// lineage graph from `at` to its creation, and its roots without predecessors.
    pub async fn latest_roots(
        &self,
        root: RootId,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<RootId>, Error> {
        let created = self.created(root).await?;
        let at = at.unwrap_or_else(Utc::now);
        if created < at {
            let graph = self.lineage_graph(&[root], Some(created), Some(at)).await?;
            Ok(graph.until(at).latest_roots())
        } else {
            let graph = self.lineage_graph(&[root], Some(at), Some(created)).await?;
            Ok(graph.original_roots())
        }
    }

    /// The roots an object of `root` started from, back to `past` (default: the
    /// segmentation's start), as caveclient's `get_original_roots` finds them: the lineage
    /// graph from `past` to the root's creation, its roots without predecessors.
    pub async fn original_roots(
        &self,
        root: RootId,
        past: Option<DateTime<Utc>>,
    ) -> Result<Vec<RootId>, Error> {
        let created = self.created(root).await?;
        let graph = self.lineage_graph(&[root], past, Some(created)).await?;
        Ok(graph.original_roots())
    }

    /// When `root` was created: `root_timestamps` as caveclient's compositions call it
    /// (`latest=False`, the timestamp now).
    async fn created(&self, root: RootId) -> Result<DateTime<Utc>, Error> {
        let times = self.root_timestamps(&[root], false, None).await?;
        Ok(times[0])
    }

    /// The roots edits retired and made between `past` and `future` (default: now),
    /// caveclient's `get_delta_roots`: `GET .../delta_roots?timestamp_past=..&timestamp_future=..`.
    pub async fn delta_roots(
        &self,
        past: DateTime<Utc>,
        future: Option<DateTime<Utc>>,
    ) -> Result<DeltaRoots, Error> {
        let url = Params::new()
            .time("timestamp_past", past)
            .time("timestamp_future", future.unwrap_or_else(Utc::now))
            .on(self.url(segmentation::DELTA_ROOTS, &[]));
        let answer: DeltaRootsAnswer = self
            .json(
                Call::get(&url),
                "delta roots ({\"old_roots\": [..], \"new_roots\": [..]})",
            )
            .await?;
        Ok(DeltaRoots {
            old: answer.old_roots.into_iter().map(RootId).collect(),
            new: answer.new_roots.into_iter().map(RootId).collect(),
        })
    }

    /// The edits in `root`'s history that shaped it (caveclient's `get_change_log` with
    /// `filtered=True`): `GET .../root/{root}/change_log?filtered=True`.
    pub async fn change_log(&self, root: RootId) -> Result<ChangeLog, Error> {
        let id = body::checked_id(root.get(), "root")?;
        let url = Params::new()
            .flag("filtered", true)
            .on(self.url(segmentation::CHANGE_LOG, &[&id.to_string()]));
        self.json(Call::get(&url), "a change log").await
    }
}

/// The wire's node-link graph, typed: times as UTC, ids as roots, consistency checked.
fn typed_graph(graph: wire::LineageGraph) -> Result<LineageGraph, String> {
    let nodes = graph
        .nodes
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let timestamp = super::time::from_unix_seconds(n.timestamp).ok_or_else(|| {
                format!(
                    "at nodes[{i}].timestamp: {} is not a time (Unix seconds)",
                    n.timestamp
                )
            })?;
            Ok(LineageNode {
                id: RootId(n.id),
                timestamp,
                operation_id: n.operation_id,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let edges = graph
        .links
        .into_iter()
        .map(|l| LineageEdge {
            source: RootId(l.source),
            target: RootId(l.target),
        })
        .collect();
    LineageGraph::new(nodes, edges)
}
