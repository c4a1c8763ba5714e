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

use std::collections::HashMap;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use arrow_array::{Array, RecordBatch};
use arrow_schema::SchemaRef;

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::http::{ARROW_ACCEPT_ENCODING, Http, Request};
use crate::ipc::DecodeLimits;
use crate::not_in;
use crate::pyjson;
use crate::query::{Query, Spec};
use crate::response::{self, BodyBatches, Pace, Page};
use crate::result::QueryInfo;
use crate::table::Table;

/// One decoded piece of a query's answer: a record batch (not-in filters and the limit
/// applied) and the resolution of its positions.
pub(crate) struct Piece {
    pub batch: RecordBatch,
    pub resolution: Option<[f64; 3]>,
    /// Rows the server sends after this piece in the same record batch (a hint, for
    /// reserving room).
    pub rows_left: usize,
}

/// How many pages a query may fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paging {
    /// Every page, until the rows are complete (or the query's limit is reached).
    #[default]
    All,
    /// Only the first page: at most the server's row cap. The result says when rows were left
    /// out ([`QueryInfo::truncated`](crate::QueryInfo::truncated)).
    FirstPage,
}

/// What a query runs at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum At {
    Version(u32),
    Timestamp(DateTime<Utc>),
}

/// What a pager is handed by the client: it never calls back.
pub(crate) struct PagerSetup<'c> {
    /// The HTTP client (token, retries, limits, deadlines, cleaning).
    pub http: &'c Http,
    /// The version or timestamp the query runs at.
    pub at: At,
    /// The query's URL.
    pub url: String,
    /// The table's row count at the version (materialized queries), asked for once a page
    /// says there are more rows.
    pub count_url: Option<String>,
    /// How many pages to fetch.
    pub paging: Paging,
    /// Whether a multi-page query shows a progress bar.
    pub progress: bool,
}

/// Fetches a query's pages one after the other and hands out their batches, chunk by chunk.
pub(crate) struct Pager<'c> {
    http: &'c Http,
    spec: Spec,
    at: At,
    url: String,
    count_url: Option<String>,
    paging: Paging,
    shows_progress: bool,
    /// The request of the next page (offset and limit move on).
    next: Spec,
    info: QueryInfo,
    schema: Option<SchemaRef>,
    kept: u64,
    offset: u64,
    /// The page being read, and the rows the server sent in it so far.
    page: Option<(Page, BodyBatches, u64)>,
    progress: Option<indicatif::ProgressBar>,
    done: bool,
    /// When the pages' chunks are decoded.
    pace: Pace,
    /// What the server's pages must agree with ([`Pager::end_of_page`]).
    guard: PageGuard,
    /// Time spent on the query's requests so far.
    spent: Duration,
}

/// The checks that stop a server from making a query page forever or repeat its rows.
#[derive(Debug, Default)]
struct PageGuard {
    /// The most rows the server can send (from the query's own offset): the table's row count
    /// at the version (materialized queries), once a page says there are more.
    bound: Option<(u64, u32)>,
    /// The `id` each page started with, and the page.
    first_ids: HashMap<i64, usize>,
    /// The rows of the first page (to derive a page cap from the count).
    first_page_rows: u64,
}

impl<'c> Pager<'c> {
    /// Get ready to fetch the first page of `spec` (checked with [`validate`]).
    pub(crate) fn new(setup: PagerSetup<'c>, spec: Spec) -> Self {
        let PagerSetup {
            http,
            at,
            url,
            count_url,
            paging,
            progress,
        } = setup;
        let info = QueryInfo::new(
            &spec,
            match at {
                At::Version(v) => (Some(v), None),
                At::Timestamp(t) => (None, Some(t)),
            },
        );
        Pager {
            http,
            next: spec.clone(),
            offset: spec.offset.unwrap_or(0),
            spec,
            at,
            url,
            count_url,
            paging,
            shows_progress: progress,
            info,
            schema: None,
            kept: 0,
            page: None,
            progress: None,
            done: false,
            pace: Pace::Ahead,
            guard: PageGuard::default(),
            spent: Duration::ZERO,
        }
    }

    /// The caller only keeps the batches (an untyped query collecting them): decode each
    /// chunk when asked, its columns across the cores, rather than ahead on a thread.
    pub(crate) fn collecting(mut self) -> Self {
        self.pace = Pace::OnDemand;
        self
    }

    /// How the query went so far.
    pub(crate) fn info(&self) -> &QueryInfo {
        &self.info
    }

    /// The columns, once the first page has come.
    pub(crate) fn schema(&self) -> Option<&SchemaRef> {
        self.schema.as_ref()
    }

    /// The next non-empty piece, or `None` when the query is complete. Errors come cleaned
    /// of the token and of escape codes.
    pub(crate) async fn next(&mut self) -> Result<Option<Piece>, Error> {
        let next = self.next_raw().await;
        next.map_err(|e| self.http.clean_error(e))
    }

