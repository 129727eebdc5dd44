//! Tests of the public matching API: ecosystem names, range semantics, three-valued answers.
//! Invariant: each test states one rule of `is_affected` / `is_fixed_by` with real-looking data.

use super::*;

fn range(introduced: Option<&str>, fixed: Option<&str>, last: Option<&str>) -> VersionRange {
    VersionRange {
        introduced: introduced.map(str::to_owned),
        fixed: fixed.map(str::to_owned),
        last_affected: last.map(str::to_owned),
    }
}

fn fixed_at(introduced: &str, fixed: &str) -> VersionRange {
    range(Some(introduced), Some(fixed), None)
}

#[test]
fn ecosystem_names_map_to_schemes() {
    let cases = [
        ("Go", Scheme::Semver),
        ("npm", Scheme::Semver),
        ("crates.io", Scheme::Semver),
        ("Packagist", Scheme::Semver),
        ("NuGet", Scheme::Semver),
        ("PyPI", Scheme::Pep440),
        ("pypi", Scheme::Pep440),
        ("Debian", Scheme::Debian),
        ("Debian:12", Scheme::Debian),
        ("Ubuntu", Scheme::Debian),
        ("Ubuntu:22.04:LTS", Scheme::Debian),
        ("Alpine", Scheme::Apk),
        ("Alpine:v3.19", Scheme::Apk),
        ("Red Hat", Scheme::Rpm),
        ("Red Hat:enterprise_linux:9::appstream", Scheme::Rpm),
        ("Rocky Linux", Scheme::Rpm),
        ("AlmaLinux:9", Scheme::Rpm),
        ("openSUSE", Scheme::Rpm),
        ("SUSE:Linux Enterprise Server 15 SP5", Scheme::Rpm),
        ("RPM", Scheme::Rpm),
        ("Maven", Scheme::Maven),
        ("RubyGems", Scheme::RubyGems),
        ("vendor", Scheme::Generic),
        ("", Scheme::Generic),
        ("SomethingNew", Scheme::Generic),
    ];
    for (ecosystem, scheme) in cases {
        assert_eq!(scheme_for(ecosystem), scheme, "{ecosystem}");
    }
}

#[test]
fn introduced_inclusive_fixed_exclusive() {
    let ranges = [fixed_at("1.2.0", "1.2.5")];
    assert_eq!(is_affected("Go", "v1.1.9", &ranges), Some(false));
    assert_eq!(is_affected("Go", "v1.2.0", &ranges), Some(true));
    assert_eq!(is_affected("Go", "v1.2.4", &ranges), Some(true));
    assert_eq!(is_affected("Go", "v1.2.5-rc.1", &ranges), Some(true));
    assert_eq!(is_affected("Go", "v1.2.5", &ranges), Some(false));
    assert_eq!(is_affected("Go", "v1.3.0", &ranges), Some(false));
}

#[test]
fn last_affected_is_inclusive() {
    let ranges = [range(Some("2.0"), None, Some("2.4"))];
    assert_eq!(is_affected("PyPI", "2.4", &ranges), Some(true));
    assert_eq!(is_affected("PyPI", "2.4.post1", &ranges), Some(false));
    assert_eq!(is_affected("PyPI", "2.4.1", &ranges), Some(false));
    assert_eq!(is_affected("PyPI", "2.0rc1", &ranges), Some(false));
    // Both upper bounds given: both must hold.
    let both = [range(None, Some("3.0"), Some("2.5"))];
    assert_eq!(is_affected("PyPI", "2.6", &both), Some(false));
    assert_eq!(is_affected("PyPI", "2.5", &both), Some(true));
}

#[test]
fn missing_bounds() {
    assert_eq!(is_affected("npm", "0.0.1", &[range(None, Some("1.0.0"), None)]), Some(true));
    assert_eq!(is_affected("npm", "0.0.1", &[range(Some("0"), Some("1.0.0"), None)]), Some(true));
    assert_eq!(is_affected("npm", "99.0.0", &[range(Some("2.0.0"), None, None)]), Some(true));
    assert_eq!(is_affected("npm", "1.0.0", &[range(Some("2.0.0"), None, None)]), Some(false));
    // An empty range list means every version, even one that does not parse.
    assert_eq!(is_affected("npm", "anything", &[]), Some(true));
}

#[test]
fn ranges_are_or_ed() {
    // GO-2021-0172 (stdlib): introduced 0, fixed 1.6.4; introduced 1.7.0-0, fixed 1.7.4.
    let ranges = [fixed_at("0", "1.6.4"), fixed_at("1.7.0-0", "1.7.4")];
    for (installed, affected) in [
        ("go1.6.3", true),
        ("1.6.4", false),
        ("1.6.10", false),
        ("v1.7.0-rc1", true),
        ("1.7.3", true),
        ("1.7.4", false),
    ] {
        assert_eq!(is_affected("Go", installed, &ranges), Some(affected), "{installed}");
    }
}

