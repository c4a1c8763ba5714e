//! The lineage graph of roots, typed: which roots an edit made of which (PCG's
//! `lineage_graph_multiple`, networkx node-link data, read by `cave_wire::chunkedgraph`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::ids::RootId;

/// A root of a [`LineageGraph`].
#[derive(Debug, Clone, PartialEq)]
pub struct LineageNode {
    /// The root.
    pub id: RootId,
    /// When it was created.
    pub timestamp: DateTime<Utc>,
    /// The edit that created or retired it, when the server says.
    pub operation_id: Option<u64>,
}

/// An edge of a [`LineageGraph`]: an edit made `target` (in part) of `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineageEdge {
    /// The older root.
    pub source: RootId,
    /// The newer root.
    pub target: RootId,
}

/// The history of roots between two times ([`ChunkedGraph::lineage_graph`](crate::ChunkedGraph::lineage_graph)):
/// the roots as nodes, an edge from each root to each root an edit made of it. The newest
/// roots have no successors, the oldest no predecessors.
#[derive(Debug, Clone, PartialEq)]
pub struct LineageGraph {
    nodes: Vec<LineageNode>,
    edges: Vec<LineageEdge>,
    index: BTreeMap<RootId, usize>,
}

impl LineageGraph {
    /// A graph of these nodes and edges, or where it is wrong: a node listed twice
    /// (`nodes[3].id`), an edge to a node not listed (`links[2].target`).
    pub(super) fn new(nodes: Vec<LineageNode>, edges: Vec<LineageEdge>) -> Result<Self, String> {
        let mut index = BTreeMap::new();
        for (i, node) in nodes.iter().enumerate() {
            if index.insert(node.id, i).is_some() {
                return Err(format!(
                    "at nodes[{i}].id: root {} is listed twice",
                    node.id
                ));
            }
        }
        for (i, edge) in edges.iter().enumerate() {
            for (end, id) in [("source", edge.source), ("target", edge.target)] {
                if !index.contains_key(&id) {
                    return Err(format!(
                        "at links[{i}].{end}: root {id} is not among the nodes"
                    ));
                }
            }
        }
        Ok(LineageGraph {
            nodes,
            edges,
            index,
        })
    }

    /// The roots, in the server's order.
    pub fn nodes(&self) -> &[LineageNode] {
        &self.nodes
    }

    /// The edges, in the server's order.
    pub fn edges(&self) -> &[LineageEdge] {
        &self.edges
    }

    /// One root's node, if it is in the graph.
    pub fn node(&self, id: RootId) -> Option<&LineageNode> {
        self.index.get(&id).map(|&i| &self.nodes[i])
    }

    /// The roots no edit in the graph replaced (no successors), in the server's order: the
    /// newest state of the objects.
    pub fn latest_roots(&self) -> Vec<RootId> {
        let sources: BTreeSet<RootId> = self.edges.iter().map(|e| e.source).collect();
        self.ids_without(&sources)
    }

    /// The roots no edit in the graph made (no predecessors), in the server's order: the
    /// oldest state of the objects.
    pub fn original_roots(&self) -> Vec<RootId> {
        let targets: BTreeSet<RootId> = self.edges.iter().map(|e| e.target).collect();
        self.ids_without(&targets)
    }

    /// The roots edits made of `id` (empty for a root not in the graph).
    pub fn successors(&self, id: RootId) -> Vec<RootId> {
        self.edges
            .iter()
            .filter(|e| e.source == id)
            .map(|e| e.target)
            .collect()
    }

    /// The roots `id` was made of (empty for a root not in the graph).
    pub fn predecessors(&self, id: RootId) -> Vec<RootId> {
        self.edges
            .iter()
            .filter(|e| e.target == id)
            .map(|e| e.source)
            .collect()
    }

    fn ids_without(&self, excluded: &BTreeSet<RootId>) -> Vec<RootId> {
        self.nodes
            .iter()
            .map(|n| n.id)
            .filter(|id| !excluded.contains(id))
            .collect()
    }

    /// The graph without the roots created after `t` and the edges touching them
    /// (caveclient's `exclude_links_to_future=True`).
    pub(super) fn until(self, t: DateTime<Utc>) -> LineageGraph {
        let late: BTreeSet<RootId> = self
            .nodes
            .iter()
            .filter(|n| n.timestamp > t)
            .map(|n| n.id)
            .collect();
        let nodes: Vec<LineageNode> = self
            .nodes
            .into_iter()
            .filter(|n| !late.contains(&n.id))
            .collect();
        let edges = self
            .edges
            .into_iter()
            .filter(|e| !late.contains(&e.source) && !late.contains(&e.target))
            .collect();
        let index = nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
        LineageGraph {
            nodes,
            edges,
            index,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: i64, seconds: i64) -> LineageNode {
        LineageNode {
            id: RootId(id),
            timestamp: DateTime::from_timestamp(seconds, 0).unwrap(),
            operation_id: None,
        }
    }

    fn edge(source: i64, target: i64) -> LineageEdge {
        LineageEdge {
            source: RootId(source),
            target: RootId(target),
        }
    }

    /// 1 and 2 merged into 3 (t=10), 3 split into 4 and 5 (t=20).
    fn history() -> LineageGraph {
        LineageGraph::new(
            vec![
                node(1, 0),
                node(2, 0),
                node(3, 10),
                node(4, 20),
                node(5, 20),
            ],
            vec![edge(1, 3), edge(2, 3), edge(3, 4), edge(3, 5)],
        )
        .unwrap()
    }

    #[test]
    fn latest_and_original_roots_are_the_ends_of_the_graph() {
        let g = history();
        assert_eq!(g.latest_roots(), [RootId(4), RootId(5)]);
        assert_eq!(g.original_roots(), [RootId(1), RootId(2)]);
        assert_eq!(g.successors(RootId(3)), [RootId(4), RootId(5)]);
        assert_eq!(g.predecessors(RootId(3)), [RootId(1), RootId(2)]);
        assert!(g.successors(RootId(99)).is_empty());
        assert_eq!(g.node(RootId(3)).unwrap().timestamp.timestamp(), 10);
    }

    #[test]
    fn until_drops_later_roots_and_their_edges() {
        let g = history().until(DateTime::from_timestamp(15, 0).unwrap());
        assert_eq!(g.nodes().len(), 3);
        assert_eq!(g.edges(), [edge(1, 3), edge(2, 3)]);
        assert_eq!(g.latest_roots(), [RootId(3)]);
        assert!(g.node(RootId(4)).is_none());
        // A root created exactly at `t` stays.
        let g = history().until(DateTime::from_timestamp(20, 0).unwrap());
        assert_eq!(g.latest_roots(), [RootId(4), RootId(5)]);
    }

    #[test]
    fn a_graph_must_be_consistent() {
        let e = LineageGraph::new(vec![node(1, 0), node(1, 1)], vec![]).unwrap_err();
        assert!(e.contains("nodes[1].id") && e.contains("twice"), "{e}");
        let e = LineageGraph::new(vec![node(1, 0)], vec![edge(1, 2)]).unwrap_err();
        assert!(e.contains("links[0].target") && e.contains("root 2"), "{e}");
    }
}
