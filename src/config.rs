//! Layered configuration of `patchline run`: built-in defaults, then the config file, then
//! `PATCHLINE_*` environment variables, then command-line flags; later layers win.
//!
//! Invariant: unknown keys in the config file are errors (`deny_unknown_fields`), and every
//! default is written down next to its field.

use crate::error::{CliError, Result};
use patchline_topology::kafka::KafkaConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The config file (TOML).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Kafka bootstrap servers. Default: none, which selects the embedded bus.
    #[serde(default)]
    pub brokers: Option<String>,
    /// librdkafka properties passed through as they are. Default: none.
    #[serde(default)]
    pub kafka: BTreeMap<String, String>,
    /// Confluent-API schema registry URL. Default: none (bundled schemas and ids).
    #[serde(default)]
    pub schema_registry: Option<String>,
    /// Admin HTTP address (/metrics, /healthz, /readyz). Default: 127.0.0.1:9464.
    #[serde(default)]
    pub admin_addr: Option<SocketAddr>,
    /// Topology file. Default: the bundled `topology/patchline.toml`.
    #[serde(default)]
    pub topology: Option<PathBuf>,
    /// Stages to run. Default: all.
    #[serde(default)]
    pub stages: Vec<String>,
    /// Outputs in flight per stage before reading pauses. Default: 10000.
    #[serde(default)]
    pub max_in_flight: Option<usize>,
    /// Offset commit interval in milliseconds. Default: 1000.
    #[serde(default)]
    pub commit_interval_ms: Option<u64>,
    /// Stable id of this instance (names the consumer group of its global inputs). Default: the
    /// host name.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Ed25519 key that signs deployment commands. Default: none (commands are unsigned).
    #[serde(default)]
    pub signing_key_file: Option<PathBuf>,
    /// Shadow mode: plans go to the plans topic and no command is issued. Default: false.
    #[serde(default)]
    pub shadow: Option<bool>,
    /// Plan policy (gates, waits, wave sizes, caps, freezes). Default: the bundled one.
    #[serde(default)]
    pub plan_policy: Option<PathBuf>,
    /// Remediation policy (SSVC table, SLAs, exceptions). Default: the bundled one.
    #[serde(default)]
    pub policy: Option<PathBuf>,
    /// Learn stage: time between champion/challenger gates, in ms. Default: 3,600,000 (1 h).
    #[serde(default)]
    pub learn_interval_ms: Option<i64>,
    /// Learn stage: new examples a model needs before a gate. Default: 50.
    #[serde(default)]
    pub learn_min_examples: Option<usize>,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub kafka: Option<KafkaConfig>,
    pub schema_registry: Option<String>,
    pub admin_addr: SocketAddr,
    pub topology: Option<PathBuf>,
    pub stages: Vec<String>,
    pub max_in_flight: usize,
    pub commit_interval_ms: u64,
    pub instance_id: String,
    pub signing_key_file: Option<PathBuf>,
    pub shadow: Option<bool>,
    pub plan_policy: Option<PathBuf>,
    pub policy: Option<PathBuf>,
    pub learn_interval_ms: Option<i64>,
    pub learn_min_examples: Option<usize>,
}

/// Command-line overrides.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub brokers: Option<String>,
    pub properties: Vec<String>,
    pub schema_registry: Option<String>,
    pub admin_addr: Option<SocketAddr>,
    pub topology: Option<PathBuf>,
    pub stages: Vec<String>,
    pub instance_id: Option<String>,
    pub signing_key_file: Option<PathBuf>,
    pub shadow: bool,
    pub plan_policy: Option<PathBuf>,
    pub policy: Option<PathBuf>,
}

/// The host name, or `default` when it cannot be read.
fn host_name(env: &BTreeMap<String, String>) -> String {
    env.get("HOSTNAME")
        .cloned()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "default".to_string())
}

