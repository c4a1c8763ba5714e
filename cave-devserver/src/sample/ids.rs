//! Structurally valid identifiers and the space they live in (minnie65_public.md §7.1-§7.2):
//! PyChunkedGraph root ids (layer 12, spatial bits zero), supervoxel ids whose chunk bits follow
//! from the position, the voxel bounds, and UTC timestamps in nanoseconds.

use super::rng::Affine;

/// `12 << 56`: every root id is this plus a counter `n`.
pub const ROOT_BASE: i64 = 12 << 56;
/// Smallest root counter handed out (seen ≈ 3.59e9).
pub const ROOT_N_MIN: i64 = 3_586_000_000;
/// Root counters of objects edited after the first sampled version start here.
pub const ROOT_N_SPLIT: i64 = 8_200_000_000;
/// One past the largest root counter (seen ≈ 8.74e9).
pub const ROOT_N_END: i64 = 8_745_000_000;

/// Voxel bounds (4×4×40 nm) of every generated point, inclusive: the synapse bounds of §7.1,
/// trimmed so that supervoxel chunk coordinates are never negative (even minimum, odd maximum,
/// so that rounding to the 8 nm grid and back stays inside).
pub const X_RANGE: (i32, i32) = (52_770, 427_815);
/// See [`X_RANGE`].
pub const Y_RANGE: (i32, i32) = (64_832, 311_021);
/// See [`X_RANGE`].
pub const Z_RANGE: (i32, i32) = (14_850, 27_868);

/// Largest supervoxel counter within a chunk that we emit (seen up to ≈ 571,000).
pub const SV_K_MAX: u64 = 600_000;

/// The layer-1 chunk bits of a position: `1 << 56 | cx << 46 | cy << 36 | cz << 26`.
pub fn chunk_bits(p: [i32; 3]) -> i64 {
    let cx = (i64::from(p[0]).div_euclid(2) - 26_385).div_euclid(256);
    let cy = (i64::from(p[1]).div_euclid(2) - 30_308).div_euclid(256);
    let cz = (i64::from(p[2]) - 14_850).div_euclid(512);
    let c = |v: i64| v.clamp(0, 1023);
    (1 << 56) | c(cx) << 46 | c(cy) << 36 | c(cz) << 26
}

/// The chunk of a supervoxel (the chunk bits the sample puts in it) as a box in the segmentation's base
/// resolution (8 × 8 × 40 nm voxels): its lower corner and its size.
pub fn chunk_box(sv: i64) -> ([i64; 3], [i64; 3]) {
    let c = |shift: u32| (sv >> shift) & 1023;
    (
        [
            c(46) * 256 + 26_385,
            c(36) * 256 + 30_308,
            c(26) * 512 + 14_850,
        ],
        [256, 256, 512],
    )
}

/// The supervoxel with counter `k` (1 ≤ k < 2^26) in the chunk of `p`.
pub fn supervoxel(p: [i32; 3], k: u64) -> i64 {
    chunk_bits(p) | (k & ((1 << 26) - 1)) as i64
}

/// Whether `sv` is 0 or a supervoxel whose chunk bits match `p`.
#[cfg(test)]
pub fn supervoxel_matches(sv: i64, p: [i32; 3]) -> bool {
    sv == 0 || (sv & !((1 << 26) - 1)) == chunk_bits(p) && sv & ((1 << 26) - 1) != 0
}

/// Whether `root` is 0 or a layer-12 root id with a counter in the seen range.
#[cfg(test)]
pub fn root_is_valid(root: i64) -> bool {
    root == 0 || (ROOT_BASE + ROOT_N_MIN..ROOT_BASE + ROOT_N_END).contains(&root)
}

/// Clamp a point into the bounds.
pub fn clamp_point(p: [i64; 3]) -> [i32; 3] {
    [
        p[0].clamp(X_RANGE.0.into(), X_RANGE.1.into()) as i32,
        p[1].clamp(Y_RANGE.0.into(), Y_RANGE.1.into()) as i32,
        p[2].clamp(Z_RANGE.0.into(), Z_RANGE.1.into()) as i32,
    ]
}

/// Round down to an even number (the 8 nm grid of pre/post points).
pub fn even(v: i32) -> i32 {
    v & !1
}

/// A range of root counters handed out in a random-looking but collision-free order.
#[derive(Debug, Clone, Copy)]
pub struct RootBand {
    lo: i64,
    len: u64,
    perm: Affine,
}

impl RootBand {
    /// Counters `lo..hi`, permuted by `salt`.
    pub fn new(lo: i64, hi: i64, salt: u64) -> Self {
        let len = (hi - lo).max(1) as u64;
        RootBand {
            lo,
            len,
            perm: Affine::new(len, salt),
        }
    }

    /// The `k`-th root of the band (distinct for distinct `k < capacity`).
    pub fn root(&self, k: u64) -> i64 {
        ROOT_BASE + self.lo + self.perm.apply(k) as i64
    }

    /// How many distinct roots the band holds.
    pub fn capacity(&self) -> u64 {
        self.len
    }
}

/// Nanoseconds since the Unix epoch of a UTC date and time.
pub const fn utc_ns(date: (i64, i64, i64), time: (i64, i64, i64), micros: i64) -> i64 {
    let (y, m, d) = date;
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + time.0 * 3_600 + time.1 * 60 + time.2;
    secs * 1_000_000_000 + micros * 1_000
}

/// Nanoseconds per second.
pub const SECOND: i64 = 1_000_000_000;
/// Nanoseconds per day.
pub const DAY: i64 = 86_400 * SECOND;

/// Round nanoseconds down to whole microseconds (the precision of `created`).
pub const fn micros(ns: i64) -> i64 {
    ns - ns.rem_euclid(1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supervoxels_of_seen_samples() {
        // Nucleus 373879 and 336365 (minnie65_public.md §6.2/§6.3).
        assert_eq!(
            chunk_bits([228_816, 239_776, 19_593]),
            96_218_056_992_431_305 & !((1 << 26) - 1)
        );
        assert!(supervoxel_matches(
            93_606_511_657_924_288,
            [209_760, 180_832, 27_076]
        ));
        assert!(!supervoxel_matches(
            93_606_511_657_924_288,
            [109_760, 180_832, 27_076]
        ));
    }

    #[test]
    fn seen_roots_are_valid() {
        assert!(root_is_valid(864_691_132_041_695_465));
        assert!(root_is_valid(864_691_137_199_772_993));
        assert!(!root_is_valid(864_691_128_455_135_233));
    }

    #[test]
    fn utc() {
        assert_eq!(utc_ns((1970, 1, 1), (0, 0, 0), 0), 0);
        // 2025-01-13T10:10:01.286229Z
        assert_eq!(
            utc_ns((2025, 1, 13), (10, 10, 1), 286_229),
            1_736_763_001_286_229_000
        );
    }
}
