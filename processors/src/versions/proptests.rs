//! Property tests: every scheme's comparison is a total order on the versions it parses.
//!
//! Invariant: for each scheme, generated versions (small alphabets, so that equal, prefix and
//! near-equal versions are frequent) satisfy reflexivity, antisymmetry, transitivity on triples
//! and consistency with equality, and sorting a list with `compare` leaves it ordered pairwise.
//! `prop_assume!` rejects unparseable inputs, and proptest fails on too many rejections, so a
//! generator drifting away from its scheme cannot make these tests vacuous.

use std::cmp::Ordering::{self, Equal, Greater, Less};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::{compare, parses, Scheme};

const SEMVER: &str =
    r"v?[0-2]{1,2}(\.[0-2]{1,2}){0,3}(-(0|1|00|a|b|rc|x-y|2024-ab)(\.(0|1|a|b|x-y)){0,2})?(\+inc)?";
const DEBIAN: &str = r"([0-2]:)?[0-2][0-2ab~.+]{0,5}(-[0-2ab~+.]{1,4})?";
const RPM: &str = r"([0-2]:)?[0-2a][0-2ab~^._]{0,5}(-[0-2a~^.]{1,4})?";
const PEP440: &str = r"v?([0-2]!)?[0-2](\.[0-2]){0,2}((a|b|rc|c|alpha|pre)[0-2]?)?(\.post[0-2]?|-[0-2])?(\.dev[0-2]?)?(\+[a-b0-2]{1,2}(\.[a-b0-2]{1,2})?)?";
const MAVEN: &str = r"[0-2a]([.-]?([0-2]|a|b|m|rc|cr|sp|ga|final|snapshot|x)){0,5}[.-]?";
const APK: &str = r"[0-2](\.[0-2]){0,3}[ab]?(_(alpha|beta|pre|rc|cvs|git|p)[0-2]?){0,2}(-r[0-2])?";
const RUNS: &str = r"[0-2a-c][0-2a-c.\-]{0,7}";

/// Checks the order axioms on one triple of parseable versions.
fn check_triple(scheme: Scheme, a: &str, b: &str, c: &str) -> Result<(), TestCaseError> {
    prop_assume!(parses(scheme, a) && parses(scheme, b) && parses(scheme, c));
    let cmp = |x: &str, y: &str| compare(scheme, x, y).unwrap_or(Equal);
    for v in [a, b, c] {
        prop_assert_eq!(cmp(v, v), Equal, "{} not equal to itself", v);
    }
    let (ab, bc, ac) = (cmp(a, b), cmp(b, c), cmp(a, c));
    prop_assert_eq!(cmp(b, a), ab.reverse(), "antisymmetry on {} {}", a, b);
    prop_assert_eq!(cmp(c, b), bc.reverse(), "antisymmetry on {} {}", b, c);
    if ab != Greater && bc != Greater {
        let expected = if ab == Less || bc == Less { Less } else { Equal };
        prop_assert_eq!(ac, expected, "transitivity on {} {} {}", a, b, c);
    }
    if ab != Less && bc != Less {
        let expected = if ab == Greater || bc == Greater { Greater } else { Equal };
        prop_assert_eq!(ac, expected, "transitivity on {} {} {}", a, b, c);
    }
    if ab == Equal {
        prop_assert_eq!(ac, bc, "{} == {} but they differ against {}", a, b, c);
    }
    Ok(())
}

/// Sorts parseable versions and checks every pair is in order.
fn check_sort(scheme: Scheme, versions: Vec<String>) -> Result<(), TestCaseError> {
    let mut versions: Vec<String> = versions.into_iter().filter(|v| parses(scheme, v)).collect();
    let cmp = |x: &String, y: &String| compare(scheme, x, y).unwrap_or(Equal);
    versions.sort_by(cmp);
    for (i, x) in versions.iter().enumerate() {
        for y in &versions[i + 1..] {
            prop_assert_ne!(cmp(x, y), Greater, "{:?} sorted badly at {} > {}", versions, x, y);
        }
    }
    Ok(())
}

/// Arbitrary text must never panic, only parse or not.
fn check_no_panic(text: &str) {
    for scheme in [
        Scheme::Semver,
        Scheme::Debian,
        Scheme::Rpm,
        Scheme::Pep440,
        Scheme::Maven,
        Scheme::Apk,
        Scheme::RubyGems,
        Scheme::Generic,
    ] {
        let _: Option<Ordering> = compare(scheme, text, "1.0");
    }
}

macro_rules! total_order_tests {
    ($($name:ident: $scheme:expr, $pattern:expr;)*) => {$(
        mod $name {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(512))]
                #[test]
                fn is_a_total_order(a in $pattern, b in $pattern, c in $pattern) {
                    check_triple($scheme, &a, &b, &c)?;
                }

                #[test]
                fn sorts_consistently(versions in prop::collection::vec($pattern, 2..10)) {
                    check_sort($scheme, versions)?;
                }
            }
        }
    )*};
}

total_order_tests! {
    semver: Scheme::Semver, SEMVER;
    debian: Scheme::Debian, DEBIAN;
    rpm: Scheme::Rpm, RPM;
    pep440: Scheme::Pep440, PEP440;
    maven: Scheme::Maven, MAVEN;
    apk: Scheme::Apk, APK;
    rubygems: Scheme::RubyGems, RUNS;
    generic: Scheme::Generic, RUNS;
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in r"\PC{0,16}") {
        check_no_panic(&text);
    }

    #[test]
    fn version_like_text_never_panics(text in r"[0-9a-z.~^+:_!-]{0,12}") {
        check_no_panic(&text);
    }
}
