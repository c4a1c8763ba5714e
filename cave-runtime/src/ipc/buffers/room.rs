//! Memory for buffers decompressed whole ([`super::Decompression::Whole`]), and the rooms of
//! dropped answers kept a while for the next ones.
//!
//! A room is written once, by zstd, into memory fresh from the kernel: every page of it
//! faults and is zeroed first (a third of an untyped decode's time at 1M rows). A big room is
//! aligned to 2 MiB and advised into huge pages, so that it faults 512 times less; and when
//! the last array using a room is dropped, the room goes back to a small process-wide pool,
//! so that the next answer of about its size is written into pages already there (what
//! jemalloc's retained pages give pyarrow). The pool keeps at most [`KEEP_BYTES`], and a room
//! at most [`KEEP_FOR`] after it was dropped (checked whenever a room is taken or given back).

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_buffer::Buffer;
use zstd::zstd_safe::WriteBuf;

use crate::ipc::IpcError;

/// Rooms of at least this many bytes are aligned to 2 MiB (huge pages pay off from a few MiB,
/// [`crate::memory`]).
const HUGE_ROOM: usize = 4 << 20;

/// Rooms smaller than this are not kept (malloc reuses small blocks well by itself).
const MIN_KEPT: usize = 1 << 20;

/// The most bytes of dropped rooms kept.
const KEEP_BYTES: usize = 256 << 20;

/// How long a dropped room is kept.
const KEEP_FOR: Duration = Duration::from_secs(10);

