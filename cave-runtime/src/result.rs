//! What a query returns: typed rows ([`Rows`]) or Arrow record batches ([`Batches`]), each
//! with [`QueryInfo`]: the version or timestamp it ran at, the server's warnings and table
//! notices, the resolution of positions, and how many pages it took.

use std::ops::Deref;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::response::{Page, is_cap_warning, is_notice};

/// How a query went.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct QueryInfo {
    /// The table queried.
    pub table: String,
    /// The materialization version it ran at (materialized queries).
    pub version: Option<u32>,
    /// The timestamp it ran at (live queries).
    pub timestamp: Option<DateTime<Utc>>,
    /// The server's warnings (each once, at most 100), row-cap warnings of pages included.
    pub warnings: Vec<String>,
    /// The table owners' notices among the warnings (`Table Owner Notice on ...`).
    pub notices: Vec<String>,
    /// nm per unit of the positions, as the server said (`dataframe_resolution`).
    pub resolution: Option<[f64; 3]>,
    /// How many requests for rows the query sent: one below the server's row cap; past it,
    /// also the capped answers that were split into id ranges again (counts not included).
    pub pages: usize,
    /// Rows returned.
    pub rows: u64,
    /// Rows the server sent that a not-in filter removed (servers ignore not-in filters).
    pub dropped_by_not_in: u64,
    /// Rows of a synapse query the client dropped as autapses (pre- and post-synaptic root
    /// the same; [`SynapseQuery::keep_autapses`](crate::SynapseQuery::keep_autapses) keeps them).
    pub autapses_removed: u64,
    /// Rows were left out: the client was set to fetch one page and the server had more.
    pub truncated: bool,
    /// The query's rows as the server counted them before paging past its cap (materialized
    /// queries of one table; before not-in filters and the limit).
    pub total: Option<u64>,
    /// Pages after the first were fetched by `offset`, because the query could not be split
    /// by id ranges (it has an offset or a random sample, or its rows have no `id`). The
    /// server promises no row order between requests, so such a result may miss rows or
    /// repeat them; a warning says so too. Queries split by id are exact.
    pub paged_by_offset: bool,
}

/// The most warnings a query keeps, over all its pages.
const MAX_KEPT_WARNINGS: usize = 100;

impl QueryInfo {
    pub(crate) fn add_warnings(&mut self, page: &Page) {
        for w in &page.warnings {
            // A server can send new ones on every page: keep a bounded number.
            if self.warnings.len() >= MAX_KEPT_WARNINGS {
                break;
            }
            // Cap warnings differ per page only by their count; keep the first.
            let seen = if is_cap_warning(w) {
                self.warnings.iter().any(|x| is_cap_warning(x))
            } else {
                self.warnings.contains(w)
            };
            if !seen {
                self.warnings.push(w.clone());
                if is_notice(w) {
                    self.notices.push(w.clone());
                }
            }
        }
        if self.resolution.is_none() {
            self.resolution = page.resolution;
        }
    }
}

/// Typed rows of a query, plus how the query went. Derefs to a slice of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows<T> {
    rows: Vec<T>,
    info: QueryInfo,
}

impl<T> Rows<T> {
    pub(crate) fn new(rows: Vec<T>, info: QueryInfo) -> Self {
        Rows { rows, info }
    }

    /// How the query went.
    pub fn info(&self) -> &QueryInfo {
        &self.info
    }

    /// The rows.
    pub fn into_vec(self) -> Vec<T> {
        self.rows
    }

    /// The rows and how the query went.
    pub fn into_parts(self) -> (Vec<T>, QueryInfo) {
        (self.rows, self.info)
    }
}

impl<T> Deref for Rows<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.rows
    }
}

/// The rows can be changed in place (e.g. their roots brought to another time with
/// [`ChunkedGraph::update_roots`](crate::ChunkedGraph::update_roots)); the info stays that of
/// the query.
impl<T> std::ops::DerefMut for Rows<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.rows
    }
}

impl<T> IntoIterator for Rows<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Rows<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.iter()
    }
}

impl<T> From<Rows<T>> for Vec<T> {
    fn from(rows: Rows<T>) -> Self {
        rows.rows
    }
}

/// The rows of an untyped query as Arrow record batches (positions as `_x`/`_y`/`_z` columns,
/// pandas index columns dropped), plus how the query went.
#[derive(Debug, Clone)]
pub struct Batches {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    info: QueryInfo,
}

impl Batches {
    pub(crate) fn new(
        schema: Option<SchemaRef>,
        batches: Vec<RecordBatch>,
        info: QueryInfo,
    ) -> Self {
        Batches {
            schema: schema.unwrap_or_else(|| std::sync::Arc::new(Schema::empty())),
            batches,
            info,
        }
    }

    /// The columns.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The record batches, one or more per page.
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    /// The number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// How the query went.
    pub fn info(&self) -> &QueryInfo {
        &self.info
    }

    /// All rows in one record batch.
    pub fn concat(&self) -> Result<RecordBatch, Error> {
        arrow_select::concat::concat_batches(&self.schema, &self.batches).map_err(|e| {
            Error::BadResponse {
                url: self.info.table.clone(),
                problem: format!("pages with different columns cannot be joined: {e}"),
            }
        })
    }

    /// The record batches and how the query went.
    pub fn into_parts(self) -> (Vec<RecordBatch>, QueryInfo) {
        (self.batches, self.info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_kept_over_many_pages_are_bounded() {
        let mut info = QueryInfo::default();
        for page in 0..50 {
            info.add_warnings(&Page {
                schema: std::sync::Arc::new(Schema::empty()),
                warnings: (0..10)
                    .map(|i| format!("299 - page {page} note {i}"))
                    .collect(),
                resolution: None,
                capped: false,
            });
        }
        assert_eq!(info.warnings.len(), MAX_KEPT_WARNINGS);
        assert_eq!(info.warnings[0], "299 - page 0 note 0");
    }
}
