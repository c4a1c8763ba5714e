//! Root ids of typed rows brought to another time (the MICrONS tutorials' "is_latest_roots,
//! then the roots of the supervoxels"): a row's point keeps its supervoxel when proofreading
//! changes its root, so the root at any time is the supervoxel's root then.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::ChunkedGraph;
use crate::client::Client;
use crate::error::Error;
use crate::ids::RootId;
use crate::result::Rows;
use crate::table::BoundRoots;

/// What [`ChunkedGraph::update_roots`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootUpdate {
    /// The distinct root ids of the rows that were checked (root 0 is never asked about).
    pub checked: usize,
    /// Those that were not the latest at the time, sorted.
    pub stale: Vec<RootId>,
    /// Root fields replaced (a row may have several, a reference row's target too).
    pub replaced: usize,
    /// Stale root fields left as they were: no supervoxel column beside them, or supervoxel 0,
    /// or the chunkedgraph gave root 0 for it.
    pub unresolved: usize,
}

impl ChunkedGraph<'_> {
    /// The root ids of `rows` that are not the latest at `at`, distinct and sorted: the rows
    /// whose cells were edited since (`is_latest_roots` of every distinct root; root 0, a
    /// point outside the segmentation, is never stale).
    pub async fn stale_roots<T: BoundRoots>(
        &self,
        rows: &[T],
        at: DateTime<Utc>,
    ) -> Result<Vec<RootId>, Error> {
        let roots: Vec<RootId> = distinct_roots(rows).into_iter().collect();
        let latest = self.is_latest_roots(&roots, Some(at)).await?;
        Ok(roots
            .into_iter()
            .zip(latest)
            .filter(|(_, latest)| !latest)
            .map(|(r, _)| r)
            .collect())
    }

    /// Bring the root ids of `rows` to `at`: each stale root (see
    /// [`stale_roots`](Self::stale_roots)) is replaced by the root of the supervoxel beside
    /// it (`pt_root_id` by the root of `pt_supervoxel_id`), as caveclient's `live_query`
    /// updates a materialized answer. Two requests for any number of rows (more for very
    /// many ids: [`IDS_PER_CHUNKEDGRAPH_REQUEST`](super::IDS_PER_CHUNKEDGRAPH_REQUEST) each).
    ///
    /// ```no_run
    /// # mod minnie { cave_runtime::datastack!("schemas/minnie65_public", version = 1300, tables = ["proofreading_status_and_strategy"]); }
    /// # async fn demo(client: &cave_runtime::Client) -> Result<(), cave_runtime::Error> {
    /// let mut cells = minnie::ProofreadingStatusAndStrategy::filter().version(1181).query(client).await?;
    /// let cg = client.chunkedgraph().await?;
    /// let at = client.timestamp(1300).await?;
    /// let update = cg.update_roots(&mut cells, at).await?;
    /// println!("{} of {} roots were stale", update.stale.len(), update.checked);
    /// # Ok(()) }
    /// ```
    pub async fn update_roots<T: BoundRoots>(
        &self,
        rows: &mut [T],
        at: DateTime<Utc>,
    ) -> Result<RootUpdate, Error> {
        let stale = self.stale_roots(rows, at).await?;
        let mut update = RootUpdate {
            checked: distinct_roots(rows).len(),
            ..RootUpdate::default()
        };
        if stale.is_empty() {
            return Ok(update);
        }
        let is_stale: BTreeSet<RootId> = stale.iter().copied().collect();
        // The supervoxels of the stale fields, each asked once.
        let mut supervoxels: BTreeSet<i64> = BTreeSet::new();
        for row in rows.iter_mut() {
            for (sv, slot) in row.bound_roots() {
                if slot.get().is_some_and(|r| is_stale.contains(&r))
                    && let Some(sv) = sv.filter(|s| s.0 != 0)
                {
                    supervoxels.insert(sv.0);
                }
            }
        }
        let supervoxels: Vec<i64> = supervoxels.into_iter().collect();
        let now = self.roots(&supervoxels, Some(at), None).await?;
        let root_of: HashMap<i64, RootId> = supervoxels.into_iter().zip(now).collect();
        for row in rows.iter_mut() {
            for (sv, mut slot) in row.bound_roots() {
                if !slot.get().is_some_and(|r| is_stale.contains(&r)) {
                    continue;
                }
                if let Some(&root) = sv.and_then(|s| root_of.get(&s.0)).filter(|r| r.0 != 0) {
                    slot.set(root);
                    update.replaced += 1;
                }
            }
            // What is still stale: no supervoxel beside it (a view's `root_id`), supervoxel
            // 0, or no root for the supervoxel.
            update.unresolved += row
                .roots()
                .iter()
                .flatten()
                .filter(|r| is_stale.contains(r))
                .count();
        }
        update.stale = stale;
        Ok(update)
    }
}

impl<T: BoundRoots> Rows<T> {
    /// [`ChunkedGraph::update_roots`] on the chunkedgraph of `client`'s datastack: the rows'
    /// stale root ids brought to `at` through their supervoxels.
    ///
    /// ```no_run
    /// # mod minnie { cave_runtime::datastack!("schemas/minnie65_public", version = 1300, tables = ["proofreading_status_and_strategy"]); }
    /// # async fn demo(client: &cave_runtime::Client) -> Result<(), cave_runtime::Error> {
    /// let mut cells = minnie::ProofreadingStatusAndStrategy::filter().version(1181).query(client).await?;
    /// let update = cells.update_roots(client, client.timestamp(1300).await?).await?;
    /// println!("{} roots replaced", update.replaced);
    /// # Ok(()) }
    /// ```
    pub async fn update_roots(
        &mut self,
        client: &Client,
        at: DateTime<Utc>,
    ) -> Result<RootUpdate, Error> {
        client.chunkedgraph().await?.update_roots(self, at).await
    }

    /// [`ChunkedGraph::stale_roots`] on the chunkedgraph of `client`'s datastack: the rows'
    /// root ids that are not the latest at `at`.
    pub async fn stale_roots(
        &self,
        client: &Client,
        at: DateTime<Utc>,
    ) -> Result<Vec<RootId>, Error> {
        client.chunkedgraph().await?.stale_roots(self, at).await
    }
}

/// The rows' distinct root ids, root 0 (outside the segmentation) left out.
fn distinct_roots<T: BoundRoots>(rows: &[T]) -> BTreeSet<RootId> {
    rows.iter()
        .flat_map(BoundRoots::roots)
        .flatten()
        .filter(|r| r.0 != 0)
        .collect()
}
