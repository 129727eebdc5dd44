//! Deterministic ids. Invariant: an id depends only on the parts given, in order, so replays and
//! re-emissions produce the same ids on every instance and every run.

use sha2::{Digest, Sha256};

/// A 128-bit id (32 hex chars) from the parts, with a prefix such as `exp` or `cmd`.
pub fn stable_id(prefix: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    format!("{prefix}-{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_unambiguous() {
        assert_eq!(stable_id("x", &["a", "b"]), stable_id("x", &["a", "b"]));
        assert_ne!(stable_id("x", &["ab", ""]), stable_id("x", &["a", "b"]));
        assert_eq!(stable_id("exp", &["a"]).len(), 4 + 32);
    }
}
