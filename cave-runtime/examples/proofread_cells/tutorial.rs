//! The MICrONS tutorial "Querying proofread neurons", typed: the steps caveclient's users run
//! in Python, with rows whose columns, value types and enum values rustc checks.
//!
//! [`run`] prints each step as a plain-text table and returns a [`Summary`] of the numbers
//! (`tests/tutorial.rs` checks them against the sample data and against caveclient).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::time::Instant;

use cave_runtime::chrono::{DateTime, Utc};
use cave_runtime::{AnnotationId, Client, QueryInfo, RootId};

mod minnie {
    // Row structs, filter builders and enums for two tables of the committed snapshot (and
    // `nucleus_detection_v0`, the target of the cell-type table's reference).
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = [
            "proofreading_status_and_strategy",
            "aibs_metamodel_celltypes_v661"
        ]
    );
}

pub use minnie::{
    AibsMetamodelCellType, AibsMetamodelCelltypesV661, ProofreadingStatusAndStrategy,
};

/// What went wrong: a request, an answer, or writing the output.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// How many rows of a table the step prints.
const FIRST_ROWS: usize = 5;

/// The numbers of each step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Step 1: the datastack's description.
    pub description: Option<String>,
    /// Step 2: the valid materialization versions and their timestamps, oldest first.
    pub versions: Vec<(u32, DateTime<Utc>)>,
    /// Step 2: the version every query ran at.
    pub version: u32,
    /// Step 3: rows of `proofreading_status_and_strategy`.
    pub proofreading_rows: usize,
    /// Step 3: rows per `strategy_axon` value.
    pub strategy_axon_counts: BTreeMap<String, usize>,
    /// Step 3: rows with `status_axon == true` (the filtered query).
    pub status_axon_rows: usize,
    /// Step 3: rows with `status_axon == true` per `strategy_axon` value.
    pub status_axon_strategy_counts: BTreeMap<String, usize>,
    /// Step 4: rows of `aibs_metamodel_celltypes_v661` (joined with the nuclei).
    pub celltype_rows: usize,
    /// Step 4: rows whose `pt_root_id` occurs more than once (multi-soma merges), dropped.
    pub multi_soma_rows: usize,
    /// Step 4: distinct `pt_root_id`s among them.
    pub multi_soma_roots: usize,
    /// Step 4: the rows kept (one nucleus per root id).
    pub celltype_single_soma: usize,
    /// Step 4: kept rows per cell type.
    pub cell_type_counts: BTreeMap<String, usize>,
    /// Step 5: proofread rows (`status_axon == true`) that have a cell type (the inner join).
    pub proofread_with_type: usize,
    /// Step 5: those per cell type.
    pub proofread_per_type: BTreeMap<String, usize>,
    /// Step 5: their nucleus ids, sorted.
    pub proofread_nucleus_ids: Vec<AnnotationId>,
    /// Step 6: distinct root ids of the proofread rows (the shortcut's filter).
    pub shortcut_roots: usize,
    /// Step 6: rows of the one-call query (proofread roots, cell type 23P).
    pub shortcut_rows: usize,
    /// Step 6: of those, rows whose root is proofread with `status_axon == true` (all of them).
    pub shortcut_joined: usize,
    /// Step 6: the nucleus ids of the one-call query, sorted.
    pub shortcut_nucleus_ids: Vec<AnnotationId>,
}

/// A cell of step 4: one nucleus, its root id and its predicted type.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The nucleus id (the annotation id of `nucleus_detection_v0`): stable across versions.
    pub nucleus_id: AnnotationId,
    /// The root id at the pinned version: changes with proofreading.
    pub pt_root_id: Option<RootId>,
    /// The predicted cell type.
    pub cell_type: AibsMetamodelCellType,
}

