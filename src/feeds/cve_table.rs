//! The compact CVE table derived from cisagov/vulnrichment (`cve_table.csv.gz`, or its demo
//! subset `data/demo/cves.csv`) to [`CveRow`]s and [`Advisory`] events.
//!
//! Invariant: columns are found by header name, so any subset or order of the table's columns
//! parses; only `cve_id` is required and an absent column reads as `None`. An advisory built by
//! [`CveRow::to_advisory`] never carries `ssvc.exploitation` or any KEV field: those columns were
//! written after exploitation was known (leakage) and stay on the row, for evaluation code only.
//! A value the table's schema does not allow is an error naming the line, never a silent `None`.

use super::{csv, days_from_ymd, ms_from_iso8601, FeedError};
use patchline_processors::events::{
    Advisory, AffectedPackage, Cvss, Exploitation, Provenance, Ssvc, TechnicalImpact,
};
use std::borrow::Cow;
use std::collections::HashMap;

/// Feed name in [`Provenance::feed`].
pub const FEED: &str = "cve";

/// One row of the CVE table, typed. Empty cells and absent columns are `None` (or empty).
#[derive(Debug, Clone, PartialEq)]
pub struct CveRow {
    /// CVE id.
    pub cve_id: String,
    /// Record state: `PUBLISHED` or `REJECTED` (absent for `kev_only` rows).
    pub state: Option<String>,
    /// `datePublished` of the CVE record, ms since the epoch (UTC).
    pub published: Option<i64>,
    /// CVSS version of `cvss_base_score`, e.g. `3.1`, `4.0` (`3.x` on `kev_only` rows).
    pub cvss_version: Option<String>,
    /// CVSS base score, 0 to 10.
    pub cvss_base_score: Option<f32>,
    /// CVSS vector string.
    pub cvss_vector: Option<String>,
    /// CWE ids (the `;`-joined `cwe` column, split).
    pub cwes: Vec<String>,
    /// Vendor of the first affected product.
    pub vendor: Option<String>,
    /// First affected product.
    pub product: Option<String>,
    /// A reference of the record is (heuristically) an exploit or proof of concept.
    pub has_exploit_ref: Option<bool>,
    /// SSVC: the kill chain can be automated.
    pub ssvc_automatable: Option<bool>,
    /// SSVC technical impact.
    pub ssvc_technical_impact: Option<TechnicalImpact>,
    /// `vulnrichment` or `kev_only`. Leakage-prone: `kev_only` rows exist because the CVE is in
    /// KEV; exclude them from population rates.
    pub record_source: Option<String>,
    /// In KEV as of the table's snapshot. Leakage: a label, not a feature.
    pub in_kev: Option<bool>,
    /// Day the CVE was added to KEV (days since epoch). Leakage: a label, not a feature.
    pub kev_date_added: Option<i32>,
    /// SSVC exploitation. Leakage: `active` was written after exploitation was seen.
    pub ssvc_exploitation: Option<Exploitation>,
}

/// Column positions by header name, and the record width.
struct Layout {
    width: usize,
    columns: HashMap<String, usize>,
}

/// Typed access to the cells of one record, by column name.
struct Cells<'r, 'a> {
    layout: &'r Layout,
    fields: &'r [Cow<'a, str>],
    line: usize,
}

impl Cells<'_, '_> {
    /// The trimmed cell, `None` when the column is absent or the cell empty.
    fn text(&self, column: &str) -> Option<&str> {
        let value = self.fields.get(*self.layout.columns.get(column)?)?.trim();
        (!value.is_empty()).then_some(value)
    }

    fn string(&self, column: &str) -> Option<String> {
        self.text(column).map(str::to_string)
    }

    /// Parses a non-empty cell with `parse`; an unparsable value is an error naming the column.
    fn typed<T>(
        &self,
        column: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, FeedError> {
        match self.text(column) {
            None => Ok(None),
            Some(value) => parse(value).map(Some).ok_or_else(|| {
                FeedError::malformed(FEED, self.line, format!("invalid {column} {value:?}"))
            }),
        }
    }
}

fn flag(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" => Some(true),
        "0" | "no" | "false" => Some(false),
        _ => None,
    }
}

