//! `patchline topics create|check`: provision the topology's topics and report drift.
//! Invariant: `check` exits non-zero exactly when it reports drift.

use crate::error::{CliError, Result};
use patchline_topology::kafka::{admin, KafkaConfig};
use patchline_topology::spec::TopologySpec;

/// Creates missing topics; prints one line per topic.
/// Creates the topics (`create`) or checks them for drift, on the cluster `settings` name.
pub async fn run(settings: &crate::config::Settings, create: bool) -> Result<()> {
    let kafka = settings
        .kafka
        .clone()
        .ok_or_else(|| CliError::Config("topics needs --brokers or PATCHLINE_BROKERS".into()))?;
    let spec = super::run::load_topology(settings)?;
    if create {
        self::create(&kafka, &spec).await
    } else {
        check(&kafka, &spec).await
    }
}

pub async fn create(kafka: &KafkaConfig, spec: &TopologySpec) -> Result<()> {
    for change in admin::create_topics(&kafka.client(), spec).await? {
        println!("{change}");
    }
    Ok(())
}

/// Prints drift, one line per problem; errors when there is any.
pub async fn check(kafka: &KafkaConfig, spec: &TopologySpec) -> Result<()> {
    let drift = admin::check_topics(&kafka.client(), spec).await?;
    if drift.is_empty() {
        println!("no drift: {} topics match the topology", spec.topics.len());
        return Ok(());
    }
    for d in &drift {
        println!("{d}");
    }
    Err(CliError::Config(format!("{} topic problems", drift.len())))
}
