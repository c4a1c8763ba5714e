//! Ranges of annotation ids, the unit of order-independent paging. The server promises no row
//! order between requests (docs/WIRE.md, "Row cap and paging"), so a query past the row cap is
//! split into disjoint ranges of the `id` of the queried table, each asked for on its own: an
//! answer below the cap is every row of its range, whatever order the server used, and the
//! union of the ranges is every row of the query exactly once.

/// The ids `lo <= id < hi`; `None` is unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdRange {
    pub lo: Option<i64>,
    pub hi: Option<i64>,
}

impl IdRange {
    /// Every id.
    pub const ALL: IdRange = IdRange { lo: None, hi: None };

    /// Whether `id` lies in the range.
    pub fn contains(self, id: i64) -> bool {
        self.lo.is_none_or(|lo| id >= lo) && self.hi.is_none_or(|hi| id < hi)
    }

    /// Whether no id lies in the range.
    pub fn is_empty(self) -> bool {
        matches!((self.lo, self.hi), (Some(lo), Some(hi)) if lo >= hi)
    }

    /// The ids in both ranges.
    pub fn intersect(self, other: IdRange) -> IdRange {
        let max = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let min = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        IdRange {
            lo: max(self.lo, other.lo),
            hi: min(self.hi, other.hi),
        }
    }

    /// The range narrowed by a comparison of `id` with `value`; `None` if the comparison is
    /// not one a range expresses (`>`, `>=`, `<`, `<=`).
    pub fn narrowed(self, kind: cave_wire::FilterKind, value: i64) -> Option<IdRange> {
        use cave_wire::FilterKind as K;
        let bound = match kind {
            K::Greater => IdRange {
                lo: Some(value.saturating_add(1)),
                hi: None,
            },
            K::GreaterEqual => IdRange {
                lo: Some(value),
                hi: None,
            },
            K::Less => IdRange {
                lo: None,
                hi: Some(value),
            },
            K::LessEqual => IdRange {
                lo: None,
                hi: Some(value.saturating_add(1)),
            },
            _ => return None,
        };
        Some(self.intersect(bound))
    }

    /// The ids from the smallest to the largest of `sorted` (not empty), within the range.
    pub fn span_of(self, sorted: &[i64]) -> IdRange {
        let (first, last) = (sorted[0], sorted[sorted.len() - 1]);
        self.intersect(IdRange {
            lo: Some(first),
            hi: Some(last.saturating_add(1)),
        })
    }

    /// The ids of the range up to `last` (included).
    pub fn up_to(self, last: i64) -> IdRange {
        self.intersect(IdRange {
            lo: None,
            hi: Some(last.saturating_add(1)),
        })
    }

    /// Ranges that cover `self` exactly and do not overlap, cut at ids of `sorted` (the ids
    /// an answer for `self` had, ascending, every one inside `self`): the part below the
    /// smallest, `pieces` parts between the smallest and the largest holding about as many of
    /// the ids each, and the part above the largest. Empty parts are left out. With a sample
    /// that is uniform over the range, each inner part holds about `1/pieces` of its rows.
    pub fn split(self, sorted: &[i64], pieces: usize) -> Vec<IdRange> {
        if sorted.is_empty() {
            // No ids to cut at (the pager never asks: a capped answer with none is an error).
            return vec![self];
        }
        let span = self.span_of(sorted);
        let mut cuts: Vec<i64> = Vec::with_capacity(pieces + 1);
        cuts.extend(span.lo);
        let pieces = pieces.max(1);
        for j in 1..pieces {
            let cut = sorted[j * sorted.len() / pieces];
            if cuts.last().is_none_or(|&last| cut > last) {
                cuts.push(cut);
            }
        }
        cuts.extend(
            span.hi
                .filter(|&hi| cuts.last().is_none_or(|&last| hi > last)),
        );
        let mut out = Vec::with_capacity(cuts.len() + 1);
        out.push(IdRange {
            lo: self.lo,
            hi: span.lo,
        });
        out.extend(cuts.windows(2).map(|w| IdRange {
            lo: Some(w[0]),
            hi: Some(w[1]),
        }));
        out.push(IdRange {
            lo: span.hi,
            hi: self.hi,
        });
        out.retain(|r| !r.is_empty());
        out
    }

    /// How many ids the range holds (`u64::MAX` for an unbounded one).
    pub fn width(self) -> u64 {
        match (self.lo, self.hi) {
            (Some(lo), Some(hi)) if hi > lo => (hi as i128 - lo as i128) as u64,
            (Some(_), Some(_)) => 0,
            _ => u64::MAX,
        }
    }
}

