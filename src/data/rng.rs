//! A tiny deterministic random number generator.
//!
//! Data generation must give bit-identical results on every platform, thread and run, and must
//! not depend on an external crate's algorithm choices (which change between versions). SplitMix64
//! is small, fast, passes BigCrush, and its output function doubles as a good integer hash, which
//! we use to derive independent per-item streams (`Rng::for_item`) so that item `i` can be
//! regenerated on its own, in any order, from any thread.

/// Golden-ratio increment of SplitMix64.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output finalizer: a bijective avalanche mix of 64 bits.
///
/// Public because it is also the hash used by procedural textures (value noise, cell lattices).
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash three words into one, order-sensitively. Used to derive seeds of independent streams.
#[inline]
pub fn hash3(a: u64, b: u64, c: u64) -> u64 {
    let h = mix64(a ^ GOLDEN_GAMMA);
    let h = mix64(h ^ b.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    mix64(h ^ c.wrapping_mul(0xA076_1D64_78BD_642F))
}

/// SplitMix64 generator. Cheap to create; create one per item rather than sharing one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator seeded directly with `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent stream for item `index` of stream `stream` under `seed`.
    ///
    /// Streams separate purposes (train scenes, val scenes, render noise, augmentation...), so
    /// that adding draws to one purpose never shifts the numbers of another.
    pub fn for_item(seed: u64, stream: u64, index: u64) -> Self {
        Self::new(hash3(seed, stream, index))
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Uniform in [0, 1), with 24 bits of precision (exactly representable in f32).
    #[inline]
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in [a, b).
    #[inline]
    pub fn range(&mut self, a: f32, b: f32) -> f32 {
        a + (b - a) * self.uniform()
    }

    /// Uniform integer in [0, n). `n` must be positive.
    ///
    /// Uses the multiply-high mapping; its bias (< n / 2^64) is irrelevant here and it needs no
    /// rejection loop, so the number of draws per call is always one.
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// True with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: f32) -> bool {
        self.uniform() < p
    }

    /// Standard normal sample (Box-Muller; uses two uniforms, discards the second normal so the
    /// generator has no hidden cached state).
    pub fn normal(&mut self) -> f32 {
        // 1 - u is in (0, 1], so ln never sees 0.
        let u1 = 1.0 - self.uniform() as f64;
        let u2 = self.uniform() as f64;
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    /// Fisher-Yates shuffle in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // Reference outputs of SplitMix64 seeded with 1234567 (from the public domain C code).
        let mut rng = Rng::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn streams_are_deterministic_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::for_item(7, 1, 3).next_u64()).collect();
        assert!(a.iter().all(|&x| x == a[0]));
        let others = [
            Rng::for_item(8, 1, 3).next_u64(),
            Rng::for_item(7, 2, 3).next_u64(),
            Rng::for_item(7, 1, 4).next_u64(),
            Rng::for_item(7, 3, 1).next_u64(),
        ];
        for o in others {
            assert_ne!(o, a[0]);
        }
    }

    #[test]
    fn uniform_range_below_bounds() {
        let mut rng = Rng::new(1);
        let mut counts = [0usize; 5];
        for _ in 0..10_000 {
            let u = rng.uniform();
            assert!((0.0..1.0).contains(&u));
            let r = rng.range(-2.0, 3.0);
            assert!((-2.0..3.0).contains(&r));
            counts[rng.below(5)] += 1;
        }
        for c in counts {
            assert!((1800..2200).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn normal_moments() {
        let mut rng = Rng::new(42);
        let n = 20_000;
        let xs: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f32>() / n as f32;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n as f32;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = Rng::new(3);
        let mut v: Vec<usize> = (0..100).collect();
        rng.shuffle(&mut v);
        assert_ne!(v, (0..100).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..100).collect::<Vec<_>>());
    }
}
