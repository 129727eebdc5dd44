//! The plan processor: turns open exposures into deployment commands and records outcomes.
//!
//! This first planner issues one `DEPLOY` command per (remediation, asset): the campaign is the
//! remediation (ecosystem, package, target version), the ring follows the environment
//! (development and test assets are the canary, staging the pilot, production the broad ring),
//! and the window opens when the exposure was seen and closes at its due date.
//!
//! Invariants: a command id is a hash of (campaign, asset, ring), so a replay or a re-emitted
//! exposure never issues a second command for the same remediation on the same asset; commands
//! carry the exposures behind them as rationale.

use crate::error::ProcessError;
use crate::events::{
    CommandAction, DeploymentCommand, DeploymentOutcome, Environment, Event, EventKind, Exposure,
    ExposureStatus, OutcomeStatus, Rationale, Remediation, Ring,
};
use crate::ids::stable_id;
use crate::processor::Processor;
use crate::validate::validate;
use std::collections::{HashMap, HashSet};

const MS_PER_DAY: i64 = 86_400_000;

/// Plans commands from exposures.
#[derive(Debug, Default)]
pub struct PlanProcessor {
    /// (campaign, asset) pairs a command was issued for.
    issued: HashSet<(String, String)>,
    /// Last outcome per command id.
    outcomes: HashMap<String, OutcomeStatus>,
}

impl PlanProcessor {
    /// An empty planner.
    pub fn new() -> Self {
        Self::default()
    }

    /// Last outcome reported for a command.
    pub fn outcome_of(&self, command_id: &str) -> Option<OutcomeStatus> {
        self.outcomes.get(command_id).copied()
    }

    fn on_exposure(&mut self, e: Exposure, out: &mut Vec<Event>) {
        if e.status != ExposureStatus::Open {
            return;
        }
        let day = e.updated_at.div_euclid(MS_PER_DAY) as i32;
        if e.accepted_until.is_some_and(|until| day < until) {
            return; // accepted under a policy exception until then
        }
        let remediation = Remediation {
            ecosystem: e.ecosystem.clone(),
            package: e.package.clone(),
            target_version: e.fixed_version.clone(),
            kb: None,
        };
        let target = remediation.target_version.as_deref().unwrap_or("vendor-patch");
        let campaign_id = stable_id("cmp", &[&remediation.ecosystem, &remediation.package, target]);
        if !self.issued.insert((campaign_id.clone(), e.asset_id.clone())) {
            return;
        }
        let (ring, wave) = match e.environment {
            Environment::Development | Environment::Test => (Ring::Canary, 1),
            Environment::Staging => (Ring::Pilot, 2),
            Environment::Production => (Ring::Broad, 3),
        };
        let ring_name = format!("{ring:?}");
        let command_id = stable_id("cmd", &[&campaign_id, &e.asset_id, &ring_name]);
        let deadline = i64::from(e.due_date) * MS_PER_DAY;
        let reason = reason(&e);
        out.push(Event::DeploymentCommand(DeploymentCommand {
            command_id,
            action: CommandAction::Deploy,
            campaign_id,
            wave,
            ring,
            remediation,
            target_assets: vec![e.asset_id.clone()],
            not_before: e.updated_at,
            not_after: deadline.max(e.updated_at + MS_PER_DAY),
            deadline,
            rationale: vec![Rationale {
                exposure_id: e.exposure_id.clone(),
                asset_id: e.asset_id.clone(),
                vulnerability_id: e.vulnerability_id.clone(),
                risk: e.risk,
                reason,
            }],
            predicted_failure: 0.05,
            issued_at: e.updated_at,
            policy_version: e.policy_version.clone(),
            model_version: e.model_version.clone(),
            signature: None,
        }));
    }

    fn on_outcome(&mut self, o: DeploymentOutcome) {
        self.outcomes.insert(o.command_id, o.status);
    }
}

/// A one-line human reason, e.g. `KEV, ACT, internet-exposed PRODUCTION, risk 912.0`.
fn reason(e: &Exposure) -> String {
    let mut parts = Vec::new();
    if e.kev {
        parts.push("KEV".to_string());
    }
    parts.push(format!("SSVC {:?}", e.ssvc_decision));
    if let Some(epss) = e.epss {
        parts.push(format!("EPSS {epss:.3}"));
    }
    let exposed = if e.internet_exposed { "internet-exposed " } else { "" };
    parts.push(format!("{exposed}{:?} {:?}", e.criticality, e.environment).to_lowercase());
    parts.push(format!("risk {:.1}", e.risk));
    parts.join(", ")
}

impl Processor for PlanProcessor {
    fn name(&self) -> &'static str {
        "plan"
    }

    fn output_kinds(&self) -> &'static [EventKind] {
        &[EventKind::DeploymentCommand]
    }

    fn process(&mut self, event: Event, out: &mut Vec<Event>) -> Result<(), ProcessError> {
        validate(&event)?;
        match event {
            Event::Exposure(e) => self.on_exposure(e, out),
            Event::DeploymentOutcome(o) => self.on_outcome(o),
            other => {
                return Err(ProcessError::Unsupported { processor: "plan", kind: other.kind() })
            }
        }
        Ok(())
    }

    fn state_sizes(&self) -> Vec<(&'static str, usize)> {
        vec![("issued", self.issued.len()), ("outcomes", self.outcomes.len())]
    }
}
