//! `fetch` and `check` end to end: read the existing snapshot, download, merge, validate, then
//! write (fetch) or compare (check). Nothing is written until everything has been read and the
//! merged snapshot validates, so any error leaves the files as they were.

use std::path::{Path, PathBuf};

use super::config::FetchConfig;
use super::diff::{SnapshotDiff, diff};
use super::download::download;
use super::error::FetchError;
use super::merge::{Merged, merge};
use super::progress::Progress;
use cave_schema::snapshot::{Snapshot, SnapshotKind, SnapshotProvenance};

/// What `fetch_snapshot` did.
#[derive(Debug, Clone)]
pub struct FetchOutcome {
    /// The snapshot now on disk.
    pub snapshot: Snapshot,
    /// What changed relative to the previous snapshot (everything, for a first fetch).
    pub changes: SnapshotDiff,
    /// Whether any data file changed (if not, no file was touched).
    pub changed: bool,
    /// The files written.
    pub written: Vec<PathBuf>,
    /// Remarks: string columns without a value set, fallbacks taken.
    pub notes: Vec<String>,
    /// The version whose table metadata was read.
    pub version: u32,
}

/// What `check_snapshot` found.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// What a fetch would change.
    pub changes: SnapshotDiff,
    /// Whether a fetch would change any data file.
    pub differs: bool,
    /// Remarks, as for a fetch.
    pub notes: Vec<String>,
    /// The version whose table metadata was read.
    pub version: u32,
}

/// Fetch the datastack of `config` and merge it into the snapshot at `out` (a datastack
/// folder; created when missing). Writes only files whose content changes, and none at all
/// when the server agrees with the snapshot.
pub fn fetch_snapshot(
    config: &FetchConfig,
    out: &Path,
    progress: &mut Progress,
) -> Result<FetchOutcome, FetchError> {
    let existing = load_existing(config, out)?;
    let (mut merged, version) = fetch_and_merge(config, existing.as_ref(), progress)?;
    let changed = existing
        .as_ref()
        .is_none_or(|old| data_differs(old, &merged.snapshot));
    let changes = match &existing {
        Some(old) => diff(old, &merged.snapshot),
        None => diff(&empty_like(&merged.snapshot)?, &merged.snapshot),
    };
    if changed {
        merged.snapshot.manifest.provenance = SnapshotProvenance {
            kind: SnapshotKind::Fetched,
            server: Some(config.server_url().to_string()),
            summary: fetched_summary(&merged.snapshot, config.server_url(), version),
        };
    }
    merged
        .snapshot
        .validate(out)
        .map_err(|e| server_error(&redactor(config), e))?;
    let mut written = Vec::new();
    if changed {
        written = merged.snapshot.write_with_types(out)?;
    }
    Ok(FetchOutcome {
        snapshot: merged.snapshot,
        changes,
        changed,
        written,
        notes: merged.notes,
        version,
    })
}

/// Fetch the datastack of `config` into memory and compare it with the snapshot at `dir`.
pub fn check_snapshot(
    config: &FetchConfig,
    dir: &Path,
    progress: &mut Progress,
) -> Result<CheckOutcome, FetchError> {
    let existing = Snapshot::load(dir)?;
    check_datastack(config, &existing, dir)?;
    let (merged, version) = fetch_and_merge(config, Some(&existing), progress)?;
    merged
        .snapshot
        .validate(dir)
        .map_err(|e| server_error(&redactor(config), e))?;
    let differs = data_differs(&existing, &merged.snapshot);
    let mut changes = diff(&existing, &merged.snapshot);
    if differs && changes.is_empty() {
        changes.sections.push(super::diff::DiffSection {
            title: "files",
            lines: vec!["~ the files' content differs in a way not itemised above".into()],
        });
    }
    Ok(CheckOutcome {
        changes,
        differs,
        notes: merged.notes,
        version,
    })
}

