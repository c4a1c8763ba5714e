//! [`ServiceTable`]: a DataFusion table over one table or view of the materialization service.

use std::sync::Arc;

use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::streaming::StreamingTableExec;

use crate::Source;
use crate::columns::{Side, TableColumns};
use crate::pushdown::{self, Clause};
use crate::scan::{Request, Scan};

/// One table (a reference table joined with its target, or alone) or view of the
/// materialization service, with the snapshot's columns: projections are sent as
/// `select_columns`, the filters the service applies as its filters (see the crate docs),
/// `LIMIT` as `limit`, and the scan runs through the runtime's pager (exact past the row cap)
/// into as many partitions as the session has (`target_partitions`).
#[derive(Debug, Clone)]
pub struct ServiceTable {
    client: cave_runtime::Client,
    columns: Arc<TableColumns>,
    source: Source,
}

impl ServiceTable {
    /// `columns` of the datastack of `client`, at `source`.
    pub fn new(client: cave_runtime::Client, columns: TableColumns, source: Source) -> Self {
        ServiceTable {
            client,
            columns: Arc::new(columns),
            source,
        }
    }

    /// The table's columns.
    pub fn columns(&self) -> &TableColumns {
        &self.columns
    }

    /// The request for these columns (indexes into the table's), filters and limit.
    pub fn request(
        &self,
        projection: &[usize],
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Request> {
        let table = &self.columns;
        let pushed = pushdown::plan(table, filters);
        // The columns to select, each once (a point once for its three axes); a projection
        // of none (`COUNT(*)`) still needs one column for the rows to come.
        let mut select: Vec<(Side, String)> = Vec::new();
        for &i in projection {
            let c = &table.columns[i];
            if !select.iter().any(|(s, n)| *s == c.side && *n == c.source) {
                select.push((c.side, c.source.clone()));
            }
        }
        if select.is_empty() {
            select.push((Side::Own, "id".to_string()));
        }
        let side_of = |i: usize| (table.columns[i].side, table.columns[i].source.clone());
        if table.view {
            let mut q = cave_runtime::ViewQuery::new(table.name.clone());
            if select.iter().any(|(s, _)| *s == Side::Target) {
                return Err(plan_error("a view has no reference target"));
            }
            q = q.select(select.into_iter().map(|(_, n)| n));
            for clause in &pushed.clauses {
                q = match clause {
                    Clause::Equal(i, v) => q.equal(side_of(*i).1, v),
                    Clause::In(i, v) => q.is_in(side_of(*i).1, v.iter().cloned()),
                    Clause::NotIn(i, v) => q.not_in(side_of(*i).1, v.iter().cloned()),
                    Clause::Compare(i, op, v) => q.compare(side_of(*i).1, *op, v),
                    Clause::Axis(..) => q,
                };
            }
            for ((_, point), (min, max)) in &pushed.boxes {
                q = q.bbox(point.clone(), clamp(*min), clamp(*max));
            }
            if let Some(n) = limit {
                q = q.limit(n as u64);
            }
            q = match self.source {
                Source::Version(v) => q.version(v),
                Source::Latest => q,
                Source::Timestamp(_) => {
                    return Err(plan_error(&format!(
                        "view `{}` is queried at a version, not at a timestamp",
                        table.name
                    )));
                }
            };
            return Ok(Request::View(q));
        }
        let column = |(side, name): (Side, String)| match side {
            Side::Own => cave_runtime::ColumnRef::from(name),
            Side::Target => cave_runtime::target(name),
        };
        let mut q = cave_runtime::TableQuery::new(table.name.clone())
            .merge_reference(table.merged)
            .select(select.into_iter().map(column));
        for clause in &pushed.clauses {
            q = match clause {
                Clause::Equal(i, v) => q.equal(column(side_of(*i)), v),
                Clause::In(i, v) => q.is_in(column(side_of(*i)), v.iter().cloned()),
                Clause::NotIn(i, v) => q.not_in(column(side_of(*i)), v.iter().cloned()),
                Clause::Compare(i, op, v) => q.compare(column(side_of(*i)), *op, v),
                Clause::Axis(..) => q,
            };
        }
        for ((side, point), (min, max)) in &pushed.boxes {
            let side = if *side == 0 { Side::Own } else { Side::Target };
            q = q.bbox(column((side, point.clone())), clamp(*min), clamp(*max));
        }
        if let Some(n) = limit {
            q = q.limit(n as u64);
        }
        q = match self.source {
            Source::Version(v) => q.version(v),
            Source::Timestamp(t) => q.timestamp(t),
            Source::Latest => q,
        };
        Ok(Request::Table(q))
    }
}

fn plan_error(message: &str) -> DataFusionError {
    DataFusionError::Plan(message.to_string())
}

/// A box corner in the int32 range the service's positions have.
fn clamp(corner: [i64; 3]) -> [i32; 3] {
    corner.map(|v| v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
}

#[async_trait]
impl TableProvider for ServiceTable {
    fn schema(&self) -> SchemaRef {
        self.columns.schema.clone()
    }

    fn table_type(&self) -> TableType {
        if self.columns.view {
            TableType::View
        } else {
            TableType::Base
        }
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| pushdown::support(&self.columns, f))
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let all: Vec<usize> = (0..self.columns.columns.len()).collect();
        let projection = projection.unwrap_or(&all);
        let schema = Arc::new(self.columns.schema.project(projection)?);
        let request = self.request(projection, filters, limit)?;
        let partitions = state.config().target_partitions();
        let scan = Scan::new(
            self.client.clone(),
            request,
            self.columns.name.clone(),
            schema.clone(),
            partitions,
        );
        Ok(Arc::new(StreamingTableExec::try_new(
            schema,
            scan.partitions(),
            None,
            Vec::new(),
            false,
            limit,
        )?))
    }
}
