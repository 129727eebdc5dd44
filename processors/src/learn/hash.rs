//! Stable feature hashing: FNV-1a 64 of the feature name, folded to a `2^bits`-wide slot.
//!
//! Invariant: the slot of a name depends only on its UTF-8 bytes and `bits`, never on the
//! process, platform or Rust version (no `std::hash`, whose output may change between releases).

/// FNV-1a 64-bit offset basis.
const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`: for each byte, xor it in, then multiply by the FNV prime.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(OFFSET_BASIS, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// Slot of feature `name` in a `2^bits`-wide space (`bits` is clamped to 1..=30). The high half
/// of the hash is folded into the low half first, so every bit of the hash reaches the slot.
pub fn slot(name: &str, bits: u32) -> u32 {
    let bits = bits.clamp(1, 30);
    let h = fnv1a64(name.as_bytes());
    let folded = h ^ (h >> 32);
    // Lossless: the mask keeps at most 30 bits.
    (folded & ((1u64 << bits) - 1)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        // Vectors from the FNV reference test suite.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn slots_are_stable_and_in_range() {
        assert_eq!(slot("vendor=ivanti", 20), slot("vendor=ivanti", 20));
        assert_ne!(slot("vendor=ivanti", 20), slot("vendor=fortinet", 20));
        for name in ["a", "cvss_av=N", "cwe=CWE-79", ""] {
            assert!(slot(name, 8) < 256);
            assert_eq!(slot(name, 8), slot(name, 20) & 0xff, "narrower spaces are prefixes");
        }
    }
}
