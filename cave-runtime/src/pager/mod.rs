//! Fetching a query's rows past the server's row cap, exactly.
//!
//! The server answers at most its cap of rows per request and promises no row order between
//! requests (docs/WIRE.md, "Row cap and paging"), so pages by `offset` can miss or repeat rows.
//! The pager asks for the query as written first. If that answer is capped, it splits the
//! query by ranges of the table's `id` (`ranges`, `plan`): each range is a request of its own,
//! an answer below the cap holds every row of its range whatever order the server used, and a
//! capped one is split again at the ids it had (sized by a count of the range where the
//! server counts). The ranges do not overlap and cover the query, so every row comes once.
//! Where a count says a capped answer already holds every row of its span, it is kept.
//!
//! Several requests are in flight at once ([`ClientBuilder::pages_in_flight`]), each on a
//! task of its own; answers are handed out in the order they arrive, one at a time, so memory
//! holds the answers in flight and the chunk being read.
//!
//! A query that cannot be split (an `offset`, a `random_sample`, or rows without an `id`) is
//! paged by offset as before, one page at a time, and says so
//! ([`QueryInfo::paged_by_offset`]).
//!
//! [`ClientBuilder::pages_in_flight`]: crate::ClientBuilder::pages_in_flight

use std::collections::{HashMap, VecDeque};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use crate::autapses;
use crate::error::Error;
use crate::http::{ARROW_ACCEPT_ENCODING, Http, Received, Request};
use crate::ipc::{DecodeLimits, Decompression};
use crate::not_in;
use crate::pyjson;
use crate::query::Spec;
use crate::response::{self, BodyBatches, Page};
use crate::result::QueryInfo;

mod guard;
pub(crate) mod plan;
pub(crate) mod ranges;

use guard::PageGuard;
use plan::Partition;
use ranges::IdRange;

/// Requests of one query in flight at once, unless set ([`crate::ClientBuilder::pages_in_flight`]).
pub const DEFAULT_PAGES_IN_FLIGHT: usize = 4;

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
pub(crate) struct PagerSetup {
    /// The HTTP client (token, retries, limits, deadlines, cleaning), shared with the
    /// requests' tasks.
    pub http: Arc<Http>,
    /// The version or timestamp the query runs at.
    pub at: At,
    /// The query's URL.
    pub url: String,
    /// Where the server counts the query's rows, if it does.
    pub counting: Option<Counting>,
    /// How many pages to fetch.
    pub paging: Paging,
    /// Whether a multi-page query shows a progress bar.
    pub progress: bool,
    /// Requests in flight at once (at least 1).
    pub in_flight: usize,
    /// Whether the rows have the table's `id` to split by.
    pub by_id: bool,
}

/// How the server counts a query's rows (`count=True`): materialized queries only.
pub(crate) struct Counting {
    /// The URL of the count: the query's own, or for a join the queried table's alone.
    pub url: String,
    /// The count is the query's (one table); for a join it counts the queried table's rows
    /// under its own filters, at least the joined rows (each has at most one target): good
    /// to size ranges with, and to prove an answer complete only when it equals the rows
    /// sent, not to check the query's total.
    pub exact: bool,
}

/// A request of the query.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Job {
    /// The query as the user wrote it (the first request, byte for byte caveclient's).
    Whole,
    /// The rows of an id range.
    Rows(IdRange),
    /// Only the ids of a range (the user's selection has none, so its answer plans ranges).
    Ids(IdRange),
    /// The rows from an offset (a query that cannot be split).
    Offset(u64),
    /// The number of rows of a range: of the query (`held: None`), or of the span of a held
    /// capped answer.
    Count { range: IdRange, held: Option<u64> },
}

/// A finished request.
struct Done {
    job: Job,
    url: String,
    received: Result<Received, Error>,
}

/// A capped answer waiting for the count of its span.
struct Held {
    /// The range it was asked for.
    range: IdRange,
    /// Its ids, ascending.
    ids: Vec<i64>,
    /// The answer, to be read after all if the count says it is complete.
    received: Option<Received>,
}

