//! What the pages of a query paged by offset must agree with: a page may not start with the
//! row another page started with (the server ignored the offset and would repeat rows
//! forever).

use std::collections::HashMap;

use arrow_array::{Array, RecordBatch};

/// The first row of each page so far.
#[derive(Debug, Default)]
pub(super) struct PageGuard {
    /// The `id` each page started with, and the page.
    first_ids: HashMap<i64, usize>,
}

impl PageGuard {
    /// A page's first row: a page starting with the row another page started with is that
    /// page again (the server ignored the offset).
    pub(super) fn first_row(&mut self, batch: &RecordBatch, page: usize) -> Result<(), String> {
        let Some(ids) = batch
            .column_by_name("id")
            .and_then(|c| c.as_any().downcast_ref::<arrow_array::Int64Array>())
        else {
            return Ok(());
        };
        if ids.is_null(0) {
            return Ok(());
        }
        let id = ids.value(0);
        if let Some(earlier) = self.first_ids.insert(id, page) {
            return Err(format!(
                "page {page} starts with the row of id {id}, as page {earlier} did: the server \
                 sent a page again (offset not applied?)"
            ));
        }
        Ok(())
    }
}
