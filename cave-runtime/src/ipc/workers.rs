//! A record batch's columns decompressed on all cores, ahead of the consumer.
//!
//! Each column is a stream (its ZSTD or LZ4 frames are read front to back), so a chunk of one
//! column can only be decoded after the chunk before it; different columns are independent.
//! The work is therefore one task per (column, chunk), taken by whichever thread is free:
//! worker threads, and the consumer itself whenever the chunk it waits for is not ready (so a
//! consumer that builds typed rows between chunks shares the cores with the decompression, and
//! one that only keeps the batches decompresses too). There is no barrier per chunk: a thread
//! that finishes a column's chunk takes the next task at once, the lowest chunk first (the
//! heaviest column first among equals), so columns of different cost even out over the batch. Workers run at most [`WINDOW`] chunks
//! ahead of the consumer, which bounds the memory in flight.
//!
//! The consumer gets a chunk's arrays in column order and, for errors, what a serial read would
//! give: the first failing column of the first failing chunk. When it stops (an error, or the
//! reader dropped), the workers stop after their current task.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use arrow_array::ArrayRef;

use super::IpcError;
use super::columns::ColumnReader;

/// Chunks the workers may decode ahead of the one the consumer is taking.
pub(super) const WINDOW: usize = 4;

/// The columns of one record batch being decoded by workers.
pub(super) struct Workers {
    shared: Arc<Shared>,
    /// Columns of the chunk being taken, in order, while the rest are not ready.
    taking: Vec<ArrayRef>,
}

struct Shared {
    state: Mutex<State>,
    /// A task finished (the consumer may have its chunk).
    finished: Condvar,
    /// There may be a task to take: the consumer took a chunk, or a column came back.
    work: Condvar,
}

struct State {
    lanes: Vec<Lane>,
    /// Rows of the batch, and per chunk (the last chunk has the rest).
    rows: usize,
    chunk_rows: usize,
    /// Chunks the consumer has taken whole.
    taken: usize,
    /// Set by the consumer: workers stop.
    stop: bool,
}

/// One column: its reader (away while a thread decodes from it) and its decoded chunks.
struct Lane {
    reader: Option<ColumnReader>,
    /// Its compressed bytes: of columns equally far, the heaviest is taken first.
    weight: usize,
    /// The next chunk to decode.
    next: usize,
    /// Chunks `taken..next` (an error ends the lane).
    ready: VecDeque<Result<ArrayRef, IpcError>>,
    failed: bool,
}

/// One task: `rows` rows of a column, as its chunk `chunk`.
struct Task {
    lane: usize,
    reader: ColumnReader,
    rows: usize,
}

impl State {
    fn chunks(&self) -> usize {
        self.rows.div_ceil(self.chunk_rows)
    }

    fn rows_of(&self, chunk: usize) -> usize {
        self.chunk_rows.min(self.rows - chunk * self.chunk_rows)
    }

    /// The next task: the free column furthest behind, within the window, and of those the
    /// heaviest (so that the last task of a batch is a light one: when buffers are
    /// decompressed whole, a column's first chunk is all its work, and the threads finish
    /// together only if the big columns go first).
    fn take_task(&mut self) -> Option<Task> {
        if self.stop {
            return None;
        }
        let (chunks, limit) = (self.chunks(), self.taken + WINDOW);
        let lane = (0..self.lanes.len())
            .filter(|&i| {
                let l = &self.lanes[i];
                l.reader.is_some() && !l.failed && l.next < chunks && l.next < limit
            })
            .min_by_key(|&i| (self.lanes[i].next, std::cmp::Reverse(self.lanes[i].weight)))?;
        let rows = self.rows_of(self.lanes[lane].next);
        let l = &mut self.lanes[lane];
        l.next += 1;
        let reader = l.reader.take()?;
        Some(Task { lane, reader, rows })
    }

    /// Whether no task is left, now or later.
    fn all_done(&self) -> bool {
        let chunks = self.chunks();
        self.stop || self.lanes.iter().all(|l| l.failed || l.next >= chunks)
    }
}

impl Task {
    /// Decode, without the lock. A panic in a reader is an error, not a lost column.
    fn run(mut self) -> (usize, ColumnReader, Result<ArrayRef, IpcError>) {
        let rows = self.rows;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| self.reader.read(rows)))
            .unwrap_or_else(|_| Err(IpcError::new("a column's decoding panicked")));
        (self.lane, self.reader, result)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hand a finished task's column back, with its result.
    fn finish(&self, state: &mut State, done: (usize, ColumnReader, Result<ArrayRef, IpcError>)) {
        let (lane, reader, result) = done;
        let l = &mut state.lanes[lane];
        l.failed |= result.is_err();
        l.ready.push_back(result);
        l.reader = Some(reader);
        self.finished.notify_all();
        self.work.notify_one();
    }

    /// A worker thread: tasks until none are left or the consumer stops.
    fn work_loop(&self) {
        let mut state = self.lock();
        loop {
            if let Some(task) = state.take_task() {
                drop(state);
                let done = task.run();
                state = self.lock();
                self.finish(&mut state, done);
            } else if state.all_done() {
                return;
            } else {
                state = self.work.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

impl Workers {
    /// Start decoding `columns` (`rows` rows, in chunks of `chunk_rows`) on `threads` threads
    /// in all: `threads - 1` workers and the consumer. A worker that cannot be started only
    /// leaves more of the work to the others.
    pub(super) fn start(
        columns: Vec<ColumnReader>,
        rows: usize,
        chunk_rows: usize,
        threads: usize,
    ) -> Self {
        let lanes = columns
            .into_iter()
            .map(|reader| Lane {
                weight: reader.compressed,
                reader: Some(reader),
                next: 0,
                ready: VecDeque::new(),
                failed: false,
            })
            .collect();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                lanes,
                rows,
                chunk_rows: chunk_rows.max(1),
                taken: 0,
                stop: false,
            }),
            finished: Condvar::new(),
            work: Condvar::new(),
        });
        for _ in 1..threads {
            let shared = shared.clone();
            let spawned = std::thread::Builder::new()
                .name("cave-ipc-decode".into())
                .spawn(move || shared.work_loop());
            if spawned.is_err() {
                break;
            }
        }
        Workers {
            shared,
            taking: Vec::new(),
        }
    }

    /// The next chunk's arrays in column order, decoding what is not ready yet here.
    pub(super) fn next_chunk(&mut self) -> Result<Vec<ArrayRef>, IpcError> {
        let shared = self.shared.clone();
        let mut state = shared.lock();
        loop {
            // Take the columns that are ready, in order; the first error is the chunk's.
            while self.taking.len() < state.lanes.len() {
                let lane = &mut state.lanes[self.taking.len()];
                match lane.ready.pop_front() {
                    Some(Ok(array)) => self.taking.push(array),
                    Some(Err(e)) => {
                        state.stop = true;
                        shared.work.notify_all();
                        return Err(e);
                    }
                    None => break,
                }
            }
            if self.taking.len() == state.lanes.len() {
                state.taken += 1;
                shared.work.notify_all();
                return Ok(std::mem::take(&mut self.taking));
            }
            if let Some(task) = state.take_task() {
                drop(state);
                let done = task.run();
                state = shared.lock();
                shared.finish(&mut state, done);
            } else {
                state = shared
                    .finished
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.stop = true;
        self.shared.work.notify_all();
    }
}
