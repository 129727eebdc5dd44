//! PEP 440 version ordering, used by PyPI.
//!
//! Accepted form (case-insensitive, surrounding whitespace ignored, optional leading `v`):
//! `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]` with the spellings PEP 440 normalizes:
//! `alpha`/`beta`/`c`/`pre`/`preview`, optional `.`/`-`/`_` separators and implicit numbers,
//! `rev`/`r` and `-N` for post releases.
//!
//! Invariant: [`compare`] orders the normalized key (epoch, release without trailing zeros,
//! pre-release, post, dev, local) lexicographically, so it is a total order in which
//! `1.0.dev0 < 1.0a1 < 1.0b2 < 1.0rc1 < 1.0 < 1.0+local < 1.0.post1`, and spellings that PEP 440
//! normalizes to the same version (`1.0-ALPHA.1`, `1.0a1`) are Equal.

use std::cmp::Ordering;

use super::num::Num;

/// Pre-release kind, in PEP 440 order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreKind {
    Alpha,
    Beta,
    Candidate,
}

/// Pre-release slot of the key. A dev release of a final version (`1.0.dev1`) sorts before all
/// pre-releases of it; a version without pre-release after all of them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PreKey {
    DevOfFinal,
    Pre(PreKind, Num),
    Final,
}

/// Dev slot of the key: a dev release sorts before the same version without `.dev`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum DevKey {
    Dev(Num),
    NotDev,
}

/// One local-version segment: numeric segments sort after alphanumeric ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment {
    Alpha(String),
    Numeric(Num),
}

/// The normalized sort key of a version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    epoch: Num,
    release: Vec<Num>,
    pre: PreKey,
    /// `None` (no post release) sorts before any post release.
    post: Option<Num>,
    dev: DevKey,
    /// Empty (no local version) sorts before any local version.
    local: Vec<LocalSegment>,
}

/// Compares two PEP 440 versions; `None` when either does not parse.
pub(crate) fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(parse(a)?.cmp(&parse(b)?))
}

/// A cursor over the lower-cased version text.
struct Cursor {
    text: Vec<u8>,
    at: usize,
}

impl Cursor {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn peek_digit(&self, offset: usize) -> bool {
        self.text.get(self.at + offset).is_some_and(u8::is_ascii_digit)
    }

    fn eat(&mut self, c: u8) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.at += 1;
        }
        found
    }

    fn eat_separator(&mut self) {
        if matches!(self.peek(), Some(b'.' | b'-' | b'_')) {
            self.at += 1;
        }
    }

    /// The first of `words` the text continues with (list longer spellings first).
    fn eat_word<'w>(&mut self, words: &[&'w str]) -> Option<&'w str> {
        let rest = &self.text[self.at..];
        let word = words.iter().find(|w| rest.starts_with(w.as_bytes()))?;
        self.at += word.len();
        Some(word)
    }

    fn number(&mut self) -> Option<Num> {
        let start = self.at;
        while self.peek_digit(0) {
            self.at += 1;
        }
        std::str::from_utf8(&self.text[start..self.at]).ok().and_then(Num::parse)
    }

    /// `[-_.]? word [-_.]? N?`: the number after a pre, post or dev label, 0 when implicit.
    /// Restores the position and returns `None` when no word of `words` follows.
    fn labelled<'w>(&mut self, words: &[&'w str]) -> Option<(&'w str, Num)> {
        let start = self.at;
        self.eat_separator();
        let Some(word) = self.eat_word(words) else {
            self.at = start;
            return None;
        };
        self.eat_separator();
        Some((word, self.number().unwrap_or_default()))
    }
}

