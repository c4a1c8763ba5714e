//! Memory for decoded column buffers, reused from chunk to chunk and query to query.
//!
//! A chunked read ([`crate::ipc::Chunks`]) asks for the same few buffer sizes over and over,
//! and the buffers are often freed on another thread than the one that filled them (the
//! decoding workers fill them, the caller drops the batch). glibc's malloc gives such large
//! blocks back to the kernel when they are freed (trim, munmap) and faults them in, zeroed,
//! on the next allocation: on the 200,000-row synapse body that made decoding on a thread of
//! its own 26 ms instead of 16. The process's pool keeps the buffers that arrays drop, up to a bound,
//! for the next chunks.

use std::sync::Mutex;

use arrow_buffer::Buffer;
use zerocopy::IntoBytes;

/// At most this many free buffers are kept (a chunk has up to three per column).
const MAX_FREE: usize = 256;

/// At most this many bytes of free buffers are kept.
const MAX_FREE_BYTES: usize = 32 << 20;

/// Free buffers. Words, not bytes, so that every buffer is 8-byte aligned, as arrow needs for
/// 64-bit values.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: Mutex<Free>,
}

#[derive(Default)]
struct Free {
    buffers: Vec<Vec<u64>>,
    bytes: usize,
}

impl BufferPool {
    /// The process's pool.
    pub(crate) fn shared() -> &'static Self {
        static SHARED: BufferPool = BufferPool {
            free: Mutex::new(Free {
                buffers: Vec::new(),
                bytes: 0,
            }),
        };
        &SHARED
    }

    /// A buffer of `len` bytes, written by `fill` (which must write all of them: reused
    /// memory holds an earlier chunk's bytes). When the last array using it is dropped, its
    /// memory comes back to this pool.
    pub(crate) fn buffer<E>(
        &'static self,
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
            pool: self,
        };
        Ok(Buffer::from(bytes::Bytes::from_owner(owner)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Free> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// At least `words` initialised words: the smallest free buffer that holds them without
    /// wasting more than half, or new zeroed memory.
    fn take(&self, words: usize) -> Vec<u64> {
        let reused = {
            let mut free = self.lock();
            let best = free
                .buffers
                .iter()
                .enumerate()
                .filter(|(_, v)| v.len() >= words && v.len() / 2 <= words)
                .min_by_key(|(_, v)| v.len())
                .map(|(i, _)| i);
            best.map(|i| {
                let v = free.buffers.swap_remove(i);
                free.bytes -= v.len() * 8;
                v
            })
        };
        // New memory from calloc: large blocks come straight from the kernel, already zero.
        reused.unwrap_or_else(|| vec![0; words])
    }

    fn put(&self, words: Vec<u64>) {
        let mut free = self.lock();
        let bytes = words.len() * 8;
        if free.buffers.len() < MAX_FREE && free.bytes + bytes <= MAX_FREE_BYTES {
            free.buffers.push(words);
            free.bytes += bytes;
        }
    }

    #[cfg(test)]
    fn free_count(&self) -> usize {
        self.lock().buffers.len()
    }
}

/// A buffer's memory while arrays use it.
struct Pooled {
    words: Vec<u64>,
    len: usize,
    pool: &'static BufferPool,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.words.as_bytes()[..self.len]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.put(std::mem::take(&mut self.words));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool of the test's own, so that other tests' buffers do not come and go in it.
    fn pool() -> &'static BufferPool {
        Box::leak(Box::default())
    }

    fn filled(pool: &'static BufferPool, len: usize, byte: u8) -> Buffer {
        pool.buffer(len, |out| {
            out.fill(byte);
            Ok::<_, ()>(())
        })
        .unwrap()
    }

    #[test]
    fn a_dropped_buffer_is_reused_with_the_new_bytes() {
        let pool = pool();
        let first = filled(pool, 1000, 7);
        let first_ptr = first.as_ptr();
        assert_eq!(first.as_slice(), &[7u8; 1000][..]);
        drop(first);
        assert_eq!(pool.free_count(), 1);
        let second = filled(pool, 999, 9);
        assert_eq!(second.as_ptr(), first_ptr, "the freed memory is reused");
        assert_eq!(second.as_slice(), &[9u8; 999][..]);
        assert_eq!(pool.free_count(), 0);
        assert_eq!(second.as_ptr() as usize % 8, 0);
    }

    #[test]
    fn a_buffer_far_too_big_is_not_used_for_a_small_one() {
        let pool = pool();
        drop(filled(pool, 1 << 20, 1));
        let small = filled(pool, 100, 2);
        assert_eq!(small.len(), 100);
        assert_eq!(pool.free_count(), 1, "the 1 MiB buffer stays free");
    }

    #[test]
    fn slices_keep_the_memory_until_the_last_is_dropped() {
        let pool = pool();
        let buffer = filled(pool, 64, 3);
        let slice = buffer.slice(8);
        drop(buffer);
        assert_eq!(pool.free_count(), 0);
        assert_eq!(slice.as_slice(), &[3u8; 56][..]);
        drop(slice);
        assert_eq!(pool.free_count(), 1);
    }

    #[test]
    fn a_failed_fill_gives_the_memory_back_and_the_bytes_kept_are_bounded() {
        let pool = pool();
        let failed = pool.buffer(64, |_| Err("no bytes"));
        assert_eq!(failed.unwrap_err(), "no bytes");
        assert_eq!(pool.free_count(), 1);
        // Four 12 MiB buffers dropped: only two fit in the 32 MiB kept.
        let big: Vec<_> = (0..4).map(|i| filled(pool, 12 << 20, i)).collect();
        drop(big);
        assert_eq!(pool.free_count(), 1 + 2);
        assert!(pool.lock().bytes <= MAX_FREE_BYTES);
    }
}