impl Settings {
    /// Resolves the layers. `env` is the process environment (passed in for tests).
    pub fn resolve(
        file: Option<&str>,
        env: &BTreeMap<String, String>,
        cli: &Overrides,
    ) -> Result<Settings> {
        let file: FileConfig = match file {
            Some(text) => {
                toml::from_str(text).map_err(|e| CliError::Config(format!("config file: {e}")))?
            }
            None => FileConfig::default(),
        };
        let mut properties = file.kafka.clone();
        for (k, v) in env {
            if let Some(name) = k.strip_prefix("PATCHLINE_LIBRDKAFKA_") {
                properties.insert(name.to_lowercase().replace('_', "."), v.clone());
            }
        }
        for p in &cli.properties {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| CliError::Config(format!("-X {p}: expected key=value")))?;
            properties.insert(k.trim().to_string(), v.trim().to_string());
        }
        let brokers = cli
            .brokers
            .clone()
            .or_else(|| env.get("PATCHLINE_BROKERS").cloned())
            .or(file.brokers)
            .filter(|b| !b.trim().is_empty());
        let admin_addr = match (cli.admin_addr, env.get("PATCHLINE_ADMIN_ADDR"), file.admin_addr) {
            (Some(a), _, _) => a,
            (None, Some(a), _) => {
                a.parse().map_err(|e| CliError::Config(format!("PATCHLINE_ADMIN_ADDR {a}: {e}")))?
            }
            (None, None, Some(a)) => a,
            (None, None, None) => SocketAddr::from(([127, 0, 0, 1], 9464)),
        };
        Ok(Settings {
            kafka: brokers.map(|b| KafkaConfig { brokers: b, properties }),
            schema_registry: cli
                .schema_registry
                .clone()
                .or_else(|| env.get("PATCHLINE_SCHEMA_REGISTRY").cloned())
                .or(file.schema_registry),
            admin_addr,
            topology: cli.topology.clone().or(file.topology),
            stages: if cli.stages.is_empty() { file.stages } else { cli.stages.clone() },
            max_in_flight: file.max_in_flight.unwrap_or(10_000),
            learn_interval_ms: file.learn_interval_ms,
            learn_min_examples: file.learn_min_examples,
            commit_interval_ms: file.commit_interval_ms.unwrap_or(1_000),
            instance_id: cli
                .instance_id
                .clone()
                .or_else(|| env.get("PATCHLINE_INSTANCE_ID").cloned())
                .or(file.instance_id)
                .unwrap_or_else(|| host_name(env)),
            signing_key_file: cli
                .signing_key_file
                .clone()
                .or_else(|| env.get("PATCHLINE_SIGNING_KEY_FILE").map(PathBuf::from))
                .or(file.signing_key_file),
            shadow: if cli.shadow {
                Some(true)
            } else {
                env.get("PATCHLINE_SHADOW")
                    .map(|v| matches!(v.trim(), "1" | "true" | "TRUE"))
                    .or(file.shadow)
            },
            plan_policy: cli
                .plan_policy
                .clone()
                .or_else(|| env.get("PATCHLINE_PLAN_POLICY_FILE").map(PathBuf::from))
                .or(file.plan_policy),
            policy: cli
                .policy
                .clone()
                .or_else(|| env.get("PATCHLINE_POLICY_FILE").map(PathBuf::from))
                .or(file.policy),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_win_and_kafka_properties_pass_through() {
        let file = "brokers = \"file:9092\"\n[kafka]\n\"security.protocol\" = \"ssl\"\n";
        let mut env = BTreeMap::new();
        env.insert("PATCHLINE_BROKERS".to_string(), "env:9092".to_string());
        env.insert("PATCHLINE_LIBRDKAFKA_SASL_MECHANISM".to_string(), "PLAIN".to_string());
        let cli = Overrides { properties: vec!["linger.ms=1".into()], ..Default::default() };
        let s = Settings::resolve(Some(file), &env, &cli).expect("valid");
        let k = s.kafka.expect("kafka");
        assert_eq!(k.brokers, "env:9092");
        assert_eq!(k.properties.get("security.protocol").map(String::as_str), Some("ssl"));
        assert_eq!(k.properties.get("sasl.mechanism").map(String::as_str), Some("PLAIN"));
        assert_eq!(k.properties.get("linger.ms").map(String::as_str), Some("1"));
        let cli = Overrides { brokers: Some("cli:9092".into()), ..Default::default() };
        let s = Settings::resolve(Some(file), &env, &cli).expect("valid");
        assert_eq!(s.kafka.map(|k| k.brokers).as_deref(), Some("cli:9092"));
    }

    #[test]
    fn unknown_keys_and_no_brokers() {
        assert!(Settings::resolve(
            Some("brokerz = \"x\""),
            &BTreeMap::new(),
            &Overrides::default()
        )
        .is_err());
        let s = Settings::resolve(None, &BTreeMap::new(), &Overrides::default()).expect("defaults");
        assert!(s.kafka.is_none(), "no brokers selects the embedded bus");
        assert_eq!(s.admin_addr.port(), 9464);
    }
}
