//! The learn stage: turns deployment outcomes and exploitation evidence into training examples
//! for two online models and publishes them, through the champion/challenger gate of
//! [`Lifecycle`], as [`ModelSnapshot`]s that the assess and plan stages hot-swap.
//!
//! - *Patch failure*: one example per `(command, asset)` outcome of a `DEPLOY`: `FAILED` and
//!   `ROLLED_BACK` are failures, `SUCCEEDED` a success; `TIMED_OUT` says nothing about the patch
//!   and is skipped. Features are [`failure::features`] of the command's remediation on the
//!   asset (the same function the planner predicts with). An outcome whose command is not known
//!   yet waits for it (bounded), and an outcome for a command patchline never issued is ignored;
//!   with the planner's public key, commands whose signature does not verify are ignored too:
//!   nobody can train the model by inventing commands or outcomes for them.
//! - *Exploit likelihood*: one example per advisory, with the features the scorer uses, taken
//!   when the advisory is first seen. Positive when KEV lists it or an exploit is seen; negative
//!   when neither happened within the horizon after publication (labels arrive late). Operator
//!   overrides are weaker evidence and only settle examples that are still open: `FORCE_PATCH`
//!   labels positive, `ACCEPT_RISK` and `FALSE_POSITIVE` negative.
//! - `RESTORE_MODEL` overrides republish an earlier version as the newest.
//!
//! Invariants: deterministic in its inputs and punctuations; only the punctuator publishes
//! (every `interval_ms` of punctuation time), so outcomes arriving in any order within an
//! interval give the same snapshot; each `(command, asset)` and each advisory is labelled once,
//! except that an advisory settled negative by the horizon or an operator and later seen
//! exploited is corrected with one positive example.

use super::failure::{self, FAILURE_MODEL};
use super::lifecycle::{Gate, Lifecycle, LifecycleParams};
use super::{FtrlParams, Hashed};
use crate::error::ProcessError;
use crate::events::{
    CommandAction, DeploymentCommand, Environment, Epss, Event, EventKind, ExploitKind,
    ModelSnapshot, OperatorOverride, OutcomeStatus, OverrideAction,
};
use crate::plan::PatchContext;
use crate::processor::{ModelGauge, Processor};
use crate::score::features::{extract, CveFacts};
use crate::score::VendorKev;
use crate::sign::{verify_signature, PublicKey};
use rustc_hash::{FxHashMap, FxHashSet};

/// Name of the exploit-likelihood model on the models topic.
pub const EXPLOIT_MODEL: &str = "exploit_likelihood";
const MS_PER_DAY: i64 = 86_400_000;
/// Outcomes kept while their command is unknown.
const MAX_WAITING: usize = 100_000;

/// Settings of the learn stage.
#[derive(Debug, Clone)]
pub struct LearnSettings {
    /// Time between gates (punctuation time). Default: one hour.
    pub interval_ms: i64,
    /// Days after publication without exploitation that make an advisory a negative. Default 90.
    pub horizon_days: i32,
    pub failure: (FtrlParams, LifecycleParams),
    pub exploit: (FtrlParams, LifecycleParams),
    /// Starting exploit-likelihood weights (the bundled model), if any.
    pub initial_exploit: Option<ModelSnapshot>,
    /// The planner's public key: only commands it signed are learned from (`None`: any
    /// command on the commands topic, for unsigned test and shadow set-ups).
    pub verifier: Option<PublicKey>,
}

impl Default for LearnSettings {
    fn default() -> Self {
        let ftrl = FtrlParams { alpha: 0.1, beta: 1.0, l1: 0.1, l2: 1.0, bits: 20 };
        LearnSettings {
            interval_ms: 3_600_000,
            horizon_days: 90,
            failure: (ftrl, LifecycleParams::default()),
            exploit: (FtrlParams { l1: 2.0, ..ftrl }, LifecycleParams::default()),
            initial_exploit: None,
            verifier: None,
        }
    }
}

