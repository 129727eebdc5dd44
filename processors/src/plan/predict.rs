//! Predicted probability that a patch fails on an asset, which sizes the waves (riskier patch,
//! smaller wave) and is recorded on every command.
//!
//! There is no learned patch-failure model yet: [`PriorPredictor`] is a documented prior that a
//! learner replaces by implementing [`FailurePredictor`] (and reporting its own `version`, which
//! commands carry in `model_version`).
//!
//! Invariant: a predictor is a pure function of the [`PatchContext`]; its output is a probability
//! in `[MIN_P, MAX_P]`, never 0 (a wave size divides by it) and never 1.

use crate::events::Environment;

/// Lowest probability a predictor may return.
pub const MIN_P: f32 = 0.005;
/// Highest probability a predictor may return.
pub const MAX_P: f32 = 0.5;

/// What a predictor knows about one deployment of a remediation on one asset.
#[derive(Debug, Clone, Copy)]
pub struct PatchContext<'a> {
    pub ecosystem: &'a str,
    pub package: &'a str,
    pub installed_version: &'a str,
    pub target_version: Option<&'a str>,
    /// The asset's OS family, e.g. `debian`, `rhel`, `windows` (empty when unknown).
    pub os_family: &'a str,
    /// The asset's OS version, e.g. `12`, `9.3`, `2022` (empty when unknown).
    pub os_version: &'a str,
    pub environment: Environment,
}

/// Predicts the failure probability of a deployment.
pub trait FailurePredictor: Send + Sync + std::fmt::Debug {
    /// Version recorded in each command's `model_version`.
    fn version(&self) -> &str;
    /// Probability that deploying the remediation fails on the asset, in `[MIN_P, MAX_P]`.
    fn predict(&self, ctx: &PatchContext<'_>) -> f32;
}

/// The prior, until a learned model replaces it:
///
/// | what | probability |
/// |---|---|
/// | OS package (Debian, Ubuntu, Alpine, RPM distributions) | 0.02 |
/// | language library (npm, PyPI, Maven, Go, crates.io, NuGet, RubyGems, ...): app redeploy | 0.04 |
/// | Windows or vendor patch, or an unknown ecosystem | 0.05 |
/// | + a reboot is likely (kernel, firmware, libc, systemd; Windows updates) | + 0.03 |
/// | + the major version changes (`1.x` to `2.x`) | + 0.05 |
///
/// Orders of magnitude from public patch-management experience (most OS package updates apply
/// cleanly; reboots and major upgrades are where deployments break), not fitted to data.
#[derive(Debug, Clone, Copy, Default)]
pub struct PriorPredictor;

/// Version of [`PriorPredictor`].
pub const PRIOR_VERSION: &str = "patch-failure-prior-v1";

const OS_ECOSYSTEMS: [&str; 12] = [
    "debian",
    "ubuntu",
    "alpine",
    "red hat",
    "redhat",
    "rhel",
    "rocky linux",
    "almalinux",
    "suse",
    "opensuse",
    "rpm",
    "wolfi",
];
const LIBRARY_ECOSYSTEMS: [&str; 11] = [
    "npm",
    "pypi",
    "maven",
    "go",
    "crates.io",
    "nuget",
    "rubygems",
    "packagist",
    "pub",
    "hex",
    "swifturl",
];
const REBOOT_PACKAGES: [&str; 9] = [
    "linux-image",
    "kernel",
    "linux",
    "glibc",
    "libc6",
    "systemd",
    "firmware",
    "microcode",
    "grub",
];

impl FailurePredictor for PriorPredictor {
    fn version(&self) -> &str {
        PRIOR_VERSION
    }

    fn predict(&self, ctx: &PatchContext<'_>) -> f32 {
        let eco = ctx.ecosystem.to_ascii_lowercase();
        let os = ctx.os_family.to_ascii_lowercase();
        let windows = os.contains("windows") || eco.contains("windows") || eco == "kb";
        let mut p: f32 = if windows {
            0.05
        } else if OS_ECOSYSTEMS.iter().any(|e| eco.starts_with(e)) {
            0.02
        } else if LIBRARY_ECOSYSTEMS.contains(&eco.as_str()) {
            0.04
        } else {
            0.05
        };
        if reboot_likely(ctx) {
            p += 0.03;
        }
        if ctx.target_version.is_some_and(|t| major(t) != major(ctx.installed_version)) {
            p += 0.05;
        }
        p.clamp(MIN_P, MAX_P)
    }
}

/// A reboot is likely: Windows updates, kernels, firmware, libc, systemd, boot loaders.
pub fn reboot_likely(ctx: &PatchContext<'_>) -> bool {
    let eco = ctx.ecosystem.to_ascii_lowercase();
    let windows = ctx.os_family.to_ascii_lowercase().contains("windows")
        || eco.contains("windows")
        || eco == "kb";
    let pkg = ctx.package.to_ascii_lowercase();
    windows
        || REBOOT_PACKAGES.iter().any(|r| {
            pkg.strip_prefix(r).is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
        })
}

/// The leading number of a version (`2` of `2.17.1`, `1` of `1:1.2.3-1` after the epoch).
pub fn major(version: &str) -> Option<u64> {
    let v = version.split_once(':').map_or(version, |(_, rest)| rest);
    let digits: String =
        v.trim_start_matches('v').chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(eco: &'a str, pkg: &'a str, from: &'a str, to: &'a str) -> PatchContext<'a> {
        PatchContext {
            ecosystem: eco,
            package: pkg,
            installed_version: from,
            target_version: Some(to),
            os_family: "debian",
            os_version: "12",
            environment: Environment::Production,
        }
    }

    #[test]
    fn the_prior_ranks_riskier_patches_higher() {
        let p = PriorPredictor;
        let lib = p.predict(&ctx("Debian", "libxml2", "2.9.14", "2.9.15"));
        let kernel = p.predict(&ctx("Debian", "linux-image-amd64", "6.1.1", "6.1.2"));
        let maven = p.predict(&ctx("Maven", "log4j-core", "2.14.1", "2.17.1"));
        let major = p.predict(&ctx("npm", "express", "4.18.0", "5.0.0"));
        assert!((lib - 0.02).abs() < 1e-6, "{lib}");
        assert!((kernel - 0.05).abs() < 1e-6, "{kernel}");
        assert!((maven - 0.04).abs() < 1e-6, "{maven}");
        assert!((major - 0.09).abs() < 1e-6, "{major}");
        assert_eq!(major_of("1:2.3-1"), Some(2));
        assert_eq!(major_of("v10.1"), Some(10));
    }

    fn major_of(v: &str) -> Option<u64> {
        major(v)
    }
}
