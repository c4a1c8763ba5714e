//! The filter builder of every generated table, written once.
//!
//! `datastack!` gives each table a module with a `Filter`; what all of them share (the
//! struct, `new`, `limit`, ..., `query`, `stream`, `batches`) is stamped by
//! [`__filter_type!`](crate::__filter_type) as one-line forwards to the generic [`Query`] and
//! [`Client`](crate::Client) code, and each column method (`status_axon`, `pt_root_id_in`, ...)
//! by [`__filter_method!`](crate::__filter_method) from the kind, name, type and column the
//! generator passes. So the generated code holds only what differs per table, and the docs of
//! these methods are written here. Both stamp inherent methods, so calls need no `use`.
//!
//! The column-name functions behind the column methods ([`raw`]) are generated code's door
//! (`cave_runtime::__private::raw`): a typed [`Query`] has no method taking a column name.

use std::borrow::Borrow;

use crate::query::{Compare, FilterOperand, Query, Selection, Side};
use crate::table::Table;

/// What the column methods call: filters and selections by column name. Not a stable API.
pub mod raw {
    use super::*;

    /// `column == value`.
    pub fn equal<T: Table, V: FilterOperand + ?Sized>(
        query: Query<T>,
        side: Side,
        column: &'static str,
        value: &V,
    ) -> Query<T> {
        query.equal(side, column, value)
    }

