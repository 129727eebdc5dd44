//! The plan processor: turns open exposures into signed, wave-by-wave deployment commands, gates
//! every wave on its outcomes, rolls back failures and halts failed campaigns.
//!
//! How a plan is made (each step in its own module):
//! - [`campaign`]: open, non-accepted exposures grouped by remediation, served by priority
//!   (emergency lane, highest risk, earliest due date);
//! - [`rings`]: canary, pilot, broad; development and test first, then staging, then
//!   production, lowest criticality first; wave sizes from the [`predict`]ed failure probability;
//! - [`windows`] and [`constraints`]: maintenance windows in local time, freezes, one command in
//!   flight per asset, caps per business service, HA groups, the global blast radius, counted
//!   over each command's slot; [`emergency`]: out-of-window slots for the emergency lane;
//! - [`promotion`]: health gates, halts and resumes; [`planner`]: the pass that applies them;
//! - [`commands`]: ids, rationale, reasons and signatures; [`log`]: the decision log.
//!
//! Time: inputs carry event time. A pass triggered by an input plans at `max(stream time,
//! last punctuation)`, where stream time is the newest exposure's `updated_at`; the punctuator
//! plans every campaign at its `now_ms`. Only the punctuator's clock judges timeouts, so an
//! executor's skewed clock cannot time out other commands.
//!
//! Invariants: processing is deterministic (same inputs and punctuations in the same order, same
//! commands byte for byte); `restore` rebuilds the tables without planning, and the decision
//! log (the commands topic, read back as a global input) restores what was issued, so a restart
//! never re-plans a wave that was already sent; only the instance that owns the plan's single
//! partition plans (the others read the global tables and the decision log but issue nothing),
//! so there is one planner at a time and the group fails over to another.

pub mod campaign;
pub mod commands;
pub mod constraints;
pub mod emergency;
pub mod fleet;
pub mod log;
pub mod overrides;
pub mod planner;
pub mod policy;
pub mod predict;
pub mod predictions;
pub mod promotion;
mod recovery;
pub mod rings;
pub mod windows;

pub use policy::{EmergencyChanges, Freeze, PlanPolicy};
pub use predict::{FailurePredictor, PatchContext, PriorPredictor};

use crate::error::ProcessError;
use crate::events::{DeploymentCommand, Event, EventKind, OutcomeStatus};
use crate::learn::failure::{LearnedFailure, FAILURE_MODEL};
use crate::learn::LinearModel;
use crate::processor::{ModelGauge, Processor};
use crate::sign::{verify_signature, PublicKey, Signer};
use crate::validate::validate;
use campaign::Campaigns;
use commands::Issuer;
use fleet::Fleet;
use log::Log;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Plans deployment commands from exposures, asset telemetry and outcomes.
#[derive(Debug)]
pub struct PlanProcessor {
    policy: PlanPolicy,
    predictor: Box<dyn FailurePredictor>,
    signer: Option<Signer>,
    verifier: Option<PublicKey>,
    shadow: bool,
    fleet: Fleet,
    campaigns: Campaigns,
    overrides: overrides::Overrides,
    /// Version of the learned failure model in use (0: the prior).
    failure_version: i64,
    log: Log,
    /// Failure predictions of campaign members, reused between passes.
    predictions: predictions::Predictions,
    stream_time: i64,
    last_punctuate: i64,
    /// Whether this instance owns the plan's partition: it plans only then. Set by any exposure
    /// or outcome (they come only to the owner), re-checked on every partition change.
    owner: bool,
    /// The key of the newest exposure or outcome, to ask the runtime whether its partition
    /// stayed here.
    owner_key: Option<String>,
}

impl Default for PlanProcessor {
    fn default() -> Self {
        PlanProcessor {
            policy: PlanPolicy::default(),
            predictor: Box::new(PriorPredictor),
            signer: None,
            verifier: None,
            shadow: false,
            fleet: Fleet::default(),
            campaigns: Campaigns::default(),
            overrides: Default::default(),
            failure_version: 0,
            log: Log::default(),
            predictions: Default::default(),
            stream_time: i64::MIN,
            last_punctuate: i64::MIN,
            owner: false,
            owner_key: None,
        }
    }
}

