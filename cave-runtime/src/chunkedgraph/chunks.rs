//! Big inputs in several requests: the ids cut into chunks of at most
//! [`IDS_PER_CHUNKEDGRAPH_REQUEST`](super::IDS_PER_CHUNKEDGRAPH_REQUEST), up to the client's
//! [`pages_in_flight`](crate::ClientBuilder::pages_in_flight) of them sent at once (each a
//! tokio task retrying on its own), and the answers put back in the order of the input.

use std::future::Future;
use std::ops::Range;

use tokio::task::JoinSet;

use crate::error::Error;

/// The index ranges of `len` items in chunks of at most `size` (at least 1), in order.
pub(super) fn split(len: usize, size: usize) -> Vec<Range<usize>> {
    let size = size.max(1);
    (0..len.div_ceil(size))
        .map(|i| i * size..((i + 1) * size).min(len))
        .collect()
}

/// Which chunk of the input a request carries, for errors.
#[derive(Debug, Clone)]
pub(super) struct Part {
    /// Its place among the chunks, from 0.
    pub index: usize,
    /// How many chunks there are.
    pub of: usize,
    /// The range of the input it covers.
    pub range: Range<usize>,
}

impl Part {
    /// ` (request 2 of 3: ids [100000, 200000) of the input)`, or nothing for a lone chunk.
    pub(super) fn describe(&self) -> String {
        if self.of <= 1 {
            String::new()
        } else {
            format!(
                " (request {} of {}: ids [{}, {}) of the input)",
                self.index + 1,
                self.of,
                self.range.start,
                self.range.end
            )
        }
    }
}

/// Run `job` on each chunk of `ids` (at most `size` ids each), at most `in_flight` at once,
/// and join the answers in input order. The first error ends the call; the requests still in
/// flight are then dropped (their tasks aborted).
pub(super) async fn run<T, F, Fut>(
    ids: &[i64],
    size: usize,
    in_flight: usize,
    mut job: F,
) -> Result<Vec<T>, Error>
where
    F: FnMut(Vec<i64>, Part) -> Fut,
    Fut: Future<Output = Result<Vec<T>, Error>> + Send + 'static,
    T: Send + 'static,
{
    let ranges = split(ids.len(), size);
    let of = ranges.len();
    let part = |index: usize, range: &Range<usize>| Part {
        index,
        of,
        range: range.clone(),
    };
    if of <= 1 {
        let range = ranges.first().cloned().unwrap_or(0..0);
        return job(ids[range.clone()].to_vec(), part(0, &range)).await;
    }
    let mut answers: Vec<Option<Vec<T>>> = (0..of).map(|_| None).collect();
    let mut tasks = JoinSet::new();
    let mut next = 0;
    let mut done = 0;
    while done < of {
        while next < of && tasks.len() < in_flight.max(1) {
            let range = &ranges[next];
            let future = job(ids[range.clone()].to_vec(), part(next, range));
            let index = next;
            tasks.spawn(async move { (index, future.await) });
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (index, answer) = match joined {
            Ok(x) => x,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => {
                return Err(Error::Config(format!(
                    "a chunkedgraph request's task ended without an answer ({e})"
                )));
            }
        };
        answers[index] = Some(answer?);
        done += 1;
    }
    let mut out = Vec::with_capacity(ids.len());
    for answer in answers {
        out.extend(answer.expect("every chunk answered"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn chunks_cover_the_input_once_in_order() {
        assert_eq!(split(0, 3), Vec::<Range<usize>>::new());
        assert_eq!(split(3, 3), vec![Range { start: 0, end: 3 }]);
        assert_eq!(split(7, 3), [0..3, 3..6, 6..7]);
        assert_eq!(split(2, 0), [0..1, 1..2]);
        for len in 0..50 {
            for size in 1..9 {
                let parts = split(len, size);
                let covered: Vec<usize> = parts.iter().flat_map(|r| r.clone()).collect();
                assert_eq!(covered, (0..len).collect::<Vec<_>>());
                assert!(parts.iter().all(|r| !r.is_empty() && r.len() <= size));
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_come_back_in_input_order_whatever_order_they_finish_in() {
        let ids: Vec<i64> = (0..23).collect();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let out = run(&ids, 5, 2, |chunk, part| {
            let (running, most) = (running.clone(), most.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Later chunks finish first.
                tokio::time::sleep(Duration::from_millis(5 * (5 - part.index as u64))).await;
                running.fetch_sub(1, Ordering::SeqCst);
                assert_eq!(part.of, 5);
                Ok(chunk.iter().map(|i| i * 10).collect())
            }
        })
        .await
        .unwrap();
        assert_eq!(out, ids.iter().map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(
            most.load(Ordering::SeqCst),
            2,
            "at most 2 in flight, and 2 used"
        );
    }

    #[tokio::test]
    async fn the_first_error_ends_the_call() {
        let ids: Vec<i64> = (0..10).collect();
        let e = run(&ids, 3, 4, |chunk, part| async move {
            if part.index == 2 {
                Err(Error::InvalidArgument(format!("chunk{}", part.describe())))
            } else {
                Ok(chunk)
            }
        })
        .await
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("(request 3 of 4: ids [6, 9) of the input)"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn one_chunk_runs_without_a_task_and_says_nothing_of_chunks() {
        let out = run(&[1, 2], 5, 4, |chunk, part| async move {
            assert_eq!(part.describe(), "");
            Ok(chunk)
        })
        .await
        .unwrap();
        assert_eq!(out, [1, 2]);
    }
}
