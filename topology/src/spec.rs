//! The declarative topology: topics (partitions, key, schema, cleanup policy) and stages (inputs
//! and outputs), read from a TOML file. Invariant: a [`TopologySpec`] that passed
//! [`TopologySpec::validate`] names only defined topics, every stage output port maps to a topic
//! of the kind the port emits, and co-partitioned topics have equal partition counts.

use crate::error::{Error, Result};
use patchline_processors::events::EventKind;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The topology bundled in the binary; `run --topology FILE` replaces it.
pub const DEFAULT_TOPOLOGY: &str = include_str!("../patchline.toml");

/// Payload format of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body. The default.
    #[default]
    Avro,
    /// One JSON object per record, fields as in the Avro schema (input topics only).
    Json,
}

/// Kafka cleanup policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CleanupPolicy {
    /// Time/size retention. The default.
    #[default]
    Delete,
    /// Keep the newest record per key.
    Compact,
}

impl CleanupPolicy {
    /// The Kafka `cleanup.policy` value.
    pub fn as_kafka(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
        }
    }
}

/// One topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Event kind of the values (the schema); `dead_letter` topics use `kind = "dead_letter"`.
    pub kind: String,
    /// Record key, documentation only (e.g. `asset_id`).
    pub key: String,
    /// Partition count.
    pub partitions: i32,
    /// Replication factor. Default 1.
    #[serde(default = "one")]
    pub replication: i32,
    /// Cleanup policy. Default `delete`.
    #[serde(default)]
    pub cleanup_policy: CleanupPolicy,
    /// `retention.ms`; -1 keeps forever. Default 7 days.
    #[serde(default = "week_ms")]
    pub retention_ms: i64,
    /// `max.message.bytes` on the topic and the record size limit of the codec. Default 1 MiB.
    #[serde(default = "mib")]
    pub max_message_bytes: i32,
    /// Payload format. Default `avro`.
    #[serde(default)]
    pub format: Format,
    /// Topics that must have the same partition count (joined by key).
    #[serde(default)]
    pub co_partitioned_with: Vec<String>,
}

fn one() -> i32 {
    1
}
fn week_ms() -> i64 {
    7 * 24 * 3600 * 1000
}
fn mib() -> i32 {
    1024 * 1024
}

impl TopicSpec {
    /// The event kind, or `None` for the dead-letter topic.
    pub fn event_kind(&self) -> Option<EventKind> {
        EventKind::from_name(&self.kind)
    }
}

/// One stage: a processor chain with named inputs and output ports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Stage name; also the consumer group suffix.
    pub name: String,
    /// Processor implementing the stage: `assess` (enrich + score) or `plan`.
    pub processor: String,
    /// Input topics.
    pub inputs: Vec<String>,
    /// Input topics read ahead of the others when both have backlog (threat intel).
    #[serde(default)]
    pub priority_inputs: Vec<String>,
    /// Input topics every instance reads in full (global tables, like a Kafka Streams
    /// GlobalKTable); the other inputs are split across the instances by partition and must be
    /// co-partitioned. Default: none.
    #[serde(default)]
    pub global_inputs: Vec<String>,
    /// Output port name to topic.
    pub outputs: BTreeMap<String, String>,
    /// Partitioned input topic to its changelog topic: a compacted topic holding the newest
    /// record of each state key, from which a new owner restores the partition's state instead
    /// of replaying the whole input. Inputs without a changelog rebuild from the input itself
    /// (for clusters that forbid compacted topics). Default: none.
    #[serde(default)]
    pub changelogs: BTreeMap<String, String>,
}

/// The whole topology.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologySpec {
    /// Topology name; prefixes consumer groups.
    pub name: String,
    /// Dead-letter topic for every stage.
    pub dead_letter_topic: String,
    /// Topics.
    pub topics: Vec<TopicSpec>,
    /// Stages.
    pub stages: Vec<StageSpec>,
}

impl TopologySpec {
    /// Parses and validates a topology file.
    pub fn parse(text: &str) -> Result<TopologySpec> {
        let spec: TopologySpec =
            toml::from_str(text).map_err(|e| Error::Config(format!("topology file: {e}")))?;
        spec.validate()?;
        Ok(spec)
    }

    /// The bundled default topology.
    pub fn default_topology() -> Result<TopologySpec> {
        Self::parse(DEFAULT_TOPOLOGY)
    }

