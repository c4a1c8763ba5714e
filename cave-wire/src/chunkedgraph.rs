//! The chunkedgraph's JSON answers (PyChunkedGraph's `app/segmentation/v1/routes.py`), read by
//! the client and written by the devserver (docs/WIRE.md, "Chunkedgraph").
//!
//! Node ids are unsigned 64-bit numbers on the server; here they are `i64` (every root and
//! supervoxel id has its top bit clear), read from a JSON number or, as the server writes them
//! with `int64_as_str=true`, a string. A number that does not fit is an error at its place.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A node id from a number or a string of digits.
fn id_from<E: de::Error>(v: IdToken<'_>) -> Result<i64, E> {
    match v {
        IdToken::Unsigned(n) => i64::try_from(n)
            .map_err(|_| E::custom(format!("node id {n} is larger than any id CAVE uses"))),
        IdToken::Signed(n) if n >= 0 => Ok(n),
        IdToken::Signed(n) => Err(E::custom(format!("node id {n} is negative"))),
        IdToken::Text(s) => s
            .parse::<u64>()
            .map_err(|_| E::custom(format!("node id {s:?} is not a number")))
            .and_then(|n| id_from(IdToken::Unsigned(n))),
    }
}

enum IdToken<'a> {
    Unsigned(u64),
    Signed(i64),
    Text(&'a str),
}

struct IdVisitor;

impl<'de> Visitor<'de> for IdVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a node id (a number, or digits in a string)")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        id_from(IdToken::Unsigned(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        id_from(IdToken::Signed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        id_from(IdToken::Text(v))
    }
}

/// One node id (`#[serde(deserialize_with = "id")]`).
fn id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_any(IdVisitor)
}

/// A list of node ids.
fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    struct Ids;
    impl<'de> Visitor<'de> for Ids {
        type Value = Vec<i64>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of node ids")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<i64>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
            while let Some(NodeId(v)) = seq.next_element()? {
                out.push(v);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Ids)
}

/// A node id on its own, for lists and map values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
struct NodeId(i64);

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        id(d).map(NodeId)
    }
}

/// A map keyed by node ids written as strings (`{"864691...": [...]}`), values lists of ids.
fn id_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<i64, Vec<i64>>, D::Error> {
    let raw: BTreeMap<String, Vec<NodeId>> = BTreeMap::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            let key = id_from::<D::Error>(IdToken::Text(&k))?;
            Ok((key, v.into_iter().map(|NodeId(i)| i).collect()))
        })
        .collect()
}

/// Ids as the server writes map keys: strings.
fn write_id_map<S: serde::Serializer>(
    map: &BTreeMap<i64, Vec<i64>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut out = s.serialize_map(Some(map.len()))?;
    for (k, v) in map {
        out.serialize_entry(&k.to_string(), v)?;
    }
    out.end()
}

/// `GET .../node/{node}/root`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootAnswer {
    /// The root.
    #[serde(deserialize_with = "id")]
    pub root_id: i64,
}

/// `POST .../is_latest_roots`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsLatestAnswer {
    /// Per id asked, in order.
    pub is_latest: Vec<bool>,
}

/// `POST .../root_timestamps`: float Unix seconds per id asked, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootTimestampsAnswer {
    /// Unix seconds (UTC).
    pub timestamp: Vec<f64>,
}

/// `GET .../node/{node}/leaves`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeavesAnswer {
    /// The leaves (supervoxels, or nodes of the `stop_layer`).
    #[serde(deserialize_with = "ids")]
    pub leaf_ids: Vec<i64>,
}

/// `POST .../node/leaves_many`: the leaves of each node asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeavesManyAnswer {
    /// Node → its leaves.
    #[serde(deserialize_with = "id_map", serialize_with = "write_id_map")]
    pub leaves: BTreeMap<i64, Vec<i64>>,
}

/// `GET .../valid_nodes`: the ids asked that existed in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidNodesAnswer {
    /// The valid ones (any order).
    #[serde(deserialize_with = "ids")]
    pub valid_roots: Vec<i64>,
}

/// `GET .../delta_roots`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeltaRootsAnswer {
    /// Roots retired by an edit in the window.
    #[serde(deserialize_with = "ids")]
    pub old_roots: Vec<i64>,
    /// Roots created by an edit in the window (and not retired in it).
    #[serde(deserialize_with = "ids")]
    pub new_roots: Vec<i64>,
}

/// `GET .../oldest_timestamp`: `{"iso": "2020-06-01 00:00:00.000000+00:00"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OldestTimestampAnswer {
    /// ISO 8601 with a space between date and time (Python's `isoformat(" ")`).
    pub iso: String,
}

/// `GET .../past_id_mapping` (PyChunkedGraph's `SegmentHistory.past_future_id_mapping`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastIdMapping {
    /// Root asked → its oldest ancestors since `timestamp_past` (itself when it has none).
    #[serde(deserialize_with = "id_map", serialize_with = "write_id_map")]
    pub past_id_map: BTreeMap<i64, Vec<i64>>,
    /// Past id (a value of `past_id_map`) → its one latest descendant, for the past ids whose
    /// descendants never split (the others are left out). One id per key, not a list.
    #[serde(deserialize_with = "id_to_id", serialize_with = "write_id_to_id")]
    pub future_id_map: BTreeMap<i64, i64>,
}

