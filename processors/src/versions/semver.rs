//! SemVer 2.0 precedence, as used by Go modules, npm, crates.io, Packagist, NuGet and friends.
//!
//! Tolerated spellings: a leading `v` (Go), missing minor or patch (`1.2` == `1.2.0`), more than
//! three release numbers (NuGet `1.2.3.4`; missing ones count as zero) and build metadata such as
//! Go's `+incompatible`, which never takes part in precedence. Go pseudo-versions
//! (`v0.0.0-20210101000000-abcdef123456`) are ordinary pre-releases and compare as such.
//!
//! Invariant: [`compare`] orders canonical keys (release numbers without trailing zeros, then the
//! pre-release identifiers, a release sorting after all its pre-releases) lexicographically, so it
//! is a total order on parsed versions; two spellings of one version (`v1.2+x`, `1.2.0`) are Equal.

use std::cmp::Ordering;

use super::num::Num;

/// One pre-release identifier. Variant order is SemVer's: numeric identifiers sort before
/// alphanumeric ones; numeric compare numerically, alphanumeric by ASCII.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Numeric(Num),
    Alpha(String),
}

/// Pre-release part. Variant order makes a pre-release sort before the release itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Pre {
    /// Identifiers compare field by field; a shorter list sorts first when it is a prefix.
    Identifiers(Vec<Ident>),
    Release,
}

/// The precedence key of a SemVer version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    /// Release numbers with trailing zeros removed: lexicographic order then equals the order
    /// with missing numbers read as zero.
    release: Vec<Num>,
    pre: Pre,
}

/// Compares two versions by SemVer precedence; `None` when either does not parse.
pub(crate) fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(parse(a)?.cmp(&parse(b)?))
}

fn parse(input: &str) -> Option<Key> {
    let s = input.trim();
    let s = s.strip_prefix('v').unwrap_or(s);
    let (s, build) = match s.split_once('+') {
        Some((head, build)) => (head, Some(build)),
        None => (s, None),
    };
    if let Some(build) = build {
        if !build.split('.').all(is_identifier) {
            return None;
        }
    }
    let (core, pre) = match s.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (s, None),
    };
    let mut release = core.split('.').map(Num::parse).collect::<Option<Vec<_>>>()?;
    while release.last().is_some_and(Num::is_zero) {
        release.pop();
    }
    let pre = match pre {
        None => Pre::Release,
        Some(text) => Pre::Identifiers(text.split('.').map(ident).collect::<Option<Vec<_>>>()?),
    };
    Some(Key { release, pre })
}

/// A non-empty run of `[0-9A-Za-z-]`, as SemVer allows in pre-release and build identifiers.
fn is_identifier(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn ident(text: &str) -> Option<Ident> {
    if !is_identifier(text) {
        return None;
    }
    Some(match Num::parse(text) {
        Some(n) => Ident::Numeric(n),
        None => Ident::Alpha(text.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|| panic!("{a} or {b} does not parse"))
    }

    #[test]
    fn follows_the_semver_precedence_example() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Less, "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn release_numbers_compare_numerically() {
        assert_eq!(cmp("1.10.0", "1.9.0"), Greater);
        assert_eq!(cmp("0.0.10", "0.0.9"), Greater);
        assert_eq!(cmp("10.0.0", "9.99.99"), Greater);
    }

    #[test]
    fn tolerates_go_and_short_spellings() {
        assert_eq!(cmp("v1.2.3", "1.2.3"), Equal);
        assert_eq!(cmp("1.2", "1.2.0"), Equal);
        assert_eq!(cmp("1", "1.0.0"), Equal);
        assert_eq!(cmp("2.6.3+incompatible", "v2.6.3"), Equal);
        assert_eq!(cmp("1.0.0+build.5", "1.0.0+build.7"), Equal);
        assert_eq!(cmp("1.2.3.4", "1.2.3"), Greater);
        assert_eq!(cmp("1.2.3.0", "1.2.3"), Equal);
        assert_eq!(cmp("2.7.3+incompatible", "2.8.0+incompatible"), Less);
    }

    #[test]
    fn go_pseudo_versions_are_pre_releases() {
        let pseudo = "v0.0.0-20210101000000-abcdef123456";
        assert_eq!(cmp(pseudo, "v0.0.0"), Less);
        assert_eq!(cmp(pseudo, "v0.0.0-20201231235959-ffffffffffff"), Greater);
        // A pseudo-version based on v0.1.0 sorts after v0.1.0 and before v0.1.1.
        let after = "v0.1.1-0.20221104162952-702349b0e862";
        assert_eq!(cmp(after, "0.1.0"), Greater);
        assert_eq!(cmp(after, "0.1.1"), Less);
        assert_eq!(cmp(after, "0.1.1-0.20221104162951-702349b0e862"), Greater);
        // OSV's "1.7.0-0" is the lowest pre-release of 1.7.0.
        assert_eq!(cmp("1.7.0-0", "1.7.0-alpha"), Less);
        assert_eq!(cmp("1.7.0-0", "1.6.99"), Greater);
    }

    #[test]
    fn rejects_what_is_not_semver() {
        for bad in ["", "v", "1..2", "1.2.x", "1.0.0-", "1.0.0-a..b", "1.0.0+", "1.0_1", "abc"] {
            assert_eq!(compare(bad, "1.0.0"), None, "{bad:?}");
        }
    }
}
