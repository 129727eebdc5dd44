//! Maven version ordering, after the "Version Order Specification" of Maven's ComparableVersion.
//!
//! The version (case-insensitive) splits into tokens at `.`, `-` and at transitions between
//! digits and non-digits; a transition counts as `-`, an empty token as `0`. `a`, `b` and `m`
//! directly followed by a digit mean `alpha`, `beta` and `milestone`. A `-` token or a qualifier
//! starts a group, and every group loses its trailing "null" tokens (`0`, `ga`, `final`,
//! `release`), so `1.0.0-rc1` == `1.0.0.RC1` == `1.0-rc1` and `6.0.0.Final` == `6`. Tokens then
//! compare position by position, the shorter version padded with null, in this order:
//! `alpha < beta < milestone < rc = cr < snapshot < null < sp < other qualifiers (by text)
//! < -number < .number`; a qualifier's prefix (`.` or `-`) does not matter.
//!
//! Invariant: [`compare`] orders canonical item lists lexicographically over one total order of
//! items, null being one item of it, so it is a total order on parsed versions. Maven's own
//! ComparableVersion is not transitive in corner cases (`1.0.alpha < 1 < 1-1 < 1.0.alpha`); on
//! those this ordering picks a consistent answer (`1.0.alpha < 1 < 1-1`).

use std::cmp::Ordering;

use super::num::Num;

/// Rank of the release ("null") qualifier among the known qualifiers.
const RELEASE: u8 = 5;

/// One canonical token. Variant order is the order between kinds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    /// Known qualifiers rank 0..=6 with empty text; unknown ones rank 7 and compare by text.
    Qualifier(u8, String),
    /// A number after `-` (or after a digit transition); zero only inside a group.
    DashNumber(Num),
    /// A number after `.` or at the start; zero only inside a group.
    DotNumber(Num),
}

impl Item {
    fn null() -> Item {
        Item::Qualifier(RELEASE, String::new())
    }

    /// Null-valued tokens: dropped at the end of a group.
    fn is_null(&self) -> bool {
        match self {
            Item::Qualifier(rank, text) => *rank == RELEASE && text.is_empty(),
            Item::DashNumber(n) | Item::DotNumber(n) => n.is_zero(),
        }
    }
}

/// A raw token before canonicalization.
struct Token {
    after_dash: bool,
    by_transition: bool,
    text: String,
}

/// Compares two Maven versions; `None` when either is empty or contains whitespace.
pub(crate) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    let null = Item::null();
    let order = (0..a.len().max(b.len()))
        .map(|k| a.get(k).unwrap_or(&null).cmp(b.get(k).unwrap_or(&null)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal);
    Some(order)
}

fn parse(input: &str) -> Option<Vec<Item>> {
    let s = input.trim().to_ascii_lowercase();
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        return None;
    }
    let tokens = tokenize(&s);
    let mut items: Vec<Item> = Vec::with_capacity(tokens.len());
    let mut group_start = 0;
    for (k, token) in tokens.iter().enumerate() {
        let followed_by_digit = tokens.get(k + 1).is_some_and(|t| t.by_transition);
        let item = item(token, followed_by_digit);
        if token.after_dash || matches!(item, Item::Qualifier(..)) {
            trim_nulls(&mut items, group_start);
            group_start = items.len();
        }
        items.push(item);
    }
    trim_nulls(&mut items, group_start);
    Some(items)
}

/// Drops the null items at the end of the group that starts at `group_start`.
fn trim_nulls(items: &mut Vec<Item>, group_start: usize) {
    while items.len() > group_start && items.last().is_some_and(Item::is_null) {
        items.pop();
    }
}

fn tokenize(s: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut current = Token { after_dash: false, by_transition: false, text: String::new() };
    let mut in_digits = false;
    for ch in s.chars() {
        if ch == '.' || ch == '-' {
            let next = Token { after_dash: ch == '-', by_transition: false, text: String::new() };
            tokens.push(std::mem::replace(&mut current, next));
            continue;
        }
        let digit = ch.is_ascii_digit();
        if !current.text.is_empty() && digit != in_digits {
            let next = Token { after_dash: true, by_transition: true, text: String::new() };
            tokens.push(std::mem::replace(&mut current, next));
        }
        current.text.push(ch);
        in_digits = digit;
    }
    tokens.push(current);
    tokens
}