    async fn next_raw(&mut self) -> Result<Option<Piece>, Error> {
        loop {
            if self.done {
                return Ok(None);
            }
            let Some((page, batches, server_rows)) = &mut self.page else {
                self.fetch().await?;
                continue;
            };
            let Some(batch) = batches.next_batch() else {
                let (capped, server_rows) = (page.capped, *server_rows);
                self.page = None;
                self.end_of_page(capped, server_rows).await?;
                continue;
            };
            let batch = batch.map_err(|e| e.at(&self.url))?;
            if *server_rows == 0 && batch.num_rows() > 0 {
                let page_no = self.info.pages;
                self.guard
                    .first_row(&batch, page_no)
                    .map_err(|problem| Error::BadResponse {
                        url: self.url.clone(),
                        problem,
                    })?;
            }
            *server_rows += batch.num_rows() as u64;
            let resolution = page.resolution;
            let before = batch.num_rows();
            let not_in: Vec<_> = self.spec.clauses.iter().filter(|c| c.is_not_in()).collect();
            let mut batch =
                not_in::apply(batch, &not_in, self.spec.target.is_some()).map_err(|problem| {
                    Error::InvalidArgument(format!("{}: {problem}", self.spec.table))
                })?;
            self.info.dropped_by_not_in += (before - batch.num_rows()) as u64;
            if let Some(want) = self.spec.limit {
                let room = want.saturating_sub(self.kept) as usize;
                if batch.num_rows() > room {
                    batch = batch.slice(0, room);
                }
            }
            if batch.num_rows() == 0 {
                continue;
            }
            self.kept += batch.num_rows() as u64;
            self.info.rows = self.kept;
            let mut rows_left = batches.rows_left();
            if let Some(want) = self.spec.limit {
                rows_left = rows_left.min(want.saturating_sub(self.kept) as usize);
            }
            return Ok(Some(Piece {
                batch,
                resolution,
                rows_left,
            }));
        }
    }

    /// Send the request of the next page.
    async fn fetch(&mut self) -> Result<(), Error> {
        let body = match self.at {
            At::Version(_) => self.next.body(),
            At::Timestamp(t) => self.next.live_body(t),
        };
        let body = pyjson::to_string(&body);
        let http = self.http;
        let query_limit = http.timeouts().query;
        let started = Instant::now();
        let received = http
            .send(
                &self.url,
                Request::Post {
                    body: &body,
                    accept_encoding: ARROW_ACCEPT_ENCODING,
                },
                Some(query_limit.saturating_sub(self.spent)),
            )
            .await;
        self.spent += started.elapsed();
        let received = received?;
        let (page, batches) = response::decode(
            &self.url,
            &received,
            self.pace,
            DecodeLimits::from(http.limits()),
            http.redactor(),
        )?;
        self.info.pages += 1;
        self.info.add_warnings(&page);
        self.schema.get_or_insert_with(|| page.schema.clone());
        self.page = Some((page, batches, 0));
        Ok(())
    }

    /// A page is read: stop, or set up the request of the next one.
    async fn end_of_page(&mut self, capped: bool, server_rows: u64) -> Result<(), Error> {
        self.offset += server_rows;
        let page = self.info.pages;
        if page == 1 {
            self.guard.first_page_rows = server_rows;
        }
        let bad = |problem: String| Error::BadResponse {
            url: self.url.clone(),
            problem,
        };
        if capped && server_rows == 0 {
            return Err(bad(format!(
                "page {page} says the rows stopped at the server's limit but has none: paging \
                 cannot move forward"
            )));
        }
        let want = self.spec.limit;
        let more = capped && want.is_none_or(|w| self.kept < w);
        if !more {
            self.check_bound().map_err(bad)?;
            self.finish();
            return Ok(());
        }
        if self.paging == Paging::FirstPage {
            self.info.truncated = true;
            self.finish();
            return Ok(());
        }
        if self.guard.bound.is_none()
            && let (At::Version(v), Some(count_url)) = (self.at, &self.count_url)
        {
            // The table's rows bound what any query of it can return: ask once, when a page
            // says there are more. (A server that cannot count leaves the page cap.)
            if let Ok(count) = self.http.get_json(count_url).await
                && let Some(count) = count.as_u64()
            {
                let skipped = self.spec.offset.unwrap_or(0);
                self.guard.bound = Some((count.saturating_sub(skipped), v));
            }
        }
        self.check_bound().map_err(bad)?;
        if let Some((bound, _)) = self.guard.bound
            && self.server_rows() >= bound
        {
            // Every row the table has is here: the cap warning was for the last full page.
            self.finish();
            return Ok(());
        }
        let cap = self.page_cap();
        if page as u64 >= cap {
            return Err(bad(format!(
                "the answer would take more than {cap} pages ({} rows so far, {} per page){}: \
                 the server keeps saying there are more",
                self.server_rows(),
                self.guard.first_page_rows,
                match self.guard.bound {
                    Some((rows, v)) => format!(", for a table of {rows} rows at version {v}"),
                    None => " (ClientBuilder::limits, Limits::max_pages)".to_string(),
                }
            )));
        }
        if self.spec.random_sample.is_some() {
            self.finish();
            return Err(Error::InvalidArgument(format!(
                "{}: the random sample has more rows than the server sends at once ({server_rows}); \
                 sample fewer rows, or use Paging::FirstPage to take the first {server_rows}",
                self.spec.table
            )));
        }
        // The next page: after the rows seen, at most the rows still wanted.
        self.next.offset = Some(self.offset);
        self.next.limit = want.map(|w| w - self.kept);
        if self.shows_progress {
            let table = &self.spec.table;
            let bar = self.progress.get_or_insert_with(|| progress_bar(table));
            bar.set_message(format!(
                "{table}: {} rows, page {}",
                self.kept,
                self.info.pages + 1
            ));
            bar.tick();
        }
        Ok(())
    }

