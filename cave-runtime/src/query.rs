//! Typed queries: what a generated filter builder collects, rendered as the JSON body
//! caveclient 8.2.1 sends for the same query (docs/WIRE.md: "Query bodies", "Join queries", "Live queries").

use std::borrow::{Borrow, Cow};
use std::marker::PhantomData;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use cave_wire::FilterKind;

use crate::ids::{AnnotationId, RootId, SupervoxelId};
use crate::table::Table;

/// Which table of a query a filter applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The queried table.
    Table,
    /// The target of a reference table (joined on `target_id = id`).
    Target,
}

/// A value sent in a filter, as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterValue(pub(crate) Value);

impl From<Value> for FilterValue {
    fn from(v: Value) -> Self {
        FilterValue(v)
    }
}

impl FilterValue {
    /// The JSON sent.
    pub fn as_json(&self) -> &Value {
        &self.0
    }
}

/// A value that can be compared with a column in a filter.
pub trait FilterOperand {
    /// The value as it is sent.
    fn to_filter_value(&self) -> FilterValue;
}

macro_rules! operand {
    ($($t:ty => |$v:ident| $e:expr;)*) => {$(
        impl FilterOperand for $t {
            fn to_filter_value(&self) -> FilterValue {
                let $v = self;
                FilterValue($e)
            }
        }
    )*};
}

operand! {
    bool => |v| Value::Bool(*v);
    i32 => |v| Value::from(*v);
    i64 => |v| Value::from(*v);
    // Sent as the shortest decimal that reads back as the same f32 (`0.1`, not
    // `0.10000000149011612`), as a user typing the number in Python would send it.
    f32 => |v| v.to_string().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number);
    f64 => |v| serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number);
    str => |v| Value::String(v.to_string());
    String => |v| Value::String(v.clone());
    RootId => |v| Value::from(v.0);
    SupervoxelId => |v| Value::from(v.0);
    AnnotationId => |v| Value::from(v.0);
}

impl<T: FilterOperand + ?Sized> FilterOperand for &T {
    fn to_filter_value(&self) -> FilterValue {
        (**self).to_filter_value()
    }
}

/// The JSON list of an `_in` / `_not_in` filter.
pub(crate) fn list<V, I>(values: I) -> Value
where
    V: FilterOperand + ?Sized,
    I: IntoIterator,
    I::Item: Borrow<V>,
{
    Value::Array(
        values
            .into_iter()
            .map(|v| v.borrow().to_filter_value().0)
            .collect(),
    )
}

impl Compare {
    pub(crate) fn dict(self) -> FilterKind {
        match self {
            Compare::Greater => FilterKind::Greater,
            Compare::Less => FilterKind::Less,
            Compare::GreaterEqual => FilterKind::GreaterEqual,
            Compare::LessEqual => FilterKind::LessEqual,
        }
    }
}

/// A comparison of a numeric column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `>`
    Greater,
    /// `<`
    Less,
    /// `>=`
    GreaterEqual,
    /// `<=`
    LessEqual,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clause {
    pub(crate) side: Side,
    pub(crate) column: Cow<'static, str>,
    dict: FilterKind,
    pub(crate) value: Value,
}

impl Clause {
    /// Whether this is a not-in filter (applied client-side as well, docs/WIRE.md, "Not-in filters").
    pub(crate) fn is_not_in(&self) -> bool {
        self.dict == FilterKind::NotIn
    }

    /// Whether this is a bounding-box filter.
    pub(crate) fn is_spatial(&self) -> bool {
        self.dict == FilterKind::Spatial
    }

    /// The body key family of the filter.
    pub(crate) fn kind(&self) -> FilterKind {
        self.dict
    }
}

/// What a query collects, for a table known by name: the common part of typed queries
/// ([`Query`]) and untyped ones ([`TableQuery`](crate::TableQuery)).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spec {
    pub(crate) table: Cow<'static, str>,
    /// The target of a reference table, joined on `target_id = id`.
    pub(crate) target: Option<Cow<'static, str>>,
    pub(crate) clauses: Vec<Clause>,
    pub(crate) select: Option<Vec<(Side, Cow<'static, str>)>>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<u64>,
    pub(crate) desired_resolution: Option<[f64; 3]>,
    pub(crate) timestamp: Option<DateTime<Utc>>,
    pub(crate) version: Option<u32>,
    pub(crate) random_sample: Option<u64>,
    /// `table` is a view: queried at `.../views/{view}/query`, never live or joined.
    pub(crate) view: bool,
    /// Send `filter_in_dict` and `filter_equal_dict` even without filters of theirs
    /// (`{"table": {}}`), as caveclient's `synapse_query` always does.
    pub(crate) always_in_and_equal: bool,
    /// Drop the rows whose two columns hold the same value (a synapse query's autapses:
    /// `pre_pt_root_id == post_pt_root_id`), client-side: the server cannot compare columns.
    pub(crate) drop_equal_pair: Option<(Cow<'static, str>, Cow<'static, str>)>,
}

