//! Writing an export from a materialization service, in CAVE's layout (see the module above).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BinaryArray, Int32Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use deltalake::DeltaTable;
use deltalake::protocol::SaveMode;
use url::Url;

use super::{DROPPED, morton, morton_column, partition_column, wkb};
use crate::error::SqlError;

/// The rows written per Delta commit (memory holds about one commit's rows).
const ROWS_PER_COMMIT: usize = 1_000_000;

/// The points whose Morton code CAVE's writer computes, by the start of their name, first
/// choice first (`ctr` > `post` > `pre` > `pt` > `bb`).
const MORTON_PRIORITY: &[&str] = &["ctr", "post", "pre", "pt", "bb"];

/// How an export's rows are split into partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partitioning {
    /// By percentile ranges of an integer column (`id`, `pre_pt_root_id`, ...): the export
    /// `<column>`, with `<column>_partition`.
    Column(String),
    /// By uniform ranges of the Morton code of the table's first point (`ctr_pt_position` of
    /// synapses): the export `<point>_morton`, with `<point>_morton` and
    /// `<point>_morton_partition`.
    Morton,
}

/// What an export is of.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    /// The table.
    pub table: String,
    /// How it is partitioned.
    pub by: Partitioning,
    /// How many buckets.
    pub buckets: usize,
    /// Points other than the Morton point kept as WKB, as CAVE's writer leaves them (`true`),
    /// or every point as int32 `_x/_y/_z`.
    pub wkb: bool,
}

impl ExportSpec {
    /// An export of `table` partitioned by `by` in 16 buckets, laid out as CAVE's.
    pub fn new(table: impl Into<String>, by: Partitioning) -> Self {
        Self {
            table: table.into(),
            by,
            buckets: 16,
            wkb: true,
        }
    }
}

/// What [`export`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The Delta table's folder: `<out>/<datastack>/v<version>/<table>/<spec>`.
    pub dir: PathBuf,
    /// The spec's name (`id`, `pre_pt_root_id`, `ctr_pt_position_morton`).
    pub spec: String,
    /// Rows written.
    pub rows: usize,
    /// The highest value of each bucket but the last: bucket `i` holds the values above
    /// `bounds[i-1]` up to and including `bounds[i]`, as CAVE's writer cuts them.
    pub bounds: Vec<i64>,
}

fn failed(what: &str, e: impl std::fmt::Display) -> SqlError {
    SqlError::Export(format!("{what}: {e}"))
}

/// The folder of an export: `<root>/<datastack>/v<version>/<table>/<spec>`.
pub fn export_dir(root: &Path, datastack: &str, version: u32, table: &str, spec: &str) -> PathBuf {
    root.join(datastack)
        .join(format!("v{version}"))
        .join(table)
        .join(spec)
}

/// The points of an answer: names `p` with int32 `p_x`, `p_y`, `p_z`.
fn points(schema: &Schema) -> Vec<String> {
    let int32 = |n: &str| {
        schema
            .field_with_name(n)
            .is_ok_and(|f| f.data_type() == &DataType::Int32)
    };
    schema
        .fields()
        .iter()
        .filter_map(|f| f.name().strip_suffix("_x"))
        .filter(|p| {
            int32(&format!("{p}_x")) && int32(&format!("{p}_y")) && int32(&format!("{p}_z"))
        })
        .map(str::to_owned)
        .collect()
}

/// The point CAVE's writer gives a Morton code (and keeps as `_x/_y/_z`).
fn morton_point(points: &[String]) -> Option<String> {
    MORTON_PRIORITY
        .iter()
        .find_map(|p| points.iter().find(|name| name.starts_with(p)))
        .cloned()
}

/// How every batch of one export is shaped.
struct Shape {
    /// The column the buckets are of (the partition column, or the Morton column).
    keyed_by: String,
    /// The Morton point, if the table has one.
    morton: Option<String>,
    /// Whether the Morton code is a column (the Morton export).
    morton_column: bool,
    /// The points written as WKB.
    wkb: Vec<String>,
    /// The bucket bounds.
    bounds: Vec<i64>,
}

