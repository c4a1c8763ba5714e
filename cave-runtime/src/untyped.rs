//! Queries without generated types: any table by name (one not in the snapshot, or a newer
//! one), any view by name ([`ViewQuery`]), selections of some columns of a typed table, and typed queries run for record
//! batches ([`Client::batches`]). All return Arrow record batches.
//!
//! ```no_run
//! # async fn demo(client: &cave_runtime::Client) -> Result<(), cave_runtime::Error> {
//! use cave_runtime::{TableQuery, target};
//! let batches = TableQuery::new("aibs_metamodel_celltypes_v661")
//!     .equal("cell_type", "23P")
//!     .is_in(target("pt_root_id"), [864691135000000001_i64])
//!     .query(client)
//!     .await?;
//! println!("{} rows", batches.num_rows());
//! # Ok(()) }
//! ```

use std::borrow::Cow;

use serde_json::json;

use crate::client::Client;
use crate::error::Error;
use cave_wire::FilterKind;

use crate::query::{Compare, FilterOperand, Query, Selection, Side, Spec};
use crate::result::Batches;
use crate::stream::BatchStream;
use crate::table::Table;

/// A column of an untyped query: a name of the queried table (`"pt_root_id"`), or of the
/// reference target with [`target`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    side: Side,
    name: Cow<'static, str>,
}

/// A column of a reference table's target (the table its `target_id` points at).
pub fn target(name: impl Into<Cow<'static, str>>) -> ColumnRef {
    ColumnRef {
        side: Side::Target,
        name: name.into(),
    }
}

impl From<&'static str> for ColumnRef {
    fn from(name: &'static str) -> Self {
        ColumnRef {
            side: Side::Table,
            name: Cow::Borrowed(name),
        }
    }
}

impl From<String> for ColumnRef {
    fn from(name: String) -> Self {
        ColumnRef {
            side: Side::Table,
            name: Cow::Owned(name),
        }
    }
}

fn values_list<V: FilterOperand>(values: impl IntoIterator<Item = V>) -> serde_json::Value {
    serde_json::Value::Array(values.into_iter().map(|v| v.to_filter_value().0).collect())
}

/// A query of a table by name, with filters by column name. A reference table is joined
/// with its target, as `query_table(merge_reference=True)` does, unless
/// [`TableQuery::merge_reference`] turns that off.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a query does nothing until it is run with `.query(&client)`"]
pub struct TableQuery {
    spec: Spec,
    merge_reference: bool,
}

impl TableQuery {
    /// A query of the whole of `table`.
    pub fn new(table: impl Into<String>) -> Self {
        TableQuery {
            spec: Spec::new(Cow::Owned(table.into()), None),
            merge_reference: true,
        }
    }

    fn push(
        mut self,
        column: impl Into<ColumnRef>,
        dict: FilterKind,
        value: serde_json::Value,
    ) -> Self {
        let c = column.into();
        self.spec.push(c.side, c.name, dict, value);
        self
    }

    /// `column == value`.
    pub fn equal<V: FilterOperand + ?Sized>(self, column: impl Into<ColumnRef>, value: &V) -> Self {
        self.push(column, FilterKind::Equal, value.to_filter_value().0)
    }

    /// `column IN values`.
    pub fn is_in<V: FilterOperand>(
        self,
        column: impl Into<ColumnRef>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.push(column, FilterKind::In, values_list(values))
    }

    /// `column NOT IN values` (sent as caveclient sends it, and applied to the rows here).
    pub fn not_in<V: FilterOperand>(
        self,
        column: impl Into<ColumnRef>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.push(column, FilterKind::NotIn, values_list(values))
    }

    /// `column <op> value`.
    pub fn compare<V: FilterOperand + ?Sized>(
        self,
        column: impl Into<ColumnRef>,
        op: Compare,
        value: &V,
    ) -> Self {
        self.push(column, op.dict(), value.to_filter_value().0)
    }

    /// `column ~ pattern` (a PostgreSQL regular expression).
    pub fn regex(self, column: impl Into<ColumnRef>, pattern: &str) -> Self {
        self.push(column, FilterKind::Regex, json!(pattern))
    }

    /// Position `column` (e.g. `pt_position`) inside the box from `min` to `max`.
    pub fn bbox(self, column: impl Into<ColumnRef>, min: [i32; 3], max: [i32; 3]) -> Self {
        self.push(column, FilterKind::Spatial, json!([min, max]))
    }

    /// Only these columns.
    pub fn select<C: Into<ColumnRef>>(mut self, columns: impl IntoIterator<Item = C>) -> Self {
        self.spec.select = Some(
            columns
                .into_iter()
                .map(|c| {
                    let c = c.into();
                    (c.side, c.name)
                })
                .collect(),
        );
        self
    }

    crate::query::spec_setters!();

    /// Join a reference table with its target (default: yes, after reading the table's
    /// metadata), or query the table alone.
    pub fn merge_reference(mut self, merge: bool) -> Self {
        self.merge_reference = merge;
        self
    }

    /// Run the query.
    pub async fn query(self, client: &Client) -> Result<Batches, Error> {
        client
            .query_untyped(self.spec, None, self.merge_reference)
            .await
    }

    /// The number of rows the query matches, counted by the server
    /// ([`Client::count_rows`]; a reference table's own rows, not joined).
    pub async fn count(self, client: &Client) -> Result<u64, Error> {
        client.count_spec(self.spec, None).await
    }

