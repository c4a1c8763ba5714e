//! Morton codes of positions, as CAVE's exports compute them
//! (`deltalake_export.py`: 21 bits per axis, x the lowest bit of each triple, then y, then z,
//! an int64 of 63 bits).
//!
//! The code is monotone in each axis: a point inside a box `lo..=hi` (every axis at or above
//! `lo`'s and at or below `hi`'s) has a code between `encode(lo)` and `encode(hi)`. That is what
//! lets a bounding box on the point skip the files of a Morton-partitioned export whose codes lie
//! outside that range.

/// The bits of each axis.
pub const BITS: u32 = 21;

/// The largest value of an axis that the code keeps whole.
pub const MAX_AXIS: i64 = (1 << BITS) - 1;

/// Spread the low 21 bits of `v` to every third bit.
fn spread(v: u64) -> u64 {
    let mut v = v & MAX_AXIS as u64;
    v = (v | (v << 32)) & 0x001f_0000_0000_ffff;
    v = (v | (v << 16)) & 0x001f_0000_ff00_00ff;
    v = (v | (v << 8)) & 0x100f_00f0_0f00_f00f;
    v = (v | (v << 4)) & 0x10c3_0c30_c30c_30c3;
    v = (v | (v << 2)) & 0x1249_2492_4924_9249;
    v
}

/// The code of a point whose axes are in `0..=MAX_AXIS`, else `None` (CAVE's writer truncates
/// such values to their low 21 bits, which no range on the code can then describe).
pub fn encode(x: i64, y: i64, z: i64) -> Option<i64> {
    let fits = |v: i64| (0..=MAX_AXIS).contains(&v);
    (fits(x) && fits(y) && fits(z))
        .then(|| (spread(x as u64) | (spread(y as u64) << 1) | (spread(z as u64) << 2)) as i64)
}

/// The code as CAVE's writer stores it for any int32 axes: each cast to 64 bits unsigned and cut
/// to its low 21 bits (so a negative axis wraps).
pub fn encode_as_cave(x: i32, y: i32, z: i32) -> i64 {
    let cut = |v: i32| spread(v as i64 as u64);
    (cut(x) | (cut(y) << 1) | (cut(z) << 2)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The code bit by bit, the slow way.
    fn slow(x: i64, y: i64, z: i64) -> i64 {
        let mut code = 0i64;
        for bit in 0..BITS {
            for (axis, v) in [x, y, z].into_iter().enumerate() {
                code |= ((v >> bit) & 1) << (3 * bit + axis as u32);
            }
        }
        code
    }

    #[test]
    fn codes_interleave_x_then_y_then_z() {
        assert_eq!(encode(1, 0, 0), Some(1));
        assert_eq!(encode(0, 1, 0), Some(2));
        assert_eq!(encode(0, 0, 1), Some(4));
        assert_eq!(encode(MAX_AXIS, MAX_AXIS, MAX_AXIS), Some(i64::MAX));
        for (x, y, z) in [
            (123_456, 98_765, 21_000),
            (7, 1 << 20, 3),
            (290_000, 180_000, 25_000),
        ] {
            assert_eq!(encode(x, y, z), Some(slow(x, y, z)));
            assert_eq!(encode_as_cave(x as i32, y as i32, z as i32), slow(x, y, z));
        }
        assert_eq!(encode(-1, 0, 0), None);
        assert_eq!(encode(0, MAX_AXIS + 1, 0), None);
        assert_eq!(encode_as_cave(-1, 0, 0), slow(MAX_AXIS, 0, 0));
    }

    #[test]
    fn a_box_bounds_the_codes_of_its_points() {
        let (lo, hi) = ((100, 2_000, 30), (180, 2_090, 61));
        let (a, b) = (
            encode(lo.0, lo.1, lo.2).unwrap(),
            encode(hi.0, hi.1, hi.2).unwrap(),
        );
        for x in (lo.0..=hi.0).step_by(7) {
            for y in (lo.1..=hi.1).step_by(11) {
                for z in lo.2..=hi.2 {
                    let c = encode(x, y, z).unwrap();
                    assert!(a <= c && c <= b, "{x} {y} {z}");
                }
            }
        }
    }
}