fn fetch_and_merge(
    config: &FetchConfig,
    existing: Option<&Snapshot>,
    progress: &mut Progress,
) -> Result<(Merged, u32), FetchError> {
    let redactor = redactor(config);
    let data = download(config, existing, progress).map_err(|e| e.cleaned(&redactor))?;
    // What the server sent may not add up; its text (type names, values) is cleaned.
    let merged =
        merge(existing, &data, &config.datastack).map_err(|e| server_error(&redactor, e))?;
    Ok((merged, data.chosen_version))
}

/// The redactor of the config's token.
fn redactor(config: &FetchConfig) -> cave_wire::untrusted::Redactor {
    cave_wire::untrusted::Redactor::new(config.token.as_ref().map(|t| t.token.secret()))
}

/// A snapshot error found in what the server sent, its text cleaned.
fn server_error(r: &cave_wire::untrusted::Redactor, e: impl std::fmt::Display) -> FetchError {
    FetchError::Server {
        message: r.clean(&format!(
            "the server's answers do not make a valid snapshot: {e}"
        )),
    }
}

/// The snapshot at `out`, if there is one; an unreadable one is an error (it is not replaced).
fn load_existing(config: &FetchConfig, out: &Path) -> Result<Option<Snapshot>, FetchError> {
    if !out.join("snapshot.json").exists() {
        return Ok(None);
    }
    let snapshot = Snapshot::load(out)?;
    check_datastack(config, &snapshot, out)?;
    Ok(Some(snapshot))
}

fn check_datastack(
    config: &FetchConfig,
    snapshot: &Snapshot,
    dir: &Path,
) -> Result<(), FetchError> {
    if snapshot.manifest.datastack == config.datastack {
        return Ok(());
    }
    Err(FetchError::Server {
        message: format!(
            "{} holds a snapshot of datastack `{}`, not `{}`; pass the right folder",
            dir.display(),
            snapshot.manifest.datastack,
            config.datastack
        ),
    })
}

/// Whether the data files (everything but `snapshot.json`) or the schema types differ.
pub fn data_differs(old: &Snapshot, new: &Snapshot) -> bool {
    let (a, b) = (old.render(), new.render());
    let data = |files: &std::collections::BTreeMap<&'static str, String>| -> Vec<String> {
        files
            .iter()
            .filter(|(name, _)| **name != "snapshot.json")
            .map(|(_, text)| text.clone())
            .collect()
    };
    data(&a) != data(&b) || old.types.render() != new.types.render()
}

/// A snapshot with nothing in it, to diff a first fetch against.
fn empty_like(snapshot: &Snapshot) -> Result<Snapshot, FetchError> {
    let mut empty = snapshot.clone();
    empty.versions.clear();
    empty.tables.clear();
    empty.value_sets = Default::default();
    empty.types = cave_schema::types::TypeSet::from_documents(Vec::new(), "")
        .map_err(|e| FetchError::Snapshot(e.into()))?;
    Ok(empty)
}

/// The manifest summary of a fetched snapshot: date-free facts only, so that refetching an
/// unchanged server gives the same text.
pub fn fetched_summary(snapshot: &Snapshot, server: &str, version: u32) -> String {
    let ds = &snapshot.manifest.datastack;
    let first = snapshot.versions.first().map_or(0, |v| v.version);
    let last = snapshot.latest_version().map_or(0, |v| v.version);
    let valid = snapshot.versions.iter().filter(|v| v.valid).count();
    let typed = snapshot
        .tables
        .values()
        .filter(|t| t.schema_type.is_some())
        .count();
    format!(
        "Fetched from {server} by `cave fetch`: {} materialization versions ({first} to {last}, {valid} valid) with their table lists, table metadata as of version {version} ({} tables, {typed} with a schema type), {} schema types, {} value sets. Facts the server reported unchanged keep the provenance recorded before; changed and new facts say `server`. Value sets are curated vocabularies: values the server reported that a set lacked were appended with an empty doc, and none are removed. Refresh with `cargo run -p cave-cli -- fetch --server {server} --datastack {ds}`; compare with `cargo run -p cave-cli -- check --server {server} --datastack {ds}`.",
        snapshot.versions.len(),
        snapshot.tables.len(),
        snapshot.types.len(),
        snapshot.value_sets.value_sets.len(),
    )
}