impl Spec {
    pub(crate) fn new(table: Cow<'static, str>, target: Option<Cow<'static, str>>) -> Self {
        Spec {
            table,
            target,
            clauses: Vec::new(),
            select: None,
            limit: None,
            offset: None,
            desired_resolution: None,
            timestamp: None,
            version: None,
            random_sample: None,
            view: false,
            always_in_and_equal: false,
            drop_equal_pair: None,
        }
    }

    /// Whether rows the server sends may be dropped by the client (not-in filters, which
    /// servers ignore, and autapses): then a limit the server met may still be short, and
    /// a server count is not the query's.
    pub(crate) fn filters_client_side(&self) -> bool {
        self.drop_equal_pair.is_some() || self.clauses.iter().any(Clause::is_not_in)
    }

    /// A query of the view `view` (docs/WIRE.md, "Views").
    pub(crate) fn view(view: Cow<'static, str>) -> Self {
        Spec {
            view: true,
            ..Spec::new(view, None)
        }
    }

    /// Add a filter, replacing one of the same kind on the same column.
    pub(crate) fn push(
        &mut self,
        side: Side,
        column: Cow<'static, str>,
        dict: FilterKind,
        value: Value,
    ) {
        self.clauses
            .retain(|c| !(c.side == side && c.column == column && c.dict == dict));
        self.clauses.push(Clause {
            side,
            column,
            dict,
            value,
        });
    }

    fn table_of(&self, side: Side) -> &str {
        match (side, &self.target) {
            (Side::Target, Some(target)) => target,
            _ => &self.table,
        }
    }

    fn tables(&self) -> Vec<&str> {
        let mut tables = vec![self.table.as_ref()];
        tables.extend(self.target.as_deref());
        tables
    }

