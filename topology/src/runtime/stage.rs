//! Builds the processor named by a stage spec, and the routing of its inputs and outputs.
//! Invariant: every input topic has a known kind and format, and every kind the processor emits
//! maps to exactly one output topic.

use crate::error::{Error, Result};
use crate::spec::{Format, StageSpec, TopologySpec};
use patchline_processors::events::{EventKind, ModelSnapshot};
use patchline_processors::learn::{LearnProcessor, LearnSettings};
use patchline_processors::plan::PlanPolicy;
use patchline_processors::score::Policy;
use patchline_processors::sign::Signer;
use patchline_processors::{AssessProcessor, PlanProcessor, Processor};
use std::collections::HashMap;
use std::sync::Arc;

/// Environment variable naming a file with the Ed25519 key that signs deployment commands (64
/// hex characters or a PEM PKCS#8 private key), read when [`ProcessorOptions::signing_key`] is
/// not set.
pub const SIGNING_KEY_FILE_ENV: &str = "PATCHLINE_SIGNING_KEY_FILE";
/// Environment variable holding the signing key itself (hex or PEM), read when neither the
/// option nor [`SIGNING_KEY_FILE_ENV`] is set.
pub const SIGNING_KEY_ENV: &str = "PATCHLINE_SIGNING_KEY";
/// Environment variable that turns shadow mode on (`true` or `1`) when
/// [`ProcessorOptions::shadow`] is not set.
pub const SHADOW_ENV: &str = "PATCHLINE_SHADOW";
/// Environment variable naming a plan policy file (TOML) when
/// [`ProcessorOptions::plan_policy`] is not set.
pub const PLAN_POLICY_FILE_ENV: &str = "PATCHLINE_PLAN_POLICY_FILE";

/// How to read one input topic.
#[derive(Debug, Clone)]
pub struct InputRoute {
    pub kind: EventKind,
    pub format: Format,
    pub max_bytes: usize,
}

/// A stage ready to run: processor plus routes.
pub struct StagePlan {
    pub name: String,
    pub processor: Box<dyn Processor>,
    pub inputs: HashMap<Arc<str>, InputRoute>,
    /// Inputs in read order, priority inputs first.
    pub input_order: Vec<Arc<str>>,
    pub priority_inputs: Vec<Arc<str>>,
    /// Inputs every instance reads in full.
    pub global_inputs: Vec<Arc<str>>,
    /// Partition count of the partitioned (co-partitioned) inputs; 1 when there are none.
    pub partitioned_partitions: i32,
    pub outputs: HashMap<EventKind, Arc<str>>,
    /// Partitioned input -> its changelog topic.
    pub changelogs: HashMap<Arc<str>, Arc<str>>,
    pub dead_letter_topic: Arc<str>,
}

/// Settings of the processors that are not part of the topology. Default: the bundled policies;
/// the plan stage's key, shadow mode and policy fall back to the environment (see the
/// constants above), so a deployment can set them without a config file.
#[derive(Debug, Clone, Default)]
pub struct ProcessorOptions {
    /// Remediation policy of the assess processor (`None`: the bundled default).
    pub policy: Option<Policy>,
    /// Plan policy: gates, waits, wave sizes, caps, freezes (`None`: the file named by
    /// `PATCHLINE_PLAN_POLICY_FILE`, else the defaults).
    pub plan_policy: Option<PlanPolicy>,
    /// Key that signs deployment commands (`None`: `PATCHLINE_SIGNING_KEY_FILE`, then
    /// `PATCHLINE_SIGNING_KEY`; without either, commands go out unsigned and executors reject
    /// them).
    pub signing_key: Option<Signer>,
    /// Shadow mode: the plan stage publishes unsigned plans to its `plans` output and issues no
    /// command (`None`: `PATCHLINE_SHADOW`).
    pub shadow: Option<bool>,
    /// Starting exploit-likelihood weights of the assess and learn stages (`None`: the bundled
    /// model, `data/models/exploit_likelihood.json`; newer versions arrive on the models topic).
    pub exploit_model: Option<ModelSnapshot>,
    /// Settings of the learn stage (`None`: [`LearnSettings::default`]).
    pub learn: Option<LearnSettings>,
}