#[derive(Debug, Clone)]
struct AssetBrief {
    os_family: String,
    os_version: String,
    environment: Environment,
}

#[derive(Debug, Clone)]
struct CommandBrief {
    ecosystem: String,
    package: String,
    target: Option<String>,
    not_after: i64,
}

#[derive(Debug, Clone)]
struct Example {
    x: Hashed,
    /// `None` while open, else the label given.
    label: Option<bool>,
}

/// Trains the patch-failure and exploit-likelihood models online.
#[derive(Debug)]
pub struct LearnProcessor {
    settings: LearnSettings,
    failure: Lifecycle,
    exploit: Lifecycle,
    assets: FxHashMap<String, AssetBrief>,
    installed: FxHashMap<(String, String), String>,
    commands: FxHashMap<String, CommandBrief>,
    waiting: FxHashMap<String, Vec<(String, bool)>>,
    labelled: FxHashSet<(String, String)>,
    advisories: FxHashMap<String, Example>,
    /// Open advisories by the day their horizon ends (publication + horizon).
    due: std::collections::BTreeMap<i32, Vec<String>>,
    exploited: FxHashSet<String>,
    epss: FxHashMap<String, Epss>,
    vendor_kev: VendorKev<String>,
    next_gate: Option<i64>,
    /// Commands ignored because their signature did not verify.
    unverified: u64,
}

impl LearnProcessor {
    /// A learn stage with `settings`.
    pub fn new(settings: LearnSettings) -> LearnProcessor {
        let mut exploit = Lifecycle::new(EXPLOIT_MODEL, settings.exploit.0, settings.exploit.1);
        if let Some(initial) = &settings.initial_exploit {
            exploit.published(initial);
        }
        LearnProcessor {
            failure: Lifecycle::new(FAILURE_MODEL, settings.failure.0, settings.failure.1),
            exploit,
            settings,
            assets: FxHashMap::default(),
            installed: FxHashMap::default(),
            commands: FxHashMap::default(),
            waiting: FxHashMap::default(),
            labelled: FxHashSet::default(),
            advisories: FxHashMap::default(),
            due: Default::default(),
            exploited: FxHashSet::default(),
            epss: FxHashMap::default(),
            vendor_kev: VendorKev::default(),
            next_gate: None,
            unverified: 0,
        }
    }

    /// The lifecycle of the patch-failure model.
    pub fn failure(&self) -> &Lifecycle {
        &self.failure
    }

    /// The lifecycle of the exploit-likelihood model.
    pub fn exploit(&self) -> &Lifecycle {
        &self.exploit
    }

    fn on_command(&mut self, c: DeploymentCommand) {
        if c.action != CommandAction::Deploy || c.shadow {
            return;
        }
        if let Some(key) = &self.settings.verifier {
            if verify_signature(&c, key).is_err() {
                self.unverified += 1;
                return;
            }
        }
        let id = c.command_id.clone();
        self.commands.insert(
            id.clone(),
            CommandBrief {
                ecosystem: c.remediation.ecosystem,
                package: c.remediation.package,
                target: c.remediation.target_version,
                not_after: c.not_after,
            },
        );
        for (asset, failed) in self.waiting.remove(&id).unwrap_or_default() {
            self.train_failure(&id, &asset, failed);
        }
    }

    fn train_failure(&mut self, command_id: &str, asset_id: &str, failed: bool) {
        let (Some(c), Some(a)) = (self.commands.get(command_id), self.assets.get(asset_id)) else {
            return;
        };
        let key = (command_id.to_string(), asset_id.to_string());
        if self.labelled.contains(&key) {
            return;
        }
        let installed = self
            .installed
            .get(&(asset_id.to_string(), format!("{}:{}", c.ecosystem, c.package)))
            .map_or("", String::as_str);
        let ctx = PatchContext {
            ecosystem: &c.ecosystem,
            package: &c.package,
            installed_version: installed,
            target_version: c.target.as_deref(),
            os_family: &a.os_family,
            os_version: &a.os_version,
            environment: a.environment,
        };
        let x = super::hash_features(&failure::features(&ctx), self.failure.bits());
        self.failure.observe(&format!("{command_id}/{asset_id}"), x, failed);
        self.labelled.insert(key);
    }

