//! Deployment command: an instruction to an executor. Keyed by `campaign_id`. Invariant:
//! `command_id` is a hash of the command's deciding inputs, so replaying the same inputs issues the
//! same ids; the signature covers every field but itself, including the fields after it (see
//! [`crate::sign`] for the canonical bytes).

use serde::{Deserialize, Serialize};

/// A deployment command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentCommand {
    /// Deterministic command id.
    pub command_id: String,
    /// What to do.
    pub action: CommandAction,
    /// Campaign: all commands that apply one remediation.
    pub campaign_id: String,
    /// Wave number within the campaign, from 1.
    pub wave: i32,
    /// Ring of the wave.
    pub ring: Ring,
    /// What to install.
    pub remediation: Remediation,
    /// Assets to act on.
    pub target_assets: Vec<String>,
    /// Do not start before this instant.
    pub not_before: i64,
    /// Do not start after this instant (end of the window).
    pub not_after: i64,
    /// The remediation is due by this instant.
    pub deadline: i64,
    /// Exposures and scores behind the command.
    pub rationale: Vec<Rationale>,
    /// Predicted probability that the deployment fails on these targets.
    pub predicted_failure: f32,
    /// Event time of the decision.
    pub issued_at: i64,
    /// Policy version that shaped the plan.
    pub policy_version: String,
    /// Model version that predicted failure.
    pub model_version: String,
    /// Ed25519 signature, absent until signed.
    #[serde(default)]
    pub signature: Option<Signature>,
    /// Why this wave, this window and this action: ring and wave sizing, the window in the
    /// asset's local time, the constraints that applied. Empty in commands written before v2.
    #[serde(default)]
    pub plan_reason: String,
    /// Planned in the emergency lane (SSVC ACT or CISA KEV): shorter waits, the same canary and
    /// caps.
    #[serde(default)]
    pub emergency: bool,
    /// A shadow plan: published to the plans topic only, never signed, never to be executed.
    #[serde(default)]
    pub shadow: bool,
    /// For a `ROLLBACK`: the id of the `DEPLOY` command it reverts.
    #[serde(default)]
    pub rollback_of: Option<String>,
}

/// Command action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommandAction {
    Deploy,
    Pause,
    Rollback,
}

/// Rollout ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Ring {
    Canary,
    Pilot,
    Broad,
}

/// What a command installs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remediation {
    /// Package ecosystem.
    pub ecosystem: String,
    /// Package name.
    pub package: String,
    /// Version to move to; none for a vendor patch without a version.
    #[serde(default)]
    pub target_version: Option<String>,
    /// Vendor patch or KB id, when the remediation is one.
    #[serde(default)]
    pub kb: Option<String>,
}

/// One exposure behind a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rationale {
    /// Exposure id.
    pub exposure_id: String,
    /// Asset.
    pub asset_id: String,
    /// Vulnerability.
    pub vulnerability_id: String,
    /// Risk of the exposure, 0 to 1000.
    pub risk: f32,
    /// Human-readable reason, e.g. `KEV, internet-exposed production, risk 912`.
    pub reason: String,
}

/// A detached signature over the command's canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// Signing algorithm, `ed25519`.
    pub algorithm: String,
    /// Id of the signing key (hash of the public key).
    pub key_id: String,
    /// Signature, lower-case hex.
    pub value: String,
}
