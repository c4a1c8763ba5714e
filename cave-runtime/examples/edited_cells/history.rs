//! The MICrONS "materialization versions" workflow, typed: cells found at an older version,
//! the root ids among them that proofreading has changed by a newer version's timestamp, their
//! latest roots (by lineage and by the majority of their pieces), the nucleus id as the
//! handle that does not change, and the lineage of one edited cell.
//!
//! [`run`] prints each step and returns a [`Summary`] (`tests/edited_cells.rs` checks it against
//! the tables of both versions).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use cave_runtime::chrono::{DateTime, SecondsFormat, Utc};
use cave_runtime::{AnnotationId, Client, RootId, RootUpdate};

mod minnie {
    // The cell-type table (a reference to the nuclei, joined with them), pinned to no version:
    // each query says which one it reads.
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["aibs_metamodel_celltypes_v661"]
    );
}

pub use minnie::{AibsMetamodelCellType, AibsMetamodelCelltypesV661};

/// What went wrong: a request, an answer, or writing the output.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The cells shown in the latest-root step.
const SHOWN: usize = 5;

/// One stale cell's latest root, three ways.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    /// The nucleus.
    pub nucleus: AnnotationId,
    /// Its root at the older version.
    pub old: RootId,
    /// The latest roots of its lineage at the newer timestamp.
    pub by_lineage: Vec<RootId>,
    /// The root most of its pieces belong to then, and their share.
    pub suggested: (RootId, f64),
    /// Its root in the newer version's table, found by the nucleus id.
    pub in_newer_table: Option<RootId>,
}

