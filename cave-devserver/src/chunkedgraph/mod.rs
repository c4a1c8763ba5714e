//! The chunkedgraph the devserver serves: the edit history behind the sample's root ids
//! ([`history`]), and the answers of PyChunkedGraph's calls over it (docs/WIRE.md,
//! "Chunkedgraph").

pub mod answers;
pub mod history;

#[cfg(test)]
mod tests;

pub use answers::{Graph, Refusal};
pub use history::{History, Operation, Root, RootIx};

use std::sync::OnceLock;

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array};

use crate::store::{Dataset, TableData, Values};

/// How long the history goes on after a public table's release (30 days, in ns).
pub const AFTER_RELEASE: i64 = 30 * 86_400 * 1_000_000_000;

/// The root layer of minnie65's graph (root ids start with `12 << 56`).
pub const ROOT_LAYER: u32 = 12;

/// The chunkedgraph table the devserver serves, built when first asked (its history takes a
/// moment over a big sample, and most uses of the devserver never ask).
#[derive(Debug)]
pub struct Service {
    /// The table name: the last path segment of the info record's `segmentation_source`.
    pub table: String,
    /// A public (virtual) table's release time (ns): every timestamp is capped at it and ids
    /// created after it are refused (docs/WIRE.md, "Chunkedgraph").
    pub release: Option<i64>,
    /// The sampled versions and their timestamps (ns).
    epochs: Vec<(u32, i64)>,
    /// The end of the history (ns): edits after the last sampled version happen before it.
    until: Option<i64>,
    graph: OnceLock<Graph>,
}

impl Service {
    /// The service of `table` over the versions `epochs` (ns), released (every timestamp
    /// capped) at `release`, with edits after the last version until [`AFTER_RELEASE`] past
    /// the release: those before it are what live queries after the last version see, those
    /// after it make roots the public table refuses.
    pub fn new(table: String, epochs: Vec<(u32, i64)>, release: Option<i64>) -> Service {
        Service {
            table,
            release,
            epochs,
            until: release.map(|r| r + AFTER_RELEASE),
            graph: OnceLock::new(),
        }
    }

    /// The chunkedgraph of the info record's `segmentation_source` table: a public one, with the
    /// edits between the sampled versions and some after the last.
    pub fn of(snapshot: &cave_schema::Snapshot, data: &Dataset) -> Service {
        let table = snapshot
            .info
            .segmentation_source
            .as_deref()
            .and_then(|s| s.rsplit('/').next())
            .filter(|t| !t.is_empty())
            .unwrap_or(&snapshot.manifest.datastack)
            .to_string();
        let epochs: Vec<(u32, i64)> = data
            .versions
            .keys()
            .filter_map(|&v| {
                let t = snapshot.version(v)?.time_stamp.timestamp_nanos_opt()?;
                Some((v, t))
            })
            .collect();
        // Released at the next version of the snapshot after the last sampled one (a month
        // later when there is none): the edits in between are what live queries after the last
        // version see.
        let release = epochs.last().map(|&(v, t)| {
            snapshot
                .versions
                .iter()
                .filter(|w| w.version > v)
                .filter_map(|w| w.time_stamp.timestamp_nanos_opt())
                .min()
                .unwrap_or(t + 30 * 86_400 * 1_000_000_000)
        });
        Service::new(table, epochs, release)
    }

    /// The graph, built from `data` on first use.
    pub fn graph(&self, data: &Dataset) -> &Graph {
        self.graph.get_or_init(|| Graph {
            history: History::build(data, &self.epochs, self.until),
            root_layer: ROOT_LAYER,
        })
    }

    /// `t` (ns) capped at the release, if the table has one.
    pub fn cap(&self, t: i64) -> i64 {
        self.release.map_or(t, |r| t.min(r))
    }
}

impl Service {
    /// `table` as a live query at `t` (ns) sees it, from its rows at a version of time
    /// `version_ts`: every `X_root_id` replaced by the root of its `X_supervoxel_id` at `t`
    /// (capped at the release), as the real server updates a materialized version's roots
    /// with the chunkedgraph. `None` when no edit falls between the two times.
    pub fn table_at(
        &self,
        data: &Dataset,
        table: &TableData,
        version_ts: i64,
        t: i64,
    ) -> Option<TableData> {
        let t = self.cap(t);
        let graph = self.graph(data);
        let (lo, hi) = if t >= version_ts {
            (version_ts, t)
        } else {
            (t, version_ts)
        };
        // The edits are sorted by time: is there one in (lo, hi]?
        let ops = &graph.history.ops;
        let first_after = ops.partition_point(|o| o.ts <= lo);
        if ops.get(first_after).is_none_or(|o| o.ts > hi) {
            return None;
        }
        let mut out = table.clone();
        for sv_col in table
            .columns
            .iter()
            .filter(|c| c.name.ends_with("supervoxel_id"))
        {
            let root_name = format!("{}root_id", sv_col.name.trim_end_matches("supervoxel_id"));
            let (Values::Single(svs), Some(i)) = (
                &sv_col.values,
                out.columns.iter().position(|c| c.name == root_name),
            ) else {
                continue;
            };
            let (Some(svs), Values::Single(roots)) = (
                svs.as_any().downcast_ref::<Int64Array>(),
                &out.columns[i].values,
            ) else {
                continue;
            };
            let Some(roots) = roots.as_any().downcast_ref::<Int64Array>() else {
                continue;
            };
            let updated: Int64Array = (0..svs.len())
                .map(|row| {
                    if roots.is_null(row) {
                        return None;
                    }
                    let (sv, root) = (svs.value(row), roots.value(row));
                    match (sv, graph.root_of(sv, t, None)) {
                        (0, _) | (_, 0) => Some(root),
                        (_, now) => Some(now),
                    }
                })
                .collect();
            out.columns[i].values = Values::Single(Arc::new(updated) as ArrayRef);
        }
        Some(out)
    }
}