    /// The topic called `name`.
    pub fn topic(&self, name: &str) -> Result<&TopicSpec> {
        self.topics
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::Config(format!("unknown topic {name}")))
    }

    /// The same topology with every topic name and the topology name prefixed, e.g. for a
    /// tenant or an isolated test run. References (stages, co-partitioning, dead letters) follow.
    pub fn with_prefix(&self, prefix: &str) -> TopologySpec {
        let p = |name: &String| format!("{prefix}{name}");
        let mut spec = self.clone();
        spec.name = p(&spec.name);
        spec.dead_letter_topic = p(&spec.dead_letter_topic);
        for t in &mut spec.topics {
            t.name = p(&t.name);
            t.co_partitioned_with = t.co_partitioned_with.iter().map(p).collect();
        }
        for s in &mut spec.stages {
            s.inputs = s.inputs.iter().map(p).collect();
            s.priority_inputs = s.priority_inputs.iter().map(p).collect();
            s.global_inputs = s.global_inputs.iter().map(p).collect();
            s.outputs = s.outputs.iter().map(|(port, t)| (port.clone(), p(t))).collect();
            s.changelogs = s.changelogs.iter().map(|(i, c)| (p(i), p(c))).collect();
        }
        spec
    }

    /// Checks names, kinds and co-partitioning.
    pub fn validate(&self) -> Result<()> {
        let mut names = BTreeSet::new();
        for t in &self.topics {
            if !names.insert(t.name.as_str()) {
                return Err(Error::Config(format!("topic {} defined twice", t.name)));
            }
            if t.partitions < 1 {
                return Err(Error::Config(format!("topic {}: partitions must be >= 1", t.name)));
            }
            if t.event_kind().is_none() && t.kind != "dead_letter" {
                return Err(Error::Config(format!("topic {}: unknown kind {}", t.name, t.kind)));
            }
        }
        let dlq = self.topic(&self.dead_letter_topic)?;
        if dlq.kind != "dead_letter" {
            return Err(Error::Config("dead_letter_topic must have kind dead_letter".into()));
        }
        for t in &self.topics {
            for other in &t.co_partitioned_with {
                let o = self.topic(other)?;
                if o.partitions != t.partitions {
                    return Err(Error::Config(format!(
                        "co-partitioned topics {} ({}) and {} ({}) differ in partition count",
                        t.name, t.partitions, o.name, o.partitions
                    )));
                }
            }
        }
        for s in &self.stages {
            for input in s.inputs.iter().chain(&s.priority_inputs) {
                self.topic(input)?;
            }
            for p in s.priority_inputs.iter().chain(&s.global_inputs) {
                if !s.inputs.contains(p) {
                    return Err(Error::Config(format!(
                        "stage {}: priority or global input {p} is not an input",
                        s.name
                    )));
                }
            }
            let partitioned: Vec<&TopicSpec> = s
                .inputs
                .iter()
                .filter(|i| !s.global_inputs.contains(i))
                .map(|i| self.topic(i))
                .collect::<Result<_>>()?;
            if let Some(first) = partitioned.first() {
                if let Some(other) = partitioned.iter().find(|t| t.partitions != first.partitions) {
                    return Err(Error::Config(format!(
                        "stage {}: partitioned inputs must be co-partitioned, but {} has {} \
                         partitions and {} has {}",
                        s.name, first.name, first.partitions, other.name, other.partitions
                    )));
                }
            }
            for (input, changelog) in &s.changelogs {
                let (i, c) = (self.topic(input)?, self.topic(changelog)?);
                if !s.inputs.contains(input) || s.global_inputs.contains(input) {
                    return Err(Error::Config(format!(
                        "stage {}: changelog {changelog} belongs to {input}, which is not a \
                         partitioned input",
                        s.name
                    )));
                }
                if (i.kind.as_str(), i.format, i.partitions)
                    != (c.kind.as_str(), c.format, c.partitions)
                {
                    return Err(Error::Config(format!(
                        "stage {}: changelog {changelog} must have the kind, format and partition \
                         count of {input}",
                        s.name
                    )));
                }
            }
            for topic in s.outputs.values() {
                if self.topic(topic)?.format != Format::Avro {
                    return Err(Error::Config(format!("output topic {topic} must be avro")));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_topology_is_valid() {
        let spec = TopologySpec::default_topology().expect("valid");
        assert!(spec.stages.iter().any(|s| s.processor == "assess"));
    }

    #[test]
    fn prefixing_keeps_the_topology_valid() {
        let spec = TopologySpec::default_topology().expect("valid").with_prefix("t1.");
        spec.validate().expect("still valid");
        assert!(spec.topics.iter().all(|t| t.name.starts_with("t1.")));
        assert!(spec.stages.iter().flat_map(|s| &s.inputs).all(|i| i.starts_with("t1.")));
    }

    #[test]
    fn co_partitioning_mismatch_is_rejected() {
        let text = DEFAULT_TOPOLOGY.replacen("partitions = 3", "partitions = 2", 1);
        let err = TopologySpec::parse(&text).expect_err("mismatch");
        assert!(err.to_string().contains("co-partitioned"), "{err}");
    }
}