    /// `{table: {column: value}}` for one kind of filter, tables in query order.
    fn dict(&self, dict: FilterKind) -> Option<Value> {
        let mut out = Map::new();
        for table in self.tables() {
            let mut columns = Map::new();
            for c in &self.clauses {
                if c.dict == dict && self.table_of(c.side) == table {
                    columns.insert(c.column.to_string(), c.value.clone());
                }
            }
            if !columns.is_empty() {
                out.insert(table.to_string(), Value::Object(columns));
            }
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }

    fn select_map(&self) -> Option<Value> {
        let select = self.select.as_ref()?;
        let mut out = Map::new();
        for table in self.tables() {
            let columns: Vec<Value> = select
                .iter()
                .filter(|(side, _)| self.table_of(*side) == table)
                .map(|(_, c)| Value::from(c.as_ref()))
                .collect();
            out.insert(table.to_string(), Value::Array(columns));
        }
        Some(Value::Object(out))
    }

    fn suffix_map(&self) -> Option<Value> {
        let target = self.target.as_deref()?;
        let mut out = Map::new();
        out.insert(self.table.to_string(), Value::from(""));
        out.insert(target.to_string(), Value::from("_ref"));
        Some(Value::Object(out))
    }

    /// The body of the materialized query (docs/WIRE.md: "Query bodies", "Join queries"). A
    /// view's is a simple query's (docs/WIRE.md, "Views"): filters nested under the view's name,
    /// `select_columns` as a list, no suffixes.
    pub(crate) fn body(&self) -> Value {
        let mut body = Map::new();
        if let Some(target) = &self.target {
            body.insert(
                "tables".into(),
                json!([[self.table, "target_id"], [target, "id"]]),
            );
        }
        for dict in FilterKind::ALL {
            let always =
                self.always_in_and_equal && matches!(dict, FilterKind::In | FilterKind::Equal);
            if let Some(v) = self.dict(dict) {
                body.insert(dict.body_key().into(), v);
            } else if always {
                body.insert(dict.body_key().into(), json!({ self.table.as_ref(): {} }));
            }
        }
        if let Some(select) = self.select_map() {
            if self.target.is_some() {
                body.insert("select_column_map".into(), select);
            } else if let Some(Value::Array(columns)) = select.get(self.table.as_ref()) {
                body.insert("select_columns".into(), Value::Array(columns.clone()));
            }
        }
        if let Some(offset) = self.offset {
            body.insert("offset".into(), offset.into());
        }
        if let Some(suffixes) = self.suffix_map() {
            body.insert("suffix_map".into(), suffixes);
        }
        if let Some(limit) = self.limit {
            body.insert("limit".into(), limit.into());
        }
        if let Some(r) = self.desired_resolution {
            body.insert("desired_resolution".into(), json!(r));
        }
        Value::Object(body)
    }

    /// The body of the live query at `timestamp` (docs/WIRE.md, "Live queries").
    pub(crate) fn live_body(&self, timestamp: DateTime<Utc>) -> Value {
        let mut body = Map::new();
        body.insert("table".into(), self.table.as_ref().into());
        body.insert("timestamp".into(), format_timestamp(timestamp).into());
        if let Some(target) = &self.target {
            body.insert(
                "join_tables".into(),
                json!([[self.table, "target_id", target, "id"]]),
            );
        }
        for dict in FilterKind::ALL {
            if let Some(v) = self.dict(dict) {
                body.insert(dict.body_key().into(), v);
            }
        }
        if let Some(select) = self.select_map() {
            body.insert("select_columns".into(), select);
        }
        if let Some(offset) = self.offset {
            body.insert("offset".into(), offset.into());
        }
        if let Some(limit) = self.limit {
            body.insert("limit".into(), limit.into());
        }
        if let Some(suffixes) = self.suffix_map() {
            body.insert("suffixes".into(), suffixes);
        }
        if let Some(r) = self.desired_resolution {
            body.insert("desired_resolution".into(), json!(r));
        }
        Value::Object(body)
    }
}

/// The setters every query has (`Query<T>` and `TableQuery`, each holding a `spec: Spec`);
/// `spec_setters!(at_a_version)` leaves out `timestamp` and `random_sample`, which a view
/// query does not have.
macro_rules! spec_setters {
    () => {
        $crate::query::spec_setters!(at_a_version);

        /// Query the table as it was at `timestamp` (a live query) instead of at a version.
        pub fn timestamp(mut self, timestamp: ::chrono::DateTime<::chrono::Utc>) -> Self {
            self.spec.timestamp = Some(timestamp);
            self
        }

        /// About `n` randomly sampled rows.
        pub fn random_sample(mut self, n: u64) -> Self {
            self.spec.random_sample = Some(n);
            self
        }
    };
    (at_a_version) => {
        /// At most `n` rows in all (the client pages past the server's row cap up to `n`).
        pub fn limit(mut self, n: u64) -> Self {
            self.spec.limit = Some(n);
            self
        }

        /// Skip the first `n` rows.
        pub fn offset(mut self, n: u64) -> Self {
            self.spec.offset = Some(n);
            self
        }

        /// Positions in this resolution (nm per unit) instead of the table's (or view's)
        /// voxels.
        pub fn desired_resolution(mut self, nm_per_unit: [f64; 3]) -> Self {
            self.spec.desired_resolution = Some(nm_per_unit);
            self
        }

        /// Query materialization version `v` (over the client's and the macro's version).
        pub fn version(mut self, v: u32) -> Self {
            self.spec.version = Some(v);
            self
        }
    };
}
pub(crate) use spec_setters;

/// The query a generated filter builder collects for table `T`. Filters on one column and of
/// one kind replace each other (the last one wins, as in caveclient's dicts).
///
/// Filters are added through the table's `Filter` (`X::filter().status_axon(true)`), whose
/// methods are typed per column; a `Query` has no method that takes a column by name (the
/// untyped [`TableQuery`](crate::TableQuery) does, on purpose).
#[derive(Debug, Clone, PartialEq)]
pub struct Query<T> {
    pub(crate) spec: Spec,
    row: PhantomData<fn() -> T>,
}

impl<T: Table> Default for Query<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Table> Query<T> {
    /// A query of the whole table.
    pub fn new() -> Self {
        let spec = if T::VIEW {
            Spec::view(T::NAME.into())
        } else {
            Spec::new(T::NAME.into(), T::TARGET.map(Cow::Borrowed))
        };
        Query {
            spec,
            row: PhantomData,
        }
    }

    fn push(mut self, side: Side, column: &'static str, dict: FilterKind, value: Value) -> Self {
        self.spec.push(side, Cow::Borrowed(column), dict, value);
        self
    }

    /// `column == value`.
    pub(crate) fn equal<V: FilterOperand + ?Sized>(
        self,
        side: Side,
        column: &'static str,
        value: &V,
    ) -> Self {
        self.push(side, column, FilterKind::Equal, value.to_filter_value().0)
    }

