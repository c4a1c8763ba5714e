//! Reading exports: one Delta table ([`register_export`]), or every export of a table as one
//! [`ExportTable`] that picks, per query, the export whose partitions the filters prune.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Column, ScalarValue};
use datafusion::datasource::{TableType, provider_as_source};
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, TableProviderFilterPushDown, col, lit};
use datafusion::physical_plan::ExecutionPlan;
use url::Url;

use super::root::{ExportRoot, StoreOptions, location_url, shown, store_options};
use super::{morton, wkb};
use crate::columns::TableColumns;
use crate::error::SqlError;
use crate::pushdown::{self, Clause};

fn failed(what: &str, e: impl std::fmt::Display) -> SqlError {
    SqlError::Export(format!("{what}: {e}"))
}

/// The Delta table at `location` as delta-rs' DataFusion provider, its object store known to
/// `ctx`.
async fn delta_provider(
    ctx: &datafusion::prelude::SessionContext,
    location: &str,
    options: &StoreOptions,
) -> Result<Arc<dyn TableProvider>, SqlError> {
    let url = location_url(location)?;
    let location = shown(&url);
    let options = store_options(&url, options);
    let table = deltalake::open_table_with_storage_options(url, options)
        .await
        .map_err(|e| failed(&format!("opening the export {location}"), e))?;
    table
        .update_datafusion_session(&ctx.state())
        .map_err(|e| failed("registering the export's store", e))?;
    table
        .table_provider()
        .await
        .map_err(|e| failed(&format!("reading the export {location}"), e))
}

/// Register the Delta table at `location` (a folder, or a URL such as `gs://bucket/path`) in
/// `ctx` as `name`, with the service's columns (WKB points read as `_x/_y/_z`; the bucket and
/// Morton columns left out).
pub async fn register_export(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
    location: &str,
) -> Result<(), SqlError> {
    register_export_with(ctx, name, location, &StoreOptions::new()).await
}

