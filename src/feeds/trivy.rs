//! Trivy JSON reports (schema v2, `trivy image --format json`) to [`Finding`]s.
//!
//! Invariant: one finding per `Results[].Vulnerabilities[]` entry, in report order, each with
//! scanner `trivy`, status `OPEN` and `first_seen == last_seen ==` the scan instant the caller
//! gives. The package's ecosystem is an OSV ecosystem name ([`ecosystem_of_type`]) and its name is
//! canonical for that ecosystem ([`canonical_name`]): Trivy and Grype findings on the same package
//! of the same image carry the same `(ecosystem, name)` and so meet on one exposure key. A report
//! without `Results`, or a result whose `Vulnerabilities` is absent or null, yields no findings.
//! Fields Trivy adds over time are accepted and ignored (foreign format).
//!
//! The same package in two targets of one report (a module in two `go.mod` files) gives two
//! findings with one exposure key; the assess processor merges them.
//!
//! `FixedVersion` is kept as Trivy writes it, which may be a comma-separated list of fixed
//! versions, one per release line (`"6.0.3.1, 5.2.4.3"`). Readers that compare versions must
//! split it. An empty `FixedVersion` is `None`.
//!
//! The ecosystem and name vocabulary shared with [`super::grype`] lives here.

// Not wired into a command yet: the parsers are exercised by tests until ingestion lands.
#![cfg_attr(not(test), allow(dead_code))]

use super::FeedError;
use patchline_processors::events::{Finding, FindingStatus, Package};
use serde::Deserialize;

/// Scanner name in [`Finding::scanner`].
pub const SCANNER: &str = "trivy";

/// Feed name in errors.
const FEED: &str = "trivy";

/// The only report schema this parser reads.
const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Report {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    results: Option<Vec<ScanResult>>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default, rename = "OS")]
    os: Option<Os>,
}

