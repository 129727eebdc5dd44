//! Grype JSON reports (`grype -o json`) to [`Finding`]s.
//!
//! Invariant: one finding per `matches[]` entry, in report order, each with scanner `grype`,
//! status `OPEN` and `first_seen == last_seen ==` the scan instant the caller gives. The package's
//! ecosystem and name follow the vocabulary of [`super::trivy`] ([`os_ecosystem`],
//! [`canonical_name`]), so Grype and Trivy findings on the same package of the same image land on
//! one exposure key. Fields Grype adds over time are accepted and ignored (foreign format).
//!
//! - Vulnerability id: Grype's primary id, even when it is a GHSA id and
//!   `relatedVulnerabilities` names the CVE. The advisory alias index of the assess processor
//!   resolves a GHSA to its CVE, so a GHSA finding and a CVE finding of the same package merge;
//!   [`parse_aliases`] exposes Grype's related ids for callers that want them.
//! - Fixed version: the first of `fix.versions` when `fix.state` is `fixed`, else `None`. For a
//!   binary matched on several release lines the list is one fix per line, lowest line first.
//! - Ecosystem: from `artifact.type`; a `deb` is `Ubuntu` when the purl's `distro=` qualifier,
//!   its namespace or the report's `distro.name` says so, else `Debian` (likewise `apk` for
//!   Wolfi/Chainguard, else `Alpine`). Unknown types (`binary`) pass through as written.
//! - Name: `artifact.name`, except Maven, whose name is `group:artifact` taken from the purl as
//!   Trivy and OSV write it; then [`canonical_name`] (PyPI names are PEP 503-normalised).

// Not wired into a command yet: the parsers are exercised by tests until ingestion lands.
#![cfg_attr(not(test), allow(dead_code))]

use super::trivy::{canonical_name, os_ecosystem};
use super::FeedError;
use patchline_processors::events::{Finding, FindingStatus, Package};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Scanner name in [`Finding::scanner`].
pub const SCANNER: &str = "grype";

/// Feed name in errors.
const FEED: &str = "grype";

#[derive(Debug, Deserialize)]
struct Report {
    #[serde(default)]
    matches: Option<Vec<Match>>,
    #[serde(default)]
    distro: Option<Distro>,
}