/// [`register_export`] with the object store's options (`gs://` is read anonymously unless
/// they, or the environment, give a credential).
pub async fn register_export_with(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
    location: &str,
    options: &StoreOptions,
) -> Result<(), SqlError> {
    let spec = Spec::open(ctx, location, options).await?;
    let table = ExportTable::new(name, vec![spec])?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Register every export of `table` under `<root>/<datastack>/v<version>/<table>/` in `ctx` as
/// one [`ExportTable`] named `name`.
pub async fn register_exports(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
    root: impl Into<ExportRoot>,
    datastack: &str,
    version: u32,
    table: &str,
) -> Result<Arc<ExportTable>, SqlError> {
    let provider = Arc::new(open_exports(ctx, name, root, datastack, version, table).await?);
    ctx.register_table(name, provider.clone())?;
    Ok(provider)
}

/// Every export of `table` under `<root>/<datastack>/v<version>/<table>/` as one
/// [`ExportTable`] named `name`, read with delta-rs (their object stores known to `ctx`).
pub async fn open_exports(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
    root: impl Into<ExportRoot>,
    datastack: &str,
    version: u32,
    table: &str,
) -> Result<ExportTable, SqlError> {
    let root = root.into();
    let open = async |folder: &Url| Spec::open(ctx, folder.as_str(), root.options()).await;
    open_exports_with(name, &root, datastack, version, table, &open).await
}

/// [`open_exports`] with each export's folder opened by `open` (e.g. as a cluster's listing).
pub async fn open_exports_with(
    name: &str,
    root: &ExportRoot,
    datastack: &str,
    version: u32,
    table: &str,
    open: &impl AsyncFn(&Url) -> Result<Spec, SqlError>,
) -> Result<ExportTable, SqlError> {
    let mut specs = Vec::new();
    for folder in root.export_folders(datastack, version, table).await? {
        specs.push(open(&folder).await?);
    }
    ExportTable::new(name, specs)
}

/// The DataFusion schema [`register_export_root`] registers exports in (`export.<table>`).
pub const EXPORT_SCHEMA: &str = "export";

/// The DataFusion schema holding reference tables' exports alone (`export_bare.<table>`).
pub const EXPORT_BARE_SCHEMA: &str = "export_bare";

/// Register every table exported under `<root>/<datastack>/v<version>/` in `ctx` as
/// `export.<table>` (an [`ExportTable`] each, read with delta-rs); the names registered. With
/// the snapshot, a reference table whose target is exported too is `export.<table>` joined with
/// it (as the service gives it) and `export_bare.<table>` alone.
pub async fn register_export_root(
    ctx: &datafusion::prelude::SessionContext,
    root: impl Into<ExportRoot>,
    datastack: &str,
    version: u32,
    snapshot: Option<&cave_schema::Snapshot>,
) -> Result<Vec<String>, SqlError> {
    let root = root.into();
    let open = async |folder: &Url| Spec::open(ctx, folder.as_str(), root.options()).await;
    register_export_root_with(ctx, &root, datastack, version, snapshot, &open).await
}

/// [`register_export_root`] with each export's folder opened by `open`.
pub async fn register_export_root_with(
    ctx: &datafusion::prelude::SessionContext,
    root: &ExportRoot,
    datastack: &str,
    version: u32,
    snapshot: Option<&cave_schema::Snapshot>,
    open: &impl AsyncFn(&Url) -> Result<Spec, SqlError>,
) -> Result<Vec<String>, SqlError> {
    let mut tables = Vec::new();
    for table in root.tables(datastack, version).await? {
        let provider = open_exports_with(&table, root, datastack, version, &table, open).await?;
        tables.push((table, provider));
    }
    register_export_tables(ctx, tables, snapshot).await
}

/// Register `tables` (name, exports) in `ctx` as `export.<name>`, reference tables joined with
/// their exported target (alone as `export_bare.<name>`) when `snapshot` is given.
pub async fn register_export_tables(
    ctx: &datafusion::prelude::SessionContext,
    tables: Vec<(String, ExportTable)>,
    snapshot: Option<&cave_schema::Snapshot>,
) -> Result<Vec<String>, SqlError> {
    use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
    let catalog = ctx
        .catalog(&ctx.copied_config().options().catalog.default_catalog)
        .ok_or_else(|| SqlError::Export("the session has no default catalog".into()))?;
    let schema = Arc::new(MemorySchemaProvider::new());
    let bare = Arc::new(MemorySchemaProvider::new());
    catalog.register_schema(EXPORT_SCHEMA, schema.clone())?;
    catalog.register_schema(EXPORT_BARE_SCHEMA, bare.clone())?;
    let names: Vec<String> = tables.iter().map(|(n, _)| n.clone()).collect();
    let target_of = |t: &str| {
        snapshot
            .and_then(|s| s.table(t))
            .and_then(|m| m.reference_table.clone())
            .filter(|target| names.contains(target))
    };
    wkb_ensure_registered(ctx);
    for (table, provider) in tables {
        let into = if target_of(&table).is_some() {
            &bare
        } else {
            &schema
        };
        into.register_table(table, Arc::new(provider))?;
    }
    for table in &names {
        if let (Some(target), Some(snapshot)) = (target_of(table), snapshot) {
            super::register_reference_view(
                ctx,
                &format!("{EXPORT_SCHEMA}.{table}"),
                snapshot,
                table,
                &format!("{EXPORT_BARE_SCHEMA}.{table}"),
                &format!("{EXPORT_SCHEMA}.{target}"),
            )
            .await?;
        }
    }
    Ok(names)
}

/// What an export's rows are partitioned by, read from its folder's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyed {
    /// Percentile buckets of a column (`id`, `pre_pt_root_id`).
    Column(String),
    /// Uniform buckets of a point's Morton code (`ctr_pt_position_morton`).
    Morton(String),
    /// Not partitioned (a view's `flat`).
    Flat,
}

/// One export of a table.
#[derive(Debug)]
pub struct Spec {
    /// Its folder's name.
    pub name: String,
    /// What it is partitioned by.
    pub keyed: Keyed,
    provider: Arc<dyn TableProvider>,
}

impl Spec {
    /// The export `name` (its folder's name: `id`, `pre_pt_root_id`, `ctr_pt_position_morton`)
    /// read through `provider` (delta-rs', or any provider of the same files).
    pub fn new(name: impl Into<String>, provider: Arc<dyn TableProvider>) -> Self {
        let name = name.into();
        let has = |c: &str| provider.schema().field_with_name(c).is_ok();
        let keyed = match name.strip_suffix("_morton") {
            Some(point) if has(&super::morton_column(point)) => Keyed::Morton(point.to_string()),
            _ if has(&super::partition_column(&name)) && has(&name) => Keyed::Column(name.clone()),
            _ => Keyed::Flat,
        };
        Self {
            name,
            keyed,
            provider,
        }
    }

