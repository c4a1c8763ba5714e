//! A reference table's exports read joined with its target's, as the service and caveclient's
//! `query_table` give it: an export holds a reference table alone (its `target_id`, not its
//! target's columns), so the join is a view over the two exports, with the service's names (a
//! name both tables have gets `_ref` on the target's side, as `TableColumns::merged`).

use arrow_schema::Schema;
use cave_schema::Snapshot;

use crate::columns::{Side, TableColumns};
use crate::error::SqlError;

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table name for SQL, each part quoted (`export.synapses` → `"export"."synapses"`).
fn table_name(name: &str) -> String {
    name.split('.').map(quoted).collect::<Vec<_>>().join(".")
}

/// The SQL of the join of `table`'s export `bare` (columns `bare_schema`) with its target's
/// export `target` (columns `target_schema`): the merged table's columns that the exports have.
pub fn reference_view_sql(
    snapshot: &Snapshot,
    table: &str,
    bare: (&str, &Schema),
    target: (&str, &Schema),
) -> Result<String, SqlError> {
    let target_table = snapshot
        .table(table)
        .and_then(|m| m.reference_table.clone())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| SqlError::Export(format!("`{table}` is not a reference table")))?;
    let merged = TableColumns::merged(snapshot, table, &target_table)?;
    let mut select = Vec::new();
    for c in &merged.columns {
        let stored = match c.axis {
            Some(a) => format!("{}_{}", c.source, ["x", "y", "z"][a]),
            None => c.source.clone(),
        };
        let (alias, schema) = match c.side {
            Side::Own => ("o", bare.1),
            Side::Target => ("t", target.1),
        };
        if schema.field_with_name(&stored).is_ok() {
            select.push(format!(
                "{alias}.{} AS {}",
                quoted(&stored),
                quoted(c.field.name())
            ));
        }
    }
    for (side, schema, key) in [("own", bare.1, "target_id"), ("target", target.1, "id")] {
        if schema.field_with_name(key).is_err() {
            return Err(SqlError::Export(format!(
                "the {side} export of `{table}` has no `{key}` to join on"
            )));
        }
    }
    Ok(format!(
        "SELECT {} FROM {} o JOIN {} t ON o.target_id = t.id",
        select.join(", "),
        table_name(bare.0),
        table_name(target.0)
    ))
}

/// Register in `ctx` the view `name` joining `table`'s export `bare` with its target's export
/// `target` (both already registered).
pub async fn register_reference_view(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
    snapshot: &Snapshot,
    table: &str,
    bare: &str,
    target: &str,
) -> Result<(), SqlError> {
    let schema_of = |t: &str| {
        let ctx = ctx.clone();
        let t = t.to_string();
        async move { Ok::<_, SqlError>(ctx.table(t.as_str()).await?.schema().as_arrow().clone()) }
    };
    let (b, t) = (schema_of(bare).await?, schema_of(target).await?);
    let sql = reference_view_sql(snapshot, table, (bare, &b), (target, &t))?;
    let plan = ctx.sql(&sql).await?.into_unoptimized_plan();
    let view = datafusion::datasource::ViewTable::new(plan, Some(sql));
    ctx.register_table(table_name_ref(name), std::sync::Arc::new(view))?;
    Ok(())
}

fn table_name_ref(name: &str) -> datafusion::common::TableReference {
    match name.split_once('.') {
        Some((schema, table)) => datafusion::common::TableReference::partial(schema, table),
        None => datafusion::common::TableReference::bare(name),
    }
}