/// Run the tutorial with `client` (a client of `minnie65_public` or a datastack with the same
/// tables), printing every step to `out`. The queries run at the client's version (see
/// `ClientBuilder::version`), else at the latest version.
pub async fn run(client: &Client, out: &mut dyn Write) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    let mut said = Said::default();

    // 1. The datastack.
    let info = client.info().await?;
    heading(out, 1, &format!("The datastack `{}`", client.datastack()))?;
    let mut facts = TextTable::new(["", ""], "<<");
    let description = info.description.clone().unwrap_or_default();
    facts.row(["description".to_string(), description.trim().to_string()]);
    let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let volume = info.aligned_volume.as_ref().and_then(|v| v.name.clone());
    facts.row(["aligned volume".to_string(), text(&volume)]);
    facts.row(["synapse table".to_string(), text(&info.synapse_table)]);
    facts.row(["soma table".to_string(), text(&info.soma_table)]);
    let resolution = info
        .viewer_resolution()
        .map(|[x, y, z]| format!("{x} × {y} × {z} nm per voxel"));
    facts.row(["viewer resolution".to_string(), text(&resolution)]);
    facts.write_plain(out)?;
    summary.description = info.description;

    // 2. Materialization versions; pin one.
    let versions = client.versions_metadata().await?;
    summary.versions = versions.iter().map(|v| (v.version, v.time_stamp)).collect();
    let version = match client.default_version() {
        Some(v) => v,
        None => client.latest_version().await?,
    };
    summary.version = version;
    heading(out, 2, "Materialization versions (UTC)")?;
    let mut table = TextTable::new(["version", "time stamp", "expires on", ""], "><<<");
    for v in &versions {
        table.row([
            v.version.to_string(),
            utc(&v.time_stamp),
            v.expires_on.as_ref().map_or_else(|| "never".into(), utc),
            if v.version == version {
                "◀ pinned".into()
            } else {
                String::new()
            },
        ]);
    }
    table.write(out)?;
    match versions.iter().find(|v| v.version == version) {
        Some(v) => writeln!(
            out,
            "\nEvery query below runs at version {version} ({} UTC),\n\
             as `client.version = {version}` does in caveclient.",
            utc(&v.time_stamp)
        )?,
        None => writeln!(
            out,
            "\nVersion {version} is not among the valid versions above (expired?); the queries ask for it anyway."
        )?,
    }

    // 3. Proofreading status: the whole table, then `status_axon == true` through the filter.
    heading(
        out,
        3,
        "Proofreading status: `proofreading_status_and_strategy`",
    )?;
    let clock = Instant::now();
    let all = ProofreadingStatusAndStrategy::filter()
        .version(version)
        .query(client)
        .await?;
    took(
        out,
        "ProofreadingStatusAndStrategy::filter()",
        all.len(),
        &clock,
    )?;
    said.notes(out, all.info())?;
    let clock = Instant::now();
    let axon = ProofreadingStatusAndStrategy::filter()
        .status_axon(true)
        .version(version)
        .query(client)
        .await?;
    took(
        out,
        "ProofreadingStatusAndStrategy::filter().status_axon(true)",
        axon.len(),
        &clock,
    )?;
    said.notes(out, axon.info())?;
    summary.proofreading_rows = all.len();
    summary.status_axon_rows = axon.len();
    summary.strategy_axon_counts = count(all.iter().map(|r| r.strategy_axon.to_string()));
    summary.status_axon_strategy_counts = count(axon.iter().map(|r| r.strategy_axon.to_string()));
    writeln!(out)?;
    let mut table = TextTable::new(["strategy_axon", "rows", "status_axon = true"], "<>>");
    for (strategy, n) in by_count_desc(&summary.strategy_axon_counts) {
        let proofread = summary.status_axon_strategy_counts.get(strategy);
        table.row([
            strategy.to_string(),
            thousands(n),
            thousands(proofread.copied().unwrap_or(0)),
        ]);
    }
    table.row([
        "total".to_string(),
        thousands(all.len()),
        thousands(axon.len()),
    ]);
    table.write(out)?;

    // 4. Cell types: a reference table on the nuclei, joined with them. A root id with more
    //    than one nucleus is a merge of several cells: drop all of its rows.
    heading(
        out,
        4,
        "Cell types: `aibs_metamodel_celltypes_v661` joined with `nucleus_detection_v0`",
    )?;
    let clock = Instant::now();
    let types = AibsMetamodelCelltypesV661::filter()
        .version(version)
        .query(client)
        .await?;
    took(
        out,
        "AibsMetamodelCelltypesV661::filter()",
        types.len(),
        &clock,
    )?;
    said.notes(out, types.info())?;
    let mut nuclei_per_root: HashMap<Option<RootId>, usize> = HashMap::new();
    for row in &types {
        *nuclei_per_root.entry(row.target.pt_root_id).or_default() += 1;
    }
    let single = |root: &Option<RootId>| nuclei_per_root.get(root).copied() == Some(1);
    let cells: Vec<Cell> = types
        .iter()
        .filter(|row| single(&row.target.pt_root_id))
        .map(|row| Cell {
            nucleus_id: row.target_id,
            pt_root_id: row.target.pt_root_id,
            cell_type: row.cell_type.clone(),
        })
        .collect();
    summary.celltype_rows = types.len();
    summary.celltype_single_soma = cells.len();
    summary.multi_soma_rows = types.len() - cells.len();
    summary.multi_soma_roots = nuclei_per_root.values().filter(|&&n| n > 1).count();
    summary.cell_type_counts = count(cells.iter().map(|c| c.cell_type.to_string()));
    writeln!(
        out,
        "Dropped {} rows whose pt_root_id has several nuclei ({} root ids: merged cells);\n\
         {} cells remain. nucleus_id (the nucleus's annotation id) is stable across versions,\n\
         pt_root_id changes with proofreading.\n",
        thousands(summary.multi_soma_rows),
        thousands(summary.multi_soma_roots),
        thousands(cells.len())
    )?;
    let mut table = TextTable::new(["nucleus_id", "pt_root_id", "cell_type"], ">><");
    for cell in cells.iter().take(FIRST_ROWS) {
        table.row([
            cell.nucleus_id.to_string(),
            optional(&cell.pt_root_id),
            cell.cell_type.to_string(),
        ]);
    }
    table.write(out)?;
    more(out, cells.len())?;

    // 5. The proofread cells (status_axon == true) with their cell type: an inner join on
    //    pt_root_id.
    heading(
        out,
        5,
        "Proofread cells per cell type (inner join on pt_root_id)",
    )?;
    let cell_of_root: HashMap<RootId, &Cell> = cells
        .iter()
        .filter_map(|c| Some((c.pt_root_id?, c)))
        .collect();
    let joined: Vec<(&ProofreadingStatusAndStrategy, &Cell)> = axon
        .iter()
        .filter_map(|row| Some((row, *cell_of_root.get(&row.pt_root_id?)?)))
        .collect();
    summary.proofread_with_type = joined.len();
    summary.proofread_per_type = count(joined.iter().map(|(_, c)| c.cell_type.to_string()));
    summary.proofread_nucleus_ids = sorted(joined.iter().map(|(_, c)| c.nucleus_id));
    writeln!(
        out,
        "{} of the {} proofread rows have a cell type.\n",
        thousands(joined.len()),
        thousands(axon.len())
    )?;
    let mut table = TextTable::new(["cell_type", "proofread", "cells", "proofread %"], "<>>>");
    let mut order: Vec<(&str, usize, usize)> = summary
        .cell_type_counts
        .iter()
        .map(|(t, &n)| {
            let p = summary.proofread_per_type.get(t).copied().unwrap_or(0);
            (t.as_str(), p, n)
        })
        .collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(b.0)));
    for (cell_type, proofread, cells) in order {
        table.row([
            cell_type.to_string(),
            thousands(proofread),
            thousands(cells),
            percent(proofread, cells),
        ]);
    }
    table.row([
        "total".to_string(),
        thousands(joined.len()),
        thousands(summary.celltype_single_soma),
        percent(joined.len(), summary.celltype_single_soma),
    ]);
    table.write(out)?;

    // 6. The shortcut: the cell types of the proofread root ids, 23P only, in one query whose
    //    filters apply to the reference table (`cell_type`) and its target (`pt_root_id`).
    heading(
        out,
        6,
        "Shortcut: 23P cells among the proofread root ids, in one query",
    )?;
    let mut roots: Vec<RootId> = axon.iter().filter_map(|r| r.pt_root_id).collect();
    roots.sort_unstable();
    roots.dedup();
    let clock = Instant::now();
    let shortcut = AibsMetamodelCelltypesV661::filter()
        .pt_root_id_in(&roots)
        .cell_type(AibsMetamodelCellType::_23p)
        .version(version)
        .query(client)
        .await?;
    took(
        out,
        &format!(
            "AibsMetamodelCelltypesV661::filter()\n    .pt_root_id_in(<{} proofread root ids>)\n    .cell_type(AibsMetamodelCellType::_23p)",
            thousands(roots.len())
        ),
        shortcut.len(),
        &clock,
    )?;
    said.notes(out, shortcut.info())?;
    let status_of_root: HashMap<RootId, &ProofreadingStatusAndStrategy> = axon
        .iter()
        .filter_map(|r| Some((r.pt_root_id?, r)))
        .collect();
    let with_status: Vec<(&AibsMetamodelCelltypesV661, &ProofreadingStatusAndStrategy)> = shortcut
        .iter()
        .filter_map(|row| Some((row, *status_of_root.get(&row.target.pt_root_id?)?)))
        .collect();
    summary.shortcut_roots = roots.len();
    summary.shortcut_rows = shortcut.len();
    summary.shortcut_joined = with_status.len();
    summary.shortcut_nucleus_ids = sorted(shortcut.iter().map(|row| row.target_id));
    writeln!(
        out,
        "Joined with the proofreading status on pt_root_id: {} rows (multi-soma roots are kept\n\
         here, so at least the {} 23P cells of step 5).\n",
        thousands(with_status.len()),
        thousands(
            summary
                .proofread_per_type
                .get(AibsMetamodelCellType::_23p.as_str())
                .copied()
                .unwrap_or(0)
        ),
    )?;
    let mut table = TextTable::new(
        [
            "nucleus_id",
            "pt_root_id",
            "cell_type",
            "strategy_axon",
            "strategy_dendrite",
            "pt_position (voxels)",
        ],
        ">><<<<",
    );
    for (row, status) in with_status.iter().take(FIRST_ROWS) {
        let [x, y, z] = row.target.pt_position.voxels();
        table.row([
            row.target_id.to_string(),
            optional(&row.target.pt_root_id),
            row.cell_type.to_string(),
            status.strategy_axon.to_string(),
            status.strategy_dendrite.to_string(),
            format!("{x}, {y}, {z}"),
        ]);
    }
    table.write(out)?;
    more(out, with_status.len())?;
    out.flush()?;
    Ok(summary)
}

