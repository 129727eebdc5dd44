//! The evaluation's view of a data folder laid out like `../shared/data`: the CVE table, the
//! dated EPSS files and a KEV catalog, and what of them was known on a given day.
//!
//! Invariant: nothing dated after the as-of day leaks into [`known_at`] or [`Record::facts_at`]:
//! a table row is known from its `published` day (rows without one never are); SSVC decision points
//! and CISA-ADP CVSS scores are known from the row's `ssvc_timestamp` (the only ADP time the table
//! keeps; rows without one never show them); EPSS comes from the newest file dated on or before
//! the day; KEV dates come from the catalog file only, never from the table's `in_kev` columns.
//! `kev_only` rows are dropped at load: they exist because the CVE is in KEV.

use crate::feeds::{self, cve_table, epss, kev, FeedError, MS_PER_DAY};
use patchline_processors::events::{Cvss, Epss, Ssvc};
use patchline_processors::score::features::CveFacts;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One `vulnrichment` row of the CVE table, with the times that gate its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub published_day: Option<i32>,
    pub cvss: Option<Cvss>,
    /// The CVSS score was written by CISA-ADP (`cvss_source = cisa-adp`), not by the CNA.
    pub cvss_from_adp: bool,
    pub cwes: Vec<String>,
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub has_exploit_ref: bool,
    /// SSVC `automatable` and `technical_impact` (never `exploitation`).
    pub ssvc: Option<Ssvc>,
    /// Day of `ssvc_timestamp`: from then on the ADP container's content is known.
    pub adp_day: Option<i32>,
}

impl Record {
    fn adp_known(&self, day: i32) -> bool {
        self.adp_day.is_some_and(|d| d <= day)
    }

    /// The CVSS score known on `day`.
    pub fn cvss_at(&self, day: i32) -> Option<&Cvss> {
        self.cvss.as_ref().filter(|_| !self.cvss_from_adp || self.adp_known(day))
    }

    /// The facts known on `day`, for feature extraction.
    pub fn facts_at(&self, day: i32) -> CveFacts<'_> {
        CveFacts {
            cvss: self.cvss_at(day),
            cwes: &self.cwes,
            vendor: self.vendor.as_deref(),
            product: self.product.as_deref(),
            has_exploit_ref: self.has_exploit_ref,
            ssvc: self.ssvc.as_ref().filter(|_| self.adp_known(day)),
            published_day: self.published_day,
            kev_vendor_others: None,
        }
    }
}

fn day_of(ms: i64) -> i32 {
    // Days since the epoch of any instant in the feeds fit in i32.
    ms.div_euclid(MS_PER_DAY) as i32
}

/// `(cve_id, ssvc_timestamp ms, cvss_source)` of one table row.
type AdpColumns = (String, Option<i64>, Option<String>);

/// Reads `ssvc_timestamp` and `cvss_source`, which [`cve_table::CveRow`] does not keep, through
/// the same parser: the header is rewritten so that `ssvc_timestamp` reads as `published` and
/// `cvss_source` as `vendor`, and every other column but `cve_id` is renamed away. Returns, in
/// file order, `(cve_id, ssvc_timestamp ms, cvss_source)`.
fn adp_columns(text: &str) -> Result<Vec<AdpColumns>, FeedError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (header, rest) = text.split_once('\n').unwrap_or((text, ""));
    let renamed: Vec<String> = header
        .trim_end_matches('\r')
        .split(',')
        .enumerate()
        .map(|(i, name)| match name.trim() {
            "cve_id" => "cve_id".to_string(),
            "ssvc_timestamp" => "published".to_string(),
            "cvss_source" => "vendor".to_string(),
            _ => format!("unused_{i}"),
        })
        .collect();
    let rewritten = format!("{}\n{rest}", renamed.join(","));
    Ok(cve_table::parse_rows(&rewritten)?
        .into_iter()
        .map(|row| (row.cve_id, row.published, row.vendor))
        .collect())
}

