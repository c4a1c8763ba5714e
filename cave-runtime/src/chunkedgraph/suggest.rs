//! caveclient's `suggest_latest_roots`: the root that now holds most of an old root's pieces.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::ChunkedGraph;
use super::answer;
use crate::error::Error;
use crate::ids::RootId;

/// Layers below the top at which [`ChunkedGraph::suggest_latest_root`] compares by default
/// (caveclient's `DELTA_LAYERS`).
const DELTA_LAYERS: i64 = 4;

/// The layers caveclient assumes when the segmentation's info does not say.
const DEFAULT_LAYERS: i64 = 6;

/// What [`ChunkedGraph::suggest_latest_root`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestedRoot {
    /// The root holding the most of the old root's leaves at the time asked.
    pub root: RootId,
    /// Its share of those leaves (0 to 1).
    pub share: f64,
    /// Every root holding some of the leaves, with its share, the biggest first (ties: the
    /// larger id first, as caveclient's reversed `argsort` orders them for small inputs).
    pub candidates: Vec<(RootId, f64)>,
    /// The layer the leaves were taken at.
    pub stop_layer: u32,
    /// How many leaves the old root has at that layer.
    pub leaves: usize,
}

impl ChunkedGraph<'_> {
    /// The root that holds most of `root`'s pieces at `at` (default: now), as caveclient's
    /// `suggest_latest_roots(..., return_all=True, return_fraction_overlap=True)` finds it:
    /// the leaves of `root` at `stop_layer` (default: the segmentation's `graph.n_layers`
    /// minus 4, 6 layers assumed when the info does not say; at least 1), their roots at `at`,
    /// and how many of the leaves each of those roots holds.
    ///
    /// Edits change the ids of the chunks they touch, so the share is that of the chunks at
    /// the layer that no edit changed: a coarse measure, finer at lower layers (slower).
    pub async fn suggest_latest_root(
        &self,
        root: RootId,
        at: Option<DateTime<Utc>>,
        stop_layer: Option<u32>,
    ) -> Result<SuggestedRoot, Error> {
        let layer = match stop_layer {
            Some(layer) => i64::from(layer),
            None => self.layers().await? - DELTA_LAYERS,
        };
        let layer = u32::try_from(layer.max(1)).unwrap_or(u32::MAX);
        let leaves = self.leaves(root, None, Some(layer)).await?;
        if leaves.is_empty() {
            let url = self.leaves_url(root.get(), None, Some(layer))?;
            return Err(answer::bad(
                self.http(),
                &url,
                format!("root {root} has no leaves at layer {layer}, so no root holds them now"),
            ));
        }
        let roots = self.roots(&leaves, at, None).await?;
        Ok(tally(&roots, layer))
    }

    /// The segmentation's `graph.n_layers` (6 when absent, as caveclient assumes).
    async fn layers(&self) -> Result<i64, Error> {
        let info = self.segmentation_info().await?;
        match info.get("graph").and_then(|g| g.get("n_layers")) {
            None | Some(Value::Null) => Ok(DEFAULT_LAYERS),
            Some(n) => n.as_i64().ok_or_else(|| {
                answer::bad(
                    self.http(),
                    &self.info_url(),
                    format!(
                        "at graph.n_layers: expected an integer, found {}",
                        cave_wire::json_kind(n)
                    ),
                )
            }),
        }
    }
}

/// The roots of the leaves counted: the most common first.
fn tally(roots: &[RootId], stop_layer: u32) -> SuggestedRoot {
    let mut counts: BTreeMap<RootId, usize> = BTreeMap::new();
    for root in roots {
        *counts.entry(*root).or_default() += 1;
    }
    let mut candidates: Vec<(RootId, usize)> = counts.into_iter().collect();
    candidates.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    let total = roots.len() as f64;
    let candidates: Vec<(RootId, f64)> = candidates
        .into_iter()
        .map(|(root, n)| (root, n as f64 / total))
        .collect();
    let (root, share) = candidates[0];
    SuggestedRoot {
        root,
        share,
        candidates,
        stop_layer,
        leaves: roots.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_common_root_wins_with_its_share() {
        let r = |n| RootId(n);
        let s = tally(&[r(5), r(7), r(5), r(9), r(5), r(7), r(9), r(3)], 2);
        assert_eq!(s.root, r(5));
        assert_eq!(s.share, 3.0 / 8.0);
        assert_eq!(
            s.candidates,
            [(r(5), 0.375), (r(9), 0.25), (r(7), 0.25), (r(3), 0.125)]
        );
        assert_eq!((s.leaves, s.stop_layer), (8, 2));
    }
}