fn parse(input: &str) -> Option<Key> {
    let mut c = Cursor { text: input.trim().to_ascii_lowercase().into_bytes(), at: 0 };
    c.eat(b'v');
    let first = c.number()?;
    let (epoch, first) = if c.eat(b'!') { (first, c.number()?) } else { (Num::zero(), first) };
    let mut release = vec![first];
    while c.peek() == Some(b'.') && c.peek_digit(1) {
        c.at += 1;
        release.push(c.number()?);
    }
    while release.last().is_some_and(Num::is_zero) {
        release.pop();
    }

    let pre_words = ["alpha", "a", "beta", "b", "preview", "pre", "rc", "c"];
    let pre = c.labelled(&pre_words).map(|(word, n)| match word {
        "alpha" | "a" => (PreKind::Alpha, n),
        "beta" | "b" => (PreKind::Beta, n),
        _ => (PreKind::Candidate, n),
    });
    let post = if c.peek() == Some(b'-') && c.peek_digit(1) {
        c.at += 1;
        c.number()
    } else {
        c.labelled(&["post", "rev", "r"]).map(|(_, n)| n)
    };
    let dev = c.labelled(&["dev"]).map(|(_, n)| n);
    let local = if c.eat(b'+') {
        local_segments(&c.text[c.at..])?
    } else if c.peek().is_some() {
        return None;
    } else {
        Vec::new()
    };

    let pre = match (pre, &post, &dev) {
        (Some((kind, n)), _, _) => PreKey::Pre(kind, n),
        (None, None, Some(_)) => PreKey::DevOfFinal,
        (None, _, _) => PreKey::Final,
    };
    let dev = dev.map_or(DevKey::NotDev, DevKey::Dev);
    Some(Key { epoch, release, pre, post, dev, local })
}

/// `[a-z0-9]+([-_.][a-z0-9]+)*`, split into segments; `None` when malformed.
fn local_segments(text: &[u8]) -> Option<Vec<LocalSegment>> {
    let text = std::str::from_utf8(text).ok()?;
    text.split(['.', '-', '_'])
        .map(|segment| {
            if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return None;
            }
            Some(match Num::parse(segment) {
                Some(n) => LocalSegment::Numeric(n),
                None => LocalSegment::Alpha(segment.to_owned()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|| panic!("{a} or {b} does not parse"))
    }

    #[test]
    fn dev_pre_release_post_order() {
        let chain = [
            "1.0.dev0",
            "1.0.dev1",
            "1.0a1.dev1",
            "1.0a1",
            "1.0a2",
            "1.0b2",
            "1.0b2.post1",
            "1.0rc1",
            "1.0",
            "1.0+abc",
            "1.0+abc.5",
            "1.0+5",
            "1.0.post1.dev0",
            "1.0.post1",
            "1.0.1",
            "1.1.dev0",
        ];
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Less, "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn epoch_and_release_padding() {
        assert_eq!(cmp("1!0.1", "2.0"), Greater);
        assert_eq!(cmp("0!2.0", "2.0"), Equal);
        assert_eq!(cmp("1.0", "1.0.0.0"), Equal);
        assert_eq!(cmp("1.10", "1.9"), Greater);
        assert_eq!(cmp("2.2", "2.2.27"), Less);
        assert_eq!(cmp("1.0.1.14", "1.0.1.9"), Greater);
    }

    #[test]
    fn normalized_spellings_are_equal() {
        let equal = [
            ("1.0-ALPHA.1", "1.0a1"),
            ("1.0alpha", "1.0a0"),
            ("1.0.beta-2", "1.0b2"),
            ("1.0c1", "1.0rc1"),
            ("1.0pre1", "1.0rc1"),
            ("1.0-preview_3", "1.0rc3"),
            ("1.0-1", "1.0.post1"),
            ("1.0.rev2", "1.0.post2"),
            ("1.0r", "1.0.post0"),
            ("1.0post", "1.0.post0"),
            ("1.0-dev", "1.0.dev0"),
            ("v1.0", "1.0"),
            (" 1.0 ", "1.0"),
            ("1.0+ubuntu-1", "1.0+ubuntu.1"),
            ("1.0+01", "1.0+1"),
        ];
        for (a, b) in equal {
            assert_eq!(cmp(a, b), Equal, "{a} == {b}");
        }
    }

    #[test]
    fn local_versions() {
        assert_eq!(cmp("1.0+a", "1.0+b"), Less);
        assert_eq!(cmp("1.0+a", "1.0+1"), Less);
        assert_eq!(cmp("1.0+1", "1.0+1.a"), Less);
        assert_eq!(cmp("1.0+2", "1.0+10"), Less);
        assert_eq!(cmp("1.0+cpu", "1.0.post0"), Less);
    }

    #[test]
    fn rejects_non_pep440() {
        let bad =
            ["", "abc", "1.0-SNAPSHOT", "1.0+", "1.0+a..b", "1.0.x", "1!", "1.0 2", "1.0a1b2"];
        for v in bad {
            assert_eq!(compare(v, "1.0"), None, "{v:?}");
        }
    }
}
