//! Topic provisioning (`topics create`) and drift detection (`topics check`) against a broker.
//!
//! Invariant: [`create_topics`] only ever creates topics that do not exist yet, with the spec's
//! partitions, replication, `cleanup.policy`, `retention.ms` and `max.message.bytes`; it never
//! alters an existing topic, so running it twice is harmless. [`check_topics`] only reads, and
//! returns an empty list exactly when every spec topic exists as specified and every
//! co-partitioned pair has equal actual partition counts.

use crate::error::{Error, Result};
use crate::spec::{TopicSpec, TopologySpec};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Timeout of every admin request and of the metadata fetch.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Topic configs provisioned and checked, in this order.
pub const CHECKED_CONFIGS: [&str; 3] = ["cleanup.policy", "retention.ms", "max.message.bytes"];

/// What [`create_topics`] did to one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicChange {
    /// The topic was created as specified.
    Created { topic: String, partitions: i32 },
    /// The topic existed already and was left alone (run `topics check` for drift).
    AlreadyExisted { topic: String },
}

impl TopicChange {
    /// The topic name.
    pub fn topic(&self) -> &str {
        match self {
            TopicChange::Created { topic, .. } | TopicChange::AlreadyExisted { topic } => topic,
        }
    }

    /// Whether the topic was created by this call.
    pub fn is_created(&self) -> bool {
        matches!(self, TopicChange::Created { .. })
    }
}

impl fmt::Display for TopicChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicChange::Created { topic, partitions } => {
                write!(f, "{topic}: created with {partitions} partitions")
            }
            TopicChange::AlreadyExisted { topic } => {
                write!(f, "{topic}: already exists, left alone")
            }
        }
    }
}

/// One difference between the spec and the broker, about `topic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The topic (the first of the pair for [`Problem::CoPartitioning`]).
    pub topic: String,
    /// What differs.
    pub problem: Problem,
}

/// What differs between a topic of the spec and the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The topic does not exist.
    Missing,
    /// The partition count differs from the spec.
    Partitions { expected: i32, actual: i32 },
    /// The replication factor differs from the spec.
    Replication { expected: i32, actual: i32 },
    /// A checked config ([`CHECKED_CONFIGS`]) differs; `actual` is `None` when not reported.
    Config { key: &'static str, expected: String, actual: Option<String> },
    /// The topic and `other`, declared co-partitioned, differ in actual partition count.
    CoPartitioning { partitions: i32, other: String, other_partitions: i32 },
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.topic)?;
        match &self.problem {
            Problem::Missing => f.write_str("missing"),
            Problem::Partitions { expected, actual } => {
                write!(f, "{actual} partitions, spec says {expected}")
            }
            Problem::Replication { expected, actual } => {
                write!(f, "replication factor {actual}, spec says {expected}")
            }
            Problem::Config { key, expected, actual } => match actual {
                Some(actual) => write!(f, "{key} is {actual}, spec says {expected}"),
                None => write!(f, "{key} not reported by the broker, spec says {expected}"),
            },
            Problem::CoPartitioning { partitions, other, other_partitions } => write!(
                f,
                "{partitions} partitions but co-partitioned {other} has {other_partitions}"
            ),
        }
    }
}

/// What the broker reports about one topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActualTopic {
    /// Partition count.
    pub partitions: i32,
    /// Replication factor (largest replica set over the partitions).
    pub replication: i32,
    /// Values of [`CHECKED_CONFIGS`] as reported.
    pub configs: BTreeMap<String, Option<String>>,
}

type Admin = AdminClient<DefaultClientContext>;

fn admin_client(config: &ClientConfig) -> Result<Arc<Admin>> {
    Ok(Arc::new(config.create::<Admin>()?))
}

fn options() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT)).request_timeout(Some(ADMIN_TIMEOUT))
}

