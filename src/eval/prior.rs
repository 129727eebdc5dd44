//! A vendor's KEV history as a model feature: how many *other* CVEs of the same vendor CISA had
//! added to KEV by a given day, from the catalog file.
//!
//! Invariant: the count at day `d` reads only catalog entries with `dateAdded <= d`, and never
//! the CVE's own entry, so a CVE's own label (its KEV date) cannot reach its feature, in training
//! or in the test. Vendors are matched by `score::features::vendor_key` on both sides (the CVE table's vendor and
//! the catalog's `vendorProject`); a CVE without a vendor gets no feature.

use crate::feeds::{days_from_ymd, kev, FeedError};
use patchline_processors::score::features::vendor_key;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize)]
struct Catalog {
    vulnerabilities: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(rename = "vendorProject", default)]
    vendor_project: String,
    #[serde(rename = "dateAdded")]
    date_added: String,
}

/// KEV dates by vendor key, and each CVE's own `(vendor key, date)`.
#[derive(Debug, Clone, Default)]
pub struct VendorPrior {
    dates: HashMap<String, Vec<i32>>,
    own: HashMap<String, (String, i32)>,
}

impl VendorPrior {
    /// Reads a catalog in CISA's JSON format. Entries without a vendor or with an unreadable
    /// date are skipped (the KEV labels come from the strict parser in [`super::data`]).
    pub fn from_catalog(json: &str) -> Result<VendorPrior, FeedError> {
        let catalog: Catalog = serde_json::from_str(json)
            .map_err(|source| FeedError::Json { feed: kev::FEED, source })?;
        let mut prior = VendorPrior::default();
        for entry in catalog.vulnerabilities {
            let (Some(key), Some(day)) =
                (vendor_key(&entry.vendor_project), days_from_ymd(entry.date_added.trim()))
            else {
                continue;
            };
            prior.dates.entry(key.clone()).or_default().push(day);
            prior.own.insert(entry.cve_id.trim().to_string(), (key, day));
        }
        for dates in prior.dates.values_mut() {
            dates.sort_unstable();
        }
        Ok(prior)
    }

    /// KEV entries of `vendor` added on or before `day`, not counting `cve_id`'s own entry;
    /// `None` when the vendor is missing.
    pub fn others(&self, cve_id: &str, vendor: Option<&str>, day: i32) -> Option<usize> {
        let key = vendor_key(vendor?)?;
        let all = self.dates.get(&key).map_or(0, |dates| dates.partition_point(|&d| d <= day));
        let own = self.own.get(cve_id).is_some_and(|(k, d)| *k == key && *d <= day);
        Some(all - usize::from(own))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = r#"{"vulnerabilities": [
      {"cveID": "CVE-1", "vendorProject": "Microsoft", "dateAdded": "2024-01-10"},
      {"cveID": "CVE-2", "vendorProject": "microsoft ", "dateAdded": "2024-02-10"},
      {"cveID": "CVE-3", "vendorProject": "Apache", "dateAdded": "2024-03-10"},
      {"cveID": "CVE-4", "vendorProject": "", "dateAdded": "2024-03-10"}
    ]}"#;

    #[test]
    fn counts_other_entries_known_on_the_day() {
        let prior = VendorPrior::from_catalog(CATALOG).unwrap();
        let day = |s: &str| days_from_ymd(s).unwrap();
        // Before any entry, nothing is known.
        assert_eq!(prior.others("CVE-9", Some("Microsoft Corp"), day("2024-01-09")), Some(0));
        assert_eq!(prior.others("CVE-9", Some("Microsoft Corp"), day("2024-02-10")), Some(2));
        // A CVE's own entry never counts, before or after its date.
        assert_eq!(prior.others("CVE-2", Some("Microsoft"), day("2024-02-09")), Some(1));
        assert_eq!(prior.others("CVE-2", Some("Microsoft"), day("2024-12-31")), Some(1));
        assert_eq!(
            prior.others("CVE-9", Some("Apache Software Foundation"), day("2025-01-01")),
            Some(1)
        );
        assert_eq!(prior.others("CVE-9", Some("n/a"), day("2025-01-01")), None);
        assert_eq!(prior.others("CVE-9", None, day("2025-01-01")), None);
    }
}
