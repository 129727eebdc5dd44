//! Failure predictions of campaign members, kept between planning passes: a campaign of
//! thousands of assets is planned again on every input that touches it, and predicting (feature
//! strings, hashing, the model) is most of a pass.
//!
//! Invariant: a kept probability is returned only for the same predictor version and the same
//! inputs (the installed version, OS family and version, environment; the campaign fixes the
//! remediation), so keeping predictions changes what a pass costs, never what it plans.

use super::predict::{FailurePredictor, PatchContext};
use crate::events::Environment;
use std::collections::HashMap;

#[derive(Debug, Clone)]
struct Kept {
    installed: String,
    os_family: String,
    os_version: String,
    environment: Environment,
    p: f32,
}

impl Kept {
    fn matches(&self, ctx: &PatchContext<'_>) -> bool {
        self.environment == ctx.environment
            && self.installed == ctx.installed_version
            && self.os_version == ctx.os_version
            && self.os_family == ctx.os_family
    }
}

/// Predictions by campaign and asset, for one predictor version.
#[derive(Debug, Default)]
pub struct Predictions {
    version: String,
    by_campaign: HashMap<String, HashMap<String, Kept>>,
}

impl Predictions {
    /// The predicted failure probability of `ctx` for `asset` in `campaign`.
    pub fn get(
        &mut self,
        predictor: &dyn FailurePredictor,
        campaign: &str,
        asset: &str,
        ctx: &PatchContext<'_>,
    ) -> f32 {
        if self.version != predictor.version() {
            self.by_campaign.clear();
            self.version = predictor.version().to_string();
        }
        if let Some(kept) = self.by_campaign.get(campaign).and_then(|m| m.get(asset)) {
            if kept.matches(ctx) {
                return kept.p;
            }
        }
        let p = predictor.predict(ctx);
        let kept = Kept {
            installed: ctx.installed_version.to_string(),
            os_family: ctx.os_family.to_string(),
            os_version: ctx.os_version.to_string(),
            environment: ctx.environment,
            p,
        };
        let members = match self.by_campaign.get_mut(campaign) {
            Some(m) => m,
            None => self.by_campaign.entry(campaign.to_string()).or_default(),
        };
        members.insert(asset.to_string(), kept);
        p
    }

    /// Forgets the campaigns `keep` rejects (closed ones).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.by_campaign.retain(|c, _| keep(c));
    }

    /// Members with a kept prediction.
    pub fn len(&self) -> usize {
        self.by_campaign.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its calls; predicts from the installed version's length.
    #[derive(Debug, Default)]
    struct Counting {
        calls: AtomicUsize,
        version: &'static str,
    }

    impl FailurePredictor for Counting {
        fn version(&self) -> &str {
            self.version
        }
        fn predict(&self, ctx: &PatchContext<'_>) -> f32 {
            self.calls.fetch_add(1, Ordering::Relaxed);
            ctx.installed_version.len() as f32 / 100.0
        }
    }

    fn ctx(installed: &str) -> PatchContext<'_> {
        PatchContext {
            ecosystem: "Debian",
            package: "openssl",
            installed_version: installed,
            target_version: Some("3.0.15"),
            os_family: "debian",
            os_version: "12",
            environment: Environment::Production,
        }
    }

    #[test]
    fn a_prediction_is_reused_only_for_the_same_inputs_and_version() {
        let mut kept = Predictions::default();
        let v1 = Counting { version: "m-v1", ..Counting::default() };
        assert_eq!(kept.get(&v1, "c", "a", &ctx("3.0.2")), 0.05);
        assert_eq!(kept.get(&v1, "c", "a", &ctx("3.0.2")), 0.05);
        assert_eq!(v1.calls.load(Ordering::Relaxed), 1, "same inputs: kept");
        assert_eq!(kept.get(&v1, "c", "a", &ctx("3.0.11")), 0.06);
        assert_eq!(
            v1.calls.load(Ordering::Relaxed),
            2,
            "another installed version: predicted again"
        );
        let mut other = ctx("3.0.11");
        other.environment = Environment::Staging;
        kept.get(&v1, "c", "a", &other);
        assert_eq!(v1.calls.load(Ordering::Relaxed), 3, "another environment: predicted again");
        let v2 = Counting { version: "m-v2", ..Counting::default() };
        kept.get(&v2, "c", "a", &other);
        assert_eq!(v2.calls.load(Ordering::Relaxed), 1, "a new model version predicts again");
        kept.get(&v2, "d", "a", &other);
        assert_eq!(kept.len(), 2);
        kept.retain(|c| c == "d");
        assert_eq!(kept.len(), 1);
    }
}
