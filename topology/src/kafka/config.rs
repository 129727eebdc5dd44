//! Kafka client configuration: brokers plus pass-through librdkafka properties. Invariant: the
//! properties patchline relies on for its delivery contract (manual offset storage and commits,
//! idempotent acks=all producer, murmur2 partitioning) are set last and cannot be overridden.

use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Connection settings of the Kafka runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Any librdkafka property, passed through (e.g. `security.protocol`, `sasl.mechanism`).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

impl KafkaConfig {
    /// Settings for `brokers` with no extra properties.
    pub fn new(brokers: &str) -> KafkaConfig {
        KafkaConfig { brokers: brokers.to_string(), properties: BTreeMap::new() }
    }

    /// Base config: brokers and pass-through properties.
    pub fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }

    /// Consumer config for a group: offsets are stored and committed only by patchline.
    pub fn consumer(&self, group: &str) -> ClientConfig {
        let mut c = self.client();
        c.set_default("auto.offset.reset", "earliest");
        c.set_default("session.timeout.ms", "10000");
        c.set_default("max.poll.interval.ms", "300000");
        c.set_default("statistics.interval.ms", "5000");
        c.set("group.id", group);
        c.set("enable.auto.commit", "false");
        c.set("enable.auto.offset.store", "false");
        c.set("enable.partition.eof", "false");
        c
    }

    /// Producer config: idempotent, acks from all in-sync replicas, Java-compatible partitioning.
    pub fn producer(&self) -> ClientConfig {
        let mut c = self.client();
        c.set_default("linger.ms", "5");
        c.set_default("compression.type", "lz4");
        c.set_default("message.timeout.ms", "30000");
        c.set("enable.idempotence", "true");
        c.set("acks", "all");
        c.set("partitioner", "murmur2_random");
        c
    }
}

trait SetDefault {
    fn set_default(&mut self, key: &str, value: &str);
}

impl SetDefault for ClientConfig {
    fn set_default(&mut self, key: &str, value: &str) {
        if self.get(key).is_none() {
            self.set(key, value);
        }
    }
}