    /// `column IN values`.
    pub(crate) fn one_of<V, I>(self, side: Side, column: &'static str, values: I) -> Self
    where
        V: FilterOperand + ?Sized,
        I: IntoIterator,
        I::Item: Borrow<V>,
    {
        self.push(side, column, FilterKind::In, list::<V, I>(values))
    }

    /// `column NOT IN values`: sent as `filter_notin_dict` as caveclient does, and applied to
    /// the rows client-side too, since servers ignore that key (see the crate docs).
    pub(crate) fn not_in<V, I>(self, side: Side, column: &'static str, values: I) -> Self
    where
        V: FilterOperand + ?Sized,
        I: IntoIterator,
        I::Item: Borrow<V>,
    {
        self.push(side, column, FilterKind::NotIn, list::<V, I>(values))
    }

    /// `column <op> value`.
    pub(crate) fn compare<V: FilterOperand + ?Sized>(
        self,
        side: Side,
        column: &'static str,
        op: Compare,
        value: &V,
    ) -> Self {
        self.push(side, column, op.dict(), value.to_filter_value().0)
    }

    /// `column ~ pattern` (a PostgreSQL regular expression).
    pub(crate) fn regex(self, side: Side, column: &'static str, pattern: &str) -> Self {
        self.push(
            side,
            column,
            FilterKind::Regex,
            Value::String(pattern.to_string()),
        )
    }

    /// Position `column` inside the box from `min` to `max`.
    pub(crate) fn bbox(
        self,
        side: Side,
        column: &'static str,
        min: [i32; 3],
        max: [i32; 3],
    ) -> Self {
        self.push(side, column, FilterKind::Spatial, json!([min, max]))
    }

    /// Only these columns (root ids bring their supervoxel ids along). The rows are then no
    /// longer whole `T`s, so the result is a [`Selection`]. By name: generated code's
    /// `select` takes the table's typed column list.
    pub(crate) fn select(mut self, columns: Vec<(Side, &'static str)>) -> Selection<T> {
        self.spec.select = Some(
            columns
                .into_iter()
                .map(|(side, c)| (side, Cow::Borrowed(c)))
                .collect(),
        );
        Selection(self)
    }

    spec_setters!();

    /// The version set on the query, else the one pinned by the macro (`version = N`).
    pub fn get_version(&self) -> Option<u32> {
        self.spec.version.or(T::VERSION)
    }

    /// The timestamp of a live query, if one was set.
    pub fn get_timestamp(&self) -> Option<DateTime<Utc>> {
        self.spec.timestamp
    }

    /// The body of the materialized (frozen version) query: a simple query, or for a
    /// reference table a join with its target, suffixing the target's shared column names
    /// with `_ref` (as `query_table(merge_reference=True)` does).
    pub fn body(&self) -> Value {
        self.spec.body()
    }

    /// The body of the live query at the query's timestamp (docs/WIRE.md, "Live queries"); `None` without a
    /// timestamp.
    pub fn live_body(&self) -> Option<Value> {
        Some(self.spec.live_body(self.spec.timestamp?))
    }
}

/// A timestamp as caveclient sends it: `2025-01-02T03:04:05+00:00`, with `.ffffff` when it has
/// sub-second digits.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    let micros = t.timestamp_subsec_micros();
    let base = t.to_rfc3339_opts(SecondsFormat::Secs, false);
    if micros == 0 {
        base
    } else {
        // `2025-01-02T03:04:05+00:00` → insert `.ffffff` before the offset.
        let (date_time, offset) = base.split_at(base.len() - 6);
        format!("{date_time}.{micros:06}{offset}")
    }
}

/// A query of some columns of table `T`: its rows are not whole `T`s, so it is run for
/// untyped results (Arrow record batches) rather than typed rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection<T>(Query<T>);

impl<T: Table> Selection<T> {
    /// At most `n` rows.
    pub fn limit(self, n: u64) -> Self {
        Selection(self.0.limit(n))
    }

    /// Skip the first `n` rows.
    pub fn offset(self, n: u64) -> Self {
        Selection(self.0.offset(n))
    }

    /// Positions in this resolution (nm per unit).
    pub fn desired_resolution(self, nm_per_unit: [f64; 3]) -> Self {
        Selection(self.0.desired_resolution(nm_per_unit))
    }

    /// Query the table as it was at `timestamp`.
    pub fn timestamp(self, timestamp: DateTime<Utc>) -> Self {
        Selection(self.0.timestamp(timestamp))
    }

    /// Query materialization version `v`.
    pub fn version(self, v: u32) -> Self {
        Selection(self.0.version(v))
    }

    /// The query, selection included.
    pub fn as_query(&self) -> &Query<T> {
        &self.0
    }
}