#[derive(Debug, Deserialize)]
struct Os {
    #[serde(default, rename = "Family")]
    family: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ScanResult {
    #[serde(default)]
    target: String,
    #[serde(default)]
    class: String,
    #[serde(default, rename = "Type")]
    kind: String,
    #[serde(default)]
    vulnerabilities: Option<Vec<Vulnerability>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Vulnerability {
    #[serde(rename = "VulnerabilityID")]
    vulnerability_id: String,
    pkg_name: String,
    #[serde(default)]
    installed_version: String,
    #[serde(default)]
    fixed_version: Option<String>,
}

/// Parses a Trivy JSON report of a scan of `asset_id`, run `scan_id` at `seen_at_ms`.
pub fn parse_report(
    json: &str,
    asset_id: &str,
    scan_id: &str,
    seen_at_ms: i64,
) -> Result<Vec<Finding>, FeedError> {
    // serde reads a struct from an array too; a top-level array is Trivy's old schema v1.
    if !json.trim_start().starts_with('{') {
        return Err(FeedError::malformed(FEED, 0, "not a schema v2 report (a JSON object)"));
    }
    let report: Report =
        serde_json::from_str(json).map_err(|source| FeedError::Json { feed: FEED, source })?;
    if let Some(version) = report.schema_version.filter(|v| *v != SCHEMA_VERSION) {
        return Err(FeedError::malformed(FEED, 0, format!("unsupported SchemaVersion {version}")));
    }
    let os_family = report.metadata.and_then(|m| m.os).map(|os| os.family).unwrap_or_default();
    let mut findings = Vec::new();
    for (r, result) in report.results.unwrap_or_default().into_iter().enumerate() {
        let Some(vulnerabilities) = result.vulnerabilities else { continue };
        let kind = match result.kind.trim() {
            "" if result.class == "os-pkgs" => os_family.trim(),
            kind => kind,
        };
        if kind.is_empty() {
            let message = format!("Results[{r}] ({}): no Type", result.target);
            return Err(FeedError::malformed(FEED, 0, message));
        }
        let ecosystem = ecosystem_of_type(kind);
        for (v, vuln) in vulnerabilities.into_iter().enumerate() {
            let bad = |what: &str| {
                FeedError::malformed(FEED, 0, format!("Results[{r}].Vulnerabilities[{v}]: {what}"))
            };
            let vulnerability_id = vuln.vulnerability_id.trim();
            if vulnerability_id.is_empty() {
                return Err(bad("empty VulnerabilityID"));
            }
            let name = canonical_name(&ecosystem, &vuln.pkg_name);
            if name.is_empty() {
                return Err(bad("empty PkgName"));
            }
            findings.push(Finding {
                asset_id: asset_id.to_string(),
                scanner: SCANNER.to_string(),
                scan_id: scan_id.to_string(),
                vulnerability_id: vulnerability_id.to_string(),
                package: Package {
                    ecosystem: ecosystem.clone(),
                    name,
                    installed_version: vuln.installed_version.trim().to_string(),
                    fixed_version: non_empty(vuln.fixed_version.as_deref()),
                },
                status: FindingStatus::Open,
                first_seen: seen_at_ms,
                last_seen: seen_at_ms,
            });
        }
    }
    Ok(findings)
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string)
}

/// The OSV ecosystem of a Trivy result `Type`. OS types are distribution ids (see
/// [`os_ecosystem`]); language types name a lockfile or package format. An unknown type is
/// passed through lower-cased, so nothing is dropped, though it matches no OSV ecosystem.
pub fn ecosystem_of_type(kind: &str) -> String {
    let kind = kind.trim().to_ascii_lowercase();
    let known = os_ecosystem(&kind).or(match kind.as_str() {
        "npm" | "yarn" | "pnpm" | "bun" | "node-pkg" => Some("npm"),
        "pip" | "pipenv" | "poetry" | "uv" | "python-pkg" => Some("PyPI"),
        "gomod" | "gobinary" => Some("Go"),
        "jar" | "pom" | "gradle" | "sbt" => Some("Maven"),
        "composer" | "composer-vendor" => Some("Packagist"),
        "bundler" | "gemspec" => Some("RubyGems"),
        "cargo" | "rustbinary" => Some("crates.io"),
        "nuget" | "dotnet-core" | "packages-props" => Some("NuGet"),
        "pub" => Some("Pub"),
        "hex" => Some("Hex"),
        _ => None,
    });
    known.map_or(kind, str::to_string)
}

/// The OSV ecosystem of OS packages from a distribution id as scanners write it (Trivy's result
/// `Type`, a purl namespace or `distro=` qualifier, Grype's `distro.name`). Every RPM-based
/// distribution maps to `RPM`, the name patchline's contracts use for that package format.
pub fn os_ecosystem(distro: &str) -> Option<&'static str> {
    let distro = distro.trim().to_ascii_lowercase();
    Some(match distro.as_str() {
        "debian" => "Debian",
        "ubuntu" => "Ubuntu",
        "alpine" => "Alpine",
        "wolfi" => "Wolfi",
        "chainguard" => "Chainguard",
        "redhat"
        | "rhel"
        | "centos"
        | "rocky"
        | "alma"
        | "almalinux"
        | "amazon"
        | "amzn"
        | "amazonlinux"
        | "oracle"
        | "ol"
        | "fedora"
        | "photon"
        | "azurelinux"
        | "cbl-mariner"
        | "mariner"
        | "sles"
        | "suse"
        | "opensuse"
        | "opensuse.leap"
        | "opensuse.tumbleweed"
        | "opensuse-leap"
        | "opensuse-tumbleweed" => "RPM",
        _ => return None,
    })
}