impl PlanProcessor {
    /// A live planner with the default policy and the prior predictor; commands are unsigned
    /// until [`PlanProcessor::with_signer`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `policy`.
    pub fn with_policy(mut self, policy: PlanPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Uses `predictor` for failure probabilities (and its version as `model_version`).
    pub fn with_predictor(mut self, predictor: Box<dyn FailurePredictor>) -> Self {
        self.predictor = predictor;
        self
    }

    /// Signs every live command; commands read back from the decision log must carry this
    /// key's valid signature.
    pub fn with_signer(mut self, signer: Signer) -> Self {
        self.verifier = Some(signer.public_key());
        self.signer = Some(signer);
        self
    }

    /// Shadow mode: plans are published (unsigned, `shadow = true`) but nothing is issued.
    pub fn with_shadow(mut self, shadow: bool) -> Self {
        self.shadow = shadow;
        self
    }

    /// Last outcome reported for a command.
    pub fn outcome_of(&self, command_id: &str) -> Option<OutcomeStatus> {
        self.log.outcomes.get(command_id).map(|r| r.status)
    }

    /// The decision log (for tests and diagnostics).
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The campaigns (for tests and diagnostics).
    pub fn campaigns(&self) -> &Campaigns {
        &self.campaigns
    }

    fn now(&self) -> i64 {
        self.stream_time.max(self.last_punctuate)
    }

    /// Plans `touched` campaigns (in priority order) at the current instant.
    fn plan(&mut self, touched: &BTreeSet<String>, out: &mut Vec<Event>) {
        let t = self.now();
        if !self.owner || t == i64::MIN || touched.is_empty() {
            return;
        }
        let mut scope: Vec<String> = self.campaigns.priority_order_of(touched);
        scope.extend(touched.iter().filter(|c| self.campaigns.get(c).is_none()).cloned());
        self.run(&scope, t, out);
    }

    fn run(&mut self, scope: &[String], t: i64, out: &mut Vec<Event>) {
        let issuer = Issuer {
            shadow: self.shadow,
            signer: self.signer.as_ref(),
            policy_version: &self.policy.version,
            model_version: self.predictor.version(),
        };
        let ctx = planner::Ctx {
            policy: &self.policy,
            predictor: self.predictor.as_ref(),
            fleet: &self.fleet,
            campaigns: &self.campaigns,
            issuer,
        };
        let mut issued: Vec<DeploymentCommand> = Vec::new();
        let kept = &mut self.predictions;
        planner::pass(&ctx, &mut self.log, kept, scope, t, self.last_punctuate, &mut issued);
        out.extend(issued.into_iter().map(Event::DeploymentCommand));
    }

    /// Applies an input; plans only when `out` is given (`restore` passes none).
    fn apply(&mut self, event: Event, out: Option<&mut Vec<Event>>) -> Result<(), ProcessError> {
        validate(&event)?;
        let mut touched = BTreeSet::new();
        match event {
            Event::Exposure(e) => {
                self.owner = true;
                self.owner_key = Some(e.asset_id.clone());
                let applied = self.campaigns.apply(&e);
                if !self.overrides.is_empty() {
                    self.overrides.stamp(&mut self.campaigns, Some(&applied.touched));
                }
                if let Some((campaign, asset, at)) = &applied.fixed {
                    self.log.report_fixed(campaign, asset, *at);
                }
                self.stream_time = self.stream_time.max(e.updated_at);
                touched.extend(applied.touched);
            }
            Event::DeploymentOutcome(o) => {
                self.owner = true;
                self.owner_key = Some(o.asset_id.clone());
                self.log.report(&o);
                if let Some(c) = self.log.commands.get(&o.command_id) {
                    touched.insert(c.campaign.clone());
                }
            }
            Event::AssetTelemetry(a) => {
                if self.fleet.upsert(&a) {
                    touched.extend(self.campaigns.of_asset(&a.asset_id));
                }
            }
            Event::DeploymentCommand(c) => {
                if c.shadow && !self.shadow {
                    return Ok(()); // a shadow plan is not a decision of a live planner
                }
                if let (false, Some(key)) = (c.shadow, &self.verifier) {
                    verify_signature(&c, key)?;
                }
                self.log.record(&c);
            }
            Event::OperatorOverride(o) => {
                if self.overrides.record(&o) {
                    self.overrides.stamp(&mut self.campaigns, None);
                    touched.extend(self.campaigns.priority_order());
                }
            }
            Event::ModelSnapshot(s) => {
                if s.model == FAILURE_MODEL && s.version > self.failure_version {
                    let model = LinearModel::from_snapshot(&s)
                        .map_err(|e| ProcessError::Contract(format!("model snapshot: {e}")))?;
                    self.predictor = Box::new(LearnedFailure::new(Arc::new(model)));
                    self.failure_version = s.version;
                }
            }
            other => {
                return Err(ProcessError::Unsupported { processor: "plan", kind: other.kind() })
            }
        }
        if let Some(out) = out {
            self.plan(&touched, out);
        }
        Ok(())
    }
}

impl Processor for PlanProcessor {
    fn name(&self) -> &'static str {
        "plan"
    }

