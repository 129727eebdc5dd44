//! Building the commands: deterministic ids, windows, deadline, rationale, reason, signature.
//!
//! Invariants:
//! - ids depend only on the campaign, the asset and the attempt (`DEPLOY`), the reverted command
//!   (`ROLLBACK`) or the halt's ordinal (`PAUSE`), never on the clock, so a replay re-issues the
//!   same ids; shadow plans use the prefix `plan` and live commands `cmd`, so the two never
//!   share an id;
//! - every field is a function of the planner's state and the planning instant; with the same
//!   key, the same command is signed to the same bytes (Ed25519 is deterministic);
//! - shadow plans are never signed.

use super::campaign::Member;
use super::windows::Slot;
use crate::events::{CommandAction, DeploymentCommand, Rationale, Remediation, Ring};
use crate::ids::stable_id;
use crate::sign::{sign_command, Signer};

const DAY_MS: i64 = 86_400_000;

/// What every command of one planner shares.
#[derive(Debug, Clone, Copy)]
pub struct Issuer<'a> {
    pub shadow: bool,
    pub signer: Option<&'a Signer>,
    pub policy_version: &'a str,
    pub model_version: &'a str,
}

impl Issuer<'_> {
    fn prefix(&self) -> &'static str {
        if self.shadow {
            "plan"
        } else {
            "cmd"
        }
    }

    /// Id of the `attempt`-th `DEPLOY` of a campaign to an asset.
    pub fn deploy_id(&self, campaign: &str, asset: &str, attempt: usize) -> String {
        stable_id(self.prefix(), &[campaign, asset, "deploy", &attempt.to_string()])
    }

    /// Id of the `ROLLBACK` of a `DEPLOY`.
    pub fn rollback_id(&self, campaign: &str, asset: &str, deploy: &str) -> String {
        stable_id(self.prefix(), &[campaign, asset, "rollback", deploy])
    }

    /// Id of the `n`-th `PAUSE` of a campaign.
    pub fn pause_id(&self, campaign: &str, n: usize) -> String {
        stable_id(self.prefix(), &[campaign, "pause", &n.to_string()])
    }

    /// Signs (unless shadow) and returns the command.
    pub fn finish(&self, mut c: DeploymentCommand) -> DeploymentCommand {
        c.shadow = self.shadow;
        if let (false, Some(signer)) = (self.shadow, self.signer) {
            sign_command(&mut c, signer);
        }
        c
    }
}

/// Fields of one command that the caller decides.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    pub id: String,
    pub action: CommandAction,
    pub campaign: &'a str,
    pub remediation: &'a Remediation,
    pub wave: i32,
    pub ring: Ring,
    pub targets: Vec<String>,
    pub slot: Slot,
    pub deadline: i64,
    pub rationale: Vec<Rationale>,
    pub predicted_failure: f32,
    pub issued_at: i64,
    pub plan_reason: String,
    pub emergency: bool,
    pub rollback_of: Option<String>,
}

/// The command of a draft, signed unless shadow.
pub fn build(issuer: &Issuer<'_>, d: Draft<'_>) -> DeploymentCommand {
    issuer.finish(DeploymentCommand {
        command_id: d.id,
        action: d.action,
        campaign_id: d.campaign.to_string(),
        wave: d.wave,
        ring: d.ring,
        remediation: d.remediation.clone(),
        target_assets: d.targets,
        not_before: d.slot.start,
        not_after: d.slot.end,
        deadline: d.deadline,
        rationale: d.rationale,
        predicted_failure: d.predicted_failure,
        issued_at: d.issued_at,
        policy_version: issuer.policy_version.to_string(),
        model_version: issuer.model_version.to_string(),
        signature: None,
        plan_reason: d.plan_reason,
        emergency: d.emergency,
        shadow: issuer.shadow,
        rollback_of: d.rollback_of,
    })
}

/// The exposures behind a member's command at `t`, highest risk first, and its deadline (the
/// start of the earliest due date; `fallback` when it has none).
pub fn rationale(
    asset: &str,
    member: Option<&Member>,
    t: i64,
    fallback: i64,
) -> (Vec<Rationale>, i64) {
    let mut refs: Vec<_> = member.map(|m| m.plannable(t).collect()).unwrap_or_default();
    refs.sort_by(|a, b| b.risk.total_cmp(&a.risk).then(a.exposure_id.cmp(&b.exposure_id)));
    let deadline = refs.iter().map(|e| i64::from(e.due_date) * DAY_MS).min().unwrap_or(fallback);
    let rationale = refs
        .into_iter()
        .map(|e| Rationale {
            exposure_id: e.exposure_id.clone(),
            asset_id: asset.to_string(),
            vulnerability_id: e.vulnerability_id.clone(),
            risk: e.risk,
            reason: e.reason.clone(),
        })
        .collect();
    (rationale, deadline)
}

/// `Debian openssl -> 3.0.2`.
pub fn remediation_name(r: &Remediation) -> String {
    let target = r.target_version.as_deref().or(r.kb.as_deref()).unwrap_or("vendor patch");
    format!("{} {} -> {target}", r.ecosystem, r.package)
}
