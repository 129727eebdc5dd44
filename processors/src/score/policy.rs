//! Remediation policy as data: the SSVC decision table, SLA days per decision, per-service
//! overrides, the KEV due-date cap, and exceptions (risk acceptance) with scope, approver and
//! expiry. Parsed from TOML (`default_policy.toml` is bundled; `patchline run --policy FILE`
//! replaces it).
//!
//! Invariants: a [`Policy`] that parsed has a decision for every one of the 36 SSVC input
//! combinations; a due date never exceeds a KEV entry's due date when the cap is on; an expired
//! exception restarts the SLA clock on its expiry day; the version is recorded on every exposure.

use super::ssvc::{MissionImpact, SsvcInputs};
use crate::error::ProcessError;
use crate::events::{Exploitation, KevEntry, SsvcDecision, TechnicalImpact};
use crate::time::days_from_ymd;
use serde::Deserialize;

/// The bundled default policy.
pub const DEFAULT_POLICY: &str = include_str!("default_policy.toml");

/// Version of the bundled policy (kept in step with `default_policy.toml`).
pub const POLICY_VERSION: &str = "default-2026.1";

/// SLA days per decision.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaDays {
    pub act: i32,
    pub attend: i32,
    pub track_star: i32,
    pub track: i32,
}

/// SLA days for one business service; unset decisions keep the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaOverride {
    pub business_service: String,
    #[serde(default)]
    pub act: Option<i32>,
    #[serde(default)]
    pub attend: Option<i32>,
    #[serde(default)]
    pub track_star: Option<i32>,
    #[serde(default)]
    pub track: Option<i32>,
}

/// One row of the SSVC decision table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsvcRule {
    pub exploitation: Exploitation,
    pub automatable: bool,
    pub technical_impact: TechnicalImpact,
    pub mission: MissionImpact,
    pub decision: SsvcDecision,
}

/// Kind of exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExceptionKind {
    /// The risk is accepted until expiry.
    RiskAccepted,
    /// The finding is judged a false positive until expiry.
    FalsePositive,
}

/// An exception with scope, approver and expiry. Dates are `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskException {
    pub id: String,
    pub kind: ExceptionKind,
    #[serde(default)]
    pub vulnerability: Option<String>,
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub business_service: Option<String>,
    pub approver: String,
    pub reason: String,
    pub granted: String,
    pub expires: String,
    /// Parsed `granted`, days since epoch.
    #[serde(skip)]
    pub granted_day: i32,
    /// Parsed `expires`, days since epoch.
    #[serde(skip)]
    pub expires_day: i32,
}

/// What an exposure's identity looks like to exception scopes.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub vulnerability_names: &'a [&'a str],
    pub asset: &'a str,
    pub business_service: Option<&'a str>,
}

impl RiskException {
    fn covers(&self, s: &Subject<'_>) -> bool {
        let vuln = self.vulnerability.as_deref().is_none_or(|v| s.vulnerability_names.contains(&v));
        let asset = self.asset.as_deref().is_none_or(|a| a == s.asset);
        let service =
            self.business_service.as_deref().is_none_or(|b| s.business_service == Some(b));
        vuln && asset && service
    }
}

/// The whole policy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub version: String,
    #[serde(default = "yes")]
    pub kev_due_date_caps: bool,
    pub ssvc: Vec<SsvcRule>,
    pub sla: SlaDays,
    #[serde(default)]
    pub overrides: Vec<SlaOverride>,
    #[serde(default)]
    pub exceptions: Vec<RiskException>,
    /// Business-service weights and compensating controls (default: none).
    #[serde(default)]
    pub context: super::context::Context,
}

fn yes() -> bool {
    true
}

impl Default for Policy {
    /// The bundled policy. It is tested to parse, so the fallback below is never reached.
    fn default() -> Self {
        Policy::from_toml(DEFAULT_POLICY).unwrap_or_else(|_| Policy {
            version: POLICY_VERSION.into(),
            kev_due_date_caps: true,
            ssvc: Vec::new(),
            sla: SlaDays { act: 14, attend: 30, track_star: 90, track: 180 },
            overrides: Vec::new(),
            exceptions: Vec::new(),
            context: Default::default(),
        })
    }
}

