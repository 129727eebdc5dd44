//! Builds the processor named by a stage spec, and the routing of its inputs and outputs.
//! Invariant: every input topic has a known kind and format, and every kind the processor emits
//! maps to exactly one output topic.

use crate::error::{Error, Result};
use crate::spec::{Format, StageSpec, TopologySpec};
use patchline_processors::events::EventKind;
use patchline_processors::score::Policy;
use patchline_processors::{AssessProcessor, PlanProcessor, Processor};
use std::collections::HashMap;
use std::sync::Arc;

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

/// Settings of the processors that are not part of the topology. Default: the bundled policy.
#[derive(Debug, Clone, Default)]
pub struct ProcessorOptions {
    /// Remediation policy of the assess processor (`None`: the bundled default).
    pub policy: Option<Policy>,
}

/// The processor registered under `name`.
pub fn processor_named(name: &str, options: &ProcessorOptions) -> Result<Box<dyn Processor>> {
    match name {
        "assess" => {
            let policy = options.policy.clone().unwrap_or_default();
            Ok(Box::new(AssessProcessor::new().with_policy(policy)))
        }
        "plan" => Ok(Box::new(PlanProcessor::new())),
        other => Err(Error::Config(format!("unknown processor {other}; known: assess, plan"))),
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
            let topic = stage
                .outputs
                .values()
                .find(|t| spec.topic(t).ok().and_then(|t| t.event_kind()) == Some(*kind))
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
