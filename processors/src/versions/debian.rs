//! Debian (dpkg) version ordering, used by Debian and Ubuntu.
//!
//! A version is `[epoch:]upstream[-revision]` (Debian Policy 5.6.12). The epoch compares
//! numerically (absent means 0); upstream and revision compare with dpkg's algorithm: alternate
//! non-digit and digit parts; non-digit parts compare character by character where letters sort
//! before non-letters and `~` sorts before everything, even the end of the part; digit parts
//! compare numerically.
//!
//! Invariant: [`compare`] is a total order on parsed versions: each part compares as a sequence
//! of weighted characters padded with the weight of "end", which is lexicographic order.

use std::cmp::Ordering;

use super::num::Num;

/// A parsed Debian version; the strings borrow from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version<'a> {
    epoch: Num,
    upstream: &'a str,
    /// Empty when the version has no revision; dpkg treats that like `0`.
    revision: &'a str,
}

/// Compares two Debian versions; `None` when either does not parse.
pub(crate) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    Some(
        a.epoch
            .cmp(&b.epoch)
            .then_with(|| compare_part(a.upstream, b.upstream))
            .then_with(|| compare_part(a.revision, b.revision)),
    )
}

fn parse(input: &str) -> Option<Version<'_>> {
    let s = input.trim();
    let (epoch, rest) = match s.split_once(':') {
        Some((epoch, rest)) => (Num::parse(epoch)?, rest),
        None => (Num::zero(), s),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((upstream, revision)) => (upstream, revision),
        None => (rest, ""),
    };
    let upstream_ok = |b: u8| b.is_ascii_alphanumeric() || b".+~-:".contains(&b);
    let revision_ok = |b: u8| b.is_ascii_alphanumeric() || b".+~".contains(&b);
    let has_revision = rest.contains('-');
    if upstream.is_empty()
        || !upstream.bytes().all(upstream_ok)
        || (has_revision && revision.is_empty())
        || !revision.bytes().all(revision_ok)
    {
        return None;
    }
    Some(Version { epoch, upstream, revision })
}

/// Weight of a character in a non-digit part; `None` is the end of the part. A digit weighs
/// like the end: it closes the non-digit part.
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's comparison of one upstream version or revision.
fn compare_part(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit_at = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        // Non-digit part: character by character, shorter part padded with "end".
        while (i < a.len() && !digit_at(a, i)) || (j < b.len() && !digit_at(b, j)) {
            let (wa, wb) = (weight(a.get(i).copied()), weight(b.get(j).copied()));
            if wa != wb {
                return wa.cmp(&wb);
            }
            // Equal weights that are not "end" are the same kind of non-digit on both sides.
            i += 1;
            j += 1;
        }
        // Digit part: numerically, leading zeros ignored.
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_difference = Ordering::Equal;
        while digit_at(a, i) && digit_at(b, j) {
            if first_difference == Ordering::Equal {
                first_difference = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit_at(a, i) {
            return Ordering::Greater;
        }
        if digit_at(b, j) {
            return Ordering::Less;
        }
        if first_difference != Ordering::Equal {
            return first_difference;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|| panic!("{a} or {b} does not parse"))
    }

    #[test]
    fn tilde_sorts_before_everything_even_the_end() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Less);
        assert_eq!(cmp("1.0~~", "1.0~"), Less);
        assert_eq!(cmp("1.0~rc1", "1.0~rc2"), Less);
        assert_eq!(cmp("1.0~~a", "1.0~"), Less);
        assert_eq!(cmp("1.0-1~bpo1", "1.0-1"), Less);
    }

    #[test]
    fn epoch_wins_over_everything() {
        assert_eq!(cmp("1:0.9", "2.0"), Greater);
        assert_eq!(cmp("0:2.0", "2.0"), Equal);
        assert_eq!(cmp("2:1.0", "10:0.1"), Less);
    }

    #[test]
    fn letters_sort_before_non_letters() {
        assert_eq!(cmp("1.0a", "1.0+"), Less);
        assert_eq!(cmp("1.0a", "1.0."), Less);
        assert_eq!(cmp("1.0", "1.0a"), Less);
        assert_eq!(cmp("1.0+", "1.0"), Greater);
        assert_eq!(cmp("1.0.1", "1.0a"), Greater);
    }

    #[test]
    fn digits_compare_numerically() {
        assert_eq!(cmp("1.10", "1.9"), Greater);
        assert_eq!(cmp("1.010", "1.10"), Equal);
        assert_eq!(cmp("1.0", "1.0-0"), Equal);
        assert_eq!(cmp("1.0-10", "1.0-9"), Greater);
    }

    #[test]
    fn distribution_revisions() {
        assert_eq!(cmp("1.0-1", "1.0-1ubuntu1"), Less);
        assert_eq!(cmp("1.0-1ubuntu1", "1.0-2"), Less);
        assert_eq!(cmp("2.30-1+deb12u1", "2.30-1"), Greater);
        assert_eq!(cmp("2.30-1+deb12u1", "2.30-1+deb12u2"), Less);
        assert_eq!(cmp("2.30-1+deb12u1", "2.30-2"), Less);
        assert_eq!(cmp("1.2.3-1ubuntu0.22.04.1", "1.2.3-1ubuntu0.20.04.2"), Greater);
        // Upstream may contain hyphens; the revision is after the last one.
        assert_eq!(cmp("1.0-beta-1", "1.0-beta-2"), Less);
    }

    #[test]
    fn real_debian_openssl_security_update() {
        // DSA for openssl in bookworm: 3.0.11-1~deb12u2 fixed; u1 was still affected.
        assert_eq!(cmp("3.0.11-1~deb12u1", "3.0.11-1~deb12u2"), Less);
        assert_eq!(cmp("3.0.11-1~deb12u2", "3.0.11-1"), Less);
        assert_eq!(cmp("3.0.9-1", "3.0.11-1~deb12u2"), Less);
        // Ubuntu security pocket revision of the same package family.
        assert_eq!(cmp("3.0.2-0ubuntu1.10", "3.0.2-0ubuntu1.9"), Greater);
    }

    #[test]
    fn rejects_malformed_versions() {
        for bad in ["", "a:1.0", ":1.0", "1.0-", "1.0 beta", "1.0_1", "-1"] {
            assert_eq!(compare(bad, "1.0"), None, "{bad:?}");
        }
    }
}