fn heading(out: &mut dyn Write, step: usize, title: &str) -> std::io::Result<()> {
    writeln!(out, "\n{step}. {title}\n")
}

fn took(out: &mut dyn Write, what: &str, rows: usize, clock: &Instant) -> std::io::Result<()> {
    writeln!(
        out,
        "{what}: {} rows ({:.2} s)",
        thousands(rows),
        clock.elapsed().as_secs_f64()
    )
}

/// The server's warnings (table owners' notices among them) already printed.
#[derive(Default)]
struct Said(HashSet<String>);

impl Said {
    /// A query's warnings not printed before, and its paging, if any.
    fn notes(&mut self, out: &mut dyn Write, info: &QueryInfo) -> std::io::Result<()> {
        for w in &info.warnings {
            if self.0.insert(w.clone()) {
                writeln!(out, "  server says: {}", w.trim())?;
            }
        }
        if info.pages > 1 {
            writeln!(out, "  ({} pages past the server's row cap)", info.pages)?;
        }
        Ok(())
    }
}

fn more(out: &mut dyn Write, rows: usize) -> std::io::Result<()> {
    if rows > FIRST_ROWS {
        writeln!(out, "… {} more rows", thousands(rows - FIRST_ROWS))?;
    }
    Ok(())
}

fn sorted<T: Ord>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = values.collect();
    v.sort_unstable();
    v
}

