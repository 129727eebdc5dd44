//! FIRST EPSS daily score files (`cve,epss,percentile` CSV) to [`ThreatSignal`]s.
//!
//! Invariant: one signal per score line, in file order, each carrying `epss: Some(..)` and
//! nothing else. Every signal of one file has the same model version and score date: those of the
//! `#model_version:..,score_date:..` comment line when the file has one, else `unknown` and the
//! date the caller supplies. Provenance is `first-epss` at that model version, fetched at midnight
//! UTC of the score date, so re-reading a file yields identical events. Scores and percentiles
//! outside `[0, 1]` are errors, never clamped.
//!
//! The format has no quoted fields, so lines are split on commas directly.

use super::{days_from_ymd, FeedError, MS_PER_DAY};
use patchline_processors::events::{Epss, Provenance, ThreatSignal};

/// Feed name in [`Provenance::feed`].
pub const FEED: &str = "first-epss";

/// Model version used when a file does not state one.
pub const UNKNOWN_MODEL: &str = "unknown";

/// Column positions of a score line.
struct Columns {
    cve: usize,
    epss: usize,
    percentile: usize,
    width: usize,
}

impl Columns {
    const DEFAULT: Columns = Columns { cve: 0, epss: 1, percentile: 2, width: 3 };

    /// Reads a header line such as `cve,epss,percentile`; `None` when the line is data.
    fn from_header(fields: &[&str], line: usize) -> Option<Result<Columns, FeedError>> {
        if !fields.first()?.eq_ignore_ascii_case("cve") {
            return None;
        }
        Some(Self::locate(fields, line))
    }

    fn locate(fields: &[&str], line: usize) -> Result<Columns, FeedError> {
        let find = |name: &str| {
            fields.iter().position(|f| f.eq_ignore_ascii_case(name)).ok_or_else(|| {
                FeedError::malformed(FEED, line, format!("header lacks column {name:?}"))
            })
        };
        Ok(Columns {
            cve: find("cve")?,
            epss: find("epss")?,
            percentile: find("percentile")?,
            width: fields.len(),
        })
    }
}

/// Model version and score date (days) from a `#model_version:v2025.03.14,score_date:2026-01-30T12:55:00Z` line.
fn parse_comment(comment: &str, line: usize) -> Result<(Option<String>, Option<i32>), FeedError> {
    let mut model = None;
    let mut date = None;
    for item in comment.trim_start_matches('#').split(',') {
        let Some((key, value)) = item.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "model_version" if !value.is_empty() => model = Some(value.to_string()),
            "score_date" => {
                let day = value.get(..10).and_then(days_from_ymd);
                date = Some(day.ok_or_else(|| {
                    FeedError::malformed(FEED, line, format!("invalid score_date {value:?}"))
                })?);
            }
            _ => {}
        }
    }
    Ok((model, date))
}

fn probability(text: &str, what: &str, line: usize) -> Result<f32, FeedError> {
    match text.trim().parse::<f32>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(FeedError::malformed(
            FEED,
            line,
            format!("{what} {text:?} is not a number in [0, 1]"),
        )),
    }
}

