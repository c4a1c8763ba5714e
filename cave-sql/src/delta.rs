//! CAVE's Delta Lake exports: writing one from a materialization service (the devserver's
//! sample data in tests and benchmarks, or any server), and reading one into DataFusion.
//!
//! The layout is MaterializationEngine's (`workflows/deltalake_export.py`, shared/EXPORTS.md):
//! one Delta table per indexed column under `<out>/<table>/<column>`, the rows partitioned by
//! percentile ranges of that column in a column `<column>_partition` (bucket 0 the lowest
//! values), positions as int32 `_x/_y/_z`, `created`, `deleted` and `superceded_id` dropped. So
//! the same SQL runs on an export and on the service: the columns have the service's names.
//!
//! Written with delta-rs (`deltalake` 1.1), read with its DataFusion table provider, which
//! prunes partitions by their values (a filter on `<column>_partition`) and Parquet row groups
//! by their statistics (a filter on `<column>` itself).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use deltalake::DeltaTable;
use deltalake::protocol::SaveMode;
use url::Url;

use crate::error::SqlError;

/// The columns an export leaves out.
pub const DROPPED: &[&str] = &["created", "deleted", "superceded_id"];

/// The rows written per Delta commit (memory holds about one commit's rows).
const ROWS_PER_COMMIT: usize = 1_000_000;

/// What an export is of.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    /// The table.
    pub table: String,
    /// The integer column it is partitioned by (`id`, `pre_pt_root_id`, ...).
    pub partition_by: String,
    /// How many percentile buckets.
    pub buckets: usize,
}

/// What [`export`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The Delta table's folder: `<out>/<table>/<partition_by>`.
    pub dir: PathBuf,
    /// Rows written.
    pub rows: usize,
    /// The lowest value of each bucket after the first (bucket `i` holds values from
    /// `bounds[i-1]` up to, not including, `bounds[i]`).
    pub bounds: Vec<i64>,
}

fn failed(what: &str, e: impl std::fmt::Display) -> SqlError {
    SqlError::Export(format!("{what}: {e}"))
}

/// Export `spec.table` of `client`'s datastack at `version` into `out`, as CAVE does: the
/// values of the partition column first (to find the percentiles), then every row through the
/// pager, written in commits of at most a million rows.
pub async fn export(
    client: &cave_runtime::Client,
    version: u32,
    spec: &ExportSpec,
    out: &Path,
) -> Result<Exported, SqlError> {
    let query = || {
        cave_runtime::TableQuery::new(spec.table.clone())
            .merge_reference(false)
            .version(version)
    };
    let external = |e: cave_runtime::Error| failed(&format!("querying `{}`", spec.table), e);
    let keys = query()
        .select([spec.partition_by.clone()])
        .query(client)
        .await
        .map_err(external)?
        .concat()
        .map_err(|e| failed("the partition column", e))?;
    let bounds = percentiles(int_column(&keys, &spec.partition_by)?, spec.buckets);

    let dir = out.join(&spec.table).join(&spec.partition_by);
    std::fs::create_dir_all(&dir).map_err(|e| failed(&format!("creating {}", dir.display()), e))?;
    let url = Url::from_directory_path(
        dir.canonicalize()
            .map_err(|e| failed(&format!("{}", dir.display()), e))?,
    )
    .map_err(|()| SqlError::Export(format!("{} is not a folder path", dir.display())))?;

    let mut stream = query().stream(client).await.map_err(external)?;
    let mut pending: Vec<RecordBatch> = Vec::new();
    let (mut rows, mut pending_rows, mut commits) = (0, 0, 0);
    loop {
        let next = stream.next().await.map_err(external)?;
        if let Some(batch) = &next {
            let batch = with_bucket(batch, &spec.partition_by, &bounds)?;
            pending_rows += batch.num_rows();
            rows += batch.num_rows();
            pending.push(batch);
        }
        let last = next.is_none();
        if pending_rows >= ROWS_PER_COMMIT || (last && (commits == 0 || !pending.is_empty())) {
            let mode = if commits == 0 {
                SaveMode::Overwrite
            } else {
                SaveMode::Append
            };
            let table = DeltaTable::try_from_url(url.clone())
                .await
                .map_err(|e| failed("opening the Delta table", e))?;
            table
                .write(std::mem::take(&mut pending))
                .with_save_mode(mode)
                .with_partition_columns([partition_column(&spec.partition_by)])
                .with_table_name(spec.table.clone())
                .await
                .map_err(|e| failed("writing the Delta table", e))?;
            commits += 1;
            pending_rows = 0;
        }
        if last {
            break;
        }
    }
    Ok(Exported { dir, rows, bounds })
}

