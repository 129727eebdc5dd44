//! Deterministic randomness for synthetic data: a splitmix64 stream, and stable hashes that turn
//! a seed and a few names into a uniform number (common random numbers: the same deployment
//! attempt draws the same number under every policy).
//!
//! Invariant: every value depends only on the seed and the names given, never on the clock, the
//! OS, the process or the Rust version (no `std::hash`), so a simulation replays bit for bit on
//! every platform.

use patchline_processors::learn::fnv1a64;

/// splitmix64: a small, well-distributed 64-bit generator; enough for synthetic data.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        to_unit(self.next_u64())
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `0..n` milliseconds (`n` > 0).
    pub fn ms_below(&mut self, n: i64) -> i64 {
        (self.unit() * n as f64) as i64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit(); // in (0, 1]
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// An item of a non-empty table, chosen with probability proportional to its weight.
    pub fn pick<'t, T>(&mut self, table: &'t [(T, u32)]) -> &'t T {
        let total = table.iter().map(|(_, w)| *w as usize).sum();
        let mut roll = self.below(total);
        for (item, weight) in table {
            if roll < *weight as usize {
                return item;
            }
            roll -= *weight as usize;
        }
        &table[table.len() - 1].0
    }
}

/// The splitmix64 finalizer: a bijective scramble of 64 bits.
pub fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn to_unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A stable 64-bit hash of the seed and `parts` (separated, so `("ab", "c")` and `("a", "bc")`
/// differ).
pub fn hash(seed: u64, parts: &[&str]) -> u64 {
    let mut h = mix(seed ^ 0x5EED_0000_0000_0001);
    for p in parts {
        h = mix(h ^ fnv1a64(p.as_bytes()));
    }
    h
}

/// A stable uniform number in `[0, 1)` for the seed and `parts`.
pub fn hash_unit(seed: u64, parts: &[&str]) -> f64 {
    to_unit(hash(seed, parts))
}

/// A stable standard normal number for the seed and `parts`.
pub fn hash_normal(seed: u64, parts: &[&str]) -> f64 {
    SplitMix64(hash(seed, parts)).normal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_hashes_are_stable_and_in_range() {
        let mut a = SplitMix64(42);
        let mut b = SplitMix64(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
            let u = a.unit();
            assert!((0.0..1.0).contains(&u) && u == b.unit());
            assert!(a.below(7) < 7);
            b.below(7);
        }
        assert_eq!(a.below(0), 0);
        assert_eq!(hash(1, &["a", "bc"]), hash(1, &["a", "bc"]));
        assert_ne!(hash(1, &["a", "bc"]), hash(1, &["ab", "c"]));
        assert_ne!(hash(1, &["a"]), hash(2, &["a"]));
        let mean: f64 = (0..4000).map(|i| hash_unit(9, &[&i.to_string()])).sum::<f64>() / 4000.0;
        assert!((mean - 0.5).abs() < 0.03, "{mean}");
        let normals: Vec<f64> = (0..4000).map(|_| a.normal()).collect();
        let m = normals.iter().sum::<f64>() / 4000.0;
        let var = normals.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 4000.0;
        assert!(m.abs() < 0.1 && (var - 1.0).abs() < 0.1, "{m} {var}");
    }
}