    /// `column IN values`.
    pub fn is_in<T, V, I>(query: Query<T>, side: Side, column: &'static str, values: I) -> Query<T>
    where
        T: Table,
        V: FilterOperand + ?Sized,
        I: IntoIterator,
        I::Item: Borrow<V>,
    {
        query.one_of::<V, I>(side, column, values)
    }

    /// `column NOT IN values`.
    pub fn not_in<T, V, I>(query: Query<T>, side: Side, column: &'static str, values: I) -> Query<T>
    where
        T: Table,
        V: FilterOperand + ?Sized,
        I: IntoIterator,
        I::Item: Borrow<V>,
    {
        query.not_in::<V, I>(side, column, values)
    }

    /// `column <op> value`.
    pub fn compare<T: Table, V: FilterOperand + ?Sized>(
        query: Query<T>,
        side: Side,
        column: &'static str,
        op: Compare,
        value: &V,
    ) -> Query<T> {
        query.compare(side, column, op, value)
    }

    /// `column ~ pattern`.
    pub fn regex<T: Table>(
        query: Query<T>,
        side: Side,
        column: &'static str,
        pattern: &str,
    ) -> Query<T> {
        query.regex(side, column, pattern)
    }

    /// Position `column` inside the box from `min` to `max`.
    pub fn bbox<T: Table>(
        query: Query<T>,
        side: Side,
        column: &'static str,
        min: [i32; 3],
        max: [i32; 3],
    ) -> Query<T> {
        query.bbox(side, column, min, max)
    }

    /// Only these columns.
    pub fn select<T: Table>(
        query: Query<T>,
        columns: impl IntoIterator<Item = (Side, &'static str)>,
    ) -> Selection<T> {
        query.select(columns.into_iter().collect())
    }
}

/// The names of the `N` `columns`, in order: a table's wire names when it is queried alone.
pub const fn column_names<const N: usize>(
    columns: &[crate::table::ColumnInfo],
) -> [&'static str; N] {
    let mut names = [""; N];
    let mut i = 0;
    while i < N {
        names[i] = columns[i].name;
        i += 1;
    }
    names
}

/// Stamps a table's `Filter`: the struct (a [`Query`] of the row type inside) and the methods
/// every table has, each forwarding to generic code. Generated code only.
///
/// `__filter_type!(Filter, Column, Row, "table")`: the struct's name, the table's column
/// enum (with `side_and_name`), the row type and the table name (for the docs).
/// `__filter_type!(view Filter, Column, Row, "view")` stamps a view's: the same without
/// `timestamp`, `random_sample` and `live_query` (a view is queried at a version, and the
/// server does not sample views).
#[doc(hidden)]
#[macro_export]
macro_rules! __filter_type {
    ($filter:ident, $column:ident, $row:ty, $table:literal) => {
        $crate::__filter_type!(@base $filter, $column, $row, "", $table);

        impl $filter {
            /// Query the table as it was at `timestamp` (a live query) instead of at a version.
            pub fn timestamp(self, timestamp: $crate::Timestamp) -> Self {
                Self(self.0.timestamp(timestamp))
            }

            /// About `n` randomly sampled rows.
            pub fn random_sample(self, n: u64) -> Self {
                Self(self.0.random_sample(n))
            }

            /// Run the query live, on the table as it was at `timestamp`
            /// (`cave_runtime::Client::live_query`).
            pub fn live_query(
                self,
                client: &$crate::Client,
                timestamp: $crate::Timestamp,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<$crate::Rows<$row>, $crate::Error>,
            > + '_ {
                client.live_query(self.0, timestamp)
            }
        }
    };
    (view $filter:ident, $column:ident, $row:ty, $view:literal) => {
        $crate::__filter_type!(@base $filter, $column, $row, "view ", $view);
    };
    (@base $filter:ident, $column:ident, $row:ty, $kind:literal, $table:literal) => {
        #[doc = concat!(
                    "A query of ", $kind, "`", $table, "` under construction: one method per filter, then ",
                    "`.query(&client)` for rows, `.stream(&client)` for rows as they arrive or ",
                    "`.batches(&client)` for Arrow record batches."
                )]
        #[derive(Debug, Clone)]
        #[must_use = "a filter does nothing until it is run with `.query(&client)`"]
        pub struct $filter($crate::Query<$row>);

        impl ::core::default::Default for $filter {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::core::convert::From<$filter> for $crate::Query<$row> {
            fn from(filter: $filter) -> Self {
                filter.0
            }
        }

        impl $filter {
            #[doc = concat!("A query of the whole ", $kind, "`", $table, "`.")]
            pub fn new() -> Self {
                Self($crate::Query::new())
            }

            /// At most `n` rows in all (the client pages past the server's row cap up to `n`).
            pub fn limit(self, n: u64) -> Self {
                Self(self.0.limit(n))
            }

            /// Skip the first `n` rows.
            pub fn offset(self, n: u64) -> Self {
                Self(self.0.offset(n))
            }

            /// Positions in this resolution (nm per unit) instead of the stored voxels.
            pub fn desired_resolution(self, nm_per_unit: [f64; 3]) -> Self {
                Self(self.0.desired_resolution(nm_per_unit))
            }

            /// Query materialization version `v` (over the client's and the macro's version).
            pub fn version(self, v: u32) -> Self {
                Self(self.0.version(v))
            }

            /// Only these columns (root ids bring their supervoxel ids along; a reference
            /// table's `Column::Target..` variants pick its target's columns). The rows are
            /// then not whole rows, so the result is a `cave_runtime::Selection`, run for
            /// Arrow record batches.
            pub fn select(
                self,
                columns: impl ::core::iter::IntoIterator<Item = $column>,
            ) -> $crate::Selection<$row> {
                $crate::__private::raw::select(
                    self.0,
                    ::core::iter::Iterator::map(columns.into_iter(), $column::side_and_name),
                )
            }

            /// The query collected so far.
            pub fn into_query(self) -> $crate::Query<$row> {
                self.0
            }

            /// Run the query and decode its rows, every page past the server's row cap
            /// (`cave_runtime::Client::query`).
            pub fn query(
                self,
                client: &$crate::Client,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<$crate::Rows<$row>, $crate::Error>,
            > + '_ {
                client.query(self.0)
            }

            /// Run the query and hand its rows out as they arrive, a chunk at a time, without
            /// holding them all (`cave_runtime::Client::stream`).
            pub fn stream(
                self,
                client: &$crate::Client,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<$crate::RowStream<'_, $row>, $crate::Error>,
            > + '_ {
                client.stream(self.0)
            }

            /// The number of rows the query matches, counted by the server
            /// (`cave_runtime::Client::count_rows`).
            pub fn count(
                self,
                client: &$crate::Client,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<u64, $crate::Error>,
            > + '_ {
                client.count_rows(self.0)
            }

            /// Run the query for Arrow record batches instead of rows: the same request, the
            /// columns as the server sends them (`cave_runtime::Client::batches`).
            pub fn batches(
                self,
                client: &$crate::Client,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<$crate::Batches, $crate::Error>,
            > + '_ {
                client.batches(self.0)
            }
        }
    };
}

/// Stamps one column method of a table's `Filter` (inside its `impl`). Generated code only.
///
/// `__filter_method!(kind name: Type, "column")` for a column of the table,
/// `__filter_method!(kind name: Type, "column" of "target")` for one of a reference table's
/// target. Kinds: `eq`, `eq_str` (a `&str` value), `is_in`, `not_in`, `gt`, `ge`, `lt`, `le`,
/// then `regex` and `bbox`, which take no type. One arm per kind; `of "target"` makes the
/// column the target's, in the filter and in the doc.
#[doc(hidden)]
#[macro_export]
macro_rules! __filter_method {
    (eq $name:ident : $ty:ty, $column:literal $(of $target:literal)?) => {
        #[doc = concat!(
            "Keep rows whose `", $column, "`", $(" (of the referenced `", $target, "` row)",)?
            " equals `value`."
        )]
        pub fn $name(self, value: $ty) -> Self {
            let side = $crate::__filter_side!($($target)?);
            Self($crate::__private::raw::equal(self.0, side, $column, &value))
        }
    };
    (eq_str $name:ident, $column:literal $(of $target:literal)?) => {
        #[doc = concat!(
            "Keep rows whose `", $column, "`", $(" (of the referenced `", $target, "` row)",)?
            " equals `value`."
        )]
        pub fn $name(self, value: &::core::primitive::str) -> Self {
            let side = $crate::__filter_side!($($target)?);
            Self($crate::__private::raw::equal(self.0, side, $column, value))
        }
    };
    (is_in $name:ident : $ty:ty, $column:literal $(of $target:literal)?) => {
        #[doc = concat!(
            "Keep rows whose `", $column, "`", $(" (of the referenced `", $target, "` row)",)?
            " is one of `values`."
        )]
        pub fn $name(
            self,
            values: impl ::core::iter::IntoIterator<Item = impl ::core::borrow::Borrow<$ty>>,
        ) -> Self {
            let side = $crate::__filter_side!($($target)?);
            Self($crate::__private::raw::is_in::<_, $ty, _>(self.0, side, $column, values))
        }
    };
    (not_in $name:ident : $ty:ty, $column:literal $(of $target:literal)?) => {
        #[doc = concat!(
            "Keep rows whose `", $column, "`", $(" (of the referenced `", $target, "` row)",)?
            " is none of `values` (sent, as caveclient sends it, in `filter_notin_dict`, which ",
            "servers ignore, and applied to the rows by the client)."
        )]
        pub fn $name(
            self,
            values: impl ::core::iter::IntoIterator<Item = impl ::core::borrow::Borrow<$ty>>,
        ) -> Self {
            let side = $crate::__filter_side!($($target)?);
            Self($crate::__private::raw::not_in::<_, $ty, _>(self.0, side, $column, values))
        }
    };
    (gt $name:ident : $ty:ty, $column:literal $(of $target:literal)?) => {
        #[doc = concat!(
            "Keep rows whose `", $column, "`", $(" (of the referenced `", $target, "` row)",)?
            " is greater than `value`."
        )]
        pub fn $name(self, value: $ty) -> Self {
            let (side, op) = ($crate::__filter_side!($($target)?), $crate::Compare::Greater);
            Self($crate::__private::raw::compare(self.0, side, $column, op, &value))
        }
    };
    (ge $name:ident : $ty:ty, $column:literal $(of $target:literal)?) => {
        #[doc = concat!(
            "Keep rows whose `", $column, "`", $(" (of the referenced `", $target, "` row)",)?
            " is greater than or equal to `value`."
        )]
        pub fn $name(self, value: $ty) -> Self {
            let (side, op) = ($crate::__filter_side!($($target)?), $crate::Compare::GreaterEqual);
            Self($crate::__private::raw::compare(self.0, side, $column, op, &value))
        }
    };
    (lt $name:ident : $ty:ty, $column:literal $(of $target:literal)?) => {
        #[doc = concat!(
            "Keep rows whose `", $column, "`", $(" (of the referenced `", $target, "` row)",)?
            " is less than `value`."
        )]
        pub fn $name(self, value: $ty) -> Self {
            let (side, op) = ($crate::__filter_side!($($target)?), $crate::Compare::Less);
            Self($crate::__private::raw::compare(self.0, side, $column, op, &value))
        }
    };
    (le $name:ident : $ty:ty, $column:literal $(of $target:literal)?) => {
        #[doc = concat!(
            "Keep rows whose `", $column, "`", $(" (of the referenced `", $target, "` row)",)?
            " is less than or equal to `value`."
        )]
        pub fn $name(self, value: $ty) -> Self {
            let (side, op) = ($crate::__filter_side!($($target)?), $crate::Compare::LessEqual);
            Self($crate::__private::raw::compare(self.0, side, $column, op, &value))
        }
    };
    (regex $name:ident, $column:literal $(of $target:literal)?) => {
        #[doc = concat!(
            "Keep rows whose `", $column, "`", $(" (of the referenced `", $target, "` row)",)?
            " matches the PostgreSQL regular expression `pattern`."
        )]
        pub fn $name(self, pattern: &::core::primitive::str) -> Self {
            let side = $crate::__filter_side!($($target)?);
            Self($crate::__private::raw::regex(self.0, side, $column, pattern))
        }
    };
    (bbox $name:ident, $column:literal $(of $target:literal)?) => {
        #[doc = concat!(
            "Keep rows whose `", $column, "`", $(" (of the referenced `", $target, "` row)",)?
            " lies in the box from `min` to `max` (inclusive), in voxels of the stored ",
            "resolution."
        )]
        pub fn $name(
            self,
            min: [::core::primitive::i32; 3],
            max: [::core::primitive::i32; 3],
        ) -> Self {
            let side = $crate::__filter_side!($($target)?);
            Self($crate::__private::raw::bbox(self.0, side, $column, min, max))
        }
    };
}

/// The side of a column method's column: the table's, or (with a target name) the target's.
#[doc(hidden)]
#[macro_export]
macro_rules! __filter_side {
    () => {
        $crate::Side::Table
    };
    ($target:literal) => {
        $crate::Side::Target
    };
}
