//! Inputs of the first end-to-end slice (`tests/kafka_slice.rs`): three advisories, four
//! assets as JSON, findings over three remediations, threat signals, and a reader of the
//! exposures topic; `NOW`, `provenance` and the reader also serve the other Kafka tests.
//! Invariant: builders take event time from `NOW` only, so reruns produce the same records.

use super::read_topic;
use patchline_processors::events::*;
use patchline_topology::codec::{Codec, Format};
use std::collections::BTreeMap;

pub const NOW: i64 = 1_769_731_200_000;

pub fn provenance(feed: &str) -> Provenance {
    Provenance { feed: feed.into(), feed_version: None, fetched_at: NOW }
}

pub fn advisory(id: &str, aliases: &[&str]) -> Event {
    Event::Advisory(Advisory {
        id: id.into(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        published: Some(NOW - 5 * 86_400_000),
        modified: NOW - 5 * 86_400_000,
        withdrawn: None,
        summary: format!("{id} test advisory"),
        cvss: Some(Cvss { version: "3.1".into(), base_score: 8.8, vector: None }),
        cwes: vec![],
        affected: vec![],
        exploit_refs: vec![],
        ssvc: None,
        provenance: provenance("cve"),
    })
}

pub fn asset_json(id: &str, environment: &str, criticality: &str) -> String {
    serde_json::json!({
        "asset_id": id, "hostname": id, "os_family": "debian", "os_version": "12",
        "environment": environment, "criticality": criticality, "internet_exposed": id.starts_with("web"),
        "business_service": "payments", "owner": "team-pay", "ha_group": null, "maintenance_window": null,
        "health": {"status": "HEALTHY", "cpu_load": 0.2, "error_rate": null},
        "decommissioned": false, "last_seen": NOW
    })
    .to_string()
}

pub fn finding(
    asset: &str,
    vuln: &str,
    scanner: &str,
    pkg: (&str, &str, &str),
    status: FindingStatus,
) -> Event {
    Event::Finding(Finding {
        asset_id: asset.into(),
        scanner: scanner.into(),
        scan_id: format!("{scanner}-1"),
        vulnerability_id: vuln.into(),
        package: Package {
            ecosystem: pkg.0.into(),
            name: pkg.1.into(),
            installed_version: "1.0.0".into(),
            fixed_version: Some(pkg.2.into()),
        },
        status,
        first_seen: NOW,
        last_seen: NOW + if status == FindingStatus::Fixed { 86_400_000 } else { 0 },
    })
}

pub fn threat(cve: &str, kev: bool, epss: Option<f32>) -> Event {
    Event::ThreatSignal(ThreatSignal {
        cve_id: cve.into(),
        kev: kev.then(|| KevEntry {
            date_added: 20_483,
            due_date: Some(20_497),
            ransomware_use: false,
            required_action: "Apply updates".into(),
        }),
        epss: epss.map(|score| Epss {
            score,
            percentile: 0.9,
            model_version: "v2025.03.14".into(),
            score_date: 20_483,
        }),
        exploit: None,
        provenance: provenance(if kev { "cisa-kev" } else { "first-epss" }),
    })
}

pub const OPENSSL: (&str, &str, &str) = ("Debian", "openssl", "3.0.2");
pub const LOG4J: (&str, &str, &str) = ("Maven", "log4j-core", "2.17.1");
pub const NGINX: (&str, &str, &str) = ("Debian", "nginx", "1.25.4");

/// The latest version of every exposure on `topic` by id, and every version read.
pub fn latest_exposures(codec: &Codec, topic: &str) -> (BTreeMap<String, Exposure>, Vec<Exposure>) {
    let mut latest = BTreeMap::new();
    let mut all = Vec::new();
    for r in read_topic(topic) {
        if let Ok(Event::Exposure(e)) = codec.decode(EventKind::Exposure, Format::Avro, &r.value) {
            all.push(e.clone());
            latest.insert(e.exposure_id.clone(), e);
        }
    }
    (latest, all)
}
