//! Operator override: a human decision that acts on the plan (accept risk, force a patch, mark
//! a false positive) or on the models (restore an earlier version). Keyed by `override_id`.
//! Invariant: a newer event with the same `override_id` replaces the older one, and `WITHDRAW`
//! ends it; an override matches an exposure when every scope field that is set matches.

use serde::{Deserialize, Serialize};

/// One operator decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorOverride {
    /// Stable id; events with the same id replace each other.
    pub override_id: String,
    /// What the operator decided.
    pub action: OverrideAction,
    /// Vulnerability in scope (any of its ids); `None`: every vulnerability.
    #[serde(default)]
    pub vulnerability_id: Option<String>,
    /// Asset in scope; `None`: every asset.
    #[serde(default)]
    pub asset_id: Option<String>,
    /// Package in scope; `None`: every package.
    #[serde(default)]
    pub package: Option<String>,
    /// `RESTORE_MODEL`: the model.
    #[serde(default)]
    pub model: Option<String>,
    /// `RESTORE_MODEL`: the version to restore.
    #[serde(default)]
    pub model_version: Option<i64>,
    /// When the override ends; `None`: until withdrawn.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// Who approved it.
    pub approver: String,
    /// Why, for the audit trail.
    #[serde(default)]
    pub reason: String,
    /// When it was decided.
    pub created_at: i64,
}

/// Operator decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OverrideAction {
    /// The risk is accepted until `expires_at`: no deployment is planned.
    AcceptRisk,
    /// Patch now: planned in the emergency lane whatever the score.
    ForcePatch,
    /// The finding is wrong: no deployment is planned.
    FalsePositive,
    /// Republish an earlier model version as the newest.
    RestoreModel,
    /// Ends the override with this id.
    Withdraw,
}

impl OperatorOverride {
    /// True while the override is in force at `now_ms`.
    pub fn active(&self, now_ms: i64) -> bool {
        self.action != OverrideAction::Withdraw && self.expires_at.is_none_or(|e| now_ms < e)
    }

    /// True when every scope field that is set matches; `vulnerability_names` are all the ids of
    /// the exposure's vulnerability (canonical and aliases).
    pub fn matches(&self, vulnerability_names: &[&str], asset_id: &str, package: &str) -> bool {
        self.vulnerability_id
            .as_deref()
            .is_none_or(|v| vulnerability_names.iter().any(|n| n.eq_ignore_ascii_case(v)))
            && self.asset_id.as_deref().is_none_or(|a| a == asset_id)
            && self.package.as_deref().is_none_or(|p| p == package)
    }
}
