//! String interning: each distinct id string is stored once, in one arena, and named by a dense
//! `u32`. Joins then run on integers, and tables indexed by interned ids can be plain vectors.
//!
//! Invariant: `intern(s)` returns the same id for equal strings for the life of the interner,
//! ids are dense from 0, and `name(id)` returns the interned text. Per entry the cost is the
//! text's bytes plus 8 bytes of span plus about 5 bytes of hash table (4-byte id, control byte).

use hashbrown::HashTable;
use std::hash::BuildHasher;

/// Dense id of an interned string.
pub type Id = u32;

/// An interner backed by one text arena.
#[derive(Default)]
pub struct Interner {
    text: String,
    spans: Vec<(u32, u32)>,
    table: HashTable<Id>,
    hasher: rustc_hash::FxBuildHasher,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Interner({} strings, {} bytes)", self.spans.len(), self.text.len())
    }
}

impl Interner {
    /// An interner with room for `n` strings of about `avg_len` bytes.
    pub fn with_capacity(n: usize, avg_len: usize) -> Interner {
        Interner {
            text: String::with_capacity(n * avg_len),
            spans: Vec::with_capacity(n),
            table: HashTable::with_capacity(n),
            hasher: rustc_hash::FxBuildHasher,
        }
    }

    /// The text of an id. Panics never: unknown ids give "".
    pub fn name(&self, id: Id) -> &str {
        match self.spans.get(id as usize) {
            Some(&(start, len)) => {
                self.text.get(start as usize..(start + len) as usize).unwrap_or("")
            }
            None => "",
        }
    }

    /// The id of `s`, if interned.
    pub fn get(&self, s: &str) -> Option<Id> {
        let hash = self.hasher.hash_one(s);
        self.table.find(hash, |&id| self.name(id) == s).copied()
    }

    /// The id of `s`, interning it when new.
    pub fn intern(&mut self, s: &str) -> Id {
        if let Some(id) = self.get(s) {
            return id;
        }
        let id = self.spans.len() as Id;
        let start = self.text.len() as u32;
        self.text.push_str(s);
        self.spans.push((start, s.len() as u32));
        let hash = self.hasher.hash_one(s);
        let (text, spans, hasher) = (&self.text, &self.spans, &self.hasher);
        self.table.insert_unique(hash, id, |&other| {
            let (start, len) = spans[other as usize];
            hasher.hash_one(&text[start as usize..(start + len) as usize])
        });
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable_and_dense() {
        let mut i = Interner::default();
        let a = i.intern("asset-1");
        let b = i.intern("asset-2");
        assert_eq!((a, b), (0, 1));
        assert_eq!(i.intern("asset-1"), a);
        assert_eq!(i.name(b), "asset-2");
        assert_eq!(i.get("asset-3"), None);
        for n in 0..10_000 {
            i.intern(&format!("x{n}"));
        }
        assert_eq!(i.get("x9999"), Some(10_001));
        assert_eq!(i.name(2), "x0");
    }
}