/// A capped answer kept under a limit: handed out whole if, with the rows already handed out,
/// it and the other spares give the rows wanted; else split like any capped answer.
struct Spare {
    range: IdRange,
    ids: Vec<i64>,
    received: Received,
}

/// The answer being read.
struct Reading {
    job: Job,
    page: Page,
    batches: BodyBatches,
    /// Rows the server sent in it so far.
    server_rows: u64,
}

/// How the query is paged.
enum Mode {
    /// By id ranges, exactly.
    Ranges(Partition),
    /// By offset, one page after the other (why not by ranges).
    Offset(String),
}

/// Fetches a query's pages and hands out their batches, chunk by chunk.
pub(crate) struct Pager<'c> {
    http: Arc<Http>,
    spec: Spec,
    at: At,
    url: String,
    counting: Option<Counting>,
    paging: Paging,
    shows_progress: bool,
    in_flight: usize,
    mode: Mode,
    info: QueryInfo,
    schema: Option<SchemaRef>,
    /// Rows handed out.
    kept: u64,
    /// Rows the server sent in the answers read (before not-in filtering).
    server_rows: u64,
    /// Requests to send.
    pending: VecDeque<Job>,
    /// Requests in flight.
    tasks: JoinSet<Done>,
    /// Answers to read, in the order they came.
    ready: VecDeque<(Job, Received)>,
    reading: Option<Reading>,
    held: HashMap<u64, Held>,
    next_held: u64,
    /// Capped answers kept under a limit.
    spare: Vec<Spare>,
    /// The server answered a count (cleared if it cannot).
    counts: bool,
    /// The query's row count, once asked.
    total: Option<u64>,
    /// The server's row cap, as its warnings say (else the rows of a capped answer).
    cap: Option<u64>,
    /// Requests sent.
    requests: u64,
    /// Time spent waiting for the query's requests.
    waited: Duration,
    progress: Option<indicatif::ProgressBar>,
    done: bool,
    /// What the pages of a query paged by offset must agree with.
    guard: PageGuard,
    /// The offset of the next page (paging by offset).
    offset: u64,
    /// How answers' buffers are decompressed: whole when the caller keeps every batch.
    decompression: Decompression,
    client: PhantomData<&'c ()>,
}