fn count(values: impl Iterator<Item = String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts
}

/// Largest count first, then by name (as pandas' `value_counts`, with ties in a fixed order).
fn by_count_desc(counts: &BTreeMap<String, usize>) -> Vec<(&str, usize)> {
    let mut v: Vec<(&str, usize)> = counts.iter().map(|(k, &n)| (k.as_str(), n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v
}

/// `2025-01-13 10:10:01.286229`.
fn utc(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

fn optional<T: std::fmt::Display>(value: &Option<T>) -> String {
    value
        .as_ref()
        .map_or_else(|| "null".into(), ToString::to_string)
}

/// `94014` → `94,014`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}", 100.0 * part as f64 / whole as f64)
    }
}

/// A plain-text table: columns padded to their widest cell, each aligned left (`<`) or right
/// (`>`).
struct TextTable<const N: usize> {
    headers: [&'static str; N],
    right: [bool; N],
    rows: Vec<[String; N]>,
}

impl<const N: usize> TextTable<N> {
    fn new(headers: [&'static str; N], align: &str) -> Self {
        let mut right = [false; N];
        for (r, a) in right.iter_mut().zip(align.chars()) {
            *r = a == '>';
        }
        TextTable {
            headers,
            right,
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: [String; N]) {
        self.rows.push(cells);
    }

    /// With a header line and a rule under it.
    fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        self.render(out, true)
    }

    /// Without headers (key-value lists).
    fn write_plain(&self, out: &mut dyn Write) -> std::io::Result<()> {
        self.render(out, false)
    }

    fn render(&self, out: &mut dyn Write, headers: bool) -> std::io::Result<()> {
        let width = |s: &str| s.chars().count();
        let mut widths = [0; N];
        for (i, w) in widths.iter_mut().enumerate() {
            let header = if headers { width(self.headers[i]) } else { 0 };
            *w = self
                .rows
                .iter()
                .map(|r| width(&r[i]))
                .fold(header, usize::max);
        }
        let line = |cells: [&str; N]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                let pad = " ".repeat(widths[i] - width(cell));
                if self.right[i] {
                    let _ = write!(text, "{pad}{cell}");
                } else {
                    let _ = write!(text, "{cell}{pad}");
                }
            }
            text.trim_end().to_string()
        };
        if headers {
            writeln!(out, "{}", line(self.headers))?;
            // No rule under an empty header.
            let rules: [String; N] = std::array::from_fn(|i| {
                let rule = if self.headers[i].is_empty() {
                    " "
                } else {
                    "─"
                };
                rule.repeat(widths[i])
            });
            writeln!(out, "{}", line(std::array::from_fn(|i| rules[i].as_str())))?;
        }
        for row in &self.rows {
            writeln!(out, "{}", line(std::array::from_fn(|i| row[i].as_str())))?;
        }
        Ok(())
    }
}
