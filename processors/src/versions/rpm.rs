//! RPM version ordering (rpmvercmp), used by Red Hat, Rocky, Alma, SUSE, Fedora and friends.
//!
//! A version is `[epoch:]version[-release]`. The epoch compares numerically (absent means 0), then
//! version and release each compare as segments: runs of digits and runs of ASCII letters; every
//! other character only separates. Numeric segments compare numerically (leading zeros ignored)
//! and are newer than alphabetic ones, which compare by ASCII. `~` sorts before anything, even
//! the end; `^` sorts after the end but before any segment. When all segments are equal, the
//! string with segments left over is newer. A missing release sorts before any release.
//!
//! Invariant: each part is turned into a token sequence independently of the other side, and
//! [`compare`] orders those sequences lexicographically with a fixed rank per token kind
//! (`~` < end < `^` < letters < digits), so it is a total order on parsed versions.

use std::cmp::Ordering;

use super::num::Num;

/// One token of a version or release. Variant order is the rank when kinds differ; the end of
/// the string ranks between `Tilde` and `Caret` (see [`compare_tokens`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Token<'a> {
    Tilde,
    Caret,
    Alpha(&'a str),
    Numeric(Num),
}

/// A parsed RPM version; the strings borrow from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version<'a> {
    epoch: Num,
    version: &'a str,
    /// Empty when the input has no release.
    release: &'a str,
}

/// Compares two RPM versions; `None` when either does not parse.
pub(crate) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    Some(
        a.epoch
            .cmp(&b.epoch)
            .then_with(|| vercmp(a.version, b.version))
            .then_with(|| vercmp(a.release, b.release)),
    )
}

fn parse(input: &str) -> Option<Version<'_>> {
    let s = input.trim();
    let (epoch, rest) = match s.split_once(':') {
        Some((epoch, rest)) => (Num::parse(epoch)?, rest),
        None => (Num::zero(), s),
    };
    let (version, release) = match rest.rsplit_once('-') {
        Some((version, release)) if !release.is_empty() => (version, release),
        Some(_) => return None,
        None => (rest, ""),
    };
    let printable = |t: &str| t.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    if version.is_empty() || !printable(version) || !printable(release) {
        return None;
    }
    Some(Version { epoch, version, release })
}

fn tokens(s: &str) -> Vec<Token<'_>> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let run = |pred: fn(&u8) -> bool| {
            bytes[i..].iter().position(|b| !pred(b)).map_or(bytes.len(), |n| i + n)
        };
        if c == b'~' {
            out.push(Token::Tilde);
            i += 1;
        } else if c == b'^' {
            out.push(Token::Caret);
            i += 1;
        } else if c.is_ascii_digit() {
            let end = run(u8::is_ascii_digit);
            out.push(Token::Numeric(Num::parse(&s[i..end]).unwrap_or_default()));
            i = end;
        } else if c.is_ascii_alphabetic() {
            let end = run(u8::is_ascii_alphabetic);
            out.push(Token::Alpha(&s[i..end]));
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// Rank of a token kind, `None` being the end of the string.
fn rank(token: Option<&Token<'_>>) -> u8 {
    match token {
        Some(Token::Tilde) => 0,
        None => 1,
        Some(Token::Caret) => 2,
        Some(Token::Alpha(_)) => 3,
        Some(Token::Numeric(_)) => 4,
    }
}

fn compare_tokens(a: Option<&Token<'_>>, b: Option<&Token<'_>>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) if rank(a) == rank(b) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// rpmvercmp on one version or release string.
fn vercmp(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    (0..ta.len().max(tb.len()))
        .map(|k| compare_tokens(ta.get(k), tb.get(k)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|| panic!("{a} or {b} does not parse"))
    }

    #[test]
    fn numeric_segments() {
        assert_eq!(cmp("1.10", "1.9"), Greater);
        assert_eq!(cmp("1.010", "1.10"), Equal);
        assert_eq!(cmp("1.0", "1.0.1"), Less);
        assert_eq!(cmp("2.0.1", "2.0.1"), Equal);
        assert_eq!(cmp("5.5p1", "5.5p10"), Less);
    }

    #[test]
    fn numeric_beats_alpha_and_longer_wins() {
        assert_eq!(cmp("1.0a", "1.0.1"), Less);
        assert_eq!(cmp("1.0a", "1.0"), Greater);
        assert_eq!(cmp("1.a", "1.1"), Less);
        assert_eq!(cmp("xyz10", "xyz10.1"), Less);
        assert_eq!(cmp("a", "b"), Less);
        assert_eq!(cmp("FC5", "fc4"), Less);
    }

    #[test]
    fn separators_only_separate() {
        assert_eq!(cmp("1.0", "1_0"), Equal);
        assert_eq!(cmp("1.0", "1..0"), Equal);
        assert_eq!(cmp("1.0", "1.0."), Equal);
    }

    #[test]
    fn tilde_and_caret() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Less);
        assert_eq!(cmp("1.0~rc1", "1.0~rc2"), Less);
        assert_eq!(cmp("1.0~~", "1.0~"), Less);
        assert_eq!(cmp("1.0^post", "1.0"), Greater);
        assert_eq!(cmp("1.0^post", "1.0.1"), Less);
        assert_eq!(cmp("1.0^", "1.0"), Greater);
        assert_eq!(cmp("1.0^20200101", "1.0^20200102"), Less);
        assert_eq!(cmp("1.0~rc1^git1", "1.0~rc1"), Greater);
        assert_eq!(cmp("1.0~rc1^git1", "1.0"), Less);
    }

    #[test]
    fn epoch_and_release() {
        assert_eq!(cmp("1:1.0-1", "2.0-1"), Greater);
        assert_eq!(cmp("0:2.0-1", "2.0-1"), Equal);
        assert_eq!(cmp("1.0-1", "1.0-2"), Less);
        assert_eq!(cmp("1.0", "1.0-1"), Less);
        assert_eq!(cmp("1.0-1.el8", "1.0-1.el8_9"), Less);
    }

    #[test]
    fn real_rhel7_openssl_errata() {
        // RHSA-2023 openssl for RHEL 7: 1.0.2k-25.el7_9 fixed, the GA build 1.0.2k-19.el7 not.
        assert_eq!(cmp("1:1.0.2k-19.el7", "1:1.0.2k-25.el7_9"), Less);
        assert_eq!(cmp("1.0.2k-25.el7_9", "1.0.2k-19.el7"), Greater);
        assert_eq!(cmp("1.0.2k-26.el7_9", "1.0.2k-25.el7_9"), Greater);
        // The letter in 1.0.2k is part of the version: 1.0.2k > 1.0.2 and < 1.0.3.
        assert_eq!(cmp("1.0.2k-8.el7", "1.0.2-8.el7"), Greater);
        assert_eq!(cmp("1.0.2k-8.el7", "1.0.3-1.el7"), Less);
        // RHEL 9 kernel z-stream.
        assert_eq!(cmp("5.14.0-362.13.1.el9_3", "5.14.0-362.8.1.el9_3"), Greater);
    }

    #[test]
    fn rejects_malformed_versions() {
        for bad in ["", "x:1.0", "1.0-", "-1", "1.0 -1", "1:2:3"] {
            assert_eq!(compare(bad, "1.0"), None, "{bad:?}");
        }
    }
}