impl Pager<'_> {
    /// Get ready to fetch the first page of `spec` (checked with [`validate`]).
    pub(crate) fn new(setup: PagerSetup, spec: Spec) -> Self {
        let PagerSetup {
            http,
            at,
            url,
            counting,
            paging,
            progress,
            in_flight,
            by_id,
        } = setup;
        let info = QueryInfo::new(
            &spec,
            match at {
                At::Version(v) => (Some(v), None),
                At::Timestamp(t) => (None, Some(t)),
            },
        );
        let mode = if by_id {
            match Partition::of(&spec) {
                Ok(p) => Mode::Ranges(p),
                Err(why) => Mode::Offset(why),
            }
        } else {
            Mode::Offset("its rows have no `id`".into())
        };
        Pager {
            http,
            offset: spec.offset.unwrap_or(0),
            spec,
            at,
            url,
            counts: counting.is_some(),
            counting,
            paging,
            shows_progress: progress,
            in_flight: in_flight.max(1),
            mode,
            info,
            schema: None,
            kept: 0,
            server_rows: 0,
            pending: VecDeque::from([Job::Whole]),
            tasks: JoinSet::new(),
            ready: VecDeque::new(),
            reading: None,
            held: HashMap::new(),
            next_held: 0,
            spare: Vec::new(),
            total: None,
            cap: None,
            requests: 0,
            waited: Duration::ZERO,
            progress: None,
            done: false,
            guard: PageGuard::default(),
            decompression: Decompression::Streamed,
            client: PhantomData,
        }
    }

    /// Decompress the answers' buffers whole ([`Decompression::Whole`]): for a caller that
    /// keeps every batch, which then costs no more memory and decodes faster.
    pub(crate) fn keeping_every_batch(mut self) -> Self {
        self.decompression = Decompression::Whole;
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

    /// The HTTP client, for cleaning errors.
    pub(crate) fn http(&self) -> &Http {
        &self.http
    }

    /// The next non-empty piece, or `None` when the query is complete. Errors come cleaned
    /// of the token and of escape codes; after one, the query is over.
    pub(crate) async fn next(&mut self) -> Result<Option<Piece>, Error> {
        let next = self.next_raw().await;
        if next.is_err() {
            self.finish();
        }
        next.map_err(|e| self.http.clean_error(e))
    }

    async fn next_raw(&mut self) -> Result<Option<Piece>, Error> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.reading.is_some() {
                if let Some(piece) = self.read_piece()? {
                    return Ok(Some(piece));
                }
                continue;
            }
            if let Some((job, received)) = self.ready.pop_front() {
                self.open(job, &received)?;
                continue;
            }
            self.launch()?;
            if self.tasks.is_empty() {
                if self.idle() {
                    continue;
                }
                self.complete()?;
                return Ok(None);
            }
            let started = Instant::now();
            let done = self.tasks.join_next().await;
            self.waited += started.elapsed();
            match done {
                Some(Ok(done)) => self.answer(done)?,
                Some(Err(e)) => {
                    return Err(Error::Transport {
                        method: "POST",
                        url: self.url.clone(),
                        message: format!("the request's task failed: {e}"),
                        attempts: 1,
                    });
                }
                None => {}
            }
        }
    }

    /// Nothing is left to send or read but the spare capped answers of a query with a limit:
    /// hand them out if their rows and those handed out reach the limit (their ranges are
    /// disjoint from every other, so no row comes twice), else split them. Whether there is
    /// more to do.
    fn idle(&mut self) -> bool {
        if self.spare.is_empty() {
            return false;
        }
        let spare_rows: u64 = self.spare.iter().map(|s| s.ids.len() as u64).sum();
        let wanted = self.spec.limit.unwrap_or(u64::MAX);
        for spare in std::mem::take(&mut self.spare) {
            if self.kept + spare_rows >= wanted {
                self.ready
                    .push_back((Job::Rows(spare.range), spare.received));
            } else {
                self.pending
                    .extend(spare.range.split(&spare.ids, 4).into_iter().map(Job::Rows));
            }
        }
        true
    }

    /// Send pending requests, up to the number in flight.
    fn launch(&mut self) -> Result<(), Error> {
        while self.tasks.len() < self.in_flight
            && let Some(job) = self.pending.pop_front()
        {
            self.requests += 1;
            let max = self.http.limits().max_pages;
            if self.requests > max {
                return Err(Error::BadResponse {
                    url: self.url.clone(),
                    problem: format!(
                        "the answer would take more than {max} requests ({} rows so far, {} \
                         per page): the server keeps saying there are more \
                         (ClientBuilder::limits, Limits::max_pages)",
                        self.server_rows,
                        self.cap.map_or("?".into(), |c| c.to_string()),
                    ),
                });
            }
            let (url, body) = self.request_of(job);
            let http = self.http.clone();
            let query_left = http.timeouts().query.saturating_sub(self.waited);
            self.tasks.spawn(async move {
                let received = http
                    .send(
                        &url,
                        Request::Post {
                            body: &body,
                            accept_encoding: ARROW_ACCEPT_ENCODING,
                        },
                        Some(query_left),
                    )
                    .await;
                Done { job, url, received }
            });
        }
        Ok(())
    }

    /// The URL and body of a request.
    fn request_of(&self, job: Job) -> (String, String) {
        let spec = match (job, &self.mode) {
            (Job::Whole, _) => self.spec.clone(),
            (Job::Offset(offset), _) => {
                let mut spec = self.spec.clone();
                spec.offset = Some(offset);
                spec.limit = self.spec.limit.map(|w| w.saturating_sub(self.kept));
                spec
            }
            (Job::Rows(range), Mode::Ranges(p)) => p.spec_of(&self.spec, range),
            (Job::Count { range, .. }, Mode::Ranges(p)) => {
                let mut spec = p.spec_of(&self.spec, range);
                if spec.target.is_some() {
                    // The queried table alone, under its own filters.
                    spec.target = None;
                    spec.clauses.retain(|c| c.side == crate::query::Side::Table);
                }
                spec.select = None;
                spec
            }
            (Job::Ids(range), Mode::Ranges(p)) => p.ids_spec_of(&self.spec, range),
            // Ranges are planned only in range mode.
            (Job::Rows(_) | Job::Count { .. } | Job::Ids(_), Mode::Offset(_)) => self.spec.clone(),
        };
        let body = match self.at {
            At::Version(_) => spec.body(),
            At::Timestamp(t) => spec.live_body(t),
        };
        let url = match (job, &self.counting) {
            (Job::Count { .. }, Some(counting)) => counting.url.clone(),
            _ => self.url.clone(),
        };
        (url, pyjson::to_string(&body))
    }

    /// A request finished: queue its rows, or plan what a capped answer leaves.
    fn answer(&mut self, done: Done) -> Result<(), Error> {
        let Done { job, url, received } = done;
        if let Job::Count { range, held } = job {
            return self.counted(range, held, &url, received);
        }
        let received = received?;
        self.info.pages += 1;
        let (capped, limit) = response::cap_of(&received);
        if !capped {
            self.ready.push_back((job, received));
            return Ok(());
        }
        match (job, &self.mode) {
            (Job::Whole, _) if self.paging == Paging::FirstPage => {
                self.info.truncated = true;
                self.ready.push_back((job, received));
                return Ok(());
            }
            (Job::Whole, _)
                if self.spec.limit.is_some_and(|l| limit == Some(l))
                    && !self.spec.filters_client_side() =>
            {
                // The user's own limit was met (not-in filters, applied here, may still take
                // rows away: then the query goes on).
                self.ready.push_back((job, received));
                return Ok(());
            }
            (Job::Whole, _) if self.spec.random_sample.is_some() => {
                return Err(Error::InvalidArgument(format!(
                    "{}: the random sample has more rows than the server sends at once ({}); \
                     sample fewer rows, or use Paging::FirstPage to take the first ones",
                    self.spec.table,
                    limit.map_or("its row cap".into(), |l| l.to_string())
                )));
            }
            (Job::Whole | Job::Offset(_), Mode::Offset(_)) => {
                // Read it; its end sends the next offset.
                self.ready.push_back((job, received));
                return Ok(());
            }
            _ => {}
        }
        // A capped answer in range mode: its ids plan the ranges that replace it.
        let range = match job {
            Job::Rows(r) | Job::Ids(r) => r,
            _ => self.within(),
        };
        let ids = match self.sorted_ids(&url, &received, range)? {
            Some(ids) => ids,
            None if matches!(&self.mode, Mode::Ranges(p) if p.added_id) => {
                // The user's selection has no `id`: ask for the ids alone.
                self.pending.push_back(Job::Ids(range));
                return Ok(());
            }
            None if job == Job::Whole => {
                // The rows have no `id` (a view): page by offset, and say so.
                self.mode = Mode::Offset("its rows have no `id`".into());
                self.ready.push_back((job, received));
                return Ok(());
            }
            None => {
                return Err(Error::BadResponse {
                    url,
                    problem: format!("the answer for {range} has no `id` column"),
                });
            }
        };
        self.cap = self.cap.or(limit).or(Some(ids.len() as u64));
        if ids.is_empty() {
            return Err(Error::BadResponse {
                url,
                problem: format!(
                    "the page of {range} says the rows stopped at the server's limit but has \
                     none: paging cannot move forward"
                ),
            });
        }
        if range.width() <= 1 {
            return Err(Error::BadResponse {
                url,
                problem: format!(
                    "{} rows share the id {} (more than the server's cap): the query cannot be \
                     split by id",
                    ids.len(),
                    ids[0]
                ),
            });
        }
        if self.counts {
            let key = self.next_held;
            self.next_held += 1;
            // Counts go first: a held answer waits for its count, and memory with it.
            // Up to the largest id seen: if the server counts as many rows there as it sent,
            // the answer is all of them (as when it answers in id order), and only the ids
            // above are left.
            self.pending.push_front(Job::Count {
                range: range.up_to(ids[ids.len() - 1]),
                held: Some(key),
            });
            if job == Job::Whole && self.total.is_none() {
                self.pending.push_front(Job::Count {
                    range: self.within(),
                    held: None,
                });
            }
            let received = matches!(job, Job::Rows(_) | Job::Whole).then_some(received);
            self.held.insert(
                key,
                Held {
                    range,
                    ids,
                    received,
                },
            );
        } else if self.spec.limit.is_some()
            && !self.spec.filters_client_side()
            && matches!(job, Job::Rows(_) | Job::Whole)
        {
            // Any rows of the query will do, each once: keep the answer, to hand out whole
            // if the rows wanted are there without splitting it ([`Pager::idle`]).
            self.spare.push(Spare {
                range,
                ids,
                received,
            });
        } else {
            // No counts: four ranges at the ids seen, and the parts below and above them.
            self.pending
                .extend(range.split(&ids, 4).into_iter().map(Job::Rows));
        }
        Ok(())
    }

    /// A count came: of the query (for the progress and the final check), or of the span of
    /// a held answer, which is then kept or split.
    fn counted(
        &mut self,
        range: IdRange,
        held: Option<u64>,
        url: &str,
        received: Result<Received, Error>,
    ) -> Result<(), Error> {
        let count = received.and_then(|r| {
            response::read_count(
                url,
                &r,
                DecodeLimits::from(self.http.limits()),
                self.http.redactor(),
            )
        });
        let exact = self.counting.as_ref().is_some_and(|c| c.exact);
        let Some(key) = held else {
            if exact {
                self.total = count.ok();
                self.info.total = self.total;
            }
            return Ok(());
        };
        let Some(held) = self.held.remove(&key) else {
            return Ok(());
        };
        let Ok(count) = count else {
            // The server does not count this query: split by the ids alone from now on.
            self.counts = false;
            self.pending
                .extend(held.range.split(&held.ids, 4).into_iter().map(Job::Rows));
            return Ok(());
        };
        let rows = held.ids.len() as u64;
        if exact && count < rows {
            return Err(Error::BadResponse {
                url: url.to_string(),
                problem: format!(
                    "the server sent {rows} rows for {range} but counts {count} there: its \
                     answers and its counts disagree"
                ),
            });
        }
        // A join's count is of the queried table's rows alone, each joined at most once: when
        // it too equals the (distinct) rows sent, they are all there are.
        let distinct = held.ids.windows(2).all(|w| w[0] < w[1]);
        match held.received {
            Some(received) if count == rows && distinct => {
                // The answer is every row up to its largest id: read it, and ask for the rest.
                self.ready.push_back((Job::Rows(range), received));
                let above = IdRange {
                    lo: range.hi,
                    hi: held.range.hi,
                };
                if !above.is_empty() {
                    self.pending.push_back(Job::Rows(above));
                }
            }
            _ => {
                let cap = self.cap.unwrap_or(rows);
                let pieces = plan::pieces_for(count.max(rows), cap);
                self.pending.extend(
                    held.range
                        .split(&held.ids, pieces)
                        .into_iter()
                        .map(Job::Rows),
                );
            }
        }
        Ok(())
    }

    /// The ids of a capped answer, ascending, each checked to be in `range`; `None` if the
    /// answer has no `id` column because the user's selection has none.
    fn sorted_ids(
        &self,
        url: &str,
        received: &Received,
        range: IdRange,
    ) -> Result<Option<Vec<i64>>, Error> {
        let (page, mut batches) = response::decode(
            url,
            received,
            DecodeLimits::from(self.http.limits()),
            Decompression::Streamed,
            self.http.redactor(),
        )?;
        if page.schema.column_with_name(plan::ID).is_none() {
            return Ok(None);
        }
        let mut ids = Vec::new();
        while let Some(batch) = batches.next_batch() {
            let batch = batch.map_err(|e| e.at(url))?;
            check_range(&batch, range).map_err(|problem| Error::BadResponse {
                url: url.to_string(),
                problem,
            })?;
            if let Ok(column) = plan::ids_of(&batch) {
                ids.extend(column.values().iter().copied());
            }
        }
        ids.sort_unstable();
        Ok(Some(ids))
    }

    /// The ids the user's query allows.
    fn within(&self) -> IdRange {
        match &self.mode {
            Mode::Ranges(p) => p.within,
            Mode::Offset(_) => IdRange::ALL,
        }
    }

    /// Start reading an answer.
    fn open(&mut self, job: Job, received: &Received) -> Result<(), Error> {
        let (page, batches) = response::decode(
            &self.url,
            received,
            DecodeLimits::from(self.http.limits()),
            self.decompression,
            self.http.redactor(),
        )?;
        self.info.add_warnings(&page);
        self.reading = Some(Reading {
            job,
            page,
            batches,
            server_rows: 0,
        });
        Ok(())
    }

    /// The next piece of the answer being read, or `None` at its end.
    fn read_piece(&mut self) -> Result<Option<Piece>, Error> {
        let Some(reading) = &mut self.reading else {
            return Ok(None);
        };
        let bad = |problem: String| Error::BadResponse {
            url: self.url.clone(),
            problem,
        };
        let Some(batch) = reading.batches.next_batch() else {
            let reading = self.reading.take().expect("an answer is being read");
            self.end_of_answer(reading)?;
            return Ok(None);
        };
        let mut batch = batch.map_err(|e| e.at(&self.url))?;
        let job = reading.job;
        if reading.server_rows == 0 && batch.num_rows() > 0 && matches!(job, Job::Offset(_)) {
            self.guard.first_row(&batch, self.info.pages).map_err(bad)?;
        }
        reading.server_rows += batch.num_rows() as u64;
        let resolution = reading.page.resolution;
        let rows_left = reading.batches.rows_left();
        if let (Job::Rows(range), Mode::Ranges(p)) = (job, &self.mode) {
            check_range(&batch, range).map_err(bad)?;
            if p.added_id {
                let at = batch
                    .schema()
                    .index_of(plan::ID)
                    .map_err(|e| bad(e.to_string()))?;
                batch.remove_column(at);
            }
        }
        match &self.schema {
            None => self.schema = Some(batch.schema()),
            Some(first) if !same_columns(first, &batch.schema()) => {
                return Err(bad(format!(
                    "its answers disagree on the columns: first {}, then {}",
                    column_list(first),
                    column_list(&batch.schema())
                )));
            }
            Some(_) => {}
        }
        let before = batch.num_rows();
        let not_in: Vec<_> = self.spec.clauses.iter().filter(|c| c.is_not_in()).collect();
        let mut batch = not_in::apply(batch, &not_in, self.spec.target.is_some())
            .map_err(|problem| Error::InvalidArgument(format!("{}: {problem}", self.spec.table)))?;
        self.info.dropped_by_not_in += (before - batch.num_rows()) as u64;
        if let Some((pre, post)) = &self.spec.drop_equal_pair {
            let before = batch.num_rows();
            // A synapse query always gets both columns: if they are missing or not
            // integers, the answer is at fault.
            batch = autapses::drop_equal(batch, pre, post).map_err(bad)?;
            self.info.autapses_removed += (before - batch.num_rows()) as u64;
        }
        if let Some(want) = self.spec.limit {
            let room = want.saturating_sub(self.kept) as usize;
            if batch.num_rows() > room {
                batch = batch.slice(0, room);
            }
        }
        if batch.num_rows() == 0 {
            return Ok(None);
        }
        self.kept += batch.num_rows() as u64;
        self.info.rows = self.kept;
        let mut rows_left = rows_left;
        if let Some(want) = self.spec.limit {
            rows_left = rows_left.min(want.saturating_sub(self.kept) as usize);
        }
        Ok(Some(Piece {
            batch,
            resolution,
            rows_left,
        }))
    }

    /// An answer is read: count its rows, stop at the limit, or (paging by offset) ask for
    /// the next page.
    fn end_of_answer(&mut self, reading: Reading) -> Result<(), Error> {
        let Reading {
            job,
            page,
            server_rows,
            ..
        } = reading;
        self.server_rows += server_rows;
        if self.schema.is_none() {
            // An answer without rows: its columns, as its rows would have been handed out.
            let mut schema = page.schema.clone();
            if let (Job::Rows(_), Mode::Ranges(p)) = (job, &self.mode)
                && p.added_id
            {
                let fields: Vec<_> = schema
                    .fields()
                    .iter()
                    .filter(|f| f.name() != plan::ID)
                    .cloned()
                    .collect();
                schema = Arc::new(arrow_schema::Schema::new_with_metadata(
                    fields,
                    schema.metadata().clone(),
                ));
            }
            self.schema = Some(schema);
        }
        if self.spec.limit.is_some_and(|w| self.kept >= w) {
            self.finish();
            return Ok(());
        }
        if let (Job::Whole | Job::Offset(_), Mode::Offset(why)) = (job, &self.mode)
            && page.capped
            && self.paging == Paging::All
            && !self.info.truncated
        {
            if server_rows == 0 {
                return Err(Error::BadResponse {
                    url: self.url.clone(),
                    problem: format!(
                        "page {} says the rows stopped at the server's limit but has none: \
                         paging cannot move forward",
                        self.info.pages
                    ),
                });
            }
            if !self.info.paged_by_offset {
                self.info.paged_by_offset = true;
                self.info.warnings.push(format!(
                    "paged by offset because {why}: the server promises no row order between \
                     pages, so rows may be missing or repeated"
                ));
            }
            self.offset += server_rows;
            self.pending.push_back(Job::Offset(self.offset));
        }
        self.show_progress();
        Ok(())
    }

    /// Every request is answered and read: check the rows add up, and stop.
    fn complete(&mut self) -> Result<(), Error> {
        if let Some(total) = self.total
            && self.spec.limit.is_none()
            && self.server_rows != total
        {
            return Err(Error::BadResponse {
                url: self.url.clone(),
                problem: format!(
                    "the answers of its {} requests hold {} rows, but the server counts {total} \
                     for the query: rows were lost or repeated",
                    self.info.pages, self.server_rows
                ),
            });
        }
        self.finish();
        Ok(())
    }

    fn show_progress(&mut self) {
        if !self.shows_progress || self.info.pages < 2 {
            return;
        }
        let table = &self.spec.table;
        let bar = self.progress.get_or_insert_with(|| progress_bar(table));
        bar.set_message(match self.total {
            Some(total) => format!(
                "{table}: {} of {total} rows, {} requests",
                self.server_rows, self.info.pages
            ),
            None => format!("{table}: {} rows, {} requests", self.kept, self.info.pages),
        });
        bar.tick();
    }

    fn finish(&mut self) {
        self.done = true;
        self.info.rows = self.kept;
        self.tasks.abort_all();
        self.pending.clear();
        self.ready.clear();
        self.reading = None;
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

/// Every row's `id` in `range`: a server that ignores the range's filters would repeat rows.
fn check_range(batch: &RecordBatch, range: IdRange) -> Result<(), String> {
    if range == IdRange::ALL || batch.num_rows() == 0 {
        return Ok(());
    }
    let ids = plan::ids_of(batch).map_err(|e| format!("an answer for {range}: {e}"))?;
    match ids.values().iter().find(|id| !range.contains(**id)) {
        Some(id) => Err(format!(
            "asked for {range}, the server sent a row of id {id}: it did not apply the filter \
             on `id`"
        )),
        None => Ok(()),
    }
}

fn same_columns(a: &SchemaRef, b: &SchemaRef) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields()
            .iter()
            .zip(b.fields())
            .all(|(x, y)| x.name() == y.name() && x.data_type() == y.data_type())
}

fn column_list(schema: &SchemaRef) -> String {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    format!("[{}]", names.join(", "))
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