    fn on_outcome(&mut self, command_id: String, asset_id: String, status: OutcomeStatus) {
        let failed = match status {
            OutcomeStatus::Succeeded => false,
            OutcomeStatus::Failed | OutcomeStatus::RolledBack => true,
            OutcomeStatus::TimedOut | OutcomeStatus::Resumed => return,
        };
        if self.commands.contains_key(&command_id) {
            self.train_failure(&command_id, &asset_id, failed);
        } else if self.waiting.len() < MAX_WAITING {
            self.waiting.entry(command_id).or_default().push((asset_id, failed));
        }
    }

    /// Labels the advisory `id`; `strong` evidence (KEV, a sighting) may correct an earlier
    /// negative once, operator opinion only settles open examples.
    fn label_exploit(&mut self, id: &str, positive: bool, strong: bool) {
        let Some(example) = self.advisories.get_mut(id) else { return };
        let settle = match example.label {
            None => true,
            Some(false) => strong && positive,
            Some(true) => false,
        };
        if settle {
            example.label = Some(positive);
            let x = example.x.clone();
            self.exploit.observe(id, x, positive);
        }
    }

    fn on_override(&mut self, o: &OperatorOverride, now_ms: i64, out: &mut Vec<Event>) {
        let vuln = o.vulnerability_id.as_deref().map(str::to_ascii_uppercase);
        match (o.action, vuln) {
            (OverrideAction::RestoreModel, _) => {
                let version = o.model_version.unwrap_or_default();
                let life = match o.model.as_deref() {
                    Some(FAILURE_MODEL) => &mut self.failure,
                    Some(EXPLOIT_MODEL) => &mut self.exploit,
                    _ => return,
                };
                if let Some(s) = life.restore(version, now_ms.max(o.created_at)) {
                    out.push(Event::ModelSnapshot(s));
                }
            }
            (OverrideAction::ForcePatch, Some(v)) => self.label_exploit(&v, true, false),
            (OverrideAction::AcceptRisk | OverrideAction::FalsePositive, Some(v)) => {
                self.label_exploit(&v, false, false)
            }
            _ => {}
        }
    }

    fn features_of(&self, id: &String, a: &crate::events::Advisory) -> (Hashed, i32) {
        let mut facts = CveFacts::from_advisory(a);
        facts.kev_vendor_others = self.vendor_kev.others(id);
        let day = facts.published_day.unwrap_or((a.modified / MS_PER_DAY) as i32);
        let epss = self.epss.get(&a.id);
        (super::hash_features(&extract(&facts, day, epss), self.exploit.bits()), day)
    }
}

