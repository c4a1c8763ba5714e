//! Random helpers. Every purpose (`tag`) and sub-stream (e.g. a chunk of synapses) gets its
//! own generator, so that changing one table never moves the numbers of another. The seed of
//! each stream comes from ChaCha8 (`rand_chacha`); the draws themselves come from SplitMix64,
//! whose few integer operations stay fast in unoptimised builds (ChaCha8 costs ≈ 100 ns per
//! byte there, which made a debug run of the default config take over ten seconds). Uniform,
//! normal, shuffle and choice are implemented here, so the data do not depend on `rand`'s
//! sampling algorithms.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator every draw comes from (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        finalize(self.state)
    }
}

/// The RNG of one purpose (`tag`) and sub-stream (`stream`, e.g. a chunk number).
pub(crate) fn stream(seed: u64, tag: &str, stream: u64) -> Rng {
    let mut chacha = ChaCha8Rng::seed_from_u64(seed ^ fnv1a(tag));
    chacha.set_stream(stream);
    Rng {
        state: chacha.next_u64(),
    }
}

/// 64-bit FNV-1a of a string: a stable way to turn a tag into seed bits.
pub(crate) const fn fnv1a(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

const fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 64-bit mix of `x` (SplitMix64 step), for cheap per-index pseudo-randomness.
pub(crate) const fn mix(x: u64) -> u64 {
    finalize(x.wrapping_add(GOLDEN))
}

/// A uniform draw in `[0, 1)`.
pub(crate) fn unit(rng: &mut Rng) -> f64 {
    (rng.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform draw in `[lo, hi)`.
pub(crate) fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * unit(rng)
}

/// A uniform integer in `[lo, hi)`; `lo` when the range is empty.
pub(crate) fn below(rng: &mut Rng, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        lo
    } else {
        // Lemire's multiply-shift (bias below 2^-40 for our ranges).
        lo + ((u128::from(rng.next()) * u128::from(hi - lo)) >> 64) as u64
    }
}

/// `true` with probability `p`.
pub(crate) fn chance(rng: &mut Rng, p: f64) -> bool {
    unit(rng) < p
}

/// A standard normal draw (Box-Muller).
pub(crate) fn normal(rng: &mut Rng) -> f64 {
    normal_pair(rng).0
}

/// Two independent standard normal draws (Marsaglia's polar method: no trigonometry).
pub(crate) fn normal_pair(rng: &mut Rng) -> (f64, f64) {
    let (u, v, s) = in_disk(rng);
    let f = (-2.0 * s.ln() / s).sqrt();
    (u * f, v * f)
}

/// A uniform point `(u, v)` of the open unit disk without its centre, and `u² + v²`.
fn in_disk(rng: &mut Rng) -> (f64, f64, f64) {
    loop {
        let u = 2.0 * unit(rng) - 1.0;
        let v = 2.0 * unit(rng) - 1.0;
        let s = u * u + v * v;
        if s < 1.0 && s > 1e-300 {
            return (u, v, s);
        }
    }
}

/// A uniformly random direction in the plane, as `(cos θ, sin θ)`.
pub(crate) fn direction(rng: &mut Rng) -> (f64, f64) {
    let (u, v, s) = in_disk(rng);
    let r = s.sqrt();
    (u / r, v / r)
}

/// A lognormal draw with the given median and log standard deviation.
pub(crate) fn lognormal(rng: &mut Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// Shuffle a slice in place (Fisher-Yates).
pub(crate) fn shuffle<T>(rng: &mut Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, 0, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// Exactly `k` of the indices `0..n` (all of them when `k >= n`), ascending (Knuth's
/// selection sampling, algorithm S).
pub(crate) fn select(rng: &mut Rng, n: usize, k: usize) -> Vec<usize> {
    let k = k.min(n);
    let mut out = Vec::with_capacity(k);
    for i in 0..n {
        let needed = (k - out.len()) as u64;
        if needed == 0 {
            break;
        }
        if below(rng, 0, (n - i) as u64) < needed {
            out.push(i);
        }
    }
    out
}

/// Exactly `k` of the items, keeping their order.
pub(crate) fn select_from<T: Copy>(rng: &mut Rng, items: &[T], k: usize) -> Vec<T> {
    select(rng, items.len(), k)
        .into_iter()
        .map(|i| items[i])
        .collect()
}

/// Choice among items by weight in O(1) per draw (Vose's alias method).
#[derive(Debug, Clone, Default)]
pub(crate) struct Weighted {
    /// Per slot: probability of keeping the slot's own item, its item, and the alias item.
    slots: Vec<(f32, u32, u32)>,
}

impl Weighted {
    /// From `(item, weight)` pairs; non-positive weights are dropped.
    pub(crate) fn new(pairs: impl IntoIterator<Item = (u32, f64)>) -> Self {
        let pairs: Vec<(u32, f64)> = pairs
            .into_iter()
            .filter(|p| p.1 > 0.0 && p.1.is_finite())
            .collect();
        let n = pairs.len();
        let total: f64 = pairs.iter().map(|p| p.1).sum();
        let mut scaled: Vec<f64> = pairs.iter().map(|p| p.1 * n as f64 / total).collect();
        let mut slots: Vec<(f32, u32, u32)> = pairs.iter().map(|p| (1.0, p.0, p.0)).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&k| scaled[k] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            slots[s] = (scaled[s] as f32, pairs[s].0, pairs[l].0);
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        Weighted { slots }
    }

    /// One item, or `None` when empty.
    pub(crate) fn pick(&self, rng: &mut Rng) -> Option<u32> {
        let x = unit(rng) * self.slots.len() as f64;
        let k = (x as usize).min(self.slots.len().checked_sub(1)?);
        let (keep, own, alias) = self.slots[k];
        Some(if x - (k as f64) < f64::from(keep) {
            own
        } else {
            alias
        })
    }
}

/// A bijection of `0..len` that looks random: `i ↦ (mul·i + add) mod len`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Affine {
    len: u64,
    mul: u64,
    add: u64,
}

impl Affine {
    /// A permutation of `0..len` (len ≥ 1) chosen by `salt`.
    pub(crate) fn new(len: u64, salt: u64) -> Self {
        let len = len.max(1);
        let mut mul = ((len as f64 * 0.618_033_988_749_894_9) as u64).max(1);
        while gcd(mul, len) != 1 {
            mul += 1;
        }
        Affine {
            len,
            mul,
            add: mix(salt) % len,
        }
    }

    /// The image of `i` (taken modulo `len`).
    pub(crate) fn apply(&self, i: u64) -> u64 {
        let i = i % self.len;
        match self
            .mul
            .checked_mul(i)
            .and_then(|p| p.checked_add(self.add))
        {
            Some(v) => v % self.len,
            None => ((self.mul as u128 * i as u128 + self.add as u128) % self.len as u128) as u64,
        }
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affine_is_a_permutation() {
        for len in [1u64, 2, 3, 10, 97, 1000, 1024] {
            let p = Affine::new(len, 7);
            let mut seen: Vec<u64> = (0..len).map(|i| p.apply(i)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..len).collect::<Vec<_>>(), "len {len}");
        }
    }

    #[test]
    fn weighted_follows_weights() {
        let w = Weighted::new([(7, 1.0), (8, 3.0), (9, 0.0), (10, 6.0)]);
        let mut rng = stream(2, "t", 0);
        let mut counts = [0usize; 11];
        for _ in 0..100_000 {
            counts[w.pick(&mut rng).unwrap_or(0) as usize] += 1;
        }
        assert_eq!(counts[9], 0);
        for (item, share) in [(7, 0.1), (8, 0.3), (10, 0.6)] {
            let got = counts[item] as f64 / 100_000.0;
            assert!((got - share).abs() < 0.01, "{item}: {got}");
        }
        assert_eq!(Weighted::new([]).pick(&mut rng), None);
    }

    #[test]
    fn select_is_exact() {
        let mut rng = stream(1, "t", 0);
        let s = select(&mut rng, 1000, 137);
        assert_eq!(s.len(), 137);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(select(&mut rng, 5, 9), vec![0, 1, 2, 3, 4]);
    }
}
