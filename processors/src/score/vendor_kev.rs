//! The vendor's KEV history, kept live: how many *other* CVEs of a vendor are in KEV, for the
//! `kev_vendor` feature of the exploit-likelihood model, as advisories (which name the vendor)
//! and KEV signals arrive in any order.
//!
//! Invariants: `count[v]` is the number of ids whose current vendor is `v` and that are in KEV;
//! [`VendorKev::others`] never counts the id itself, so a CVE's own KEV entry (its label) never
//! reaches its own feature. Vendors match by [`vendor_key`].

use super::features::vendor_key;
use rustc_hash::{FxHashMap, FxHashSet};
use std::hash::Hash;

/// KEV membership per vendor.
#[derive(Debug, Clone)]
pub struct VendorKev<K> {
    vendors: FxHashMap<String, u32>,
    count: Vec<u32>,
    vendor_of: FxHashMap<K, u32>,
    in_kev: FxHashSet<K>,
}

impl<K> Default for VendorKev<K> {
    fn default() -> Self {
        VendorKev {
            vendors: FxHashMap::default(),
            count: Vec::new(),
            vendor_of: FxHashMap::default(),
            in_kev: FxHashSet::default(),
        }
    }
}

impl<K: Hash + Eq + Clone> VendorKev<K> {
    /// Records the vendor an advisory names for `id` (a changed vendor moves its KEV count).
    pub fn set_vendor(&mut self, id: &K, vendor: Option<&str>) {
        let Some(key) = vendor.and_then(vendor_key) else { return };
        let next = self.vendors.len() as u32;
        let v = *self.vendors.entry(key).or_insert(next);
        if v as usize == self.count.len() {
            self.count.push(0);
        }
        let kev = self.in_kev.contains(id);
        if let Some(old) = self.vendor_of.insert(id.clone(), v) {
            if kev && old != v {
                self.count[old as usize] -= 1;
                self.count[v as usize] += 1;
            }
        } else if kev {
            self.count[v as usize] += 1;
        }
    }

    /// Records that `id` is in KEV.
    pub fn set_kev(&mut self, id: &K) {
        if self.in_kev.insert(id.clone()) {
            if let Some(&v) = self.vendor_of.get(id) {
                self.count[v as usize] += 1;
            }
        }
    }

    /// KEV entries of `id`'s vendor other than `id` itself; `None` when its vendor is unknown.
    pub fn others(&self, id: &K) -> Option<usize> {
        let v = *self.vendor_of.get(id)?;
        let all = self.count[v as usize] as usize;
        Some(all - usize::from(self.in_kev.contains(id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_vendors_and_kev_in_any_order_and_never_count_the_cve_itself() {
        let mut vk: VendorKev<&str> = VendorKev::default();
        vk.set_kev(&"CVE-1"); // KEV before the advisory
        vk.set_vendor(&"CVE-1", Some("Ivanti"));
        vk.set_vendor(&"CVE-2", Some("ivanti connect"));
        vk.set_vendor(&"CVE-3", Some("Acme"));
        assert_eq!(vk.others(&"CVE-2"), Some(1));
        assert_eq!(vk.others(&"CVE-1"), Some(0), "its own entry does not count");
        vk.set_kev(&"CVE-2");
        vk.set_kev(&"CVE-2"); // twice is once
        assert_eq!(vk.others(&"CVE-1"), Some(1));
        vk.set_vendor(&"CVE-2", Some("Acme")); // a corrected vendor moves the count
        assert_eq!((vk.others(&"CVE-1"), vk.others(&"CVE-3")), (Some(0), Some(1)));
        assert_eq!(vk.others(&"CVE-9"), None);
    }
}