fn score(value: &str) -> Option<f32> {
    value.parse::<f32>().ok().filter(|s| (0.0..=10.0).contains(s))
}

fn technical_impact(value: &str) -> Option<TechnicalImpact> {
    match value.to_ascii_lowercase().as_str() {
        "partial" => Some(TechnicalImpact::Partial),
        "total" => Some(TechnicalImpact::Total),
        _ => None,
    }
}

fn exploitation(value: &str) -> Option<Exploitation> {
    match value.to_ascii_lowercase().as_str() {
        "none" => Some(Exploitation::None),
        "poc" => Some(Exploitation::Poc),
        "active" => Some(Exploitation::Active),
        _ => None,
    }
}

impl CveRow {
    fn from_cells(cells: &Cells<'_, '_>) -> Result<CveRow, FeedError> {
        let cve_id = cells
            .string("cve_id")
            .ok_or_else(|| FeedError::malformed(FEED, cells.line, "empty cve_id"))?;
        let cwes = cells.text("cwe").map_or_else(Vec::new, |list| {
            list.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect()
        });
        Ok(CveRow {
            cve_id,
            state: cells.string("state"),
            published: cells.typed("published", ms_from_iso8601)?,
            cvss_version: cells.string("cvss_version"),
            cvss_base_score: cells.typed("cvss_base_score", score)?,
            cvss_vector: cells.string("cvss_vector"),
            cwes,
            vendor: cells.string("vendor"),
            product: cells.string("product"),
            has_exploit_ref: cells.typed("has_exploit_ref", flag)?,
            ssvc_automatable: cells.typed("ssvc_automatable", flag)?,
            ssvc_technical_impact: cells.typed("ssvc_technical_impact", technical_impact)?,
            record_source: cells.string("record_source"),
            in_kev: cells.typed("in_kev", flag)?,
            kev_date_added: cells.typed("kev_date_added", days_from_ymd)?,
            ssvc_exploitation: cells.typed("ssvc_exploitation", exploitation)?,
        })
    }

    /// The `vendor:product` name of the affected product, lower-cased, when both are known.
    pub fn product_name(&self) -> Option<String> {
        let vendor = self.vendor.as_deref()?;
        let product = self.product.as_deref()?;
        Some(format!("{vendor}:{product}").to_lowercase())
    }

    /// The advisory this row describes, as fetched at `fetched_at_ms`.
    ///
    /// - `modified` is `published` when known, else `fetched_at_ms`; a `REJECTED` record is
    ///   withdrawn at `fetched_at_ms` (when it was seen rejected).
    /// - `affected` is one `vendor` product, `vendor:product` lower-cased, every version.
    /// - `exploit_refs` is the record's cve.org URL when `has_exploit_ref` is set: the table keeps
    ///   only the flag, and that record's references include the exploit.
    /// - `ssvc.exploitation` is always `None` (leakage); `ssvc` is set when `automatable` or
    ///   `technical_impact` is known.
    pub fn to_advisory(&self, fetched_at_ms: i64) -> Advisory {
        let cvss = self.cvss_base_score.map(|base_score| Cvss {
            version: self.cvss_version.clone().unwrap_or_else(|| "unknown".to_string()),
            base_score,
            vector: self.cvss_vector.clone(),
        });
        let affected = self
            .product_name()
            .map(|name| {
                vec![AffectedPackage { ecosystem: "vendor".to_string(), name, ranges: Vec::new() }]
            })
            .unwrap_or_default();
        let exploit_refs = if self.has_exploit_ref == Some(true) {
            vec![format!("https://www.cve.org/CVERecord?id={}", self.cve_id)]
        } else {
            Vec::new()
        };
        let ssvc = (self.ssvc_automatable.is_some() || self.ssvc_technical_impact.is_some())
            .then_some(Ssvc {
                exploitation: None,
                automatable: self.ssvc_automatable,
                technical_impact: self.ssvc_technical_impact,
            });
        let rejected = self.state.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("REJECTED"));
        Advisory {
            id: self.cve_id.clone(),
            aliases: Vec::new(),
            published: self.published,
            modified: self.published.unwrap_or(fetched_at_ms),
            withdrawn: rejected.then_some(fetched_at_ms),
            summary: String::new(),
            cvss,
            cwes: self.cwes.clone(),
            affected,
            exploit_refs,
            ssvc,
            provenance: Provenance {
                feed: FEED.to_string(),
                feed_version: None,
                fetched_at: fetched_at_ms,
            },
        }
    }
}