impl std::fmt::Display for IdRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.lo, self.hi) {
            (None, None) => f.write_str("every id"),
            (Some(lo), None) => write!(f, "ids from {lo}"),
            (None, Some(hi)) => write!(f, "ids below {hi}"),
            (Some(lo), Some(hi)) => write!(f, "ids {lo} to {}", hi - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cave_wire::FilterKind as K;

    fn r(lo: Option<i64>, hi: Option<i64>) -> IdRange {
        IdRange { lo, hi }
    }

    /// Every id of `within` in exactly one of `parts`, and no id outside it in any.
    fn assert_partition(within: IdRange, parts: &[IdRange], probe: impl Iterator<Item = i64>) {
        for id in probe {
            let n = parts.iter().filter(|p| p.contains(id)).count();
            assert_eq!(n, usize::from(within.contains(id)), "id {id} in {parts:?}");
        }
    }

    #[test]
    fn narrowing_by_the_users_comparisons() {
        let all = IdRange::ALL;
        assert_eq!(all.narrowed(K::Greater, 5), Some(r(Some(6), None)));
        assert_eq!(all.narrowed(K::GreaterEqual, 5), Some(r(Some(5), None)));
        assert_eq!(all.narrowed(K::Less, 5), Some(r(None, Some(5))));
        assert_eq!(all.narrowed(K::LessEqual, 5), Some(r(None, Some(6))));
        assert_eq!(all.narrowed(K::Equal, 5), None);
        let both = all
            .narrowed(K::Greater, 5)
            .unwrap()
            .narrowed(K::GreaterEqual, 3)
            .unwrap()
            .narrowed(K::Less, 9)
            .unwrap();
        assert_eq!(both, r(Some(6), Some(9)));
        assert!(both.narrowed(K::Less, 6).unwrap().is_empty());
        assert_eq!(
            all.narrowed(K::Greater, i64::MAX),
            Some(r(Some(i64::MAX), None))
        );
        assert_eq!(r(Some(3), Some(10)).up_to(5), r(Some(3), Some(6)));
        assert_eq!(r(Some(3), None).up_to(50), r(Some(3), Some(51)));
    }

    #[test]
    fn a_split_covers_the_range_exactly_once() {
        let sample: Vec<i64> = (0..100).map(|i| 1_000 + 7 * i).collect();
        for range in [
            IdRange::ALL,
            r(Some(1_000), Some(1_694)),
            r(Some(-5), None),
            r(None, Some(5_000)),
        ] {
            for pieces in [1, 2, 3, 4, 10, 100, 1_000] {
                let parts = range.split(&sample, pieces);
                assert_partition(range, &parts, -10..6_000);
                assert!(parts.iter().all(|p| !p.is_empty()));
                // Inner parts hold about as many of the sample each.
                let inner: Vec<usize> = parts
                    .iter()
                    .map(|p| sample.iter().filter(|id| p.contains(**id)).count())
                    .filter(|&n| n > 0)
                    .collect();
                assert_eq!(inner.iter().sum::<usize>(), 100);
                assert!(inner.len() == pieces.min(100), "{pieces}: {inner:?}");
            }
        }
        assert_partition(IdRange::ALL, &IdRange::ALL.split(&[5], 4), -10..20);
        assert_eq!(
            r(Some(5), Some(6)).split(&[5], 4),
            vec![r(Some(5), Some(6))]
        );
    }

    #[test]
    fn every_part_of_a_split_is_smaller_unless_the_sample_is_one_id() {
        let range = r(Some(0), Some(1_000));
        for sample in [vec![0, 999], vec![10, 20, 30], vec![500, 501]] {
            for part in range.split(&sample, 2) {
                assert!(part.width() < range.width(), "{sample:?}: {part:?}");
            }
        }
    }

    proptest::proptest! {
        /// Whatever the range, the sample (ids inside it) and the number of pieces, the parts
        /// cover the range exactly once, none is empty, and with two or more pieces and two
        /// or more distinct ids every part is narrower than the range.
        #[test]
        fn splits_partition_the_range(
            lo in proptest::option::of(-1_000_000i64..1_000_000),
            width in 1i64..2_000_000,
            open_above in proptest::bool::ANY,
            picks in proptest::collection::vec(0.0f64..1.0, 1..200),
            pieces in 1usize..50,
        ) {
            let hi = if open_above { None } else { Some(lo.unwrap_or(0) + width) };
            let range = IdRange { lo, hi };
            let from = lo.unwrap_or(-3_000_000);
            let to = hi.unwrap_or(3_000_000);
            let mut sample: Vec<i64> = picks
                .iter()
                .map(|p| from + ((to - from - 1) as f64 * p) as i64)
                .collect();
            sample.sort_unstable();
            let parts = range.split(&sample, pieces);
            proptest::prop_assert!(parts.iter().all(|p| !p.is_empty()));
            let mut probes: Vec<i64> = sample.clone();
            for p in &parts {
                probes.extend(p.lo.into_iter().flat_map(|v| [v - 1, v]));
                probes.extend(p.hi.into_iter().flat_map(|v| [v - 1, v]));
            }
            probes.extend([from - 1, from, to - 1, to]);
            for id in probes {
                let n = parts.iter().filter(|p| p.contains(id)).count();
                proptest::prop_assert_eq!(n, usize::from(range.contains(id)), "id {}", id);
            }
            let distinct = sample.windows(2).any(|w| w[0] != w[1]);
            if pieces >= 2 && distinct && range.width() != u64::MAX {
                proptest::prop_assert!(parts.iter().all(|p| p.width() < range.width()));
            }
        }
    }

    #[test]
    fn display() {
        assert_eq!(r(Some(3), Some(10)).to_string(), "ids 3 to 9");
        assert_eq!(IdRange::ALL.to_string(), "every id");
    }
}
