//! Alpine (apk) version ordering, used by Alpine, Wolfi and Chainguard.
//!
//! A version is `N(.N)*[letter](_suffix[N])*[-rN]`, e.g. `1.1.1t-r0`, `9.3_p2-r1`,
//! `2.4.0_rc1-r0`. Release numbers compare numerically and more of them is newer; then the
//! optional letter; then the suffixes, where `_alpha < _beta < _pre < _rc` sort before the plain
//! version and `_cvs < _svn < _git < _hg < _p` after it; then the package revision `-rN`
//! (absent means `-r0`). Simplifications: release numbers after the first compare numerically
//! even with leading zeros (apk compares those as decimal fractions), and `~hash` is rejected.
//!
//! Invariant: [`compare`] orders token sequences lexicographically over one total order of
//! tokens; every sequence ends with exactly one revision token, so the end of a sequence is never
//! compared and the order is total.

use std::cmp::Ordering;

use super::num::Num;

/// One token. Variant order is the order between kinds at the same position: a pre-release
/// suffix loses to the bare version (which continues with its revision), a post-release suffix
/// wins over it, a letter wins over suffixes and one more release number over everything.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    PreSuffix(u8, Num),
    Revision(Num),
    PostSuffix(u8, Num),
    Letter(u8),
    Release(Num),
}

/// Compares two apk versions; `None` when either does not parse.
pub(crate) fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(parse(a)?.cmp(&parse(b)?))
}

fn parse(input: &str) -> Option<Vec<Token>> {
    let s = input.trim();
    let (main, revision) = match s.rsplit_once('-') {
        Some((main, rev)) => (main, Num::parse(rev.strip_prefix('r')?)?),
        None => (s, Num::zero()),
    };
    let (head, suffixes) = match main.split_once('_') {
        Some((head, suffixes)) => (head, Some(suffixes)),
        None => (main, None),
    };
    let (numbers, letter) = match head.as_bytes().last() {
        Some(&c) if c.is_ascii_lowercase() => (&head[..head.len() - 1], Some(c)),
        _ => (head, None),
    };
    let mut tokens = numbers
        .split('.')
        .map(|n| Num::parse(n).map(Token::Release))
        .collect::<Option<Vec<_>>>()?;
    tokens.extend(letter.map(Token::Letter));
    if let Some(suffixes) = suffixes {
        for suffix in suffixes.split('_') {
            tokens.push(suffix_token(suffix)?);
        }
    }
    tokens.push(Token::Revision(revision));
    Some(tokens)
}

fn suffix_token(text: &str) -> Option<Token> {
    let digits_at = text.find(|c: char| c.is_ascii_digit()).unwrap_or(text.len());
    let (name, digits) = text.split_at(digits_at);
    let n = if digits.is_empty() { Num::zero() } else { Num::parse(digits)? };
    Some(match name {
        "alpha" => Token::PreSuffix(0, n),
        "beta" => Token::PreSuffix(1, n),
        "pre" => Token::PreSuffix(2, n),
        "rc" => Token::PreSuffix(3, n),
        "cvs" => Token::PostSuffix(0, n),
        "svn" => Token::PostSuffix(1, n),
        "git" => Token::PostSuffix(2, n),
        "hg" => Token::PostSuffix(3, n),
        "p" => Token::PostSuffix(4, n),
        _ => return None,
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
    fn ordering_of_parts() {
        let chain = [
            "1.2_alpha1",
            "1.2_beta",
            "1.2_pre2",
            "1.2_rc1",
            "1.2_rc1-r3",
            "1.2",
            "1.2-r1",
            "1.2_cvs",
            "1.2_git20230101",
            "1.2_p1",
            "1.2_p2",
            "1.2a",
            "1.2b_rc1",
            "1.2b",
            "1.2.1",
            "1.10",
        ];
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Less, "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(cmp("1.2-r0", "1.2"), Equal);
        assert_eq!(cmp("1.2.0", "1.2"), Greater);
    }

    #[test]
    fn real_alpine_packages() {
        // openssl 1.1.1 letter releases in Alpine 3.17: 1.1.1t-r0 fixed CVE-2023-0286.
        assert_eq!(cmp("1.1.1s-r0", "1.1.1t-r0"), Less);
        assert_eq!(cmp("3.0.8-r0", "3.0.7-r2"), Greater);
        assert_eq!(cmp("9.3_p2-r1", "9.3_p1-r5"), Greater);
        assert_eq!(cmp("1.36.1-r5", "1.36.1-r15"), Less);
    }

    #[test]
    fn rejects_malformed_versions() {
        for bad in ["", "1.2-3", "1.2_foo", "1..2", "a1", "1.2~abc", "1.2-r"] {
            assert_eq!(compare(bad, "1.0"), None, "{bad:?}");
        }
    }
}