/// Parses an EPSS score file. `default_score_date_days` is the score date (days since epoch) for
/// files without a `score_date` comment, such as extracts that kept only the score lines; a file
/// with neither is an error.
pub fn parse_scores(
    text: &str,
    default_score_date_days: Option<i32>,
) -> Result<Vec<ThreatSignal>, FeedError> {
    let mut model_version: Option<String> = None;
    let mut score_date = default_score_date_days;
    let mut columns: Option<Columns> = None;
    let mut raw = Vec::new();

    for (index, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let number = index + 1;
        let line = line.trim_end_matches('\r').trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            if raw.is_empty() && columns.is_none() {
                let (model, date) = parse_comment(line, number)?;
                model_version = model.or(model_version);
                score_date = date.or(score_date);
            }
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if raw.is_empty() && columns.is_none() {
            if let Some(header) = Columns::from_header(&fields, number) {
                columns = Some(header?);
                continue;
            }
        }
        let cols = columns.as_ref().unwrap_or(&Columns::DEFAULT);
        if fields.len() != cols.width {
            let message = format!("expected {} fields, found {}", cols.width, fields.len());
            return Err(FeedError::malformed(FEED, number, message));
        }
        let cve_id = fields[cols.cve];
        if cve_id.is_empty() {
            return Err(FeedError::malformed(FEED, number, "empty CVE id"));
        }
        let score = probability(fields[cols.epss], "epss", number)?;
        let percentile = probability(fields[cols.percentile], "percentile", number)?;
        raw.push((cve_id.to_string(), score, percentile));
    }

    let Some(score_date) = score_date else {
        return Err(FeedError::malformed(
            FEED,
            0,
            "no score_date in the file and no default score date given",
        ));
    };
    let model_version = model_version.unwrap_or_else(|| UNKNOWN_MODEL.to_string());
    let provenance = Provenance {
        feed: FEED.to_string(),
        feed_version: Some(model_version.clone()),
        fetched_at: i64::from(score_date) * MS_PER_DAY,
    };
    Ok(raw
        .into_iter()
        .map(|(cve_id, score, percentile)| ThreatSignal {
            cve_id,
            kev: None,
            epss: Some(Epss {
                score,
                percentile,
                model_version: model_version.clone(),
                score_date,
            }),
            exploit: None,
            provenance: provenance.clone(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_daily_file_with_comment_and_header() {
        let text =
            "#model_version:v2025.03.14,score_date:2026-01-30T12:55:00Z\r\ncve,epss,percentile\r\n\
                    CVE-1999-0001,0.01151,0.78086\r\nCVE-1999-0002,0.09123,0.92449\r\n";
        let signals = parse_scores(text, Some(1)).unwrap();
        assert_eq!(signals.len(), 2);
        let day = days_from_ymd("2026-01-30").unwrap();
        let epss = signals[1].epss.as_ref().unwrap();
        assert_eq!(signals[1].cve_id, "CVE-1999-0002");
        assert_eq!((epss.score, epss.percentile), (0.09123, 0.92449));
        assert_eq!(epss.model_version, "v2025.03.14");
        assert_eq!(epss.score_date, day, "the file's own date wins over the default");
        assert_eq!(signals[0].provenance.feed, "first-epss");
        assert_eq!(signals[0].provenance.feed_version.as_deref(), Some("v2025.03.14"));
        assert_eq!(signals[0].provenance.fetched_at, i64::from(day) * MS_PER_DAY);
        assert!(signals.iter().all(|s| s.kev.is_none() && s.exploit.is_none()));
    }

    #[test]
    fn bare_lines_use_the_default_date_and_unknown_model() {
        let signals = parse_scores(
            "CVE-2025-0001,0.00275,0.50602\nCVE-2025-0003,0.00014,0.0191\n",
            Some(20_451),
        )
        .unwrap();
        assert_eq!(signals.len(), 2);
        let epss = signals[0].epss.as_ref().unwrap();
        assert_eq!((epss.model_version.as_str(), epss.score_date), ("unknown", 20_451));
        assert_eq!(signals[0].provenance.feed_version.as_deref(), Some("unknown"));
    }

    #[test]
    fn header_order_is_respected() {
        let signals = parse_scores("percentile,cve,epss\n0.5,CVE-2024-1,0.25\n", Some(0));
        assert!(signals.is_err(), "a header must start with cve");
        let signals = parse_scores("cve,percentile,epss\nCVE-2024-1,0.5,0.25\n", Some(0)).unwrap();
        let epss = signals[0].epss.as_ref().unwrap();
        assert_eq!((epss.score, epss.percentile), (0.25, 0.5));
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(parse_scores("CVE-1,0.1,0.2\n", None)
            .unwrap_err()
            .to_string()
            .contains("no score_date"));
        assert!(parse_scores("cve,epss,percentile\nCVE-1,1.5,0.2\n", Some(0))
            .unwrap_err()
            .to_string()
            .contains("line 2"));
        assert!(parse_scores("CVE-1,abc,0.2\n", Some(0)).is_err());
        assert!(parse_scores("CVE-1,0.1\n", Some(0)).is_err());
        assert!(parse_scores(",0.1,0.2\n", Some(0)).is_err());
        assert!(parse_scores("#score_date:2026-02-30\nCVE-1,0.1,0.2\n", Some(0)).is_err());
        assert!(parse_scores("", Some(0)).unwrap().is_empty());
    }

    #[test]
    fn parses_the_bundled_demo_scores() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/epss.csv");
        let text = super::super::open_text(path).unwrap();
        let signals = parse_scores(&text, None).unwrap();
        let score_lines = text.lines().filter(|l| l.starts_with("CVE-")).count();
        assert_eq!(signals.len(), score_lines);
        assert_eq!(signals.len() + 2, text.lines().count());
        assert!(signals
            .iter()
            .all(|s| s.epss.as_ref().is_some_and(|e| e.model_version == "v2025.03.14")));
    }
}