/// The exploit-likelihood weights shipped with patchline: trained with `patchline eval
/// --save-model` on the public CVE, EPSS and KEV data as of 2026-01-30 (see
/// `data/models/README.md`).
pub const BUNDLED_EXPLOIT_MODEL: &str =
    include_str!("../../../data/models/exploit_likelihood.json");

/// The bundled exploit-likelihood snapshot.
pub fn bundled_exploit_model() -> Result<ModelSnapshot> {
    serde_json::from_str(BUNDLED_EXPLOIT_MODEL)
        .map_err(|e| Error::Config(format!("bundled exploit model: {e}")))
}

impl ProcessorOptions {
    /// Shadow mode as configured, else from the environment.
    pub fn plan_shadow(&self) -> bool {
        self.shadow.unwrap_or_else(|| {
            std::env::var(SHADOW_ENV).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "TRUE"))
        })
    }

    /// The signing key as configured, else from the environment.
    pub fn plan_signer(&self) -> Result<Option<Signer>> {
        if let Some(k) = &self.signing_key {
            return Ok(Some(k.clone()));
        }
        let text = match (std::env::var(SIGNING_KEY_FILE_ENV), std::env::var(SIGNING_KEY_ENV)) {
            (Ok(path), _) if !path.trim().is_empty() => std::fs::read_to_string(path.trim())
                .map_err(|e| Error::Config(format!("{SIGNING_KEY_FILE_ENV} {path}: {e}")))?,
            (_, Ok(key)) if !key.trim().is_empty() => key,
            _ => return Ok(None),
        };
        Signer::from_text(&text)
            .map(Some)
            .map_err(|e| Error::Config(format!("plan signing key: {e}")))
    }

    /// The starting exploit model as configured, else the bundled one.
    pub fn exploit_model(&self) -> Result<ModelSnapshot> {
        match &self.exploit_model {
            Some(m) => Ok(m.clone()),
            None => bundled_exploit_model(),
        }
    }

    /// The plan policy as configured, else from the file named in the environment.
    pub fn plan_policy(&self) -> Result<PlanPolicy> {
        if let Some(p) = &self.plan_policy {
            return Ok(p.clone());
        }
        match std::env::var(PLAN_POLICY_FILE_ENV) {
            Ok(path) if !path.trim().is_empty() => {
                let text = std::fs::read_to_string(path.trim())
                    .map_err(|e| Error::Config(format!("{PLAN_POLICY_FILE_ENV} {path}: {e}")))?;
                PlanPolicy::from_toml(&text).map_err(|e| Error::Config(e.to_string()))
            }
            _ => Ok(PlanPolicy::default()),
        }
    }
}

/// The output port of `kind` when a stage has several topics of that kind: the plan stage
/// writes deployment commands to `commands`, or to `plans` in shadow mode.
fn preferred_port(kind: EventKind, options: &ProcessorOptions) -> Option<&'static str> {
    match kind {
        EventKind::DeploymentCommand if options.plan_shadow() => Some("plans"),
        EventKind::DeploymentCommand => Some("commands"),
        _ => None,
    }
}

/// The plan processor with its key, mode and policy; logs the public key it signs with, so
/// operators can publish it to executors.
fn plan_processor(options: &ProcessorOptions) -> Result<Box<dyn Processor>> {
    let shadow = options.plan_shadow();
    let mut plan = PlanProcessor::new().with_policy(options.plan_policy()?).with_shadow(shadow);
    match options.plan_signer()? {
        Some(key) => {
            tracing::info!(
                key_id = key.key_id(),
                public_key = %key.public_key().to_hex(),
                shadow,
                "plan: deployment commands are signed with Ed25519"
            );
            plan = plan.with_signer(key);
        }
        None if !shadow => tracing::info!(
            "plan: no signing key ({SIGNING_KEY_FILE_ENV}); commands are unsigned and \
             executors will reject them"
        ),
        None => {}
    }
    if shadow {
        tracing::info!("plan: shadow mode: unsigned plans go to the plans topic, no command");
    }
    Ok(Box::new(plan))
}