    fn output_kinds(&self) -> &'static [EventKind] {
        &[EventKind::DeploymentCommand]
    }

    fn process(&mut self, event: Event, out: &mut Vec<Event>) -> Result<(), ProcessError> {
        self.apply(event, Some(out))
    }

    fn restore(&mut self, event: Event) -> Result<(), ProcessError> {
        self.apply(event, None)
    }

    fn retain_partitioned(&mut self, keep: &dyn Fn(&str) -> bool) {
        // The plan's inputs have one partition: whether it stayed is whether any of its keys did.
        self.owner = self.owner_key.as_deref().is_some_and(keep);
        self.campaigns.retain_assets(keep);
        let log = &mut self.log;
        let commands = &log.commands;
        log.outcomes
            .retain(|id, _| commands.get(id).and_then(|c| c.asset.as_deref()).is_none_or(keep));
        log.resumes.retain(|_, (_, key)| keep(key));
    }

    fn changelog_key(&self, event: &Event) -> Option<String> {
        match event {
            Event::Exposure(e) => Some(e.exposure_id.clone()),
            Event::DeploymentOutcome(o) => Some(o.command_id.clone()),
            _ => None,
        }
    }

    fn punctuate(&mut self, now_ms: i64, out: &mut Vec<Event>) {
        self.last_punctuate = self.last_punctuate.max(now_ms);
        if !self.owner {
            return; // another instance plans; this one keeps its tables and decision log warm
        }
        let clock = self.last_punctuate;
        constraints::prune(&mut self.log, clock, &self.policy);
        let campaigns = &self.campaigns;
        self.predictions.retain(|c| campaigns.get(c).is_some());
        let mut scope = self.campaigns.priority_order();
        let listed: BTreeSet<String> = scope.iter().cloned().collect();
        let busy: BTreeSet<String> = self
            .log
            .unresolved
            .iter()
            .filter_map(|id| self.log.commands.get(id).map(|c| c.campaign.clone()))
            .filter(|c| !listed.contains(c))
            .collect();
        scope.extend(busy);
        let t = self.now();
        self.run(&scope, t, out);
    }

    fn model_gauges(&self) -> Vec<ModelGauge> {
        let version = self.failure_version as f64;
        vec![ModelGauge { model: FAILURE_MODEL.into(), metric: "version", value: version }]
    }

    fn state_sizes(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("campaigns", self.campaigns.len()),
            ("exposures", self.campaigns.exposures()),
            ("assets", self.fleet.len()),
            ("commands", self.log.commands.len()),
            ("outcomes", self.log.outcomes.len()),
            ("in_flight", self.log.unresolved.len()),
            ("kept_predictions", self.predictions.len()),
            ("overrides", self.overrides.len()),
        ]
    }
}

#[cfg(test)]
mod tests;