/// A package name in the canonical form of its ecosystem, so every scanner spells one package
/// the same way: PyPI names are normalised as PEP 503 says (lower case, each run of `-`, `_`,
/// `.` becomes `-`), Packagist names are lower-cased (Composer ignores case); names in other
/// ecosystems are case-sensitive and only trimmed.
pub fn canonical_name(ecosystem: &str, name: &str) -> String {
    let name = name.trim();
    match ecosystem {
        "PyPI" => {
            let mut out = String::with_capacity(name.len());
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !out.ends_with('-') {
                        out.push('-');
                    }
                } else {
                    out.push(c.to_ascii_lowercase());
                }
            }
            out
        }
        "Packagist" => name.to_ascii_lowercase(),
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "SchemaVersion": 2, "ArtifactName": "img:1", "ArtifactType": "container_image",
      "Metadata": {"OS": {"Family": "ubuntu", "Name": "22.04"}, "ImageID": "sha256:x"},
      "Results": [
        {"Target": "img:1 (ubuntu 22.04)", "Class": "os-pkgs", "Type": "ubuntu",
         "Vulnerabilities": [
           {"VulnerabilityID": "CVE-2024-0001", "PkgName": "libssl3", "PkgID": "libssl3@3.0.2",
            "InstalledVersion": "3.0.2-0ubuntu1.15", "FixedVersion": "3.0.2-0ubuntu1.16",
            "Status": "fixed", "Severity": "HIGH", "CVSS": {"nvd": {"V3Score": 7.5}},
            "SomeFutureField": [1, 2]},
           {"VulnerabilityID": "CVE-2024-0002", "PkgName": "bash",
            "InstalledVersion": "5.1-6ubuntu1", "FixedVersion": "", "Status": "affected"}]},
        {"Target": "requirements.txt", "Class": "lang-pkgs", "Type": "pip",
         "Vulnerabilities": [
           {"VulnerabilityID": "CVE-2020-8165", "PkgName": "Zope.Interface__x",
            "InstalledVersion": "6.0.2", "FixedVersion": "6.0.3.1, 5.2.4.3"}]},
        {"Target": "package-lock.json", "Class": "lang-pkgs", "Type": "npm",
         "Vulnerabilities": null},
        {"Target": "app/.env", "Class": "secret", "Secrets": [{"RuleID": "aws"}]}
      ]
    }"#;

    #[test]
    fn parses_os_and_language_results() {
        let findings = parse_report(SAMPLE, "a1", "s1", 77).unwrap();
        assert_eq!(findings.len(), 3);
        let ssl = &findings[0];
        assert_eq!(ssl.scanner, "trivy");
        assert_eq!((ssl.asset_id.as_str(), ssl.scan_id.as_str()), ("a1", "s1"));
        assert_eq!(ssl.vulnerability_id, "CVE-2024-0001");
        assert_eq!(ssl.status, FindingStatus::Open);
        assert_eq!((ssl.first_seen, ssl.last_seen), (77, 77));
        assert_eq!(ssl.package.ecosystem, "Ubuntu");
        assert_eq!(ssl.package.name, "libssl3");
        assert_eq!(ssl.package.installed_version, "3.0.2-0ubuntu1.15");
        assert_eq!(ssl.package.fixed_version.as_deref(), Some("3.0.2-0ubuntu1.16"));
        assert_eq!(findings[1].package.fixed_version, None);
        let pip = &findings[2];
        assert_eq!(pip.package.ecosystem, "PyPI");
        assert_eq!(pip.package.name, "zope-interface-x");
        // A list of fixed versions, one per release line, is kept as written.
        assert_eq!(pip.package.fixed_version.as_deref(), Some("6.0.3.1, 5.2.4.3"));
    }

    #[test]
    fn reports_without_vulnerabilities_give_no_findings() {
        assert!(parse_report(r#"{"SchemaVersion": 2}"#, "a", "s", 0).unwrap().is_empty());
        assert!(parse_report(r#"{"Results": null}"#, "a", "s", 0).unwrap().is_empty());
        let clean = r#"{"Results": [{"Target": "x", "Class": "os-pkgs", "Type": "alpine"}]}"#;
        assert!(parse_report(clean, "a", "s", 0).unwrap().is_empty());
    }

    #[test]
    fn os_results_without_type_take_the_os_family() {
        let json = r#"{"Metadata": {"OS": {"Family": "debian"}}, "Results": [{"Class": "os-pkgs",
          "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "tar"}]}]}"#;
        let findings = parse_report(json, "a", "s", 0).unwrap();
        assert_eq!(findings[0].package.ecosystem, "Debian");
        assert_eq!(findings[0].package.installed_version, "");
    }

    #[test]
    fn malformed_reports_are_errors() {
        let v1 = r#"[{"Target": "x", "Vulnerabilities": []}]"#;
        assert!(parse_report(v1, "a", "s", 0).unwrap_err().to_string().contains("schema v2"));
        assert!(matches!(parse_report("{]", "a", "s", 0), Err(FeedError::Json { .. })));
        let v3 = r#"{"SchemaVersion": 3, "Results": []}"#;
        assert!(parse_report(v3, "a", "s", 0).unwrap_err().to_string().contains("SchemaVersion"));
        let empty_id = r#"{"Results": [{"Type": "npm",
          "Vulnerabilities": [{"VulnerabilityID": " ", "PkgName": "x"}]}]}"#;
        let err = parse_report(empty_id, "a", "s", 0).unwrap_err().to_string();
        assert!(err.contains("Results[0].Vulnerabilities[0]"), "{err}");
        let no_type = r#"{"Results": [{"Target": "t", "Class": "lang-pkgs",
          "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "x"}]}]}"#;
        assert!(parse_report(no_type, "a", "s", 0).unwrap_err().to_string().contains("no Type"));
    }

    #[test]
    fn maps_result_types_to_osv_ecosystems() {
        let cases = [
            ("debian", "Debian"),
            ("alpine", "Alpine"),
            ("alma", "RPM"),
            ("amazon", "RPM"),
            ("centos", "RPM"),
            ("yarn", "npm"),
            ("python-pkg", "PyPI"),
            ("gobinary", "Go"),
            ("jar", "Maven"),
            ("composer", "Packagist"),
            ("gemspec", "RubyGems"),
            ("cargo", "crates.io"),
            ("nuget", "NuGet"),
            ("Something-New", "something-new"),
        ];
        for (kind, ecosystem) in cases {
            assert_eq!(ecosystem_of_type(kind), ecosystem, "{kind}");
        }
        assert_eq!(canonical_name("Packagist", "GuzzleHttp/Psr7"), "guzzlehttp/psr7");
        assert_eq!(canonical_name("npm", " Foo "), "Foo");
    }

    /// Trivy's own integration goldens (aquasecurity/trivy, Apache-2.0), read in place.
    #[test]
    fn parses_the_trivy_integration_goldens() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/scanner/trivy/");
        let cases = [
            ("alpine-310.json", 4, "Alpine", "libcrypto1.1"),
            ("almalinux-8.json", 1, "RPM", "openssl-libs"),
            ("centos-7.json", 3, "RPM", "bash"),
            ("debian-buster.json", 2, "Debian", "bash"),
            ("ubuntu-1804.json", 5, "Ubuntu", "bash"),
            ("fluentd-gems.json", 2, "Debian", "libidn2-0"),
            ("gomod.json", 5, "Go", "github.com/docker/distribution"),
            ("pip.json", 2, "PyPI", "werkzeug"),
            ("pom.json", 2, "Maven", "com.fasterxml.jackson.core:jackson-databind"),
            ("composer.lock.json", 1, "Packagist", "guzzlehttp/psr7"),
            ("yarn.json", 1, "npm", "jquery"),
            ("spring4shell-jre11.json", 1, "Maven", "org.springframework:spring-beans"),
        ];
        for (file, count, ecosystem, first_name) in cases {
            let text = std::fs::read_to_string(format!("{dir}{file}")).unwrap();
            let findings = parse_report(&text, "asset", "scan", 5).unwrap();
            assert_eq!(findings.len(), count, "{file}");
            assert_eq!(findings[0].package.ecosystem, ecosystem, "{file}");
            assert_eq!(findings[0].package.name, first_name, "{file}");
        }
        let text = std::fs::read_to_string(format!("{dir}fluentd-gems.json")).unwrap();
        let gem = &parse_report(&text, "asset", "scan", 5).unwrap()[1];
        assert_eq!(gem.package.ecosystem, "RubyGems");
        assert_eq!(gem.package.fixed_version.as_deref(), Some("6.0.3.1, 5.2.4.3"));
        let text = std::fs::read_to_string(format!("{dir}centos-7.json")).unwrap();
        let bash = &parse_report(&text, "asset", "scan", 5).unwrap()[0];
        assert_eq!(bash.package.fixed_version, None); // will_not_fix: no FixedVersion
    }
}
