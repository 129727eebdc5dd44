//! Asset context beyond criticality, environment and internet exposure, as policy data:
//! business-service weights (how much an exposure on that service matters) and a register of
//! compensating controls (a WAF rule, segmentation, a virtual patch) that make exploitation
//! less likely where they apply.
//!
//! Invariants: a service weight is in `[0, 2]` and a control factor in `(0, 1]`, checked when
//! the policy parses; several controls on one exposure multiply, but never below the
//! `controls_floor`, so a stack of controls cannot erase a risk.

use super::policy::Subject;
use serde::Deserialize;
use std::collections::BTreeMap;

fn one() -> f32 {
    1.0
}

fn floor() -> f32 {
    0.2
}

/// A compensating control in force for a scope (every scope field that is set must match).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    /// What it is, e.g. `waf`, `segmentation`, `virtual_patch`.
    pub control: String,
    #[serde(default)]
    pub vulnerability: Option<String>,
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub business_service: Option<String>,
    /// Multiplies the likelihood of exploitation, in `(0, 1]`.
    pub factor: f32,
    #[serde(default)]
    pub description: String,
}

impl Control {
    fn covers(&self, s: &Subject<'_>) -> bool {
        self.vulnerability.as_deref().is_none_or(|v| s.vulnerability_names.contains(&v))
            && self.asset.as_deref().is_none_or(|a| a == s.asset)
            && self.business_service.as_deref().is_none_or(|b| s.business_service == Some(b))
    }
}

/// The `[context]` section of a policy. Defaults: weight 1 for every service, no controls,
/// a floor of 0.2.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Weight of a service not listed in `service_weights`.
    #[serde(default = "one")]
    pub default_service_weight: f32,
    /// Business service -> weight of its exposures' impact.
    #[serde(default)]
    pub service_weights: BTreeMap<String, f32>,
    /// Lowest product of control factors.
    #[serde(default = "floor")]
    pub controls_floor: f32,
    /// The compensating-control register.
    #[serde(default)]
    pub controls: Vec<Control>,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            default_service_weight: 1.0,
            service_weights: BTreeMap::new(),
            controls_floor: floor(),
            controls: Vec::new(),
        }
    }
}

impl Context {
    /// Checks the ranges; the error names the offending entry.
    pub fn check(&self) -> Result<(), String> {
        let weights = self.service_weights.iter().map(|(k, v)| (k.as_str(), *v));
        for (name, w) in weights.chain([("default_service_weight", self.default_service_weight)]) {
            if !(0.0..=2.0).contains(&w) {
                return Err(format!("service weight {name} = {w} is outside [0, 2]"));
            }
        }
        for c in &self.controls {
            if !(c.factor > 0.0 && c.factor <= 1.0) {
                return Err(format!("control {} factor {} is outside (0, 1]", c.id, c.factor));
            }
        }
        if !(self.controls_floor > 0.0 && self.controls_floor <= 1.0) {
            return Err(format!("controls_floor {} is outside (0, 1]", self.controls_floor));
        }
        Ok(())
    }

    /// The weight of `service`.
    pub fn service_weight(&self, service: Option<&str>) -> f32 {
        service
            .and_then(|s| self.service_weights.get(s))
            .copied()
            .unwrap_or(self.default_service_weight)
    }

    /// The product of the factors of every control covering `subject` (at least the floor),
    /// and their ids.
    pub fn controls_for(&self, subject: &Subject<'_>) -> (f32, Vec<&str>) {
        let covering: Vec<&Control> = self.controls.iter().filter(|c| c.covers(subject)).collect();
        let product: f32 = covering.iter().map(|c| c.factor).product();
        (product.max(self.controls_floor), covering.iter().map(|c| c.id.as_str()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_multiply_down_to_the_floor_and_weights_default() {
        let ctx: Context = toml::from_str(
            r#"
            default_service_weight = 0.8
            controls_floor = 0.3
            [service_weights]
            payments = 1.5
            [[controls]]
            id = "CTL-1"
            control = "waf"
            business_service = "payments"
            factor = 0.5
            [[controls]]
            id = "CTL-2"
            control = "virtual_patch"
            vulnerability = "CVE-2024-1"
            factor = 0.4
            "#,
        )
        .expect("parses");
        ctx.check().expect("in range");
        assert_eq!(ctx.service_weight(Some("payments")), 1.5);
        assert_eq!(ctx.service_weight(Some("wiki")), 0.8);
        let names = ["CVE-2024-1"];
        let s =
            Subject { vulnerability_names: &names, asset: "a", business_service: Some("payments") };
        assert_eq!(ctx.controls_for(&s), (0.3, vec!["CTL-1", "CTL-2"]), "0.2 raised to the floor");
        let other = Subject { business_service: None, ..s };
        assert_eq!(ctx.controls_for(&other), (0.4, vec!["CTL-2"]));
        let bad: Context =
            toml::from_str("[[controls]]\nid='x'\ncontrol='waf'\nfactor=1.5").expect("toml");
        assert!(bad.check().is_err());
    }
}
