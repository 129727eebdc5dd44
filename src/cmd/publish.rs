//! `patchline publish`: put operator input on the topology's topics. Scanner reports (Trivy or
//! Grype JSON) become findings on the findings topic; operator overrides (JSON lines of the
//! `operator_override` contract) go to the overrides topic.
//!
//! Invariant: every record is validated and encoded with the same codec and schema ids as the
//! pipeline before anything is sent, so one bad line sends nothing; the command returns only
//! after the broker acknowledged every record, and prints where each one landed.

use crate::error::{CliError, Result};
use crate::feeds::{grype, open_text, trivy};
use patchline_processors::events::{Event, EventKind, OperatorOverride};
use patchline_processors::validate::validate;
use patchline_topology::codec::Codec;
use patchline_topology::kafka::KafkaConfig;
use patchline_topology::spec::TopologySpec;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::path::Path;
use std::time::Duration;

/// Scanner report formats `publish scan` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    Trivy,
    Grype,
}

/// The findings of one scanner report of `asset_id`, seen at `seen_at_ms`.
pub fn scan_findings(
    format: ScanFormat,
    path: &Path,
    asset_id: &str,
    scan_id: &str,
    seen_at_ms: i64,
) -> Result<Vec<Event>> {
    let text = open_text(path)?;
    let findings = match format {
        ScanFormat::Trivy => trivy::parse_report(&text, asset_id, scan_id, seen_at_ms)?,
        ScanFormat::Grype => grype::parse_report(&text, asset_id, scan_id, seen_at_ms)?,
    };
    Ok(findings.into_iter().map(Event::Finding).collect())
}

/// Operator overrides from a JSON-lines file (blank lines and `#` comments skipped).
pub fn overrides(path: &Path) -> Result<Vec<Event>> {
    let text = open_text(path)?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let o: OperatorOverride = serde_json::from_str(line).map_err(|e| {
            CliError::Config(format!("{} line {}: not an override: {e}", path.display(), n + 1))
        })?;
        out.push(Event::OperatorOverride(o));
    }
    Ok(out)
}

/// The topic that carries `kind` in `spec`.
fn topic_of(spec: &TopologySpec, kind: EventKind) -> Result<String> {
    spec.topics
        .iter()
        .find(|t| t.event_kind() == Some(kind))
        .map(|t| t.name.clone())
        .ok_or_else(|| CliError::Config(format!("the topology has no {} topic", kind.name())))
}

/// Validates and encodes every event, then sends them and waits for each acknowledgement.
/// Puts `events` on the topology's topics of the cluster `settings` name.
pub async fn publish(settings: &crate::config::Settings, events: Vec<Event>) -> Result<()> {
    let kafka = settings
        .kafka
        .clone()
        .ok_or_else(|| CliError::Config("publish needs --brokers or PATCHLINE_BROKERS".into()))?;
    let spec = super::run::load_topology(settings)?;
    let codec = super::run::codec_for(settings, &spec).await?;
    send(&kafka, &spec, &codec, &events).await
}

pub async fn send(
    kafka: &KafkaConfig,
    spec: &TopologySpec,
    codec: &Codec,
    events: &[Event],
) -> Result<()> {
    let mut encoded = Vec::with_capacity(events.len());
    for e in events {
        validate(e).map_err(|err| CliError::Config(format!("{}: {err}", e.key())))?;
        encoded.push((topic_of(spec, e.kind())?, e.key().to_string(), codec.encode(e)?));
    }
    let producer: FutureProducer =
        kafka.producer().create().map_err(|e| CliError::Config(format!("kafka producer: {e}")))?;
    for (topic, key, value) in &encoded {
        let record = FutureRecord::to(topic).key(key.as_bytes()).payload(value);
        let delivery = producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| CliError::Config(format!("send to {topic}: {e}")))?;
        println!("{topic}[{}]@{} {key}", delivery.partition, delivery.offset);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchline_processors::events::OverrideAction;

    #[test]
    fn override_lines_parse_and_a_bad_line_names_itself() {
        let dir = std::env::temp_dir().join(format!("patchline-publish-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let good = dir.join("good.jsonl");
        std::fs::write(
            &good,
            "# accepted until the vendor ships a fix\n\
             {\"override_id\":\"ovr-1\",\"action\":\"ACCEPT_RISK\",\"vulnerability_id\":\"CVE-2024-3094\",\
             \"expires_at\":1767225600000,\"approver\":\"ciso\",\"created_at\":1764547200000}\n\n",
        )
        .expect("write");
        let events = overrides(&good).expect("parses");
        assert!(
            matches!(&events[..], [Event::OperatorOverride(o)] if o.action == OverrideAction::AcceptRisk)
        );
        let bad = dir.join("bad.jsonl");
        std::fs::write(&bad, "{\"override_id\":\"x\",\"action\":\"MAYBE\"}\n").expect("write");
        let err = overrides(&bad).expect_err("unknown action").to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn real_scanner_reports_become_findings() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/scanner/real_world/");
        for (format, file) in [
            (ScanFormat::Trivy, "multi-scanner-project_my-app_trivy-results.json.gz"),
            (ScanFormat::Grype, "multi-scanner-project_my-app_grype-results.json.gz"),
        ] {
            let path = Path::new(dir).join(file);
            let events = scan_findings(format, &path, "host-1", "scan-1", 0).expect("parses");
            assert!(!events.is_empty(), "{file}");
            assert!(events
                .iter()
                .all(|e| matches!(e, Event::Finding(f) if f.asset_id == "host-1")));
        }
    }
}
