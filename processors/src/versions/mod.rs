//! Version-aware matching by ecosystem: is an installed version inside an advisory's ranges, and
//! does it reach a scanner-reported fix?
//!
//! Each ecosystem maps to a [`Scheme`], the rules by which its versions compare. Every scheme is
//! a total order on the versions it parses; a version it cannot parse makes the comparison
//! `None`, never a guess.
//!
//! Invariant: no function here claims a match it could not decide. [`is_affected`] and
//! [`is_fixed_by`] answer `None` when a comparison they needed was impossible, and combine range
//! bounds with three-valued logic, so an unparseable bound only matters where it decides.

mod apk;
mod debian;
mod generic;
mod maven;
mod num;
mod pep440;
mod rpm;
mod semver;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;

use crate::events::VersionRange;

/// How versions of an ecosystem compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// SemVer 2.0 precedence: Go (leading `v`, pseudo-versions, `+incompatible`), npm,
    /// crates.io, Packagist, NuGet, Hex, Pub.
    Semver,
    /// dpkg ordering: Debian, Ubuntu.
    Debian,
    /// rpmvercmp ordering: Red Hat, Rocky Linux, AlmaLinux, SUSE, openSUSE, Fedora, ...
    Rpm,
    /// PEP 440: PyPI.
    Pep440,
    /// Maven's ComparableVersion specification.
    Maven,
    /// apk-tools ordering: Alpine, Wolfi, Chainguard.
    Apk,
    /// `Gem::Version`-style: text segments are pre-releases.
    RubyGems,
    /// Numeric and text runs, for vendor products and unknown ecosystems.
    Generic,
}

/// The scheme of an OSV ecosystem name. Case-insensitive; only the part before the first `:`
/// counts (`Debian:12`, `Ubuntu:22.04:LTS`, `Red Hat:enterprise_linux:9`). Unknown names, and
/// `vendor`, get [`Scheme::Generic`].
pub fn scheme_for(ecosystem: &str) -> Scheme {
    let base = ecosystem.split_once(':').map_or(ecosystem, |(base, _)| base);
    match base.trim().to_ascii_lowercase().as_str() {
        "go" | "golang" | "npm" | "crates.io" | "cargo" | "packagist" | "composer" | "nuget"
        | "hex" | "pub" | "swifturl" | "github actions" | "bitnami" => Scheme::Semver,
        "debian" | "ubuntu" => Scheme::Debian,
        "red hat" | "redhat" | "rhel" | "rocky linux" | "almalinux" | "opensuse" | "suse"
        | "rpm" | "fedora" | "centos" | "oracle linux" | "amazon linux" | "photon os"
        | "mageia" | "openeuler" | "azure linux" | "cbl-mariner" => Scheme::Rpm,
        "pypi" => Scheme::Pep440,
        "maven" => Scheme::Maven,
        "alpine" | "wolfi" | "chainguard" => Scheme::Apk,
        "rubygems" => Scheme::RubyGems,
        _ => Scheme::Generic,
    }
}

/// Compares two versions in `scheme`; `None` when either does not parse in it.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Option<Ordering> {
    match scheme {
        Scheme::Semver => semver::compare(a, b),
        Scheme::Debian => debian::compare(a, b),
        Scheme::Rpm => rpm::compare(a, b),
        Scheme::Pep440 => pep440::compare(a, b),
        Scheme::Maven => maven::compare(a, b),
        Scheme::Apk => apk::compare(a, b),
        Scheme::RubyGems => generic::compare(generic::Flavor::RubyGems, a, b),
        Scheme::Generic => generic::compare(generic::Flavor::Generic, a, b),
    }
}

/// True when `version` parses in `scheme`.
pub fn parses(scheme: Scheme, version: &str) -> bool {
    compare(scheme, version, version).is_some()
}

/// Is `installed` inside the OSV-style `ranges` of `ecosystem`?
///
/// A range holds `introduced <= v < fixed`, or `introduced <= v <= last_affected`; when a range
/// gives both upper bounds, both must hold, and with neither it is open above. `introduced`
/// absent or `"0"` means from the beginning. Ranges are OR-ed, and an empty list means every
/// version is affected. `None` when a comparison that decides the answer is impossible; one
/// affirmative range wins over another that cannot be decided.
pub fn is_affected(ecosystem: &str, installed: &str, ranges: &[VersionRange]) -> Option<bool> {
    if ranges.is_empty() {
        return Some(true);
    }
    let scheme = scheme_for(ecosystem);
    let installed = normalize(ecosystem, installed);
    any(ranges.iter().map(|range| in_range(ecosystem, scheme, installed, range)))
}

/// Does `installed` reach the scanner-reported `fixed` version (`installed >= fixed`)?
/// `None` when either version does not parse in the ecosystem's scheme.
pub fn is_fixed_by(ecosystem: &str, installed: &str, fixed: &str) -> Option<bool> {
    let scheme = scheme_for(ecosystem);
    let order = compare(scheme, normalize(ecosystem, installed), normalize(ecosystem, fixed))?;
    Some(order != Ordering::Less)
}

fn in_range(
    ecosystem: &str,
    scheme: Scheme,
    installed: &str,
    range: &VersionRange,
) -> Option<bool> {
    let cmp = |bound: &str| compare(scheme, installed, normalize(ecosystem, bound));
    let lower = match range.introduced.as_deref().map(str::trim) {
        None | Some("0") => Some(true),
        Some(introduced) => cmp(introduced).map(Ordering::is_ge),
    };
    let below_fixed = range.fixed.as_deref().map_or(Some(true), |f| cmp(f).map(Ordering::is_lt));
    let up_to_last =
        range.last_affected.as_deref().map_or(Some(true), |l| cmp(l).map(Ordering::is_le));
    all([lower, below_fixed, up_to_last])
}

/// Three-valued AND: false wins, then unknown.
fn all(values: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for value in values {
        match value {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    if unknown {
        None
    } else {
        Some(true)
    }
}

/// Three-valued OR: true wins, then unknown.
fn any(values: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    all(values.into_iter().map(|v| v.map(|b| !b))).map(|b| !b)
}

/// Ecosystem-specific spellings that a scheme does not know: Go toolchain versions as scanners
/// report them (`go1.21.5`) become `1.21.5`.
fn normalize<'a>(ecosystem: &str, version: &'a str) -> &'a str {
    let version = version.trim();
    let base = ecosystem.split_once(':').map_or(ecosystem, |(base, _)| base).trim();
    if base.eq_ignore_ascii_case("go") {
        if let Some(rest) = version.strip_prefix("go") {
            if rest.starts_with(|c: char| c.is_ascii_digit()) {
                return rest;
            }
        }
    }
    version
}
