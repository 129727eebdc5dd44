//! Real OSV advisories (tests/data/osv, see its README.md) against `patchline_processors::versions`.
//!
//! Invariant: every check derives its expectation from the advisory itself, never from the code
//! under test: within one range, its `introduced` is affected, its `fixed` is not, and a version
//! constructed just below `fixed` (by the ecosystem's own rules) is affected when at or above
//! `introduced`; every version the database lists in `affected[].versions` is affected by the
//! package's ranges together (ranges may overlap: a fix of one can lie inside another). Only
//! SEMVER and ECOSYSTEM ranges are used; GIT ranges name commits, not versions.
//!
//! `shared_corpus` runs the same checks over the shared data set's 300 sampled advisories, or
//! over any folder of OSV files named by `OSV_CORPUS_DIR`.

use std::path::{Path, PathBuf};

use patchline_processors::events::VersionRange;
use patchline_processors::versions::{compare, is_affected, scheme_for, Scheme};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Advisory {
    id: String,
    #[serde(default)]
    affected: Vec<Affected>,
}

#[derive(Debug, Deserialize)]
struct Affected {
    package: PackageRef,
    #[serde(default)]
    ranges: Vec<Range>,
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct PackageRef {
    ecosystem: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct Range {
    #[serde(rename = "type")]
    kind: String,
    events: Vec<Event>,
}

#[derive(Debug, Default, Deserialize)]
struct Event {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
}

/// Pairs the events of one range in order: an `introduced` opens a range, the next `fixed` or
/// `last_affected` closes it; a range still open at the end has no upper bound. `limit` events
/// (not in the data) are ignored.
fn to_version_ranges(events: &[Event]) -> Vec<VersionRange> {
    let mut out = Vec::new();
    let mut open: Option<VersionRange> = None;
    for event in events {
        if let Some(introduced) = &event.introduced {
            out.extend(open.take());
            open = Some(VersionRange {
                introduced: Some(introduced.clone()),
                fixed: None,
                last_affected: None,
            });
        }
        if event.fixed.is_some() || event.last_affected.is_some() {
            let mut range = open.take().unwrap_or(VersionRange {
                introduced: None,
                fixed: None,
                last_affected: None,
            });
            range.fixed = event.fixed.clone();
            range.last_affected = event.last_affected.clone();
            out.push(range);
        }
    }
    out.extend(open);
    out
}

/// Version ranges of one affected package, all SEMVER and ECOSYSTEM ranges together.
fn package_ranges(affected: &Affected) -> Vec<VersionRange> {
    affected
        .ranges
        .iter()
        .filter(|r| r.kind == "SEMVER" || r.kind == "ECOSYSTEM")
        .flat_map(|r| to_version_ranges(&r.events))
        .collect()
}

/// Versions just below `fixed` by the scheme's rules: the lowest pre-release of it and the
/// previous patch (SemVer), its first dev release and the previous release (PEP 440).
fn just_below(scheme: Scheme, fixed: &str) -> Vec<String> {
    match scheme {
        Scheme::Semver => semver_below(fixed),
        Scheme::Pep440 => pep440_below(fixed),
        _ => Vec::new(),
    }
}

fn semver_below(fixed: &str) -> Vec<String> {
    let without_build = fixed.split('+').next().unwrap_or(fixed);
    let (core, pre) = match without_build.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (without_build, None),
    };
    let mut out = Vec::new();
    match pre {
        None => {
            out.push(format!("{core}-0"));
            out.extend(previous_release(core));
        }
        Some(pre) => {
            let mut ids: Vec<String> = pre.split('.').map(str::to_owned).collect();
            let last = ids.pop().unwrap_or_default();
            match last.parse::<u64>() {
                Ok(n) if n > 0 => ids.push((n - 1).to_string()),
                Ok(_) if !ids.is_empty() => {}
                Ok(_) => return out,
                Err(_) if last.len() > 1 => ids.push(last[..last.len() - 1].to_owned()),
                Err(_) => ids.push("0".to_owned()),
            }
            out.push(format!("{core}-{}", ids.join(".")));
        }
    }
    out
}

/// `1.2.3` -> `1.2.2`; `None` when the last number is 0 or the text is not dotted numbers.
fn previous_release(release: &str) -> Option<String> {
    let mut numbers: Vec<u64> =
        release.split('.').map(|n| n.parse().ok()).collect::<Option<_>>()?;
    let last = numbers.last_mut()?;
    *last = last.checked_sub(1)?;
    Some(numbers.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
}

fn pep440_below(fixed: &str) -> Vec<String> {
    let lower = fixed.to_ascii_lowercase();
    let mut out = Vec::new();
    if !lower.contains('+') && !lower.contains("dev") {
        out.push(format!("{fixed}.dev0"));
    }
    out.extend(previous_release(fixed));
    out
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/osv")
}

fn load(dir: &Path) -> Vec<Advisory> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

/// What the checks found.
#[derive(Debug, Default)]
struct Outcome {
    checks: usize,
    /// Checks derived from one range (its introduced, its fixed, just below its fixed).
    range_disagreements: Vec<String>,
    /// A version listed in `affected[].versions` that the ranges do not cover.
    listed_disagreements: Vec<String>,
    /// `(advisory id, version)` where the matcher answered `None`: not valid in the scheme.
    undecidable: Vec<(String, String)>,
}

impl Outcome {
    fn expect(
        &mut self,
        listed: bool,
        id: &str,
        what: String,
        version: &str,
        got: Option<bool>,
        want: bool,
    ) {
        self.checks += 1;
        match got {
            None => self.undecidable.push((id.to_owned(), version.to_owned())),
            Some(got) if got == want => {}
            Some(_) if listed => self.listed_disagreements.push(format!("{what}: expected {want}")),
            Some(_) => self.range_disagreements.push(format!("{what}: expected {want}")),
        }
    }
}

/// Runs every check over `advisories`. Range checks use that one range alone, since ranges of
/// one package may overlap (a fix of one range can lie inside another); listed versions are
/// checked against all ranges of the package together.
fn check_all(advisories: &[Advisory]) -> Outcome {
    let mut outcome = Outcome::default();
    for advisory in advisories {
        let id = advisory.id.as_str();
        for affected in &advisory.affected {
            let ecosystem = affected.package.ecosystem.as_str();
            let scheme = scheme_for(ecosystem);
            let ranges = package_ranges(affected);
            if ranges.is_empty() {
                continue;
            }
            let at = |v: &str| format!("{id} {} {v}", affected.package.name);
            for range in &ranges {
                let own = std::slice::from_ref(range);
                let introduced = range.introduced.as_deref().filter(|i| *i != "0");
                if let Some(v) = introduced {
                    let what = format!("{} (introduced)", at(v));
                    outcome.expect(false, id, what, v, is_affected(ecosystem, v, own), true);
                }
                let Some(fixed) = range.fixed.as_deref() else { continue };
                let what = format!("{} (fixed)", at(fixed));
                outcome.expect(false, id, what, fixed, is_affected(ecosystem, fixed, own), false);
                for below in just_below(scheme, fixed) {
                    let above_introduced = introduced
                        .is_none_or(|i| compare(scheme, &below, i).is_some_and(|o| o.is_ge()));
                    if !above_introduced {
                        continue;
                    }
                    let mut spellings = vec![below.clone()];
                    if ecosystem == "Go" {
                        spellings.push(format!("v{below}"));
                    }
                    for v in spellings {
                        let what = format!("{} (just below fixed {fixed})", at(&v));
                        outcome.expect(false, id, what, &v, is_affected(ecosystem, &v, own), true);
                    }
                }
            }
            for v in &affected.versions {
                let what = format!("{} (listed in versions)", at(v));
                outcome.expect(true, id, what, v, is_affected(ecosystem, v, &ranges), true);
            }
        }
    }
    outcome
}

#[test]
fn stored_advisories_match_their_own_ranges() {
    let advisories = load(&data_dir());
    let count = |prefix: &str| advisories.iter().filter(|a| a.id.starts_with(prefix)).count();
    assert!(count("GO-") >= 5 && count("PYSEC-") >= 5, "test data went missing");
    let outcome = check_all(&advisories);
    assert!(outcome.checks >= 300, "only {} checks ran", outcome.checks);
    assert_eq!(outcome.range_disagreements, Vec::<String>::new());
    assert_eq!(outcome.listed_disagreements, Vec::<String>::new());
    // The one listed version that is not PEP 440 (pip rejects it as well) cannot be placed.
    let legacy = vec![("PYSEC-2021-356".to_owned(), "2.0.1rc2-git".to_owned())];
    assert_eq!(outcome.undecidable, legacy);
}

fn advisory(id: &str) -> Advisory {
    load(&data_dir()).into_iter().find(|a| a.id == id).unwrap_or_else(|| panic!("{id} missing"))
}

fn ranges_of(id: &str, package: &str) -> Vec<VersionRange> {
    let advisory = advisory(id);
    let affected = advisory
        .affected
        .iter()
        .find(|a| a.package.name == package)
        .unwrap_or_else(|| panic!("{id} has no package {package}"));
    package_ranges(affected)
}

#[test]
fn go_pseudo_version_bounds() {
    // GO-2023-1495, golang.org/x/net: introduced and fixed are both pseudo-versions.
    let ranges = ranges_of("GO-2023-1495", "golang.org/x/net");
    assert_eq!(ranges.len(), 1);
    let a = |v: &str| is_affected("Go", v, &ranges);
    assert_eq!(a("v0.0.0-20220524220425-1d687d428aca"), Some(true));
    assert_eq!(a("v0.0.0-20220524220424-ffffffffffff"), Some(false));
    assert_eq!(a("v0.1.0"), Some(true));
    assert_eq!(a("v0.1.1-0.20221104162952-702349b0e862"), Some(false));
    assert_eq!(a("v0.1.1"), Some(false));
    assert_eq!(a("v0.0.0-20210101000000-abcdef123456"), Some(false));
}

#[test]
fn go_incompatible_and_stdlib_ranges() {
    let harbor = ranges_of("GO-2023-2109", "github.com/goharbor/harbor");
    assert_eq!(is_affected("Go", "v2.7.2+incompatible", &harbor), Some(true));
    assert_eq!(is_affected("Go", "v2.7.3+incompatible", &harbor), Some(false));
    assert_eq!(is_affected("Go", "v2.8.0+incompatible", &harbor), Some(true));
    let stdlib = ranges_of("GO-2021-0172", "stdlib");
    assert_eq!(is_affected("Go", "go1.7rc1", &stdlib), None, "Go toolchain pre-release spelling");
    assert_eq!(is_affected("Go", "go1.7.3", &stdlib), Some(true));
    assert_eq!(is_affected("Go", "1.7.0-rc.1", &stdlib), Some(true));
}

#[test]
fn pypi_pre_releases_and_unsorted_ranges() {
    // PYSEC-2017-22, owlmixin: fixed in 2.0.0; its alphas and 2.0.0rc1 are listed as affected.
    let owlmixin = ranges_of("PYSEC-2017-22", "owlmixin");
    assert_eq!(is_affected("PyPI", "2.0.0rc1", &owlmixin), Some(true));
    assert_eq!(is_affected("PyPI", "2.0.0a12", &owlmixin), Some(true));
    assert_eq!(is_affected("PyPI", "2.0.0", &owlmixin), Some(false));
    assert_eq!(is_affected("PyPI", "2.0.0.post1", &owlmixin), Some(false));
    // PYSEC-2018-30, salt: the ranges are not in version order in the file.
    let salt = ranges_of("PYSEC-2018-30", "salt");
    assert_eq!(is_affected("PyPI", "2017.7.8", &salt), Some(false));
    assert_eq!(is_affected("PyPI", "2018.3.0", &salt), Some(true));
    assert_eq!(is_affected("PyPI", "2018.3.3", &salt), Some(false));
}

/// The 300 real advisories of the shared data set (`../shared/data/osv/sample`), or any folder
/// named by `OSV_CORPUS_DIR`: every range must be honoured.
#[test]
fn shared_corpus() {
    let dir = std::env::var("OSV_CORPUS_DIR").map(PathBuf::from).unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/osv/sample")
    });
    let advisories = load(&dir);
    assert!(advisories.len() >= 100, "expected the shared OSV sample in {}", dir.display());
    let outcome = check_all(&advisories);
    eprintln!(
        "{} advisories, {} checks: {} range disagreements, {} listed versions outside the ranges, \
         {} undecidable",
        advisories.len(),
        outcome.checks,
        outcome.range_disagreements.len(),
        outcome.listed_disagreements.len(),
        outcome.undecidable.len()
    );
    for line in outcome.listed_disagreements.iter().chain(&outcome.range_disagreements) {
        eprintln!("{line}");
    }
    for (id, version) in &outcome.undecidable {
        eprintln!("{id} undecidable: {version}");
    }
    // Listed versions come from the database's own enumeration and may disagree with its ranges;
    // the ranges themselves must always be honoured.
    assert!(outcome.range_disagreements.is_empty());
}