impl Processor for LearnProcessor {
    fn name(&self) -> &'static str {
        "learn"
    }

    fn output_kinds(&self) -> &'static [EventKind] {
        &[EventKind::ModelSnapshot]
    }

    fn process(&mut self, event: Event, out: &mut Vec<Event>) -> Result<(), ProcessError> {
        crate::validate::validate(&event)?;
        match event {
            Event::AssetTelemetry(a) => {
                let brief = AssetBrief {
                    os_family: a.os_family,
                    os_version: a.os_version,
                    environment: a.environment,
                };
                self.assets.insert(a.asset_id, brief);
            }
            Event::Exposure(e) => {
                let key = (e.asset_id, format!("{}:{}", e.ecosystem, e.package));
                self.installed.insert(key, e.installed_version);
            }
            Event::DeploymentCommand(c) => self.on_command(c),
            Event::DeploymentOutcome(o) => self.on_outcome(o.command_id, o.asset_id, o.status),
            Event::Advisory(a) => {
                let id = a.id.to_ascii_uppercase();
                self.vendor_kev.set_vendor(&id, CveFacts::from_advisory(&a).vendor);
                if a.withdrawn.is_none() && !self.advisories.contains_key(&id) {
                    let (x, published_day) = self.features_of(&id, &a);
                    self.advisories.insert(id.clone(), Example { x, label: None });
                    let due = published_day.saturating_add(self.settings.horizon_days);
                    self.due.entry(due).or_default().push(id.clone());
                    if self.exploited.contains(&id) {
                        self.label_exploit(&id, true, true);
                    }
                }
            }
            Event::ThreatSignal(t) => {
                let id = t.cve_id.to_ascii_uppercase();
                if let Some(e) = t.epss {
                    self.epss.insert(id.clone(), e);
                }
                let seen = t.exploit.as_ref().is_some_and(|x| x.kind == ExploitKind::Seen);
                if t.kev.is_some() {
                    self.vendor_kev.set_kev(&id);
                }
                if t.kev.is_some() || seen {
                    self.exploited.insert(id.clone());
                    self.label_exploit(&id, true, true);
                }
            }
            Event::OperatorOverride(o) => self.on_override(&o, o.created_at, out),
            Event::ModelSnapshot(s) => match s.model.as_str() {
                FAILURE_MODEL => self.failure.published(&s),
                EXPLOIT_MODEL => self.exploit.published(&s),
                _ => {}
            },
            Event::Finding(_) => {}
        }
        Ok(())
    }

    fn punctuate(&mut self, now_ms: i64, out: &mut Vec<Event>) {
        let today = (now_ms / MS_PER_DAY) as i32;
        while let Some(entry) = self.due.first_entry() {
            if *entry.key() > today {
                break;
            }
            let mut expired = entry.remove();
            expired.sort(); // a fixed order keeps training deterministic
            for id in expired {
                self.label_exploit(&id, false, true); // settles only examples still open
            }
        }
        // Commands whose window closed a week ago get no more outcomes worth learning from.
        self.commands.retain(|_, c| c.not_after + 7 * MS_PER_DAY >= now_ms);
        let commands = &self.commands;
        self.labelled.retain(|(c, _)| commands.contains_key(c));
        let next = *self.next_gate.get_or_insert(now_ms + self.settings.interval_ms);
        if now_ms < next {
            return;
        }
        self.next_gate = Some(now_ms + self.settings.interval_ms);
        for life in [&mut self.failure, &mut self.exploit] {
            if let Gate::Promoted(snapshot) = life.gate(now_ms) {
                out.push(Event::ModelSnapshot(snapshot));
            }
        }
    }

    fn model_gauges(&self) -> Vec<ModelGauge> {
        let mut out = Vec::new();
        for life in [&self.failure, &self.exploit] {
            let s = life.stats();
            let model = life.name().to_string();
            let calibration_gap = s.interval_predicted - s.interval_observed;
            for (metric, value) in [
                ("version", life.version() as f64),
                ("examples", s.examples as f64),
                ("promotions", s.promotions as f64),
                ("rejections", s.rejections as f64),
                ("progressive_log_loss", s.progressive_log_loss),
                ("champion_log_loss", s.champion_loss),
                ("challenger_log_loss", s.challenger_loss),
                ("predicted_rate", s.interval_predicted),
                ("observed_rate", s.interval_observed),
                ("calibration_gap", calibration_gap),
            ] {
                out.push(ModelGauge { model: model.clone(), metric, value });
            }
        }
        let value = self.unverified as f64;
        out.push(ModelGauge { model: FAILURE_MODEL.into(), metric: "unverified_commands", value });
        out
    }

    fn state_sizes(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("assets", self.assets.len()),
            ("commands", self.commands.len()),
            ("labelled_outcomes", self.labelled.len()),
            ("advisories", self.advisories.len()),
        ]
    }
}

#[cfg(test)]
#[path = "stage_tests.rs"]
mod tests;