    /// Run the query and hand its record batches out as they arrive ([`BatchStream`]),
    /// without holding them all.
    pub async fn stream(self, client: &Client) -> Result<BatchStream<'_>, Error> {
        let pager = client
            .pager_untyped(self.spec, None, self.merge_reference)
            .await?;
        Ok(BatchStream::new(pager))
    }
}

/// A query of a view by name (docs/WIRE.md, "Views"), with filters by column name: what
/// caveclient's `query_view` sends. A view is queried at a version (the query's, the
/// client's, else the latest), never live; its floats arrive as `float64` and its points
/// split in `_x`/`_y`/`_z` columns. Filters name the view's columns (a point by its name,
/// e.g. `pt_position`); columns of a reference target ([`target`]) do not exist here.
///
/// ```no_run
/// # async fn demo(client: &cave_runtime::Client) -> Result<(), cave_runtime::Error> {
/// let cells = cave_runtime::ViewQuery::new("aibs_cell_info")
///     .equal("broad_type", "excitatory")
///     .version(1300)
///     .query(client)
///     .await?;
/// println!("{} cells", cells.num_rows());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a query does nothing until it is run with `.query(&client)`"]
pub struct ViewQuery {
    spec: Spec,
}

impl ViewQuery {
    /// A query of the whole of `view`.
    pub fn new(view: impl Into<String>) -> Self {
        ViewQuery {
            spec: Spec::view(Cow::Owned(view.into())),
        }
    }

    fn push(
        mut self,
        column: impl Into<String>,
        dict: FilterKind,
        value: serde_json::Value,
    ) -> Self {
        self.spec
            .push(Side::Table, Cow::Owned(column.into()), dict, value);
        self
    }

    /// `column == value`.
    pub fn equal<V: FilterOperand + ?Sized>(self, column: impl Into<String>, value: &V) -> Self {
        self.push(column, FilterKind::Equal, value.to_filter_value().0)
    }

    /// `column IN values`.
    pub fn is_in<V: FilterOperand>(
        self,
        column: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.push(column, FilterKind::In, values_list(values))
    }

    /// `column NOT IN values`: sent as caveclient sends it (`filter_notin_dict`, which the
    /// server's view query ignores, as its table queries do), and applied to the rows here.
    pub fn not_in<V: FilterOperand>(
        self,
        column: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.push(column, FilterKind::NotIn, values_list(values))
    }

    /// `column <op> value`.
    pub fn compare<V: FilterOperand + ?Sized>(
        self,
        column: impl Into<String>,
        op: Compare,
        value: &V,
    ) -> Self {
        self.push(column, op.dict(), value.to_filter_value().0)
    }

    /// `column ~ pattern` (a PostgreSQL regular expression; string columns only).
    pub fn regex(self, column: impl Into<String>, pattern: &str) -> Self {
        self.push(column, FilterKind::Regex, json!(pattern))
    }

    /// Point `column` (e.g. `pt_position`) inside the box from `min` to `max`, in the view's
    /// voxels.
    pub fn bbox(self, column: impl Into<String>, min: [i32; 3], max: [i32; 3]) -> Self {
        self.push(column, FilterKind::Spatial, json!([min, max]))
    }

    /// Only these columns (sent as `select_columns`; a root id brings its supervoxel id along).
    pub fn select<C: Into<String>>(mut self, columns: impl IntoIterator<Item = C>) -> Self {
        self.spec.select = Some(
            columns
                .into_iter()
                .map(|c| (Side::Table, Cow::Owned(c.into())))
                .collect(),
        );
        self
    }

    crate::query::spec_setters!(at_a_version);

    /// The JSON body the query sends (the first page's).
    pub fn body(&self) -> serde_json::Value {
        self.spec.body()
    }

    /// Run the query: the rows as Arrow record batches, every page past the server's row cap.
    pub async fn query(self, client: &Client) -> Result<Batches, Error> {
        client.query_untyped(self.spec, None, false).await
    }

    /// Run the query and hand its record batches out as they arrive ([`BatchStream`]).
    pub async fn stream(self, client: &Client) -> Result<BatchStream<'_>, Error> {
        let pager = client.pager_untyped(self.spec, None, false).await?;
        Ok(BatchStream::new(pager))
    }
}

impl Client {
    /// Run a typed query for Arrow record batches instead of rows: the request
    /// [`Client::query`] sends (a reference table joined with its target), the columns as the
    /// server sends them (positions split in `_x`/`_y`/`_z`, the target's shared names with
    /// `_ref`), not-in filters and the limit applied. For some columns only, `select` on the
    /// table's filter gives a [`Selection`].
    pub async fn batches<T: Table>(&self, query: impl Into<Query<T>>) -> Result<Batches, Error> {
        self.query_untyped(query.into().spec, T::VERSION, false)
            .await
    }
}

impl<T: Table> Selection<T> {
    /// Run the query: the selected columns as Arrow record batches (root ids bring their
    /// supervoxel ids along).
    pub async fn query(&self, client: &Client) -> Result<Batches, Error> {
        client
            .query_untyped(self.as_query().spec.clone(), T::VERSION, false)
            .await
    }

    /// Run the query and hand its record batches out as they arrive ([`BatchStream`]).
    pub async fn stream<'c>(&self, client: &'c Client) -> Result<BatchStream<'c>, Error> {
        let pager = client
            .pager_untyped(self.as_query().spec.clone(), T::VERSION, false)
            .await?;
        Ok(BatchStream::new(pager))
    }
}