/// The numbers of each step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// The versions compared and the newer one's timestamp.
    pub older: u32,
    /// The newer version.
    pub newer: u32,
    /// Its timestamp.
    pub newer_at: DateTime<Utc>,
    /// Step 1: 23P cells at the older version.
    pub cells: usize,
    /// Step 2: their distinct root ids that are no longer the latest at the newer timestamp.
    pub stale: Vec<RootId>,
    /// Step 3: what bringing the rows to the newer timestamp did.
    pub update: RootUpdate,
    /// Step 3: cells whose updated root equals the newer table's root of the same nucleus.
    pub agree_with_newer_table: usize,
    /// Step 3: cells of the older version whose nucleus the newer table has.
    pub in_both: usize,
    /// Step 4: a few stale cells' latest roots.
    pub latest: Vec<Latest>,
    /// Step 5: the lineage of one edited cell: its roots (id, created) and edges.
    pub lineage_nodes: Vec<(RootId, DateTime<Utc>, Option<u64>)>,
    /// Step 5: its edges, older → newer.
    pub lineage_edges: Vec<(RootId, RootId)>,
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Run the workflow from version `older` to version `newer`.
pub async fn run(
    client: &Client,
    older: u32,
    newer: u32,
    out: &mut dyn Write,
) -> Result<Summary, Error> {
    let cg = client.chunkedgraph().await?;
    let (older_at, newer_at) = (
        client.timestamp(older).await?,
        client.timestamp(newer).await?,
    );
    writeln!(
        out,
        "\nVersions {older} ({}) and {newer} ({}); chunkedgraph table `{}`.",
        time(&older_at),
        time(&newer_at),
        cg.table()
    )?;

    // 1. Cells at the older version: 23P cells, each row joined with its nucleus.
    let mut cells = AibsMetamodelCelltypesV661::filter()
        .cell_type(AibsMetamodelCellType::_23p)
        .version(older)
        .query(client)
        .await?;
    writeln!(
        out,
        "\n1. {} cells of type 23P at version {older}.",
        cells.len()
    )?;

    // 2. Which of their roots proofreading has changed by the newer version.
    let stale = cg.stale_roots(&cells, newer_at).await?;
    writeln!(
        out,
        "2. {} of their root ids are no longer the latest at version {newer}'s timestamp.",
        stale.len()
    )?;

    // 3. The rows brought to the newer time, and checked by nucleus id against the newer table.
    let before: BTreeMap<AnnotationId, Option<RootId>> = cells
        .iter()
        .map(|c| (c.target.id, c.target.pt_root_id))
        .collect();
    let update = cg.update_roots(&mut cells, newer_at).await?;
    let newer_rows = AibsMetamodelCelltypesV661::filter()
        .cell_type(AibsMetamodelCellType::_23p)
        .version(newer)
        .query(client)
        .await?;
    let newer_root: BTreeMap<AnnotationId, Option<RootId>> = newer_rows
        .iter()
        .map(|c| (c.target.id, c.target.pt_root_id))
        .collect();
    let in_both = cells
        .iter()
        .filter(|c| newer_root.contains_key(&c.target.id))
        .count();
    let agree = cells
        .iter()
        .filter(|c| newer_root.get(&c.target.id) == Some(&c.target.pt_root_id))
        .count();
    writeln!(
        out,
        "3. Brought to version {newer}: {} root fields replaced ({} left). By nucleus id, {agree} of \
         the {in_both} cells the newer table also has now carry its root.",
        update.replaced, update.unresolved
    )?;

    // 4. A few stale cells' latest roots: by lineage, by their pieces, and in the newer table.
    let stale_set: BTreeSet<RootId> = stale.iter().copied().collect();
    let mut latest = Vec::new();
    for (nucleus, old) in before.iter().filter_map(|(n, r)| Some((*n, (*r)?))) {
        if latest.len() >= SHOWN {
            break;
        }
        if !stale_set.contains(&old) {
            continue;
        }
        let by_lineage = cg.latest_roots(old, Some(newer_at)).await?;
        let suggested = cg.suggest_latest_root(old, Some(newer_at), None).await?;
        latest.push(Latest {
            nucleus,
            old,
            by_lineage,
            suggested: (suggested.root, suggested.share),
            in_newer_table: newer_root.get(&nucleus).copied().flatten(),
        });
    }
    writeln!(out, "4. Latest roots of {} stale cells:", latest.len())?;
    writeln!(
        out,
        "   {:>10}  {:>18}  {:>18}  {:>18}  {:>6}  {:>18}",
        "nucleus", "old root", "by lineage", "suggested", "share", "newer table"
    )?;
    for l in &latest {
        let lineage: Vec<String> = l.by_lineage.iter().map(|r| r.0.to_string()).collect();
        writeln!(
            out,
            "   {:>10}  {:>18}  {:>18}  {:>18}  {:>6.2}  {:>18}",
            l.nucleus.get(),
            l.old.0,
            lineage.join(","),
            l.suggested.0.0,
            l.suggested.1,
            l.in_newer_table.map_or("-".into(), |r| r.0.to_string())
        )?;
    }

    // 5. The lineage of one edited cell.
    let mut summary = Summary {
        older,
        newer,
        newer_at,
        cells: cells.len(),
        stale,
        update,
        agree_with_newer_table: agree,
        in_both,
        latest,
        ..Summary::default()
    };
    if let Some(first) = summary.latest.first() {
        let graph = cg
            .lineage_graph(&[first.old], Some(older_at), Some(newer_at))
            .await?;
        writeln!(
            out,
            "5. Lineage of nucleus {}'s cell from {}:",
            first.nucleus.get(),
            first.old.0
        )?;
        for n in graph.nodes() {
            writeln!(
                out,
                "   root {} created {}{}",
                n.id.0,
                time(&n.timestamp),
                n.operation_id
                    .map_or(String::new(), |op| format!(", retired by edit {op}"))
            )?;
        }
        for e in graph.edges() {
            writeln!(out, "   {} → {}", e.source.0, e.target.0)?;
        }
        summary.lineage_nodes = graph
            .nodes()
            .iter()
            .map(|n| (n.id, n.timestamp, n.operation_id))
            .collect();
        summary.lineage_edges = graph.edges().iter().map(|e| (e.source, e.target)).collect();
    }
    Ok(summary)
}