    /// Rows the server sent over all pages (before not-in filtering).
    fn server_rows(&self) -> u64 {
        self.offset - self.spec.offset.unwrap_or(0)
    }

    /// Rows past the table's count: pages overlap, or the server makes rows up.
    fn check_bound(&self) -> Result<(), String> {
        match self.guard.bound {
            Some((rows, v)) if self.server_rows() > rows => Err(format!(
                "after page {}, the server has sent {} rows, but the table has {rows} at version \
                 {v}: its pages overlap (offset not applied?) or it sends rows that do not exist",
                self.info.pages,
                self.server_rows()
            )),
            _ => Ok(()),
        }
    }

    /// The most pages the query may take: what the row count allows at the first page's
    /// size (and one more), else the client's page limit.
    fn page_cap(&self) -> u64 {
        let limit = self.http.limits().max_pages;
        match self.guard.bound {
            Some((rows, _)) if self.guard.first_page_rows > 0 => rows
                .div_ceil(self.guard.first_page_rows)
                .saturating_add(1)
                .min(limit),
            _ => limit,
        }
    }

    fn finish(&mut self) {
        self.done = true;
        self.info.rows = self.kept;
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
    }

    /// Run to the end, handing every piece to `take`.
    pub(crate) async fn for_each(
        mut self,
        mut take: impl FnMut(Piece) -> Result<(), Error>,
    ) -> Result<(QueryInfo, Option<SchemaRef>), Error> {
        while let Some(piece) = self.next().await? {
            take(piece).map_err(|e| self.http.clean_error(e))?;
        }
        Ok((std::mem::take(&mut self.info), self.schema.take()))
    }
}

impl Drop for Pager<'_> {
    fn drop(&mut self) {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
    }
}

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
                    .map_err(|e| self.pager.http.clean_error(e))?;
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

/// Checks caveclient makes before sending (docs/WIRE.md, "Checks before sending"), and ones it should.
pub(crate) fn validate(spec: &Spec) -> Result<(), Error> {
    let bad = |what: String| Err(Error::InvalidArgument(format!("{}: {what}", spec.table)));
    if spec.limit == Some(0) {
        return bad("limit must be at least 1".into());
    }
    if let Some(r) = spec.desired_resolution
        && !r.iter().all(|v| v.is_finite() && *v > 0.0)
    {
        return bad(format!(
            "desired_resolution {r:?} must be three positive numbers"
        ));
    }
    for c in spec.clauses.iter().filter(|c| c.is_spatial()) {
        let corner = |i: usize| -> Vec<f64> {
            c.value
                .get(i)
                .and_then(serde_json::Value::as_array)
                .map(|v| v.iter().filter_map(serde_json::Value::as_f64).collect())
                .unwrap_or_default()
        };
        let (min, max) = (corner(0), corner(1));
        if min.len() != 3 || max.len() != 3 || min.iter().zip(&max).any(|(a, b)| a >= b) {
            return bad(format!(
                "the box on `{}` must have min < max on every axis, got {:?} to {:?}",
                c.column, min, max
            ));
        }
    }
    Ok(())
}

fn progress_bar(table: &str) -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(format!("{table}: fetching"));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

impl PageGuard {
    /// A page's first row: a page starting with the row another page started with is that
    /// page again (the server ignored the offset).
    fn first_row(&mut self, batch: &RecordBatch, page: usize) -> Result<(), String> {
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

impl QueryInfo {
    fn new(
        spec: &Spec,
        (version, timestamp): (Option<u32>, Option<chrono::DateTime<chrono::Utc>>),
    ) -> Self {
        QueryInfo {
            table: spec.table.to_string(),
            version,
            timestamp,
            ..QueryInfo::default()
        }
    }
}