    /// The provider it is read through.
    pub fn provider(&self) -> &Arc<dyn TableProvider> {
        &self.provider
    }

    async fn open(
        ctx: &datafusion::prelude::SessionContext,
        location: &str,
        options: &StoreOptions,
    ) -> Result<Self, SqlError> {
        let name = location
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(location)
            .to_string();
        let provider = delta_provider(ctx, location, options).await?;
        wkb_ensure_registered(ctx);
        Ok(Self::new(name, provider))
    }
}

/// Register [`wkb::udf`] in `ctx` unless it is there.
pub fn wkb_ensure_registered(ctx: &datafusion::prelude::SessionContext) {
    use datafusion::execution::FunctionRegistry;
    if ctx.udf(wkb::FUNCTION).is_err() {
        ctx.register_udf(wkb::udf());
    }
}

/// Where a column of the table comes from in an export.
#[derive(Debug, Clone)]
enum Source {
    /// The export's column of the same name.
    Plain,
    /// One axis of a WKB point column.
    Wkb(String, i64),
    /// A string column the export reads as another string type: cast to the service's Utf8.
    Text,
}

/// Every export of one table, read as one table with the service's columns. Each scan reads
/// the export whose partitions the filters prune most: one partitioned by a column the filters
/// fix (`pre_pt_root_id IN (...)` reads the `pre_pt_root_id` export, and only the files whose
/// values can match), the Morton export for a box on its point (only files whose codes can lie
/// in the box), else `id`'s.
#[derive(Debug)]
pub struct ExportTable {
    name: String,
    schema: SchemaRef,
    /// Per spec, where each of `schema`'s columns comes from in it (one export may keep a
    /// point as WKB that another has as `_x/_y/_z`).
    sources: Vec<Vec<Source>>,
    columns: TableColumns,
    specs: Vec<Spec>,
}

/// The service's columns of one export, and where each comes from.
fn service_columns(spec: &Spec) -> (SchemaRef, Vec<Source>) {
    let inner = spec.provider.schema();
    let hidden = |n: &str| {
        n.ends_with("_partition")
            || (n.ends_with("_morton")
                && inner.field_with_name(&super::partition_column(n)).is_ok())
    };
    let (mut fields, mut sources) = (Vec::new(), Vec::new());
    for f in inner.fields() {
        if hidden(f.name()) {
            continue;
        }
        if matches!(
            f.data_type(),
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView
        ) {
            for (axis, a) in ["x", "y", "z"].iter().enumerate() {
                fields.push(Field::new(
                    format!("{}_{a}", f.name()),
                    DataType::Int32,
                    true,
                ));
                sources.push(Source::Wkb(f.name().clone(), axis as i64));
            }
        } else if matches!(f.data_type(), DataType::Utf8View | DataType::LargeUtf8) {
            fields.push(Field::new(f.name(), DataType::Utf8, true));
            sources.push(Source::Text);
        } else {
            fields.push(Field::new(f.name(), f.data_type().clone(), true));
            sources.push(Source::Plain);
        }
    }
    (Arc::new(Schema::new(fields)), sources)
}