#[test]
fn undecidable_comparisons_give_none_only_where_they_decide() {
    let ranges = [fixed_at("1.0", "not a version!"), fixed_at("0", "0.5")];
    // 0.4 is inside the second range: affected whatever the first says.
    assert_eq!(is_affected("PyPI", "0.4", &ranges), Some(true));
    // 0.9 is below the first range's introduced: that range is false without its fixed.
    assert_eq!(is_affected("PyPI", "0.9", &ranges), Some(false));
    // 1.2 needs the unparseable bound.
    assert_eq!(is_affected("PyPI", "1.2", &ranges), None);
    // An installed version that does not parse cannot be placed at all.
    assert_eq!(is_affected("PyPI", "1.0-SNAPSHOT", &ranges), None);
}

#[test]
fn scanner_fixes() {
    assert_eq!(is_fixed_by("PyPI", "2.2.27", "2.2.27"), Some(true));
    assert_eq!(is_fixed_by("PyPI", "2.2.26", "2.2.27"), Some(false));
    assert_eq!(is_fixed_by("PyPI", "2.2.27.post1", "2.2.27"), Some(true));
    assert_eq!(is_fixed_by("Go", "v0.17.0", "0.17.0"), Some(true));
    assert_eq!(is_fixed_by("Go", "go1.21.4", "1.21.5"), Some(false));
    assert_eq!(is_fixed_by("npm", "1.0.0-beta", "1.0.0"), Some(false));
    assert_eq!(is_fixed_by("npm", "garbage", "1.0.0"), None);
    assert_eq!(is_fixed_by("Maven", "2.17.1", "2.17.1"), Some(true));
    assert_eq!(is_fixed_by("Alpine:v3.17", "1.1.1s-r0", "1.1.1t-r0"), Some(false));
    assert_eq!(is_fixed_by("vendor", "10.0 SP2", "10.0 SP1"), Some(true));
}

#[test]
fn debian_security_update_for_openssl() {
    // DSA-5532-1 (bookworm): openssl fixed in 3.0.11-1~deb12u2.
    let ranges = [fixed_at("0", "3.0.11-1~deb12u2")];
    assert_eq!(is_affected("Debian:12", "3.0.11-1~deb12u1", &ranges), Some(true));
    assert_eq!(is_affected("Debian:12", "3.0.9-1", &ranges), Some(true));
    assert_eq!(is_affected("Debian:12", "3.0.11-1~deb12u2", &ranges), Some(false));
    assert_eq!(is_affected("Debian:12", "3.0.13-1~deb12u1", &ranges), Some(false));
    assert_eq!(is_fixed_by("Debian", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2"), Some(false));
    // glibc in bookworm: a +deb12uN security upload is newer than the point release.
    assert_eq!(is_fixed_by("Debian:12", "2.36-9+deb12u4", "2.36-9+deb12u3"), Some(true));
    assert_eq!(is_fixed_by("Debian:12", "2.36-9", "2.36-9+deb12u3"), Some(false));
    assert_eq!(is_fixed_by("Ubuntu:22.04", "3.0.2-0ubuntu1.10", "3.0.2-0ubuntu1.12"), Some(false));
}

#[test]
fn rpm_errata_for_openssl() {
    // RHEL 7 openssl errata: fixed 1:1.0.2k-25.el7_9; the 7.9 GA build is 1:1.0.2k-19.el7.
    let ranges = [fixed_at("0", "1:1.0.2k-25.el7_9")];
    assert_eq!(is_affected("Red Hat", "1:1.0.2k-19.el7", &ranges), Some(true));
    assert_eq!(is_affected("Red Hat", "1:1.0.2k-25.el7_9", &ranges), Some(false));
    assert_eq!(is_affected("Red Hat", "1:1.0.2k-26.el7_9", &ranges), Some(false));
    assert_eq!(is_fixed_by("RPM", "1.0.2k-25.el7_9", "1.0.2k-19.el7"), Some(true));
    // Epoch is compared strictly: a scanner that drops the epoch compares as epoch 0.
    assert_eq!(is_fixed_by("Red Hat", "1.0.2k-26.el7_9", "1:1.0.2k-25.el7_9"), Some(false));
    // Rocky Linux 9 kernel.
    assert_eq!(
        is_fixed_by("Rocky Linux:9", "5.14.0-362.13.1.el9_3", "5.14.0-362.8.1.el9_3"),
        Some(true)
    );
}

#[test]
fn parses_reports_scheme_validity() {
    assert!(parses(Scheme::Semver, "v1.2.3"));
    assert!(!parses(Scheme::Semver, "1.2.3.final"));
    assert!(parses(Scheme::Pep440, "1.0.post1"));
    assert!(!parses(Scheme::Pep440, "1.0-SNAPSHOT"));
    assert!(parses(Scheme::Maven, "1.0-SNAPSHOT"));
}
