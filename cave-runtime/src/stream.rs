//! Rows as they arrive: a query's pages are fetched one at a time and each page's Arrow stream
//! is decoded in chunks ([`BodyBatches`]), so memory holds one page's body and one chunk of rows,
//! however many rows the query has. [`Client::query`](crate::Client::query) collects the same chunks into one
//! [`Rows`](crate::Rows); [`RowStream`] hands them out.
//!
//! ```no_run
//! # mod minnie { cave_runtime::datastack!("schemas/minnie65_public", version = 1300, tables = ["synapses_pni_2"]); }
//! # async fn demo(client: &cave_runtime::Client) -> Result<(), cave_runtime::Error> {
//! let mut stream = client.stream(minnie::SynapsesPni2::filter()).await?;
//! let mut total_size = 0.0;
//! while let Some(rows) = stream.next().await? {
//!     total_size += rows.iter().filter_map(|s| s.size).map(f64::from).sum::<f64>();
//! }
//! println!("{} synapses, {} pages", stream.info().rows, stream.info().pages);
//! # Ok(()) }
//! ```

use std::marker::PhantomData;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::error::Error;
use crate::pager::Pager;
use crate::query::Query;
use crate::response;
use crate::result::QueryInfo;
use crate::table::Table;

/// The rows of a typed query, handed out chunk by chunk (at most 32,768 rows each) as its
/// pages arrive; from [`Client::stream`](crate::Client::stream). Memory holds one page's compressed body and one
/// chunk.
///
/// A decode error or a failed page ends the stream with an error after the rows already
/// handed out.
pub struct RowStream<'c, T> {
    pager: Pager<'c>,
    fallback: [f64; 3],
    rows: PhantomData<fn() -> T>,
}

impl<'c, T: Table> RowStream<'c, T> {
    pub(crate) fn new(pager: Pager<'c>, query: &Query<T>) -> Self {
        RowStream {
            pager,
            fallback: query.spec.desired_resolution.unwrap_or(T::VOXEL_RESOLUTION),
            rows: PhantomData,
        }
    }

    /// The next rows, or `None` when the query is complete.
    pub async fn next(&mut self) -> Result<Option<Vec<T>>, Error> {
        match self.pager.next().await? {
            Some(piece) => {
                let mut rows = Vec::with_capacity(piece.batch.num_rows());
                response::decode_rows(&piece.batch, piece.resolution, self.fallback, &mut rows)
                    .map_err(|e| self.pager.http().clean_error(e))?;
                Ok(Some(rows))
            }
            None => Ok(None),
        }
    }

    /// How the query went so far: pages fetched, rows handed out, warnings. Complete once
    /// [`RowStream::next`] has returned `None`.
    pub fn info(&self) -> &QueryInfo {
        self.pager.info()
    }
}

/// The record batches of an untyped query, handed out chunk by chunk as its pages arrive;
/// from [`TableQuery::stream`](crate::TableQuery::stream).
pub struct BatchStream<'c> {
    pager: Pager<'c>,
}

impl<'c> BatchStream<'c> {
    pub(crate) fn new(pager: Pager<'c>) -> Self {
        BatchStream { pager }
    }

    /// The next batch (positions split in `_x`/`_y`/`_z` columns, as the server sends them),
    /// or `None` when the query is complete.
    pub async fn next(&mut self) -> Result<Option<RecordBatch>, Error> {
        Ok(self.pager.next().await?.map(|p| p.batch))
    }

    /// The columns, once the first page has come.
    pub fn schema(&self) -> Option<&SchemaRef> {
        self.pager.schema()
    }

    /// How the query went so far.
    pub fn info(&self) -> &QueryInfo {
        self.pager.info()
    }
}
