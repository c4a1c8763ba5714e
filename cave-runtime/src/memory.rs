//! Backing the big row buffers of a query (and columns decompressed whole) with huge pages.
//!
//! Rows are written once into memory fresh from the kernel, and on Linux every 4 KiB page of
//! it costs a page fault: for 200,000 synapse rows (37 MB) about 9,000 faults, measured as more
//! than half of the typed decode's time on the 2-core benchmark machine. Transparent huge pages
//! (2 MiB) cut that 512-fold. Most distributions enable them only where asked (`madvise`
//! mode), so the row buffer asks.

/// Buffers smaller than this keep normal pages (huge pages pay off only over several MiB).
const MIN_BYTES: usize = 4 << 20;

/// Ask the kernel to back `v`'s allocation with transparent huge pages where it can. Only
/// advice: nothing changes if the kernel says no or the system has them off.
pub(crate) fn advise_huge_pages<T>(v: &mut Vec<T>) {
    let bytes = v.capacity().saturating_mul(size_of::<T>());
    advise_huge_pages_at(v.as_mut_ptr().cast(), bytes);
}

/// [`advise_huge_pages`] for the `bytes` bytes of an allocation of this process at `start`.
#[cfg(target_os = "linux")]
pub(crate) fn advise_huge_pages_at(start: *mut u8, bytes: usize) {
    const PAGE: usize = 4096;
    if bytes < MIN_BYTES {
        return;
    }
    let start = start as usize;
    let first = start.next_multiple_of(PAGE);
    let end = (start + bytes) / PAGE * PAGE;
    if end > first {
        // SAFETY: madvise(MADV_HUGEPAGE) is advice about how to back [first, end), a range
        // inside the caller's own allocation (page-aligned inward); it changes neither the
        // memory's contents nor who may access it. Its result is ignored: it may fail (THP
        // disabled, an old kernel) with no effect on correctness.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

/// Elsewhere: nothing to do.
#[cfg(not(target_os = "linux"))]
pub(crate) fn advise_huge_pages_at(_start: *mut u8, _bytes: usize) {}
