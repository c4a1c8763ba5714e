//! Answers of repeated queries kept, compressed, so that a benchmark measures the client and
//! not the server (`--answer-cache-mib`; off by default).
//!
//! The key is everything an answer depends on: the route's path, its query string, the
//! request's `Accept-Encoding` and its body, byte for byte. A hit is the stored status,
//! headers and body, unchanged. Only answers that cannot differ between two equal requests are
//! kept: the handlers skip the cache when rows come in a new order per request
//! ([`crate::RowOrder::Random`]) or a random sample is asked for. The budget counts each
//! entry's key (which holds the request body) and answer body; the oldest answers are dropped
//! first once it is exceeded, and an entry over the whole budget is not kept.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::HeaderMap;

/// The response header that says whether an answer came from the cache (`hit` or `miss`); sent
/// only by a server with the cache on.
pub const CACHE_HEADER: &str = "x-devserver-answer-cache";

/// A stored answer.
#[derive(Clone)]
pub struct Cached {
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The answer's body as sent.
    pub body: Bytes,
}

/// The answers kept, within a budget of key and body bytes.
pub struct AnswerCache {
    budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    answers: HashMap<Vec<u8>, Cached>,
    /// Keys, oldest first.
    order: VecDeque<Vec<u8>>,
    bytes: usize,
}

impl AnswerCache {
    /// A cache of at most `budget` bytes of keys and bodies.
    pub fn new(budget: usize) -> Self {
        AnswerCache {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The key of a request: its parts, each preceded by its length so that no two requests
    /// share one.
    pub fn key(parts: &[&[u8]]) -> Vec<u8> {
        let mut key = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
        for part in parts {
            key.extend_from_slice(&(part.len() as u64).to_le_bytes());
            key.extend_from_slice(part);
        }
        key
    }

    /// The answer stored under `key`.
    pub fn get(&self, key: &[u8]) -> Option<Cached> {
        self.lock().answers.get(key).cloned()
    }

    /// Keep `answer` under `key`, dropping the oldest answers to stay within the budget.
    pub fn put(&self, key: Vec<u8>, answer: Cached) {
        let size = entry_size(&key, &answer);
        if size > self.budget {
            return;
        }
        let mut inner = self.lock();
        if let Some(old) = inner.answers.remove(&key) {
            inner.bytes -= entry_size(&key, &old);
            inner.order.retain(|k| *k != key);
        }
        while inner.bytes + size > self.budget {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(old) = inner.answers.remove(&oldest) {
                inner.bytes -= entry_size(&oldest, &old);
            }
        }
        inner.bytes += size;
        inner.order.push_back(key.clone());
        inner.answers.insert(key, answer);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves whole entries only: keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The bytes an entry counts against the budget: its key (the request body is part of it) and
/// its answer's body.
fn entry_size(key: &[u8], answer: &Cached) -> usize {
    key.len() + answer.body.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(n: usize) -> Cached {
        Cached {
            headers: HeaderMap::new(),
            body: Bytes::from(vec![7u8; n]),
        }
    }

    #[test]
    fn keys_of_different_parts_differ() {
        assert_ne!(
            AnswerCache::key(&[b"ab", b"c"]),
            AnswerCache::key(&[b"a", b"bc"])
        );
        assert_eq!(AnswerCache::key(&[b"a"]), AnswerCache::key(&[b"a"]));
    }

    #[test]
    fn the_oldest_answers_go_first_and_an_entry_over_the_budget_is_not_kept() {
        let cache = AnswerCache::new(10);
        cache.put(b"a".to_vec(), answer(4));
        cache.put(b"b".to_vec(), answer(4));
        assert_eq!(cache.get(b"a").map(|c| c.body.len()), Some(4));
        cache.put(b"c".to_vec(), answer(4));
        assert!(cache.get(b"a").is_none(), "the oldest is dropped");
        assert!(cache.get(b"b").is_some() && cache.get(b"c").is_some());
        cache.put(b"d".to_vec(), answer(10));
        assert!(cache.get(b"d").is_none(), "over the budget");
        assert!(cache.get(b"b").is_some(), "nothing dropped for it");
        cache.put(b"b".to_vec(), answer(2));
        assert_eq!(cache.get(b"b").map(|c| c.body.len()), Some(2));
        // Keys count too: b (1 + 2) and c (1 + 4).
        assert_eq!(cache.lock().bytes, 8);
    }
}