/// One allocation: its start and layout.
struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: a Block is the only handle to its allocation (it moves between a Room and the pool,
// never copied), so it may go to and be used from any thread.
unsafe impl Send for Block {}

impl Block {
    fn alignment(bytes: usize) -> usize {
        if bytes >= HUGE_ROOM { 2 << 20 } else { 64 }
    }

    /// A new allocation for `bytes` (> 0) bytes, not written.
    fn new(bytes: usize) -> Result<Self, IpcError> {
        let layout = Layout::from_size_align(bytes.max(1), Self::alignment(bytes))
            .map_err(|e| format!("zstd: no room for {bytes} bytes: {e}"))?;
        // SAFETY: the layout's size is not zero.
        let ptr = NonNull::new(unsafe { std::alloc::alloc(layout) }).ok_or_else(|| {
            format!(
                "zstd: cannot reserve the {} the buffer declares",
                crate::limits::size(bytes as u64)
            )
        })?;
        crate::memory::advise_huge_pages_at(ptr.as_ptr(), bytes);
        Ok(Block { ptr, layout })
    }

    fn free(self) {
        // SAFETY: allocated in `Block::new` with this layout; a Block is freed once (it is
        // consumed here).
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// Dropped rooms, oldest first.
#[derive(Default)]
struct Pool {
    kept: Vec<(Block, Instant)>,
    bytes: usize,
}

impl Pool {
    fn shared() -> &'static Mutex<Pool> {
        static POOL: Mutex<Pool> = Mutex::new(Pool {
            kept: Vec::new(),
            bytes: 0,
        });
        &POOL
    }

    /// Free the rooms kept longer than [`KEEP_FOR`] at `now`.
    fn expire(&mut self, now: Instant) {
        while let Some((block, when)) = self.kept.first()
            && now.duration_since(*when) > KEEP_FOR
        {
            self.bytes -= block.layout.size();
            let (block, _) = self.kept.remove(0);
            block.free();
        }
    }

    /// The smallest kept room that holds `bytes` without wasting more than half of it, of the
    /// alignment a new one would have.
    fn take(&mut self, bytes: usize, now: Instant) -> Option<Block> {
        self.expire(now);
        let align = Block::alignment(bytes);
        let (at, _) = self
            .kept
            .iter()
            .enumerate()
            .filter(|(_, (b, _))| {
                let size = b.layout.size();
                size >= bytes && size / 2 <= bytes && b.layout.align() == align
            })
            .min_by_key(|(_, (b, _))| b.layout.size())?;
        let (block, _) = self.kept.remove(at);
        self.bytes -= block.layout.size();
        Some(block)
    }

    /// Keep a dropped room, the oldest freed to make space; a small or huge one is freed.
    fn give_back(&mut self, block: Block, now: Instant) {
        self.expire(now);
        let size = block.layout.size();
        if !(MIN_KEPT..=KEEP_BYTES).contains(&size) {
            block.free();
            return;
        }
        while self.bytes + size > KEEP_BYTES && !self.kept.is_empty() {
            let (oldest, _) = self.kept.remove(0);
            self.bytes -= oldest.layout.size();
            oldest.free();
        }
        self.bytes += size;
        self.kept.push((block, now));
    }
}

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    Pool::shared().lock().unwrap_or_else(|e| e.into_inner())
}

/// Memory for one buffer decompressed whole: `capacity` bytes for zstd to write, of which the
/// first `filled` are written. Aligned for any Arrow value.
pub(super) struct Room {
    /// `None` only once handed to the pool (in `drop`).
    block: Option<Block>,
    capacity: usize,
    filled: usize,
}

// SAFETY: a Room shared (inside an Arrow buffer) is only read, its written bytes; it is
// written only while owned (by zstd, through `&mut`).
unsafe impl Sync for Room {}

impl Room {
    /// Room for `bytes` (> 0) bytes: a kept room of about that size, else a new one (reserved,
    /// not written).
    pub(super) fn new(bytes: usize) -> Result<Self, IpcError> {
        let kept = if bytes >= MIN_KEPT {
            pool().take(bytes, Instant::now())
        } else {
            None
        };
        let block = match kept {
            Some(b) => b,
            None => Block::new(bytes)?,
        };
        Ok(Room {
            block: Some(block),
            capacity: bytes,
            filled: 0,
        })
    }

    fn ptr(&self) -> NonNull<u8> {
        self.block.as_ref().map_or(NonNull::dangling(), |b| b.ptr)
    }

    /// Its written bytes as an Arrow buffer; the room goes back to the pool when the buffer's
    /// last slice is dropped.
    pub(super) fn into_buffer(self) -> Buffer {
        let (ptr, len) = (self.ptr(), self.filled);
        // SAFETY: `ptr` holds `len` initialised bytes (zstd wrote them), valid for as long as
        // the Room (the owner handed over) lives, and never written again.
        unsafe { Buffer::from_custom_allocation(ptr, len, Arc::new(self)) }
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        if let Some(block) = self.block.take() {
            pool().give_back(block, Instant::now());
        }
    }
}

// SAFETY: the slice is the `filled` written bytes; the capacity is at most the block's size;
// zstd writes only through `as_mut_ptr`, within the capacity, and reports what it wrote, which
// `filled_until` records.
unsafe impl WriteBuf for Room {
    fn as_slice(&self) -> &[u8] {
        // SAFETY: the first `filled` bytes of the block are initialised.
        unsafe { std::slice::from_raw_parts(self.ptr().as_ptr(), self.filled) }
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr().as_ptr()
    }

    unsafe fn filled_until(&mut self, n: usize) {
        self.filled = n.min(self.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(bytes: usize) -> Block {
        Block::new(bytes).unwrap()
    }

    #[test]
    fn a_kept_room_is_reused_for_about_its_size_and_expires() {
        let now = Instant::now();
        let mut pool = Pool::default();
        let big = block(8 << 20);
        let at = big.ptr;
        pool.give_back(big, now);
        assert_eq!(pool.bytes, 8 << 20);
        // Too big, or less than half of it: not this one.
        assert!(pool.take(9 << 20, now).is_none());
        assert!(pool.take(3 << 20, now).is_none());
        let again = pool
            .take(6 << 20, now)
            .expect("a room of 6 MiB from the 8 MiB one");
        assert_eq!(again.ptr, at);
        assert_eq!(pool.bytes, 0);
        pool.give_back(again, now);
        // Past KEEP_FOR it is freed, not handed out.
        assert!(pool.take(8 << 20, now + KEEP_FOR * 2).is_none());
        assert_eq!((pool.bytes, pool.kept.len()), (0, 0));
    }

    #[test]
    fn the_pool_keeps_at_most_its_budget_oldest_freed_first() {
        let now = Instant::now();
        let mut pool = Pool::default();
        for k in 0..6 {
            pool.give_back(block(64 << 20), now + Duration::from_millis(k));
        }
        assert_eq!(pool.bytes, KEEP_BYTES);
        // The newest four are kept: the first two, oldest, were freed to make space.
        let kept: Vec<_> = pool.kept.iter().map(|(_, when)| *when - now).collect();
        assert_eq!(kept, (2..6).map(Duration::from_millis).collect::<Vec<_>>());
        // Small rooms are not kept.
        pool.give_back(block(1000), now);
        assert_eq!(pool.bytes, KEEP_BYTES);
        while let Some((b, _)) = pool.kept.pop() {
            b.free();
        }
    }

    #[test]
    fn a_room_holds_what_zstd_wrote_and_no_more_than_its_capacity() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let frame = zstd::bulk::compress(&data, 1).unwrap();
        let mut room = Room::new(data.len()).unwrap();
        zstd::bulk::Decompressor::new()
            .unwrap()
            .decompress_to_buffer(&frame, &mut room)
            .unwrap();
        let buffer = room.into_buffer();
        assert_eq!(buffer.as_slice(), &data[..]);
        assert_eq!(buffer.as_ptr() as usize % 64, 0);
        let mut small = Room::new(data.len() - 1).unwrap();
        assert!(
            zstd::bulk::Decompressor::new()
                .unwrap()
                .decompress_to_buffer(&frame, &mut small)
                .is_err()
        );
    }
}
