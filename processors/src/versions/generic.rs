//! Fallback orderings for ecosystems without a dedicated scheme: `Generic` (vendor products,
//! unknown ecosystems) and the RubyGems variant of it.
//!
//! Both split the version, lower-cased, into runs of digits and runs of letters; every other
//! character only separates. Numbers compare numerically, text by bytes, and a number is newer
//! than text at the same position. Trailing zero numbers are dropped (`1.2` == `1.2.0`). They
//! differ at the end of the shorter version: in `Generic` the longer version is newer, so
//! `1.0.1a > 1.0.1` (OpenSSL style); in `RubyGems` the end counts as a zero, so text there makes
//! a pre-release: `1.0.0.pre < 1.0.0`, as `Gem::Version` orders them.
//!
//! Invariant: [`compare`] orders canonical run lists lexicographically over one total order of
//! runs (with the end of a list a fixed point of it), so each flavour is a total order. Versions
//! whose runs are equal (`1-2`, `1.2`, `1.02`) are Equal: the raw text is not a tie-breaker, so
//! that the same version written two ways matches.

use std::cmp::Ordering;

use super::num::Num;

/// The two fallback flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Generic,
    RubyGems,
}

/// One run. Variant order: text sorts before numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Run {
    Text(String),
    Numeric(Num),
}

/// Compares two versions in the given flavour; `None` when either has no letter or digit.
pub(crate) fn compare(flavor: Flavor, a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (runs(a)?, runs(b)?);
    let order = (0..a.len().max(b.len()))
        .map(|k| compare_runs(flavor, a.get(k), b.get(k)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal);
    Some(order)
}

fn compare_runs(flavor: Flavor, a: Option<&Run>, b: Option<&Run>) -> Ordering {
    match (a, b, flavor) {
        (Some(x), Some(y), _) => x.cmp(y),
        (None, None, _) => Ordering::Equal,
        (None, Some(_), Flavor::Generic) => Ordering::Less,
        (Some(_), None, Flavor::Generic) => Ordering::Greater,
        // RubyGems: the end is a zero. Trailing zeros were dropped, so a number here is > 0.
        (None, Some(y), Flavor::RubyGems) => Run::Numeric(Num::zero()).cmp(y),
        (Some(x), None, Flavor::RubyGems) => x.cmp(&Run::Numeric(Num::zero())),
    }
}

fn runs(input: &str) -> Option<Vec<Run>> {
    let text = input.trim().to_ascii_lowercase();
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphanumeric()) {
        rest = &rest[start..];
        let digits = rest.starts_with(|c: char| c.is_ascii_digit());
        let end = rest
            .find(|c: char| if digits { !c.is_ascii_digit() } else { !c.is_ascii_alphabetic() })
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        out.push(match Num::parse(run) {
            Some(n) => Run::Numeric(n),
            None => Run::Text(run.to_owned()),
        });
        rest = tail;
    }
    if out.is_empty() {
        return None;
    }
    while out.last() == Some(&Run::Numeric(Num::zero())) {
        out.pop();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Flavor::{Generic, RubyGems};
    use Ordering::{Equal, Greater, Less};

    fn cmp(flavor: Flavor, a: &str, b: &str) -> Ordering {
        compare(flavor, a, b).unwrap_or_else(|| panic!("{a} or {b} does not parse"))
    }

    #[test]
    fn generic_runs() {
        assert_eq!(cmp(Generic, "1.10", "1.9"), Greater);
        assert_eq!(cmp(Generic, "1.2", "1.2.0"), Equal);
        assert_eq!(cmp(Generic, "1-2", "1.2"), Equal);
        assert_eq!(cmp(Generic, "1.0.1a", "1.0.1"), Greater);
        assert_eq!(cmp(Generic, "1.0.1a", "1.0.1b"), Less);
        assert_eq!(cmp(Generic, "1.0.1z", "1.0.2"), Less);
        assert_eq!(cmp(Generic, "2024.01.15", "2023.12.31"), Greater);
        assert_eq!(cmp(Generic, "R2", "r10"), Less);
        assert_eq!(cmp(Generic, "10.0 SP1", "10.0 SP2"), Less);
        assert_eq!(cmp(Generic, "0", "0.0"), Equal);
    }

    #[test]
    fn rubygems_text_is_a_pre_release() {
        assert_eq!(cmp(RubyGems, "1.0.0.pre", "1.0.0"), Less);
        assert_eq!(cmp(RubyGems, "1.0.0.rc1", "1.0.0.beta2"), Greater);
        assert_eq!(cmp(RubyGems, "1.0.0.rc1", "0.9.9"), Greater);
        assert_eq!(cmp(RubyGems, "7.0.8.1", "7.0.8"), Greater);
        assert_eq!(cmp(RubyGems, "1.2", "1.2.0"), Equal);
        assert_eq!(cmp(RubyGems, "1.13.10", "1.13.9"), Greater);
    }

    #[test]
    fn needs_a_letter_or_digit() {
        assert_eq!(compare(Generic, "", "1"), None);
        assert_eq!(compare(RubyGems, "..-", "1"), None);
    }
}