impl ExportTable {
    /// The table of `specs` (one or more exports of the same table).
    pub fn new(name: &str, specs: Vec<Spec>) -> Result<Self, SqlError> {
        let first = specs
            .first()
            .ok_or_else(|| SqlError::Export(format!("`{name}`: no export")))?;
        let (schema, _) = service_columns(first);
        let mut sources = Vec::new();
        for spec in &specs {
            let (theirs, from) = service_columns(spec);
            let names = |s: &Schema| {
                s.fields()
                    .iter()
                    .map(|f| (f.name().clone(), f.data_type().clone()))
                    .collect::<std::collections::BTreeSet<_>>()
            };
            if names(&theirs) != names(&schema) {
                return Err(SqlError::Export(format!(
                    "`{name}`: the export `{}` has other columns than `{}`",
                    spec.name, first.name
                )));
            }
            // In the first spec's column order.
            let by_name: std::collections::HashMap<&str, &Source> = theirs
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .zip(&from)
                .collect();
            sources.push(
                schema
                    .fields()
                    .iter()
                    .map(|f| by_name[f.name().as_str()].clone())
                    .collect(),
            );
        }
        Ok(Self {
            name: name.to_string(),
            columns: TableColumns::from_schema(name, &schema),
            schema,
            sources,
            specs,
        })
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The exports, in the order they were opened.
    pub fn specs(&self) -> &[Spec] {
        &self.specs
    }

    /// Which export a scan with `filters` reads, and the filter on its Morton code that a box
    /// on its point gives (to skip files whose codes lie outside).
    pub fn choose(&self, filters: &[Expr]) -> (&Spec, Option<Expr>) {
        let (i, range) = self.choose_index(filters);
        (&self.specs[i], range)
    }

    fn choose_index(&self, filters: &[Expr]) -> (usize, Option<Expr>) {
        let pushed = pushdown::plan(&self.columns, filters);
        let fixed = |c: &str| {
            pushed.clauses.iter().any(|clause| match clause {
                Clause::Equal(i, _) | Clause::In(i, _) | Clause::Compare(i, _, _) => {
                    self.columns.columns[*i].field.name() == c
                }
                _ => false,
            })
        };
        let morton_range = |point: &str| {
            let (lo, hi) = pushed.boxes.get(&(0, point.to_string()))?;
            let a = morton::encode(lo[0], lo[1], lo[2])?;
            let b = morton::encode(hi[0], hi[1], hi[2])?;
            let c = col(Column::from_name(super::morton_column(point)));
            Some(c.clone().gt_eq(lit(a)).and(c.lt_eq(lit(b))))
        };
        for (i, spec) in self.specs.iter().enumerate() {
            if let Keyed::Column(c) = &spec.keyed
                && c != "id"
                && fixed(c)
            {
                return (i, None);
            }
        }
        for (i, spec) in self.specs.iter().enumerate() {
            if let Keyed::Morton(p) = &spec.keyed
                && let Some(range) = morton_range(p)
            {
                return (i, Some(range));
            }
        }
        let id = self
            .specs
            .iter()
            .position(|s| s.keyed == Keyed::Column("id".into()));
        (id.unwrap_or(0), None)
    }
}

#[async_trait]
impl TableProvider for ExportTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        // A filter on columns every export has as they are (not WKB axes) is applied by the
        // scan, exactly, before the WKB axes are computed: delta-rs skips files with it and a
        // filter over its rows keeps the matching ones. Filters on WKB axes stay above.
        Ok(filters
            .iter()
            .map(|f| {
                let plain = f.column_refs().iter().all(|c| {
                    self.schema.index_of(&c.name).is_ok_and(|i| {
                        self.sources
                            .iter()
                            .all(|s| !matches!(s[i], Source::Wkb(..)))
                    })
                });
                if plain {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let (chosen, morton_range) = self.choose_index(filters);
        let (spec, sources) = (&self.specs[chosen], &self.sources[chosen]);
        let unqualified: Vec<Expr> = filters
            .iter()
            .map(|f| datafusion::logical_expr::expr_rewriter::unnormalize_col(f.clone()))
            .chain(morton_range)
            .collect();
        let mut plan = LogicalPlanBuilder::scan_with_filters(
            format!("{}/{}", self.name, spec.name),
            provider_as_source(spec.provider.clone()),
            None,
            unqualified.clone(),
        )?;
        if let Some(all) = conjunction(unqualified) {
            plan = plan.filter(all)?;
        }
        let wanted: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let exprs: Vec<Expr> = wanted
            .iter()
            .map(|&i| {
                let name = self.schema.field(i).name();
                match &sources[i] {
                    Source::Plain => col(Column::from_name(name)),
                    Source::Text => {
                        datafusion::logical_expr::cast(col(Column::from_name(name)), DataType::Utf8)
                            .alias(name)
                    }
                    Source::Wkb(point, axis) => Expr::ScalarFunction(
                        datafusion::logical_expr::expr::ScalarFunction::new_udf(
                            Arc::new(wkb::udf()),
                            vec![
                                col(Column::from_name(point)),
                                lit(ScalarValue::Int64(Some(*axis))),
                            ],
                        ),
                    )
                    .alias(name),
                }
            })
            .collect();
        let mut plan = plan.project(exprs)?;
        if let Some(n) = limit {
            plan = plan.limit(0, Some(n))?;
        }
        state.create_physical_plan(&plan.build()?).await
    }
}
