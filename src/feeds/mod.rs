//! Parsers for the public vulnerability feeds patchline ingests: CISA KEV ([`kev`]), FIRST EPSS
//! ([`epss`]) and the compact CVE table derived from cisagov/vulnrichment ([`cve_table`]).
//!
//! Invariant: everything here is pure. Parsers take text already in memory and return event types
//! (or an error naming the feed and line); nothing touches the network, the clock or global state,
//! so the same input always parses to the same events. The only I/O is [`open_text`], which reads
//! a local file and transparently gunzips `*.gz`.
//!
//! Instants are milliseconds and calendar dates are days since the Unix epoch, as in the event
//! contracts; [`time`] converts the feeds' ISO 8601 strings without a date library.

pub mod cve_table;
pub mod epss;
pub mod grype;
pub mod kev;
pub use patchline_processors::time;
pub mod trivy;

mod csv;

use std::io::Read;
use std::path::Path;

pub use time::{days_from_ymd, ms_from_iso8601, MS_PER_DAY};

/// Why a feed could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The file could not be read or decompressed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File that failed.
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The feed is not valid JSON or does not have the expected shape.
    #[error("{feed}: invalid JSON: {source}")]
    Json {
        /// Feed name, e.g. `cisa-kev`.
        feed: &'static str,
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A line or record of the feed is malformed.
    #[error("{feed}, line {line}: {message}")]
    Malformed {
        /// Feed name, e.g. `first-epss`.
        feed: &'static str,
        /// 1-based line where the offending record starts (0 when not tied to a line).
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl FeedError {
    pub(crate) fn malformed(feed: &'static str, line: usize, message: impl Into<String>) -> Self {
        FeedError::Malformed { feed, line, message: message.into() }
    }
}

/// Reads a text file into memory, gunzipping it first when its name ends in `.gz`.
///
/// Concatenated gzip members are read to the end (as `zcat` does). The bundled demo data is
/// compiled in; `patchline eval` reads the full-size feeds from disk through here.
pub fn open_text(path: impl AsRef<Path>) -> Result<String, FeedError> {
    let path = path.as_ref();
    let io_err = |source| FeedError::Io { path: path.display().to_string(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let gzipped = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("gz"));
    let mut text = String::new();
    if gzipped {
        flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file))
            .read_to_string(&mut text)
            .map_err(io_err)?;
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text).map_err(io_err)?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A file under the OS temp dir, removed on drop.
    struct TempFile(std::path::PathBuf);
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn temp_path(name: &str) -> TempFile {
        TempFile(
            std::env::temp_dir().join(format!("patchline-feeds-{}-{name}", std::process::id())),
        )
    }

    #[test]
    fn open_text_reads_plain_and_gzip_files() {
        let plain = temp_path("plain.csv");
        std::fs::write(&plain.0, "cve,epss,percentile\nCVE-2024-0001,0.1,0.9\n").unwrap();
        assert!(open_text(&plain.0).unwrap().starts_with("cve,epss"));

        let gz = temp_path("scores.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"CVE-2025-0001,0.00275,0.50602\n").unwrap();
        std::fs::write(&gz.0, enc.finish().unwrap()).unwrap();
        assert_eq!(open_text(&gz.0).unwrap(), "CVE-2025-0001,0.00275,0.50602\n");
    }

    #[test]
    fn open_text_reports_the_path_of_a_missing_file() {
        let err = open_text("/nonexistent/patchline/feed.json").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/patchline/feed.json"));
    }

    /// The full public files, when the shared data folder sits next to the repository.
    #[test]
    fn parses_the_full_shared_files_when_present() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
        if !shared.is_dir() {
            return;
        }
        let kev_text =
            open_text(shared.join("kev/known_exploited_vulnerabilities_asof_2026-01-30.json"))
                .unwrap();
        assert_eq!(kev::parse_catalog(&kev_text, 0).unwrap().len(), 1501);

        let epss_text = open_text(shared.join("epss/epss_scores-2026-01-30.csv.gz")).unwrap();
        assert_eq!(epss::parse_scores(&epss_text, None).unwrap().len(), 313_089);

        let cve2025 =
            open_text(shared.join("epss/epss_scores-2025-12-29_cve2025only.csv.gz")).unwrap();
        let day = days_from_ymd("2025-12-29");
        let scores = epss::parse_scores(&cve2025, day).unwrap();
        assert_eq!(scores.len(), 37_907);
        assert!(scores
            .iter()
            .all(|s| s.epss.as_ref().is_some_and(|e| e.model_version == "unknown")));

        let table = open_text(shared.join("cve/cve_table.csv.gz")).unwrap();
        let rows = cve_table::parse_rows(&table).unwrap();
        assert_eq!(rows.len(), 45_376);
        let vulnrichment =
            rows.iter().filter(|r| r.record_source.as_deref() == Some("vulnrichment"));
        assert_eq!(vulnrichment.count(), 44_130);
        assert!(rows
            .iter()
            .map(|r| r.to_advisory(0))
            .all(|a| a.ssvc.is_none_or(|s| s.exploitation.is_none())));
    }
}
