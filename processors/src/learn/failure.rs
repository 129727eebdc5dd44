//! Features of one deployment for the patch-failure model, and the predictor that serves a
//! published model to the planner.
//!
//! Invariant: [`features`] is a pure function of the [`PatchContext`]; the learn stage trains on
//! exactly the features the planner predicts with, because both call it. Names are lower-cased,
//! so `Debian` and `debian` are one cohort.

use super::linear::LinearModel;
use super::Feature;
use crate::plan::predict::{major, reboot_likely, MAX_P, MIN_P};
use crate::plan::{FailurePredictor, PatchContext, PriorPredictor};
use std::sync::Arc;

/// Name of the patch-failure model on the models topic.
pub const FAILURE_MODEL: &str = "patch_failure";

/// Features of deploying a remediation on an asset: the ecosystem, package and exact
/// remediation (the history of this patch), OS family and version and their crossings with the
/// package (the cohort), environment, a likely reboot, a major-version change, and the prior's
/// log-odds as a real-valued feature (so an untrained model starts near the prior).
pub fn features(ctx: &PatchContext<'_>) -> Vec<Feature> {
    let eco = ctx.ecosystem.trim().to_lowercase();
    let pkg = ctx.package.trim().to_lowercase();
    let os = ctx.os_family.trim().to_lowercase();
    let os_version = ctx.os_version.trim().to_lowercase();
    let target = ctx.target_version.unwrap_or("latest");
    let prior = f64::from(PriorPredictor.predict(ctx));
    let mut out = vec![
        Feature::real("prior_logit", (prior / (1.0 - prior)).ln() as f32),
        Feature::flag(format!("eco={eco}")),
        Feature::flag(format!("pkg={eco}:{pkg}")),
        Feature::flag(format!("remediation={eco}:{pkg}@{target}")),
        Feature::flag(format!("os={os}")),
        Feature::flag(format!("os_version={os}:{os_version}")),
        Feature::flag(format!("os_pkg={os}:{eco}:{pkg}")),
        Feature::flag(format!("env={:?}", ctx.environment).to_lowercase()),
        Feature::flag(format!("env_pkg={:?}:{eco}:{pkg}", ctx.environment).to_lowercase()),
    ];
    if reboot_likely(ctx) {
        out.push(Feature::flag("reboot=yes"));
    }
    if ctx.target_version.is_some_and(|t| major(t) != major(ctx.installed_version)) {
        out.push(Feature::flag("major_change=yes"));
    }
    out
}

/// The planner's failure predictor backed by a published patch-failure model; the prior until
/// the first one arrives.
#[derive(Debug, Clone)]
pub struct LearnedFailure {
    model: Arc<LinearModel>,
    label: String,
}

impl LearnedFailure {
    /// A predictor serving `model`.
    pub fn new(model: Arc<LinearModel>) -> LearnedFailure {
        let label = model.label();
        LearnedFailure { model, label }
    }
}

impl FailurePredictor for LearnedFailure {
    fn version(&self) -> &str {
        &self.label
    }

    fn predict(&self, ctx: &PatchContext<'_>) -> f32 {
        (self.model.predict(&features(ctx)) as f32).clamp(MIN_P, MAX_P)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Environment;
    use crate::learn::{Ftrl, FtrlParams};

    fn ctx<'a>(pkg: &'a str, os: &'a str) -> PatchContext<'a> {
        PatchContext {
            ecosystem: "Debian",
            package: pkg,
            installed_version: "1.0",
            target_version: Some("1.1"),
            os_family: os,
            os_version: "12",
            environment: Environment::Production,
        }
    }

    #[test]
    fn a_learned_cohort_effect_reaches_the_planner() {
        let mut ftrl = Ftrl::new(FtrlParams { bits: 16, l1: 0.1, ..FtrlParams::default() });
        for i in 0..400 {
            // openssl fails on rhel a third of the time, never on debian.
            ftrl.update(&features(&ctx("openssl", "rhel")), i % 3 == 0);
            ftrl.update(&features(&ctx("openssl", "debian")), false);
        }
        let learned = LearnedFailure::new(Arc::new(
            LinearModel::from_snapshot(&ftrl.snapshot(FAILURE_MODEL, 7, 0)).expect("snapshot"),
        ));
        let risky = learned.predict(&ctx("openssl", "rhel"));
        let safe = learned.predict(&ctx("openssl", "debian"));
        assert!(risky > 0.2 && safe < 0.05, "{risky} {safe}");
        assert_eq!(learned.version(), "patch_failure-v7");
    }

    #[test]
    fn names_are_case_insensitive() {
        let a = features(&ctx("OpenSSL", "RHEL"));
        let b = features(&ctx("openssl", "rhel"));
        assert_eq!(a, b);
    }
}