/// The processor registered under `name`.
pub fn processor_named(name: &str, options: &ProcessorOptions) -> Result<Box<dyn Processor>> {
    match name {
        "assess" => {
            let policy = options.policy.clone().unwrap_or_default();
            let model = options.exploit_model()?;
            let assess = AssessProcessor::new()
                .with_policy(policy)
                .with_exploit_model(&model)
                .map_err(|e| Error::Config(format!("exploit model: {e}")))?;
            Ok(Box::new(assess))
        }
        "plan" => plan_processor(options),
        "learn" => {
            let mut settings = options.learn.clone().unwrap_or_default();
            settings.initial_exploit = Some(options.exploit_model()?);
            settings.verifier = options.plan_signer()?.map(|s| s.public_key());
            Ok(Box::new(LearnProcessor::new(settings)))
        }
        other => {
            Err(Error::Config(format!("unknown processor {other}; known: assess, plan, learn")))
        }
    }
}

impl StagePlan {
    /// Resolves a stage of the topology with the default processor options.
    pub fn build(spec: &TopologySpec, stage: &StageSpec) -> Result<StagePlan> {
        Self::build_with(spec, stage, &ProcessorOptions::default())
    }

    /// Resolves a stage of the topology.
    pub fn build_with(
        spec: &TopologySpec,
        stage: &StageSpec,
        options: &ProcessorOptions,
    ) -> Result<StagePlan> {
        let processor = processor_named(&stage.processor, options)?;
        let mut inputs = HashMap::new();
        for name in &stage.inputs {
            let topic = spec.topic(name)?;
            let kind = topic.event_kind().ok_or_else(|| {
                Error::Config(format!("stage {}: input {name} has no event kind", stage.name))
            })?;
            inputs.insert(
                Arc::from(name.as_str()),
                InputRoute {
                    kind,
                    format: topic.format,
                    max_bytes: topic.max_message_bytes as usize,
                },
            );
        }
        let priority_inputs: Vec<Arc<str>> =
            stage.priority_inputs.iter().map(|s| Arc::from(s.as_str())).collect();
        let mut input_order = priority_inputs.clone();
        for name in &stage.inputs {
            if !stage.priority_inputs.contains(name) {
                input_order.push(Arc::from(name.as_str()));
            }
        }
        let global_inputs: Vec<Arc<str>> =
            stage.global_inputs.iter().map(|s| Arc::from(s.as_str())).collect();
        let partitioned_partitions = stage
            .inputs
            .iter()
            .find(|i| !stage.global_inputs.contains(i))
            .map(|i| spec.topic(i).map(|t| t.partitions))
            .transpose()?
            .unwrap_or(1);
        let mut changelogs = HashMap::new();
        for (input, changelog) in &stage.changelogs {
            let route = inputs.get(input.as_str()).cloned().ok_or_else(|| {
                Error::Config(format!("stage {}: changelog of unknown input {input}", stage.name))
            })?;
            // Restores decode changelog records like the input's.
            inputs.insert(Arc::from(changelog.as_str()), route);
            changelogs.insert(Arc::from(input.as_str()), Arc::from(changelog.as_str()));
        }
        let mut outputs = HashMap::new();
        for kind in processor.output_kinds() {
            let candidates: Vec<(&String, &String)> = stage
                .outputs
                .iter()
                .filter(|(_, t)| spec.topic(t).ok().and_then(|t| t.event_kind()) == Some(*kind))
                .collect();
            let preferred = preferred_port(*kind, options);
            let topic = candidates
                .iter()
                .find(|(port, _)| candidates.len() > 1 && Some(port.as_str()) == preferred)
                .or(candidates.first())
                .map(|(_, t)| *t)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "stage {}: no output topic for {}",
                        stage.name,
                        kind.name()
                    ))
                })?;
            outputs.insert(*kind, Arc::from(topic.as_str()));
        }
        Ok(StagePlan {
            name: stage.name.clone(),
            processor,
            inputs,
            input_order,
            priority_inputs,
            global_inputs,
            partitioned_partitions,
            outputs,
            changelogs,
            dead_letter_topic: Arc::from(spec.dead_letter_topic.as_str()),
        })
    }
}
