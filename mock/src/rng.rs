//! Small deterministic pseudo-random generator.
//!
//! The mock must produce the same data set for the same `--seed` on every machine and
//! every run, so it uses its own SplitMix64 generator instead of an external crate whose
//! output could change between versions.

/// Characters used for the 14-character random part of object keys (`cus_` + 14).
const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of the random part of a PartnerStack key (reference §1.7: prefix + 14 alphanumerics).
pub const KEY_RANDOM_LEN: usize = 14;

/// SplitMix64: tiny, fast, statistically adequate for test data.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator derived from `seed` and a stream name, so that each resource gets an
    /// independent sequence (changing the size of one resource does not reshuffle others).
    pub fn derived(seed: u64, stream: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in stream.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let mut rng = Self::new(seed ^ h);
        rng.next_u64();
        rng
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform integer in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        // Multiply-shift reduction; the tiny bias is irrelevant for test data.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(hi >= lo);
        let span = (hi - lo) as u64 + 1;
        lo + self.below(span) as i64
    }

    /// Uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniformly chosen element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A PartnerStack-style key: `prefix` followed by 14 alphanumerics.
    pub fn key(&mut self, prefix: &str) -> String {
        let mut s = String::with_capacity(prefix.len() + KEY_RANDOM_LEN);
        s.push_str(prefix);
        for _ in 0..KEY_RANDOM_LEN {
            s.push(KEY_ALPHABET[self.below(KEY_ALPHABET.len() as u64) as usize] as char);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::derived(42, "customers");
        let mut b = Rng::derived(42, "customers");
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut c = Rng::derived(42, "deals");
        assert_ne!(Rng::derived(42, "customers").next_u64(), c.next_u64());
    }

    #[test]
    fn keys_have_prefix_and_fourteen_alphanumerics() {
        let mut r = Rng::new(1);
        let k = r.key("cus_");
        assert!(k.starts_with("cus_"));
        assert_eq!(k.len(), 4 + KEY_RANDOM_LEN);
        assert!(k[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn bounded_values_stay_in_range() {
        let mut r = Rng::new(7);
        for _ in 0..1000 {
            let v = r.range(-5, 5);
            assert!((-5..=5).contains(&v));
            assert!(r.below(3) < 3);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