/// A map from id strings to single ids.
fn id_to_id<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<i64, i64>, D::Error> {
    let raw: BTreeMap<String, NodeId> = BTreeMap::deserialize(d)?;
    raw.into_iter()
        .map(|(k, NodeId(v))| Ok((id_from::<D::Error>(IdToken::Text(&k))?, v)))
        .collect()
}

fn write_id_to_id<S: serde::Serializer>(map: &BTreeMap<i64, i64>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut out = s.serialize_map(Some(map.len()))?;
    for (k, v) in map {
        out.serialize_entry(&k.to_string(), v)?;
    }
    out.end()
}

/// `POST .../lineage_graph_multiple`: networkx's node-link data of a directed graph, edges
/// from a root to the roots an edit made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineageGraph {
    /// Always `true`.
    #[serde(default)]
    pub directed: bool,
    /// Always `false`.
    #[serde(default)]
    pub multigraph: bool,
    /// Graph attributes (none).
    #[serde(default)]
    pub graph: serde_json::Map<String, serde_json::Value>,
    /// The roots.
    pub nodes: Vec<LineageNode>,
    /// The edits' edges; networkx 3.4 and later may call them `edges`.
    #[serde(alias = "edges")]
    pub links: Vec<LineageLink>,
}

/// A root of a lineage graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineageNode {
    /// The root id.
    #[serde(deserialize_with = "id")]
    pub id: i64,
    /// When it was created (Unix seconds).
    pub timestamp: f64,
    /// The edit that created or retired it, when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<u64>,
}

/// An edge of a lineage graph: `source` became (part of) `target`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineageLink {
    /// The older root.
    #[serde(deserialize_with = "id")]
    pub source: i64,
    /// The newer root.
    #[serde(deserialize_with = "id")]
    pub target: i64,
}

/// `GET .../root/{root}/change_log` (`SegmentHistory.change_log_summary`; caveclient's docs
/// call the merges `n_merges`, the server writes `n_mergers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeLog {
    /// Merges in the root's history.
    #[serde(alias = "n_merges")]
    pub n_mergers: u64,
    /// Splits in the root's history.
    pub n_splits: u64,
    /// The edits, oldest first.
    pub operations_ids: Vec<u64>,
    /// Earlier roots of the object.
    #[serde(deserialize_with = "ids")]
    pub past_ids: Vec<i64>,
    /// Per user (by id, as a string): `{"n_splits": n, "n_mergers": n}`.
    #[serde(default)]
    pub user_info: serde_json::Map<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::from_json;
    use serde_json::json;

    #[test]
    fn ids_come_as_numbers_or_strings_and_wrong_ones_are_placed() {
        let a: LeavesAnswer =
            from_json(json!({"leaf_ids": [1, "2", 9223372036854775807u64]})).unwrap();
        assert_eq!(a.leaf_ids, [1, 2, i64::MAX]);
        let e = from_json::<LeavesAnswer>(json!({"leaf_ids": [1, 9223372036854775808u64]}))
            .unwrap_err();
        assert_eq!(e.at, "leaf_ids[1]");
        assert!(e.message.contains("larger than any id"), "{e}");
        let e = from_json::<RootAnswer>(json!({"root_id": "12x"})).unwrap_err();
        assert!(
            e.to_string().contains("root_id") && e.message.contains("\"12x\""),
            "{e}"
        );
        let e = from_json::<RootAnswer>(json!({"root_id": -3})).unwrap_err();
        assert!(e.message.contains("negative"), "{e}");
    }

    #[test]
    fn maps_keyed_by_ids_read_and_write_as_the_server_does() {
        let v = json!({"past_id_map": {"10": [1, 2]}, "future_id_map": {"1": "11", "2": 11}});
        let m: PastIdMapping = from_json(v.clone()).unwrap();
        assert_eq!(m.past_id_map[&10], [1, 2]);
        assert_eq!(m.future_id_map[&1], 11);
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"past_id_map": {"10": [1, 2]}, "future_id_map": {"1": 11, "2": 11}})
        );
        let e = from_json::<PastIdMapping>(json!({"past_id_map": {"x": []}, "future_id_map": {}}))
            .unwrap_err();
        assert!(e.at.starts_with("past_id_map"), "{e}");
    }

    #[test]
    fn lineage_edges_are_links_or_edges() {
        let nodes =
            json!([{"id": 1, "timestamp": 1.5, "operation_id": 7}, {"id": 2, "timestamp": 2.0}]);
        for key in ["links", "edges"] {
            let g: LineageGraph = from_json(json!({
                "directed": true, "multigraph": false, "graph": {},
                "nodes": nodes, key: [{"source": 1, "target": 2}]
            }))
            .unwrap();
            assert_eq!(
                g.links,
                [LineageLink {
                    source: 1,
                    target: 2
                }]
            );
            assert_eq!(g.nodes[0].operation_id, Some(7));
            assert_eq!(g.nodes[1].operation_id, None);
        }
    }
}