/// Parses the CVE table (header row first), in file order.
pub fn parse_rows(text: &str) -> Result<Vec<CveRow>, FeedError> {
    let mut records = csv::records(text, FEED);
    let Some(header) = records.next().transpose()? else {
        return Ok(Vec::new());
    };
    let columns: HashMap<String, usize> =
        header.fields.iter().enumerate().map(|(i, name)| (name.trim().to_string(), i)).collect();
    if !columns.contains_key("cve_id") {
        return Err(FeedError::malformed(FEED, header.line, "header lacks column \"cve_id\""));
    }
    let layout = Layout { width: header.fields.len(), columns };
    records
        .map(|record| {
            let record = record?;
            if record.fields.len() != layout.width {
                let message =
                    format!("expected {} fields, found {}", layout.width, record.fields.len());
                return Err(FeedError::malformed(FEED, record.line, message));
            }
            CveRow::from_cells(&Cells {
                layout: &layout,
                fields: &record.fields,
                line: record.line,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four rows under 17 of the full table's 28 column names: a scored KEV CVE, quoted vendor and
    /// product, a `kev_only` row and a rejected record.
    const FULL: &str = "cve_id,state,published,assigner,cvss_version,cvss_base_score,cvss_vector,cwe,vendor,product,\
has_exploit_ref,ssvc_exploitation,ssvc_automatable,ssvc_technical_impact,in_kev,kev_date_added,record_source\r\n\
CVE-2021-44228,PUBLISHED,2021-12-10T00:00:00,apache,3.1,10.0,CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H,CWE-502;CWE-400,\
Apache Software Foundation,Apache Log4j2,1,active,yes,total,1,2021-12-10,vulnrichment\r\n\
CVE-2023-39507,PUBLISHED,2023-08-16T08:47:29,jpcert,,,,,\"Recruit Co., Ltd.\",\"\"\"Rikunabi NEXT\"\" App for Android\",0,none,no,partial,0,,vulnrichment\r\n\
CVE-2013-4810,,,,3.x,9.8,,CWE-94,,,,,,,1,2022-03-25,kev_only\r\n\
CVE-2024-0001,REJECTED,,,,,,,,,,,,,0,,vulnrichment\r\n";

    #[test]
    fn parses_the_full_layout() {
        let rows = parse_rows(FULL).unwrap();
        assert_eq!(rows.len(), 4);
        let log4j = &rows[0];
        assert_eq!(log4j.published, ms_from_iso8601("2021-12-10T00:00:00Z"));
        assert_eq!(log4j.cvss_base_score, Some(10.0));
        assert_eq!(log4j.cwes, vec!["CWE-502", "CWE-400"]);
        assert_eq!(
            log4j.product_name().as_deref(),
            Some("apache software foundation:apache log4j2")
        );
        assert_eq!((log4j.in_kev, log4j.kev_date_added), (Some(true), days_from_ymd("2021-12-10")));
        assert_eq!(log4j.ssvc_exploitation, Some(Exploitation::Active));
        assert_eq!(rows[1].product.as_deref(), Some("\"Rikunabi NEXT\" App for Android"));
        assert_eq!(rows[1].cvss_base_score, None);
        assert_eq!(rows[2].record_source.as_deref(), Some("kev_only"));
        assert_eq!(rows[2].has_exploit_ref, None);
    }

    #[test]
    fn advisories_carry_no_leakage_fields() {
        let rows = parse_rows(FULL).unwrap();
        let advisory = rows[0].to_advisory(7);
        assert_eq!(advisory.id, "CVE-2021-44228");
        assert_eq!(advisory.modified, rows[0].published.unwrap());
        let cvss = advisory.cvss.as_ref().unwrap();
        assert_eq!((cvss.version.as_str(), cvss.base_score), ("3.1", 10.0));
        assert_eq!(advisory.affected[0].ecosystem, "vendor");
        assert_eq!(advisory.exploit_refs, vec!["https://www.cve.org/CVERecord?id=CVE-2021-44228"]);
        let ssvc = advisory.ssvc.unwrap();
        assert_eq!(ssvc.exploitation, None, "ssvc_exploitation=active must not leak");
        assert_eq!(
            (ssvc.automatable, ssvc.technical_impact),
            (Some(true), Some(TechnicalImpact::Total))
        );
        assert_eq!(
            advisory.provenance,
            Provenance { feed: "cve".into(), feed_version: None, fetched_at: 7 }
        );
        assert_eq!(advisory.withdrawn, None);

        let kev_only = rows[2].to_advisory(7);
        assert_eq!((kev_only.published, kev_only.modified), (None, 7));
        assert!(
            kev_only.affected.is_empty()
                && kev_only.ssvc.is_none()
                && kev_only.exploit_refs.is_empty()
        );
        assert_eq!(kev_only.cvss.unwrap().version, "3.x");
        assert_eq!(rows[3].to_advisory(7).withdrawn, Some(7));
    }

    #[test]
    fn subset_and_reordered_columns_parse() {
        let rows = parse_rows("product,cve_id\nlog4j,CVE-2021-44228\n").unwrap();
        assert_eq!(rows[0].cve_id, "CVE-2021-44228");
        assert_eq!((rows[0].product.as_deref(), rows[0].vendor.as_deref()), (Some("log4j"), None));
        assert!(rows[0].to_advisory(0).affected.is_empty());
        assert!(parse_rows("").unwrap().is_empty());
    }

    #[test]
    fn malformed_rows_are_errors() {
        assert!(parse_rows("id,product\nCVE-1,x\n").unwrap_err().to_string().contains("cve_id"));
        let err = parse_rows("cve_id,cvss_base_score\nCVE-1,11\n").unwrap_err().to_string();
        assert_eq!(err, "cve, line 2: invalid cvss_base_score \"11\"");
        assert!(parse_rows("cve_id,ssvc_automatable\nCVE-1,maybe\n").is_err());
        assert!(parse_rows("cve_id,published\nCVE-1,2024-13-01T00:00:00\n").is_err());
        assert!(parse_rows("cve_id,vendor\nCVE-1,a,b\n")
            .unwrap_err()
            .to_string()
            .contains("expected 2 fields"));
        assert!(parse_rows("cve_id\n\"CVE-1\n").is_err());
        assert!(parse_rows("cve_id,vendor\n,x\n").is_err());
    }

    #[test]
    fn parses_the_bundled_demo_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/cves.csv");
        let text = super::super::open_text(path).unwrap();
        let rows = parse_rows(&text).unwrap();
        assert_eq!(rows.len() + 1, text.lines().count());
        assert!(
            rows.iter().all(|r| r.cvss_base_score.is_some()),
            "the demo keeps scored rows only"
        );
        assert!(
            rows.iter().all(|r| r.in_kev.is_none() && r.ssvc_exploitation.is_none()),
            "no leakage columns"
        );
        let advisories: Vec<Advisory> = rows.iter().map(|r| r.to_advisory(0)).collect();
        assert!(advisories.iter().filter(|a| !a.affected.is_empty()).count() > rows.len() / 2);
    }
}
