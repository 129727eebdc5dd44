//! As-of filtering of `patchline eval` on a tiny synthetic data folder written to a temp dir.
//! Invariant: each test builds its own folder and removes it, so tests run in parallel.

use super::*;
use crate::feeds::days_from_ymd;
use std::path::Path;

/// A folder under the OS temp dir, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const TABLE: &str = "cve_id,state,published,cvss_version,cvss_base_score,cvss_vector,cvss_source,cwe,vendor,product,\
has_exploit_ref,ssvc_exploitation,ssvc_automatable,ssvc_technical_impact,ssvc_timestamp,in_kev,kev_date_added,record_source
CVE-2024-0001,PUBLISHED,2024-01-10T00:00:00,3.1,9.8,CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H,cna,CWE-78,Acme,Gateway,1,active,yes,total,2024-02-02T00:00:00Z,1,2024-02-01,vulnrichment
CVE-2024-0002,PUBLISHED,2024-02-01T00:00:00,3.1,7.5,CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N,cisa-adp,CWE-22,Acme,Gateway,0,active,yes,partial,2024-05-01T00:00:00Z,1,2024-03-10,vulnrichment
CVE-2024-0003,PUBLISHED,2024-04-01T00:00:00,3.1,9.8,,cna,,Acme,Gateway,0,none,no,partial,2024-04-02T00:00:00Z,0,,vulnrichment
CVE-2024-0004,PUBLISHED,2024-02-15T00:00:00,3.1,5.0,,cna,CWE-79,Other,Blog,0,none,no,partial,2024-02-16T00:00:00Z,1,2024-01-01,vulnrichment
CVE-2024-0005,,,3.x,9.8,,nvd-via-kev_epss,,,,,,,,,1,2024-03-05,kev_only
CVE-2024-0006,PUBLISHED,2024-01-01T00:00:00,3.1,9.0,,cna,,Other,Server,0,none,yes,total,2024-01-02T00:00:00Z,0,,vulnrichment
CVE-2024-0007,PUBLISHED,,3.1,9.9,,cna,,Other,Server,0,none,yes,total,,0,,vulnrichment
";

const KEV: &str = r#"{"catalogVersion": "test", "vulnerabilities": [
  {"cveID": "CVE-2024-0001", "vendorProject": "Acme", "dateAdded": "2024-02-01"},
  {"cveID": "CVE-2024-0002", "vendorProject": "ACME Corp", "dateAdded": "2024-03-10"},
  {"cveID": "CVE-2024-0005", "dateAdded": "2024-03-05"},
  {"cveID": "CVE-2024-0006", "dateAdded": "2024-06-15"},
  {"cveID": "CVE-2023-9999", "dateAdded": "2024-03-31"}
]}"#;