/// Export `spec.table` of `client`'s datastack at `version` under `root`, as CAVE does: the
/// values the buckets are of first (to find their bounds), then every row through the pager,
/// written in commits of at most a million rows.
pub async fn export(
    client: &cave_runtime::Client,
    version: u32,
    spec: &ExportSpec,
    root: &Path,
) -> Result<Exported, SqlError> {
    let query = || {
        cave_runtime::TableQuery::new(spec.table.clone())
            .merge_reference(false)
            .version(version)
    };
    let external = |e: cave_runtime::Error| failed(&format!("querying `{}`", spec.table), e);
    let first = query().limit(1).query(client).await.map_err(external)?;
    let columns = first.schema();
    let all_points = points(columns);
    let morton = morton_point(&all_points);
    let (spec_name, keyed_by, select) = match &spec.by {
        Partitioning::Column(c) => (c.clone(), c.clone(), vec![c.clone()]),
        Partitioning::Morton => {
            let p = morton.clone().ok_or_else(|| {
                SqlError::Export(format!("`{}` has no point for a Morton export", spec.table))
            })?;
            (morton_column(&p), morton_column(&p), vec![p])
        }
    };
    let keys = query()
        .select(select)
        .query(client)
        .await
        .map_err(external)?
        .concat()
        .map_err(|e| failed("the partition column", e))?;
    let mut shape = Shape {
        keyed_by,
        morton: morton.clone(),
        morton_column: spec.by == Partitioning::Morton,
        wkb: if spec.wkb {
            all_points
                .into_iter()
                .filter(|p| Some(p) != morton.as_ref())
                .collect()
        } else {
            Vec::new()
        },
        bounds: Vec::new(),
    };
    shape.bounds = match &spec.by {
        Partitioning::Column(c) => percentiles(int_column(&keys, c)?, spec.buckets),
        Partitioning::Morton => uniform(
            &morton_codes(&keys, morton.as_deref().unwrap_or(""))?,
            spec.buckets,
        ),
    };

    let dir = export_dir(root, client.datastack(), version, &spec.table, &spec_name);
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
            let batch = shaped(batch, &shape)?;
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
                .with_partition_columns([partition_column(&shape.keyed_by)])
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
    Ok(Exported {
        dir,
        spec: spec_name,
        rows,
        bounds: shape.bounds,
    })
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

/// The `buckets - 1` bounds that split the range of `values` into equal widths.
fn uniform(values: &[i64], buckets: usize) -> Vec<i64> {
    let (Some(lo), Some(hi)) = (values.iter().min(), values.iter().max()) else {
        return Vec::new();
    };
    let width = (*hi as i128 - *lo as i128) as f64 / buckets.max(1) as f64;
    let mut bounds: Vec<i64> = (1..buckets.max(1))
        .map(|i| *lo + (width * i as f64) as i64)
        .collect();
    bounds.dedup();
    bounds
}

/// The bucket of a value: how many bounds are below it (a value equal to a bound goes to the
/// lower bucket, as CAVE's writer cuts).
fn bucket(bounds: &[i64], v: i64) -> i32 {
    bounds.partition_point(|&b| b < v) as i32
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

fn axes<'a>(batch: &'a RecordBatch, point: &str) -> Result<[&'a Int32Array; 3], SqlError> {
    let axis = |a: &str| {
        batch
            .column_by_name(&format!("{point}_{a}"))
            .and_then(|c| c.as_any().downcast_ref::<Int32Array>())
            .ok_or_else(|| SqlError::Export(format!("the answer has no int32 `{point}_{a}`")))
    };
    Ok([axis("x")?, axis("y")?, axis("z")?])
}

/// The Morton codes of `point` in `batch`, as CAVE's writer computes them (null for a null axis).
fn morton_array(batch: &RecordBatch, point: &str) -> Result<Int64Array, SqlError> {
    let [x, y, z] = axes(batch, point)?;
    Ok((0..batch.num_rows())
        .map(|i| {
            (x.is_valid(i) && y.is_valid(i) && z.is_valid(i))
                .then(|| morton::encode_as_cave(x.value(i), y.value(i), z.value(i)))
        })
        .collect())
}

fn morton_codes(batch: &RecordBatch, point: &str) -> Result<Vec<i64>, SqlError> {
    Ok(morton_array(batch, point)?.iter().flatten().collect())
}

/// `batch` as the export holds it: the dropped columns left out, the WKB points as one binary
/// column each, the Morton code (of the Morton export) and the bucket column added.
fn shaped(batch: &RecordBatch, shape: &Shape) -> Result<RecordBatch, SqlError> {
    let schema = batch.schema();
    let mut fields: Vec<Arc<Field>> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    // Delta tables keep no pandas metadata; every column nullable, as the answers are.
    let mut push = |name: &str, column: ArrayRef| {
        fields.push(Arc::new(Field::new(name, column.data_type().clone(), true)));
        columns.push(column);
    };
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        let name = f.name().as_str();
        if DROPPED.contains(&name) {
            continue;
        }
        let in_wkb = |suffix: &str| {
            name.strip_suffix(suffix)
                .filter(|p| shape.wkb.iter().any(|w| w == p))
        };
        if let Some(point) = in_wkb("_x") {
            let [x, y, z] = axes(batch, point)?;
            let points: BinaryArray = (0..batch.num_rows())
                .map(|i| {
                    (x.is_valid(i) && y.is_valid(i) && z.is_valid(i)).then(|| {
                        wkb::encode_point_z(x.value(i).into(), y.value(i).into(), z.value(i).into())
                    })
                })
                .collect();
            push(point, Arc::new(points));
        } else if in_wkb("_y").is_none() && in_wkb("_z").is_none() {
            push(name, c.clone());
        }
    }
    let keys = match (&shape.morton, shape.morton_column) {
        (Some(point), true) => {
            let codes = morton_array(batch, point)?;
            push(&morton_column(point), Arc::new(codes.clone()));
            codes
        }
        _ => int_column(batch, &shape.keyed_by)?.clone(),
    };
    let buckets: Int32Array = keys
        .iter()
        .map(|v| v.map(|v| bucket(&shape.bounds, v)))
        .collect();
    push(&partition_column(&shape.keyed_by), Arc::new(buckets));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| failed("building the export's batch", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_split_at_percentiles_and_keep_a_bound_below() {
        let values = Int64Array::from_iter_values(0..100);
        let bounds = percentiles(&values, 4);
        assert_eq!(bounds, [25, 50, 75]);
        assert_eq!(bucket(&bounds, 0), 0);
        assert_eq!(bucket(&bounds, 25), 0);
        assert_eq!(bucket(&bounds, 26), 1);
        assert_eq!(bucket(&bounds, 99), 3);
        // Repeated values make fewer, never empty-bounded, buckets.
        let same = Int64Array::from(vec![7; 10]);
        assert_eq!(percentiles(&same, 4), [7]);
    }

    #[test]
    fn morton_buckets_are_equal_widths_of_the_codes() {
        assert_eq!(uniform(&[100, 0, 40], 4), [25, 50, 75]);
        assert_eq!(uniform(&[], 4), Vec::<i64>::new());
        assert_eq!(uniform(&[5, 5], 4), [5]);
    }

    #[test]
    fn the_morton_point_is_chosen_as_cave_chooses() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let synapse = names(&["pre_pt_position", "ctr_pt_position", "post_pt_position"]);
        assert_eq!(morton_point(&synapse).as_deref(), Some("ctr_pt_position"));
        assert_eq!(
            morton_point(&names(&["pre_pt_position", "post_pt_position"])).as_deref(),
            Some("post_pt_position")
        );
        assert_eq!(
            morton_point(&names(&["pt_position"])).as_deref(),
            Some("pt_position")
        );
        assert_eq!(morton_point(&[]), None);
    }
}
