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
    let hints: Vec<&str> =
        qualifier.into_iter().chain(purl.map(|p| p.namespace.as_str())).chain([report_distro]).collect();
    let os = |allowed: &[&'static str], default: &'static str| {
        hints.iter().filter_map(|h| os_ecosystem(h)).find(|e| allowed.contains(e)).unwrap_or(default)
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
mod tests;