/// Writes the synthetic folder: the table, three EPSS files (2024-01-01, 2024-02-15 and
/// 2024-03-05) and the KEV catalog.
fn folder(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("patchline-eval-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("cve/cve_table.csv", TABLE);
    write("epss/epss_scores-2024-01-01.csv", "CVE-2024-0006,0.9,0.99\n");
    write(
        "epss/epss_scores-2024-02-15_subset.csv",
        "cve,epss,percentile\nCVE-2024-0004,0.2,0.95\nCVE-2023-9999,0.05,0.9\nCVE-2024-0005,0.7,0.99\n",
    );
    write("epss/epss_scores-2024-03-05.csv", "CVE-2024-0003,0.5,0.97\n");
    write("epss/README.txt", "not an EPSS file");
    write("kev/catalog.json", KEV);
    TempDir(dir)
}

fn day(text: &str) -> i32 {
    days_from_ymd(text).unwrap()
}

fn options(dir: &Path, as_of: &str, horizon_days: i32) -> EvalOptions {
    EvalOptions {
        data: dir.to_path_buf(),
        kev_labels: dir.join("kev/catalog.json"),
        as_of: day(as_of),
        horizon_days,
    }
}

fn metrics_of(report: &Report, name: &str) -> Option<Metrics> {
    report.strategies.iter().find(|s| s.name == name).and_then(|s| s.metrics)
}

#[test]
fn population_labels_and_epss_file_follow_the_as_of_day() {
    let dir = folder("asof");
    let report = run(&options(&dir.0, "2024-03-01", 30)).unwrap();
    // Known at 2024-03-01 and not in KEV then: 0002, 0004 (the table's in_kev is ignored), 0006,
    // and CVE-2023-9999 and CVE-2024-0005 from the EPSS file (the kev_only row is dropped, its
    // EPSS score stays). Not 0001 (in KEV on 2024-02-01), 0003 (published later), 0007 (no date).
    assert_eq!(report.population, 5);
    assert_eq!((report.from_table, report.epss_only), (3, 2));
    // Labels in (03-01, 03-31]: 0002, 0005 and 9999; 0006 is added after the horizon.
    assert_eq!(report.positives, 3);
    assert_eq!(report.kev_in_window, 3);
    assert_eq!(report.kev_at_as_of, 1);
    assert_eq!(report.epss_day, Some(day("2024-02-15")), "newest file on or before the day");
    assert_eq!(report.reference, EPSS01);
    // 0002's CVSS was written by CISA-ADP after the as-of day: unknown then, so only 0006 (9.0)
    // is flagged by CVSS >= 7 and >= 9.
    let cvss7 = metrics_of(&report, CVSS7).unwrap();
    assert_eq!((cvss7.flagged, cvss7.hits), (1, 0));
    // EPSS of 2024-02-15: 0004 (0.2), 0005 (0.7) and 9999 (0.05).
    let epss = metrics_of(&report, EPSS01).unwrap();
    assert_eq!((epss.flagged, epss.hits), (2, 1));
    let ranking = metrics_of(&report, EPSS_RANK).unwrap();
    assert_eq!((ranking.flagged, ranking.hits), (3, 2));
    let patchline = metrics_of(&report, PATCHLINE).unwrap();
    assert_eq!((patchline.flagged, patchline.effort), (5, Some(1.0)));
    assert!(patchline.average_precision.is_some());
    assert_eq!(metrics_of(&report, "patchline@epss>=0.1-effort").unwrap().flagged, 2);
    // Training saw what was known on 2024-03-01 only: one KEV CVE (0001) among 6 known CVEs.
    assert_eq!((report.training.examples, report.training.positives), (6, 1));
    assert!(report.training.with_epss);
}

#[test]
fn without_an_epss_file_epss_strategies_are_unavailable() {
    let dir = folder("noepss");
    let report = run(&options(&dir.0, "2023-12-31", 200)).unwrap();
    assert_eq!(report.epss_day, None);
    assert!(metrics_of(&report, EPSS01).is_none() && metrics_of(&report, EPSS_RANK).is_none());
    assert_eq!(report.reference, CVSS9);
    assert!(report.strategies.iter().any(|s| s.name == "patchline@cvss>=9-effort"));
    assert!(!report.training.with_epss);
    // Nothing published yet but nothing from EPSS either: an empty population is reported.
    assert_eq!((report.population, report.positives), (0, 0));
    let json = report::to_json(&report);
    assert_eq!(json["strategies"][2]["name"], EPSS01);
    assert!(json["strategies"][2]["effort"].is_null());
}

#[test]
fn records_gate_adp_fields_by_their_timestamp() {
    let records = data::parse_table(TABLE).unwrap();
    assert_eq!(records.len(), 6, "the kev_only row is dropped");
    let adp = records.iter().find(|r| r.id == "CVE-2024-0002").unwrap();
    assert!(adp.cvss_from_adp);
    assert!(adp.cvss_at(day("2024-04-30")).is_none());
    assert!(adp.facts_at(day("2024-04-30")).ssvc.is_none());
    assert_eq!(adp.cvss_at(day("2024-05-01")).map(|c| c.base_score), Some(7.5));
    let facts = adp.facts_at(day("2024-05-01"));
    assert_eq!(facts.ssvc.and_then(|s| s.automatable), Some(true));
    assert!(facts.ssvc.is_some_and(|s| s.exploitation.is_none()), "exploitation never leaks");
    let cna = records.iter().find(|r| r.id == "CVE-2024-0006").unwrap();
    assert!(cna.cvss_at(day("2023-01-01")).is_some(), "CNA scores are known from publication");
}

#[test]
fn epss_files_are_found_by_name_and_chosen_by_date() {
    let dir = folder("files");
    let files = data::epss_files(&dir.0).unwrap();
    let days: Vec<i32> = files.iter().map(|(d, _)| *d).collect();
    assert_eq!(days, vec![day("2024-01-01"), day("2024-02-15"), day("2024-03-05")]);
    assert_eq!(
        data::epss_file_day("epss_scores-2025-12-29_cve2025only.csv.gz"),
        Some(day("2025-12-29"))
    );
    assert_eq!(data::epss_file_day("kev2025_epss_at_dateAdded.csv"), None);
    assert_eq!(data::epss_file_day("epss_scores-2025-13-01.csv"), None);
    let (d, used, map) = data::epss_as_of(&files, day("2024-03-04")).unwrap().unwrap();
    assert_eq!((d, used.len(), map.len()), (day("2024-02-15"), 1, 3));
    assert_eq!(map["CVE-2024-0004"].score_date, day("2024-02-15"));
    assert!(data::epss_as_of(&files, day("2023-12-31")).unwrap().is_none());
}

#[test]
fn text_report_names_every_strategy() {
    let dir = folder("text");
    let report = run(&options(&dir.0, "2024-03-01", 30)).unwrap();
    let text = report::to_text(&report);
    for name in [CVSS7, CVSS9, EPSS01, PATCHLINE, PATCHLINE_BEST, "patchline@epss>=0.1-effort"] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    assert!(text.contains("as of 2024-03-01"), "{text}");
}

#[test]
fn invalid_horizons_and_missing_files_are_errors() {
    let dir = folder("errors");
    assert!(matches!(run(&options(&dir.0, "2024-03-01", 0)), Err(CliError::Eval(_))));
    let missing = EvalOptions { data: dir.0.join("nowhere"), ..options(&dir.0, "2024-03-01", 30) };
    assert!(run(&missing).is_err());
}

#[test]
fn the_vendor_kev_feature_counts_other_cves_known_on_the_day() {
    let records = data::parse_table(TABLE).unwrap();
    let prior = prior::VendorPrior::from_catalog(KEV).unwrap();
    let slot = |name: &str| patchline_processors::learn::slot(name, train::HASH_BITS);
    let features = |id: &str, on: &str| {
        let record = records.iter().find(|r| r.id == id).unwrap();
        let item = data::Item { id: &record.id, record: Some(record), epss: None };
        train::item_features(&item, day(on), &prior)
    };
    let has = |x: &[(u32, f32)], name: &str| x.iter().any(|&(s, _)| s == slot(name));
    // On 2024-03-01 Acme has one KEV entry (0001): 0002 sees it; 0001 does not count itself.
    assert!(has(&features("CVE-2024-0002", "2024-03-01"), "kev_vendor=1-2"));
    assert!(has(&features("CVE-2024-0001", "2024-03-01"), "kev_vendor=0"));
    // Before 0001's dateAdded nothing is known; after 0002's, 0001 sees 0002.
    assert!(has(&features("CVE-2024-0002", "2024-01-31"), "kev_vendor=0"));
    assert!(has(&features("CVE-2024-0001", "2024-03-10"), "kev_vendor=1-2"));
    // A vendor with no KEV entry gets the zero band.
    assert!(has(&features("CVE-2024-0006", "2024-03-01"), "kev_vendor=0"));
}