/// The name of the bucket column of `column`.
pub fn partition_column(column: &str) -> String {
    format!("{column}_partition")
}

/// The `buckets - 1` bounds that split `values` into buckets of about equal size.
fn percentiles(values: &Int64Array, buckets: usize) -> Vec<i64> {
    let mut sorted: Vec<i64> = values.iter().flatten().collect();
    sorted.sort_unstable();
    let mut bounds: Vec<i64> = (1..buckets.max(1))
        .filter_map(|i| sorted.get(i * sorted.len() / buckets).copied())
        .collect();
    bounds.dedup();
    bounds
}

/// The bucket of a value: how many bounds are at or below it.
fn bucket(bounds: &[i64], v: i64) -> i64 {
    bounds.partition_point(|&b| b <= v) as i64
}

fn int_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a Int64Array, SqlError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| {
            SqlError::Export(format!(
                "the partition column `{name}` is not an int64 column of the answer"
            ))
        })
}

/// `batch` without the dropped columns, with its bucket column.
fn with_bucket(batch: &RecordBatch, column: &str, bounds: &[i64]) -> Result<RecordBatch, SqlError> {
    let keys = int_column(batch, column)?;
    let buckets: Int64Array = keys.iter().map(|v| v.map(|v| bucket(bounds, v))).collect();
    let schema = batch.schema();
    let mut fields: Vec<Arc<Field>> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        if !DROPPED.contains(&f.name().as_str()) {
            // Delta tables keep no pandas metadata; every column nullable, as the answers are.
            fields.push(Arc::new(Field::new(f.name(), f.data_type().clone(), true)));
            columns.push(c.clone());
        }
    }
    fields.push(Arc::new(Field::new(
        partition_column(column),
        DataType::Int64,
        true,
    )));
    columns.push(Arc::new(buckets));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| failed("building the export's batch", e))
}

/// Register the Delta table at `location` (a folder, or a URL such as `gs://...`) in `ctx` as
/// `name`.
pub async fn register_export(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
    location: &str,
) -> Result<(), SqlError> {
    let url = match Url::parse(location) {
        Ok(url) if url.scheme().len() > 1 => url,
        _ => {
            let path = Path::new(location)
                .canonicalize()
                .map_err(|e| failed(&format!("the export {location}"), e))?;
            Url::from_directory_path(&path)
                .map_err(|()| SqlError::Export(format!("{location} is not a folder path")))?
        }
    };
    let table = deltalake::open_table(url)
        .await
        .map_err(|e| failed(&format!("opening the export {location}"), e))?;
    table
        .update_datafusion_session(&ctx.state())
        .map_err(|e| failed("registering the export's store", e))?;
    let provider = table
        .table_provider()
        .await
        .map_err(|e| failed(&format!("reading the export {location}"), e))?;
    ctx.register_table(name, provider)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_split_at_percentiles() {
        let values = Int64Array::from_iter_values(0..100);
        let bounds = percentiles(&values, 4);
        assert_eq!(bounds, [25, 50, 75]);
        assert_eq!(bucket(&bounds, 0), 0);
        assert_eq!(bucket(&bounds, 24), 0);
        assert_eq!(bucket(&bounds, 25), 1);
        assert_eq!(bucket(&bounds, 99), 3);
        // Repeated values make fewer, never empty-bounded, buckets.
        let same = Int64Array::from(vec![7; 10]);
        assert_eq!(percentiles(&same, 4), [7]);
    }
}