/// The spec's value of each of [`CHECKED_CONFIGS`].
fn spec_configs(t: &TopicSpec) -> [(&'static str, String); 3] {
    [
        (CHECKED_CONFIGS[0], t.cleanup_policy.as_kafka().to_owned()),
        (CHECKED_CONFIGS[1], t.retention_ms.to_string()),
        (CHECKED_CONFIGS[2], t.max_message_bytes.to_string()),
    ]
}

/// Canonical form of a config value: numbers without formatting noise, lists sorted.
fn normalize(key: &str, value: &str) -> String {
    let value = value.trim();
    if key == "cleanup.policy" {
        let mut parts: Vec<&str> = value.split(',').map(str::trim).collect();
        parts.sort_unstable();
        return parts.join(",");
    }
    value.parse::<i64>().map(|n| n.to_string()).unwrap_or_else(|_| value.to_owned())
}

/// Creates every topic of `spec` that does not exist yet; existing topics are left alone.
/// Returns one [`TopicChange`] per spec topic, in spec order.
///
/// Creation is not transactional: when some topics fail, the others may have been created; the
/// failures are logged with their topic and the first one is returned as [`Error::Kafka`].
pub async fn create_topics(client: &ClientConfig, spec: &TopologySpec) -> Result<Vec<TopicChange>> {
    if spec.topics.is_empty() {
        return Ok(Vec::new());
    }
    let admin = admin_client(client)?;
    let configs: Vec<[(&'static str, String); 3]> = spec.topics.iter().map(spec_configs).collect();
    let mut new_topics = Vec::with_capacity(spec.topics.len());
    for (t, configs) in spec.topics.iter().zip(&configs) {
        let replication = TopicReplication::Fixed(t.replication);
        let topic = NewTopic::new(&t.name, t.partitions, replication);
        new_topics.push(configs.iter().fold(topic, |nt, (k, v)| nt.set(k, v)));
    }
    let results = admin.create_topics(&new_topics, &options()).await?;
    let by_name: HashMap<String, Option<RDKafkaErrorCode>> = results
        .into_iter()
        .map(|r| r.map_or_else(|(name, code)| (name, Some(code)), |name| (name, None)))
        .collect();

    let mut changes = Vec::with_capacity(spec.topics.len());
    let mut first_failure = None;
    for t in &spec.topics {
        let (topic, partitions) = (t.name.clone(), t.partitions);
        match by_name.get(&t.name) {
            Some(None) => {
                tracing::info!(topic = %t.name, partitions, "topic created");
                changes.push(TopicChange::Created { topic, partitions });
            }
            Some(Some(RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::debug!(topic = %t.name, "topic already exists");
                changes.push(TopicChange::AlreadyExisted { topic });
            }
            Some(Some(code)) => {
                tracing::error!(topic = %t.name, error = %code, "cannot create topic");
                first_failure.get_or_insert(Error::Kafka(KafkaError::AdminOp(*code)));
            }
            None => {
                tracing::error!(topic = %t.name, "broker returned no result for topic");
                let message = format!("create topics: no result for topic {}", t.name);
                first_failure.get_or_insert(Error::Config(message));
            }
        }
    }
    match first_failure {
        Some(e) => Err(e),
        None => Ok(changes),
    }
}

/// Compares the broker's topics with `spec`; an empty result means no drift.
pub async fn check_topics(client: &ClientConfig, spec: &TopologySpec) -> Result<Vec<Drift>> {
    let actual = describe_topics(client, spec).await?;
    Ok(compute_drift(spec, &actual))
}

/// Fetches metadata (all topics, so a broker with auto-creation never creates one by being
/// asked) and the checked configs of every spec topic that exists.
pub async fn describe_topics(
    client: &ClientConfig,
    spec: &TopologySpec,
) -> Result<BTreeMap<String, ActualTopic>> {
    let admin = admin_client(client)?;
    let fetcher = Arc::clone(&admin);
    let metadata =
        tokio::task::spawn_blocking(move || fetcher.inner().fetch_metadata(None, ADMIN_TIMEOUT))
            .await
            .map_err(std::io::Error::from)??;
    let wanted: BTreeSet<&str> = spec.topics.iter().map(|t| t.name.as_str()).collect();
    let mut actual = BTreeMap::new();
    for topic in metadata.topics() {
        if topic.error().is_some() || !wanted.contains(topic.name()) {
            continue;
        }
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let partitions = topic.partitions();
        let replicas = partitions.iter().map(|p| count(p.replicas().len()));
        let topic_state = ActualTopic {
            partitions: count(partitions.len()),
            replication: replicas.max().unwrap_or(0),
            configs: BTreeMap::new(),
        };
        actual.insert(topic.name().to_owned(), topic_state);
    }
    if actual.is_empty() {
        return Ok(actual);
    }

    let names: Vec<String> = actual.keys().cloned().collect();
    let resources: Vec<ResourceSpecifier<'_>> =
        names.iter().map(|n| ResourceSpecifier::Topic(n)).collect();
    let described = admin.describe_configs(&resources, &options()).await?;
    for (name, result) in names.iter().zip(described) {
        match result {
            Ok(resource) => {
                if let Some(entry) = actual.get_mut(name) {
                    for key in CHECKED_CONFIGS {
                        let value = resource.get(key).and_then(|e| e.value.clone());
                        entry.configs.insert(key.to_owned(), value);
                    }
                }
            }
            // Deleted between the two requests.
            Err(RDKafkaErrorCode::UnknownTopicOrPartition) => {
                actual.remove(name);
            }
            Err(code) => {
                tracing::error!(topic = %name, error = %code, "cannot describe topic configs");
                return Err(Error::Kafka(KafkaError::AdminOp(code)));
            }
        }
    }
    Ok(actual)
}

/// The drift between `spec` and what the broker reports: per spec topic (in spec order) missing,
/// partitions, replication, then configs; then each co-partitioned pair that differs, once.
pub fn compute_drift(spec: &TopologySpec, actual: &BTreeMap<String, ActualTopic>) -> Vec<Drift> {
    let mut drift = Vec::new();
    let mut push = |topic: &String, problem| drift.push(Drift { topic: topic.clone(), problem });
    for t in &spec.topics {
        let Some(a) = actual.get(&t.name) else {
            push(&t.name, Problem::Missing);
            continue;
        };
        if a.partitions != t.partitions {
            let (expected, actual) = (t.partitions, a.partitions);
            push(&t.name, Problem::Partitions { expected, actual });
        }
        if a.replication != t.replication {
            let (expected, actual) = (t.replication, a.replication);
            push(&t.name, Problem::Replication { expected, actual });
        }
        for (key, expected) in spec_configs(t) {
            let actual = a.configs.get(key).cloned().flatten();
            if actual.as_deref().map(|v| normalize(key, v)) != Some(normalize(key, &expected)) {
                push(&t.name, Problem::Config { key, expected, actual });
            }
        }
    }
    let mut seen = BTreeSet::new();
    for t in &spec.topics {
        for other in &t.co_partitioned_with {
            let (Some(a), Some(b)) = (actual.get(&t.name), actual.get(other)) else {
                continue;
            };
            let pair = (t.name.as_str().min(other), t.name.as_str().max(other));
            if a.partitions != b.partitions && seen.insert(pair) {
                let (partitions, other_partitions) = (a.partitions, b.partitions);
                let other = other.clone();
                push(&t.name, Problem::CoPartitioning { partitions, other, other_partitions });
            }
        }
    }
    drift
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_specified(spec: &TopologySpec) -> BTreeMap<String, ActualTopic> {
        let mut actual = BTreeMap::new();
        for t in &spec.topics {
            let configs = spec_configs(t).map(|(k, v)| (k.to_owned(), Some(v)));
            let (partitions, replication) = (t.partitions, t.replication);
            let configs = configs.into_iter().collect();
            actual.insert(t.name.clone(), ActualTopic { partitions, replication, configs });
        }
        actual
    }

    #[test]
    fn no_drift_when_the_broker_matches() {
        let spec = TopologySpec::default_topology().expect("spec");
        assert_eq!(compute_drift(&spec, &as_specified(&spec)), vec![]);
    }

    #[test]
    fn every_kind_of_drift_is_reported_once() {
        let spec = TopologySpec::default_topology().expect("spec");
        let mut actual = as_specified(&spec);
        actual.remove("patchline.outcomes");
        let assets = actual.get_mut("patchline.assets").expect("assets");
        (assets.partitions, assets.replication) = (4, 2);
        for (key, value) in [("retention.ms", "1000"), ("cleanup.policy", "delete, compact")] {
            assets.configs.insert(key.into(), Some(value.into()));
        }
        assets.configs.remove("max.message.bytes");
        let drift = compute_drift(&spec, &actual);
        let lines: Vec<String> = drift.iter().map(Drift::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "patchline.assets: 4 partitions, spec says 3",
                "patchline.assets: replication factor 2, spec says 1",
                "patchline.assets: cleanup.policy is delete, compact, spec says delete",
                "patchline.assets: retention.ms is 1000, spec says 604800000",
                "patchline.assets: max.message.bytes not reported by the broker, spec says 1048576",
                "patchline.outcomes: missing",
                "patchline.findings: 3 partitions but co-partitioned patchline.assets has 4",
            ]
        );
    }
}
