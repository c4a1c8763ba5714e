//! Exports opened for a cluster: each export's folder read as a Parquet listing (which
//! Ballista's scheduler and executors know how to send and read), after checking with delta-rs
//! that the listing holds exactly the Delta table's live files.
//!
//! A listing reads every Parquet file under the folder, and a Delta table may have files that
//! are no longer part of it (removed by a later commit and not yet vacuumed) or need features a
//! listing does not apply (deletion vectors, column mapping). So an export is opened only when
//! its protocol asks no reader features (reader version 1, as CAVE's and this crate's writers
//! write) and the files under its folder are those of its current version; anything else is an
//! error naming the folder.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cave_sql::delta::{
    ExportRoot, ExportTable, Spec, open_exports_with, partition_column, register_export_root_with,
};
use cave_sql::{SqlError, datafusion, deltalake};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTableUrl};
use datafusion::prelude::SessionContext;
use url::Url;

use crate::codec::listing;

fn failed(what: String, e: impl std::fmt::Display) -> SqlError {
    SqlError::Export(format!("{what}: {e}"))
}

/// Every Parquet file under `dir` outside `_delta_log`, relative to `dir`.
fn parquet_files(dir: &Path) -> Result<BTreeSet<PathBuf>, SqlError> {
    let mut found = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| failed(format!("listing {}", d.display()), e))?;
        for entry in entries {
            let path = entry
                .map_err(|e| failed(format!("listing {}", d.display()), e))?
                .path();
            if path.file_name().is_some_and(|n| n == "_delta_log") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                found.insert(path.strip_prefix(dir).unwrap_or(&path).to_path_buf());
            }
        }
    }
    Ok(found)
}

/// One export's folder as a listing, checked against its Delta log.
async fn open_spec(ctx: &SessionContext, dir: &Path) -> Result<Spec, SqlError> {
    let dir = dir
        .canonicalize()
        .map_err(|e| failed(format!("the export {}", dir.display()), e))?;
    let shown = dir.display().to_string();
    let url = Url::from_directory_path(&dir)
        .map_err(|()| SqlError::Export(format!("{shown} is not a folder path")))?;
    let table = deltalake::open_table(url.clone())
        .await
        .map_err(|e| failed(format!("opening the export {shown}"), e))?;
    let snapshot = table
        .snapshot()
        .map_err(|e| failed(format!("reading the export {shown}"), e))?;
    let protocol = snapshot.protocol();
    if protocol.min_reader_version() > 1 {
        return Err(SqlError::Export(format!(
            "{shown}: its Delta protocol asks reader version {} (deletion vectors or column \
             mapping), which a Parquet listing does not apply; read it with cave_sql::delta \
             in one process",
            protocol.min_reader_version()
        )));
    }
    let partitions = snapshot.metadata().partition_columns().to_vec();
    let live: BTreeSet<PathBuf> = table
        .get_file_uris()
        .map_err(|e| failed(format!("reading the files of {shown}"), e))?
        .map(|uri| {
            let path = Url::parse(&uri)
                .ok()
                .and_then(|u| u.to_file_path().ok())
                .unwrap_or_else(|| PathBuf::from(&uri));
            path.strip_prefix(&dir)
                .map(Path::to_path_buf)
                .unwrap_or(path)
        })
        .collect();
    let present = parquet_files(&dir)?;
    if live != present {
        let stray = present.difference(&live).next();
        let missing = live.difference(&present).next();
        return Err(SqlError::Export(format!(
            "{shown}: its folder holds {} Parquet files and its Delta log {} live ones ({}); a \
             cluster reads the folder's files, so it needs the two to be the same (vacuum the table)",
            present.len(),
            live.len(),
            match (stray, missing) {
                (Some(s), _) => format!("{} is not in the log", s.display()),
                (None, Some(m)) => format!("{} is missing", m.display()),
                (None, None) => "they differ".into(),
            }
        )));
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partition = match &partitions[..] {
        [] => None,
        [p] if *p == partition_column(&name) => Some(p.clone()),
        other => {
            return Err(SqlError::Export(format!(
                "{shown}: partitioned by {other:?}, not by `{}` as CAVE's exports are",
                partition_column(&name)
            )));
        }
    };
    let table_url = ListingTableUrl::parse(url.as_str())?;
    let file_schema = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .infer_schema(&ctx.state(), &table_url)
        .await?;
    let provider = listing(url.as_str(), partition.as_deref(), file_schema)?;
    Ok(Spec::new(name, Arc::new(provider)))
}

/// The folder at `url`, which a cluster's executors read: a local (or shared) one.
fn local_folder(url: &Url) -> Result<PathBuf, SqlError> {
    match url.to_file_path() {
        Ok(dir) if url.scheme() == "file" => Ok(dir),
        _ => Err(SqlError::Export(format!(
            "{url}: a cluster reads exports from a folder its executors share (copy the export \
             there, or read it in one process with cave_sql::delta)"
        ))),
    }
}

/// Every export of `table` under `<root>/<datastack>/v<version>/<table>/`, for a cluster: as
/// [`cave_sql::delta::open_exports`] gives them, each read as a checked Parquet listing.
pub async fn open_exports(
    ctx: &SessionContext,
    name: &str,
    root: impl Into<ExportRoot>,
    datastack: &str,
    version: u32,
    table: &str,
) -> Result<ExportTable, SqlError> {
    let open = async |folder: &Url| open_spec(ctx, &local_folder(folder)?).await;
    open_exports_with(name, &root.into(), datastack, version, table, &open).await
}

/// Every table exported under `<root>/<datastack>/v<version>/`, for a cluster, as
/// `export.<table>` ([`cave_sql::delta::register_export_root`]'s names and joins).
pub async fn register_export_root(
    ctx: &SessionContext,
    root: impl Into<ExportRoot>,
    datastack: &str,
    version: u32,
    snapshot: Option<&cave_sql::cave_schema::Snapshot>,
) -> Result<Vec<String>, SqlError> {
    let open = async |folder: &Url| open_spec(ctx, &local_folder(folder)?).await;
    register_export_root_with(ctx, &root.into(), datastack, version, snapshot, &open).await
}
