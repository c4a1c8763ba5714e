//! Memory for decoded column buffers, reused from chunk to chunk of one reader.
//!
//! A chunked read ([`crate::ipc::Chunks`]) asks for the same few buffer sizes over and over,
//! and the buffers are often freed on another thread than the one that filled them (the
//! prefetch thread decodes, the caller drops the batch). glibc's malloc gives such large
//! blocks back to the kernel when they are freed (trim, munmap) and faults them in, zeroed,
//! on the next allocation: on the 200,000-row synapse body that made decoding with prefetch
//! 26 ms instead of 16. A pool keeps the buffers its reader's arrays drop, for the reader's
//! next chunks; when the reader is gone, dropped buffers are simply freed.

use std::sync::{Arc, Mutex, Weak};

use arrow_buffer::Buffer;
use zerocopy::IntoBytes;

/// At most this many free buffers are kept (a chunk has up to three per column).
const MAX_FREE: usize = 256;

/// At most this many bytes of free buffers are kept.
const MAX_FREE_BYTES: usize = 32 << 20;

/// Free buffers of one reader. Words, not bytes, so that every buffer is 8-byte aligned, as
/// arrow needs for 64-bit values.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: Mutex<Vec<Vec<u64>>>,
}

impl BufferPool {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The process's pool.
    pub(crate) fn shared() -> &'static Arc<Self> {
        static SHARED: std::sync::OnceLock<Arc<BufferPool>> = std::sync::OnceLock::new();
        SHARED.get_or_init(BufferPool::new)
    }

    /// A buffer of `len` bytes, written by `fill` (which must write all of them: reused
    /// memory holds an earlier chunk's bytes). When the last array using it is dropped, its
    /// memory comes back to this pool, if the pool is still alive.
    pub(crate) fn buffer<E>(
        self: &Arc<Self>,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<Buffer, E> {
        if len == 0 {
            fill(&mut [])?;
            return Ok(Buffer::from_vec(Vec::<u8>::new()));
        }
        let mut words = self.take(len.div_ceil(8));
        if let Err(e) = fill(&mut words.as_mut_bytes()[..len]) {
            self.put(words);
            return Err(e);
        }
        let owner = Pooled {
            words,
            len,
            pool: Arc::downgrade(self),
        };
        Ok(Buffer::from(bytes::Bytes::from_owner(owner)))
    }

    /// At least `words` initialised words: the smallest free buffer that holds them without
    /// wasting more than half, or new zeroed memory.
    fn take(&self, words: usize) -> Vec<u64> {
        let reused = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            let best = free
                .iter()
                .enumerate()
                .filter(|(_, v)| v.len() >= words && v.len() / 2 <= words)
                .min_by_key(|(_, v)| v.len())
                .map(|(i, _)| i);
            best.map(|i| free.swap_remove(i))
        };
        // New memory from calloc: large blocks come straight from the kernel, already zero.
        reused.unwrap_or_else(|| vec![0; words])
    }

    fn put(&self, words: Vec<u64>) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let held: usize = free.iter().map(|v| v.len() * 8).sum();
        if free.len() < MAX_FREE && held + words.len() * 8 <= MAX_FREE_BYTES {
            free.push(words);
        }
    }

    #[cfg(test)]
    fn free_count(&self) -> usize {
        self.free.lock().map_or(0, |f| f.len())
    }
}

/// A buffer's memory while arrays use it.
struct Pooled {
    words: Vec<u64>,
    len: usize,
    pool: Weak<BufferPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.words.as_bytes()[..self.len]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.put(std::mem::take(&mut self.words));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(pool: &Arc<BufferPool>, len: usize, byte: u8) -> Buffer {
        pool.buffer(len, |out| {
            out.fill(byte);
            Ok::<_, ()>(())
        })
        .unwrap()
    }

    #[test]
    fn a_dropped_buffer_is_reused_with_the_new_bytes() {
        let pool = BufferPool::new();
        let first = filled(&pool, 1000, 7);
        let first_ptr = first.as_ptr();
        assert_eq!(first.as_slice(), &[7u8; 1000][..]);
        drop(first);
        assert_eq!(pool.free_count(), 1);
        let second = filled(&pool, 999, 9);
        assert_eq!(second.as_ptr(), first_ptr, "the freed memory is reused");
        assert_eq!(second.as_slice(), &[9u8; 999][..]);
        assert_eq!(pool.free_count(), 0);
        assert_eq!(second.as_ptr() as usize % 8, 0);
    }

    #[test]
    fn a_buffer_far_too_big_is_not_used_for_a_small_one() {
        let pool = BufferPool::new();
        drop(filled(&pool, 1 << 20, 1));
        let small = filled(&pool, 100, 2);
        assert_eq!(small.len(), 100);
        assert_eq!(pool.free_count(), 1, "the 1 MiB buffer stays free");
    }

    #[test]
    fn slices_keep_the_memory_until_the_last_is_dropped() {
        let pool = BufferPool::new();
        let buffer = filled(&pool, 64, 3);
        let slice = buffer.slice(8);
        drop(buffer);
        assert_eq!(pool.free_count(), 0);
        assert_eq!(slice.as_slice(), &[3u8; 56][..]);
        drop(slice);
        assert_eq!(pool.free_count(), 1);
    }

    #[test]
    fn buffers_outliving_their_pool_are_freed_and_a_failed_fill_gives_memory_back() {
        let pool = BufferPool::new();
        let kept = filled(&pool, 64, 4);
        let failed = pool.buffer(64, |_| Err("no bytes"));
        assert_eq!(failed.unwrap_err(), "no bytes");
        assert_eq!(pool.free_count(), 1);
        drop(pool);
        assert_eq!(kept.as_slice(), &[4u8; 64][..]);
        drop(kept);
    }
}