#[derive(Debug, Deserialize)]
struct Distro {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Match {
    vulnerability: Vulnerability,
    #[serde(default)]
    related_vulnerabilities: Option<Vec<Related>>,
    artifact: Artifact,
}

#[derive(Debug, Deserialize)]
struct Vulnerability {
    id: String,
    #[serde(default)]
    fix: Option<Fix>,
}

#[derive(Debug, Deserialize)]
struct Fix {
    #[serde(default)]
    versions: Option<Vec<String>>,
    #[serde(default)]
    state: String,
}

#[derive(Debug, Deserialize)]
struct Related {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Artifact {
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    purl: String,
}

fn read(json: &str) -> Result<Report, FeedError> {
    // serde reads a struct from an array too: a top-level array would parse as an empty report.
    if !json.trim_start().starts_with('{') {
        return Err(FeedError::malformed(FEED, 0, "a report is a JSON object"));
    }
    serde_json::from_str(json).map_err(|source| FeedError::Json { feed: FEED, source })
}

/// Parses a Grype JSON report of a scan of `asset_id`, run `scan_id` at `seen_at_ms`.
pub fn parse_report(
    json: &str,
    asset_id: &str,
    scan_id: &str,
    seen_at_ms: i64,
) -> Result<Vec<Finding>, FeedError> {
    let report = read(json)?;
    let distro = report.distro.map(|d| d.name).unwrap_or_default();
    let mut findings = Vec::new();
    for (i, m) in report.matches.unwrap_or_default().into_iter().enumerate() {
        let bad = |what: &str| FeedError::malformed(FEED, 0, format!("matches[{i}]: {what}"));
        let vulnerability_id = m.vulnerability.id.trim();
        if vulnerability_id.is_empty() {
            return Err(bad("empty vulnerability.id"));
        }
        let purl = parse_purl(&m.artifact.purl);
        let ecosystem = ecosystem_of(&m.artifact.kind, purl.as_ref(), &distro);
        let name = match &purl {
            Some(p) if ecosystem == "Maven" && !p.namespace.is_empty() => {
                format!("{}:{}", p.namespace, p.name)
            }
            _ => m.artifact.name.clone(),
        };
        let name = canonical_name(&ecosystem, &name);
        if name.is_empty() {
            return Err(bad("empty artifact.name"));
        }
        let fixed_version = m
            .vulnerability
            .fix
            .filter(|f| f.state.trim().eq_ignore_ascii_case("fixed"))
            .and_then(|f| f.versions.unwrap_or_default().into_iter().next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        findings.push(Finding {
            asset_id: asset_id.to_string(),
            scanner: SCANNER.to_string(),
            scan_id: scan_id.to_string(),
            vulnerability_id: vulnerability_id.to_string(),
            package: Package {
                ecosystem,
                name,
                installed_version: m.artifact.version.trim().to_string(),
                fixed_version,
            },
            status: FindingStatus::Open,
            first_seen: seen_at_ms,
            last_seen: seen_at_ms,
        });
    }
    Ok(findings)
}

/// Grype's related ids (`relatedVulnerabilities[].id`) per primary vulnerability id, without the
/// id itself: for a GHSA id, the CVE it aliases.
pub fn parse_aliases(json: &str) -> Result<BTreeMap<String, BTreeSet<String>>, FeedError> {
    let mut aliases: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in read(json)?.matches.unwrap_or_default() {
        let id = m.vulnerability.id.trim().to_string();
        let related = m.related_vulnerabilities.unwrap_or_default();
        let entry = aliases.entry(id.clone()).or_default();
        entry.extend(related.into_iter().map(|r| r.id.trim().to_string()).filter(|r| *r != id));
    }
    Ok(aliases)
}

/// The OSV ecosystem of a Grype artifact type; see the module documentation.
fn ecosystem_of(kind: &str, purl: Option<&Purl>, report_distro: &str) -> String {
    let qualifier = purl.and_then(|p| p.distro.split('-').next());
    let hints: Vec<&str> = qualifier
        .into_iter()
        .chain(purl.map(|p| p.namespace.as_str()))
        .chain([report_distro])
        .collect();
    let os = |allowed: &[&'static str], default: &'static str| {
        hints
            .iter()
            .filter_map(|h| os_ecosystem(h))
            .find(|e| allowed.contains(e))
            .unwrap_or(default)
    };
    let kind = kind.trim().to_ascii_lowercase();
    let ecosystem = match kind.as_str() {
        "deb" => os(&["Debian", "Ubuntu"], "Debian"),
        "apk" => os(&["Alpine", "Wolfi", "Chainguard"], "Alpine"),
        "rpm" => "RPM",
        "npm" => "npm",
        "python" => "PyPI",
        "go-module" => "Go",
        "java-archive" | "jenkins-plugin" => "Maven",
        "gem" => "RubyGems",
        "rust-crate" => "crates.io",
        "php-composer" => "Packagist",
        "dotnet" => "NuGet",
        "dart-pub" => "Pub",
        "hex" => "Hex",
        _ => return kind,
    };
    ecosystem.to_string()
}

/// The parts of a package URL (`pkg:type/namespace/name@version?qualifiers#subpath`) read here,
/// percent-decoded; `distro` is the `distro=` qualifier, empty when absent.
#[derive(Debug, PartialEq)]
struct Purl {
    namespace: String,
    name: String,
    distro: String,
}

fn parse_purl(purl: &str) -> Option<Purl> {
    let rest = purl.trim().strip_prefix("pkg:")?;
    let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
    let (path, qualifiers) = rest.split_once('?').unwrap_or((rest, ""));
    let path = path.rsplit_once('@').map_or(path, |(p, _)| p);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (name, namespace) = match segments.as_slice() {
        [_kind, namespace @ .., name] => (decode(name), namespace),
        _ => return None,
    };
    let namespace = namespace.iter().map(|s| decode(s)).collect::<Vec<_>>().join("/");
    let distro = qualifiers
        .split('&')
        .filter_map(|q| q.split_once('='))
        .find(|(key, _)| key.eq_ignore_ascii_case("distro"))
        .map(|(_, value)| decode(value))
        .unwrap_or_default();
    Some(Purl { namespace, name, distro })
}

/// Percent-decodes a purl component; a `%` not followed by two hex digits stays as is.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = text.get(i + 1..i + 3).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "matches": [
        {"vulnerability": {"id": "GHSA-m2qf-hxjv-5gpq", "severity": "High",
           "fix": {"versions": ["2.2.5", "2.3.2"], "state": "fixed"}, "risk": 1.5},
         "relatedVulnerabilities": [{"id": "CVE-2023-30861", "dataSource": "nvd"}],
         "matchDetails": [], "artifact": {"id": "1", "name": "Flask", "version": "1.1.2",
           "type": "python", "purl": "pkg:pypi/flask@1.1.2", "locations": []}},
        {"vulnerability": {"id": "CVE-2024-0001", "fix": {"versions": [], "state": "not-fixed"}},
         "relatedVulnerabilities": null, "artifact": {"name": "libstdc++6", "version": "12.2.0-14",
           "type": "deb", "purl": "pkg:deb/ubuntu/libstdc%2B%2B6@12.2.0-14?arch=amd64&distro=ubuntu-22.04"}},
        {"vulnerability": {"id": "CVE-2022-22965", "fix": {"versions": ["5.3.18"], "state": "wont-fix"}},
         "artifact": {"name": "spring-beans", "version": "5.3.15", "type": "java-archive",
           "purl": "pkg:maven/org.springframework/spring-beans@5.3.15"}},
        {"vulnerability": {"id": "CVE-2025-0938"}, "artifact": {"name": "python",
           "version": "3.8.20", "type": "binary", "purl": "pkg:generic/python@3.8.20"}}
      ],
      "source": {"type": "image"}, "distro": {"name": "debian", "version": "12"}
    }"#;