fn item(token: &Token, followed_by_digit: bool) -> Item {
    let text = token.text.as_str();
    if text.is_empty() || text.bytes().all(|b| b.is_ascii_digit()) {
        let n = Num::parse(text).unwrap_or_default();
        return if token.after_dash { Item::DashNumber(n) } else { Item::DotNumber(n) };
    }
    let rank = match text {
        "a" if followed_by_digit => 0,
        "b" if followed_by_digit => 1,
        "m" if followed_by_digit => 2,
        "alpha" => 0,
        "beta" => 1,
        "milestone" => 2,
        "rc" | "cr" => 3,
        "snapshot" => 4,
        "ga" | "final" | "release" => RELEASE,
        "sp" => 6,
        _ => return Item::Qualifier(7, text.to_owned()),
    };
    Item::Qualifier(rank, String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|| panic!("{a} or {b} does not parse"))
    }

    #[test]
    fn qualifier_order() {
        let chain = [
            "1.0-alpha-1",
            "1.0-alpha-2",
            "1.0-beta-1",
            "1.0-M1",
            "1.0-rc1",
            "1.0-SNAPSHOT",
            "1.0",
            "1.0-sp",
            "1.0-whatever",
            "1.0-1",
            "1.0.1",
        ];
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Less, "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn specification_examples() {
        assert_eq!(cmp("1", "1.1"), Less);
        assert_eq!(cmp("1-snapshot", "1"), Less);
        assert_eq!(cmp("1", "1-sp"), Less);
        assert_eq!(cmp("1-foo2", "1-foo10"), Less);
        assert_eq!(cmp("1.foo", "1-foo"), Equal);
        assert_eq!(cmp("1-foo", "1-1"), Less);
        assert_eq!(cmp("1-1", "1.1"), Less);
        for same in ["1.ga", "1-ga", "1-0", "1.0", "1.0.0", "1-final", "1.RELEASE"] {
            assert_eq!(cmp(same, "1"), Equal, "{same}");
        }
        assert_eq!(cmp("1-sp", "1-ga"), Greater);
        assert_eq!(cmp("1-sp.1", "1-ga.1"), Greater);
        assert_eq!(cmp("1-sp-1", "1-ga-1"), Less);
        assert_eq!(cmp("1-a1", "1-alpha-1"), Equal);
        assert_eq!(cmp("1.0-CR1", "1.0-RC1"), Equal);
    }

    #[test]
    fn groups_and_inner_zeros() {
        assert_eq!(cmp("1.0-1", "1.0.1"), Less);
        assert_eq!(cmp("2.0.0-1", "2.0.0.1"), Less);
        assert_eq!(cmp("1.0.1", "1"), Greater);
        assert_eq!(cmp("1-0.1", "1"), Greater);
        assert_eq!(cmp("1.0.0-rc1", "1.0-rc1"), Equal);
        assert_eq!(cmp("1.0.0.RC1", "1.0.0-RC1"), Equal);
        assert_eq!(cmp("1.0.alpha", "1"), Less);
        assert_eq!(cmp("1", "1-1"), Less);
        assert_eq!(cmp("1.0.alpha", "1-1"), Less);
    }

    #[test]
    fn jboss_style_qualifiers() {
        assert_eq!(cmp("6.0.0.Alpha7", "6.0.0.Final"), Less);
        assert_eq!(cmp("6.0.0.Final", "6"), Equal);
        assert_eq!(cmp("6.0.0.CR1", "6.0.0.Beta3"), Greater);
        assert_eq!(cmp("5.6.15.Final", "6.0.0.Alpha1"), Less);
        assert_eq!(cmp("4.1.100.Final", "4.1.94.Final"), Greater);
    }

    #[test]
    fn real_artifacts() {
        // log4j-core: 2.15.0 fixed CVE-2021-44228 partially, 2.17.1 the follow-ups.
        assert_eq!(cmp("2.14.1", "2.15.0"), Less);
        assert_eq!(cmp("2.15.0-rc2", "2.15.0"), Less);
        assert_eq!(cmp("2.17.1", "2.17.0"), Greater);
        // Spring's old style: 5.3.18.RELEASE == 5.3.18.
        assert_eq!(cmp("5.3.18.RELEASE", "5.3.18"), Equal);
        assert_eq!(cmp("2.13.4.2", "2.13.4"), Greater);
        assert_eq!(cmp("31.1-jre", "31.1-android"), Greater);
        assert_eq!(cmp("9.4.51.v20230217", "9.4.50.v20221201"), Greater);
    }

    #[test]
    fn rejects_empty_and_spaces() {
        assert_eq!(compare("", "1"), None);
        assert_eq!(compare("1 0", "1"), None);
    }
}
