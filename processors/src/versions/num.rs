//! Non-negative integers of any length, kept as their decimal digits.
//!
//! Invariant: a [`Num`] holds ASCII digits without leading zeros (zero is the empty string), so
//! ordering by (length, digits) is the numeric ordering, whatever the size: Go pseudo-version
//! timestamps and date-like release numbers never overflow.

use std::cmp::Ordering;

/// A non-negative integer of any size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Num(String);

impl Num {
    /// The number zero.
    pub(crate) fn zero() -> Num {
        Num(String::new())
    }

    /// Parses a non-empty run of ASCII digits; `None` for anything else.
    pub(crate) fn parse(digits: &str) -> Option<Num> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Num(digits.trim_start_matches('0').to_owned()))
    }

    /// True for zero.
    pub(crate) fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_numerically_at_any_size() {
        let n = |s: &str| Num::parse(s).unwrap();
        assert!(n("9") < n("10"));
        assert_eq!(n("007"), n("7"));
        assert_eq!(n("000"), Num::zero());
        assert!(n("99999999999999999999999999") < n("100000000000000000000000000"));
        assert!(Num::parse("").is_none());
        assert!(Num::parse("1a").is_none());
        assert!(n("0").is_zero());
    }
}