/// Parses the CVE table text into records, dropping `kev_only` rows.
pub fn parse_table(text: &str) -> Result<Vec<Record>, FeedError> {
    let rows = cve_table::parse_rows(text)?;
    let adp = adp_columns(text)?;
    if adp.len() != rows.len() {
        return Err(FeedError::malformed(cve_table::FEED, 0, "ADP columns misaligned"));
    }
    let mut records = Vec::with_capacity(rows.len());
    for (row, (id, ssvc_ms, cvss_source)) in rows.into_iter().zip(adp) {
        if id != row.cve_id {
            return Err(FeedError::malformed(cve_table::FEED, 0, format!("row {id} misaligned")));
        }
        if row.record_source.as_deref() == Some("kev_only") {
            continue;
        }
        let ssvc = (row.ssvc_automatable.is_some() || row.ssvc_technical_impact.is_some())
            .then_some(Ssvc {
                exploitation: None,
                automatable: row.ssvc_automatable,
                technical_impact: row.ssvc_technical_impact,
            });
        records.push(Record {
            cvss: row.cvss_base_score.map(|base_score| Cvss {
                version: row.cvss_version.clone().unwrap_or_else(|| "unknown".into()),
                base_score,
                vector: row.cvss_vector.clone(),
            }),
            cvss_from_adp: cvss_source.as_deref() == Some("cisa-adp"),
            published_day: row.published.map(day_of),
            cwes: row.cwes,
            vendor: row.vendor,
            product: row.product,
            has_exploit_ref: row.has_exploit_ref == Some(true),
            ssvc,
            adp_day: ssvc_ms.map(day_of),
            id: row.cve_id,
        });
    }
    Ok(records)
}

/// The CVE table of `dir`: `cve/cve_table.csv.gz`, else `cve/cve_table.csv`.
pub fn load_table(dir: &Path) -> Result<Vec<Record>, FeedError> {
    let gz = dir.join("cve/cve_table.csv.gz");
    let path = if gz.is_file() { gz } else { dir.join("cve/cve_table.csv") };
    parse_table(&feeds::open_text(path)?)
}

/// Day in a file name `epss_scores-YYYY-MM-DD<anything>.csv[.gz]`.
pub fn epss_file_day(name: &str) -> Option<i32> {
    let rest = name.strip_prefix("epss_scores-")?;
    if !(name.ends_with(".csv.gz") || name.ends_with(".csv")) {
        return None;
    }
    feeds::days_from_ymd(rest.get(..10)?)
}

/// The EPSS files of `dir/epss`, as `(day, path)` sorted by day then name.
pub fn epss_files(dir: &Path) -> Result<Vec<(i32, PathBuf)>, std::io::Error> {
    let folder = dir.join("epss");
    if !folder.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        let day = path.file_name().and_then(|n| n.to_str()).and_then(epss_file_day);
        if let Some(day) = day.filter(|_| path.is_file()) {
            files.push((day, path));
        }
    }
    files.sort();
    Ok(files)
}

/// EPSS scores by CVE id.
pub type EpssMap = HashMap<String, Epss>;

/// The scores of the newest day on or before `day` (all files of that day, merged in name order,
/// the first score of a CVE winning), with that day; `None` when no file qualifies.
pub fn epss_as_of(
    files: &[(i32, PathBuf)],
    day: i32,
) -> Result<Option<(i32, Vec<PathBuf>, EpssMap)>, FeedError> {
    let Some(newest) = files.iter().map(|(d, _)| *d).filter(|&d| d <= day).max() else {
        return Ok(None);
    };
    let mut map = EpssMap::new();
    let mut used = Vec::new();
    for (_, path) in files.iter().filter(|(d, _)| *d == newest) {
        for signal in epss::parse_scores(&feeds::open_text(path)?, Some(newest))? {
            if let Some(score) = signal.epss {
                map.entry(signal.cve_id).or_insert(score);
            }
        }
        used.push(path.clone());
    }
    Ok(Some((newest, used, map)))
}

/// Day each CVE was added to KEV, from the text of a catalog in CISA's JSON format.
pub fn parse_kev(json: &str) -> Result<HashMap<String, i32>, FeedError> {
    let signals = kev::parse_catalog(json, 0)?;
    Ok(signals.into_iter().filter_map(|s| Some((s.cve_id, s.kev?.date_added))).collect())
}

/// A CVE known on some day: its table record, its EPSS score, or both.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub id: &'a str,
    pub record: Option<&'a Record>,
    pub epss: Option<&'a Epss>,
}

/// Every CVE known on `day`: table records published on or before it (in table order), then CVEs
/// that only the EPSS scores know (sorted by id). A CVE appears once.
pub fn known_at<'a>(records: &'a [Record], epss: Option<&'a EpssMap>, day: i32) -> Vec<Item<'a>> {
    let mut seen = std::collections::HashSet::new();
    let mut items: Vec<Item<'a>> = records
        .iter()
        .filter(|r| r.published_day.is_some_and(|p| p <= day))
        .filter(|r| seen.insert(r.id.as_str()))
        .map(|r| Item { id: &r.id, record: Some(r), epss: epss.and_then(|m| m.get(&r.id)) })
        .collect();
    if let Some(map) = epss {
        let mut extra: Vec<(&String, &Epss)> =
            map.iter().filter(|(id, _)| !seen.contains(id.as_str())).collect();
        extra.sort_by(|a, b| a.0.cmp(b.0));
        items.extend(extra.into_iter().map(|(id, e)| Item { id, record: None, epss: Some(e) }));
    }
    items
}
