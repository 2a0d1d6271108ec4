//! A small deterministic random number generator.
//!
//! Synthetic populations must be reproducible from `(count, seed)` on every
//! platform and every release, so the generator is defined here rather than
//! borrowed from a crate whose stream may change between versions.
//! xoshiro256** (Blackman and Vigna, "Scrambled Linear Pseudorandom Number
//! Generators", 2018) draws the numbers; SplitMix64 (Steele, Lea and Flood,
//! "Fast Splittable Pseudorandom Number Generators", 2014) expands seeds into
//! its state, as the xoshiro authors recommend. Neither is fit for secrets.

/// The golden-ratio increment of SplitMix64.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective mix of all 64 bits.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: one 64-bit word of state, used only to seed [`Rng`].
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }
}

/// xoshiro256**: the generator every draw comes from.
#[derive(Debug, Clone)]
pub(crate) struct Rng([u64; 4]);

impl Rng {
    /// The stream numbered `index` in `domain` of `seed`.
    ///
    /// Each record (and each generated organisation) gets its own stream, so
    /// record `n` is the same whatever the count, and streams of neighbouring
    /// indices do not overlap the way consecutive SplitMix64 states would.
    pub(crate) fn stream(seed: u64, domain: u64, index: u64) -> Self {
        let key = mix(mix(seed ^ mix(domain)) ^ index.wrapping_mul(GOLDEN));
        let mut sm = SplitMix64(key);
        // INVARIANT: SplitMix64 never yields four zero words in a row, so the
        // xoshiro state is never all zero (its one fixed point).
        Rng([sm.next(), sm.next(), sm.next(), sm.next()])
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.0;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// A uniform number in `0..n`; `0` when `n` is 0.
    ///
    /// Lemire's multiply-and-reject ("Fast Random Integer Generation in an
    /// Interval", 2019): no modulo bias.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            // Truncation keeps the low 64 bits, which is the point.
            let low = m as u64;
            if low >= threshold {
                return u64::try_from(m >> 64).unwrap_or(0);
            }
        }
    }

    /// A uniform number in `[0, 1)` with 53 random bits.
    pub(crate) fn unit(&mut self) -> f64 {
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        // 53 bits fit an f64 exactly.
        let bits = (self.next_u64() >> 11) as f64;
        bits * SCALE
    }

    /// True with probability `p` (0 never, 1 always).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro_matches_the_reference_stream() {
        // State 1, 2, 3, 4: the first outputs of the authors' xoshiro256starstar.c.
        let mut r = Rng([1, 2, 3, 4]);
        let got: Vec<u64> = (0..4).map(|_| r.next_u64()).collect();
        assert_eq!(
            got,
            [11520, 0, 1509978240, 1215971899390074240],
            "xoshiro256** reference outputs"
        );
    }

    #[test]
    fn splitmix_matches_the_reference_stream() {
        // Seed 0: the first output of the authors' splitmix64.c.
        let mut s = SplitMix64(0);
        assert_eq!(s.next(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn streams_differ_by_seed_domain_and_index() {
        let first = |seed, domain, index| Rng::stream(seed, domain, index).next_u64();
        let a = first(1, 0, 0);
        assert_eq!(a, first(1, 0, 0));
        assert_ne!(a, first(2, 0, 0));
        assert_ne!(a, first(1, 1, 0));
        assert_ne!(a, first(1, 0, 1));
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = Rng::stream(7, 0, 0);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let v = r.below(7);
            assert!(v < 7);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(r.below(0), 0);
        assert_eq!(r.below(1), 0);
    }

    #[test]
    fn chance_respects_its_bounds() {
        let mut r = Rng::stream(3, 0, 0);
        assert!((0..1000).all(|_| !r.chance(0.0)));
        assert!((0..1000).all(|_| r.chance(1.0)));
        let hits = (0..100_000).filter(|_| r.chance(0.25)).count();
        assert!((24_000..26_000).contains(&hits), "{hits}");
    }
}