impl Policy {
    /// Parses and checks a policy.
    pub fn from_toml(text: &str) -> Result<Policy, ProcessError> {
        let mut p: Policy =
            toml::from_str(text).map_err(|e| ProcessError::Contract(format!("policy: {e}")))?;
        p.context.check().map_err(|e| ProcessError::Contract(format!("policy: context: {e}")))?;
        for e in &mut p.exceptions {
            let day = |s: &str| {
                days_from_ymd(s).ok_or_else(|| {
                    ProcessError::Contract(format!("policy: exception {}: bad date {s}", e.id))
                })
            };
            e.granted_day = day(&e.granted)?;
            e.expires_day = day(&e.expires)?;
            if e.vulnerability.is_none() && e.asset.is_none() && e.business_service.is_none() {
                return Err(ProcessError::Contract(format!(
                    "policy: exception {} has no scope (vulnerability, asset or business_service)",
                    e.id
                )));
            }
        }
        for exploitation in [Exploitation::None, Exploitation::Poc, Exploitation::Active] {
            for automatable in [false, true] {
                for technical_impact in [TechnicalImpact::Partial, TechnicalImpact::Total] {
                    for mission in [MissionImpact::Low, MissionImpact::Medium, MissionImpact::High]
                    {
                        let i = SsvcInputs { exploitation, automatable, technical_impact, mission };
                        if p.lookup(&i).is_none() {
                            return Err(ProcessError::Contract(format!(
                                "policy: the SSVC table has no row for {i:?}"
                            )));
                        }
                    }
                }
            }
        }
        Ok(p)
    }

    fn lookup(&self, i: &SsvcInputs) -> Option<SsvcDecision> {
        self.ssvc
            .iter()
            .find(|r| {
                r.exploitation == i.exploitation
                    && r.automatable == i.automatable
                    && r.technical_impact == i.technical_impact
                    && r.mission == i.mission
            })
            .map(|r| r.decision)
    }

    /// The decision for the inputs (the table is complete once parsed).
    pub fn decide(&self, i: &SsvcInputs) -> SsvcDecision {
        self.lookup(i).unwrap_or(SsvcDecision::Attend)
    }

    fn sla_days(&self, decision: SsvcDecision, business_service: Option<&str>) -> i32 {
        let o =
            self.overrides.iter().find(|o| Some(o.business_service.as_str()) == business_service);
        match decision {
            SsvcDecision::Act => o.and_then(|o| o.act).unwrap_or(self.sla.act),
            SsvcDecision::Attend => o.and_then(|o| o.attend).unwrap_or(self.sla.attend),
            SsvcDecision::TrackStar => o.and_then(|o| o.track_star).unwrap_or(self.sla.track_star),
            SsvcDecision::Track => o.and_then(|o| o.track).unwrap_or(self.sla.track),
        }
    }

    /// The exception covering `subject` that was granted by `day` (active or expired), the
    /// latest-expiring first.
    pub fn exception_for(&self, subject: &Subject<'_>, day: i32) -> Option<&RiskException> {
        self.exceptions
            .iter()
            .filter(|e| e.granted_day <= day && e.covers(subject))
            .max_by_key(|e| (e.expires_day, e.id.clone()))
    }

    /// Due day: the SLA of the decision (with the service's override) counted from the first
    /// sighting, or from an expired exception's expiry; capped by the KEV due date.
    pub fn due_date(
        &self,
        decision: SsvcDecision,
        first_seen_day: i32,
        kev: Option<&KevEntry>,
        business_service: Option<&str>,
        clock_restart_day: Option<i32>,
    ) -> i32 {
        let start = clock_restart_day.map_or(first_seen_day, |d| d.max(first_seen_day));
        let by_sla = start + self.sla_days(decision, business_service);
        match kev.and_then(|k| k.due_date) {
            Some(kev_due) if self.kev_due_date_caps => by_sla.min(kev_due.max(start)),
            _ => by_sla,
        }
    }
}

#[cfg(test)]
mod tests;