    #[test]
    fn parses_matches() {
        let f = parse_report(SAMPLE, "a1", "s1", 9).unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(
            (f[0].scanner.as_str(), f[0].asset_id.as_str(), f[0].scan_id.as_str()),
            ("grype", "a1", "s1")
        );
        assert_eq!((f[0].status, f[0].first_seen, f[0].last_seen), (FindingStatus::Open, 9, 9));
        assert_eq!(f[0].vulnerability_id, "GHSA-m2qf-hxjv-5gpq"); // primary id kept
        assert_eq!(
            (f[0].package.ecosystem.as_str(), f[0].package.name.as_str()),
            ("PyPI", "flask")
        );
        assert_eq!(f[0].package.fixed_version.as_deref(), Some("2.2.5"));
        // The purl's distro beats the report's distro.
        assert_eq!(
            (f[1].package.ecosystem.as_str(), f[1].package.name.as_str()),
            ("Ubuntu", "libstdc++6")
        );
        assert_eq!(f[1].package.fixed_version, None);
        assert_eq!(f[2].package.name, "org.springframework:spring-beans");
        assert_eq!(
            (f[2].package.ecosystem.as_str(), f[2].package.fixed_version.as_deref()),
            ("Maven", None)
        );
        assert_eq!(
            (f[3].package.ecosystem.as_str(), f[3].package.installed_version.as_str()),
            ("binary", "3.8.20")
        );
        let aliases = parse_aliases(SAMPLE).unwrap();
        assert_eq!(aliases["GHSA-m2qf-hxjv-5gpq"], BTreeSet::from(["CVE-2023-30861".to_string()]));
        assert!(aliases["CVE-2024-0001"].is_empty());
    }

    #[test]
    fn empty_and_malformed_reports() {
        assert!(parse_report(r#"{"matches": []}"#, "a", "s", 0).unwrap().is_empty());
        assert!(parse_report(r#"{"matches": null, "x": 1}"#, "a", "s", 0).unwrap().is_empty());
        let no_id = r#"{"matches": [{"vulnerability": {"id": ""}, "artifact": {"name": "x"}}]}"#;
        assert!(parse_report(no_id, "a", "s", 0).unwrap_err().to_string().contains("matches[0]"));
        assert!(parse_report("[]", "a", "s", 0).unwrap_err().to_string().contains("JSON object"));
        assert!(matches!(parse_report("{", "a", "s", 0), Err(FeedError::Json { .. })));
        let deb = r#"{"matches": [{"vulnerability": {"id": "CVE-1"},
          "artifact": {"name": "tar", "type": "deb", "purl": ""}}], "distro": {"name": "ubuntu"}}"#;
        assert_eq!(parse_report(deb, "a", "s", 0).unwrap()[0].package.ecosystem, "Ubuntu");
        assert_eq!(decode("a%2B%zz%4"), "a+%zz%4");
        assert_eq!(parse_purl("pkg:npm/%40types/node@1#x").unwrap().namespace, "@types");
    }

    /// Grype's presenter snapshots (anchore/grype, Apache-2.0): real format, synthetic content.
    #[test]
    fn parses_the_grype_snapshots() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/scanner/grype/");
        for file in ["TestJsonImgsPresenter.json", "TestJsonDirsPresenter.json"] {
            let text = std::fs::read_to_string(format!("{dir}{file}")).unwrap();
            let f = parse_report(&text, "asset", "scan", 1).unwrap();
            let ids: Vec<_> = f.iter().map(|f| f.vulnerability_id.as_str()).collect();
            assert_eq!(ids, ["CVE-1999-0001", "CVE-1999-0002"], "{file}");
            assert_eq!(
                (f[0].package.ecosystem.as_str(), f[0].package.name.as_str()),
                ("RPM", "package-1")
            );
            assert_eq!(f[0].package.fixed_version.as_deref(), Some("1.2.1"));
            assert_eq!(
                (f[1].package.ecosystem.as_str(), f[1].package.fixed_version.as_deref()),
                ("Debian", None)
            );
        }
    }
}
