//! The full topology on the embedded bus: good records become exposures and commands, every bad
//! record becomes a dead letter with its coordinates, and records in = processed + dead-lettered;
//! the canary's outcome and the punctuator promote the plan to its next wave.

use patchline_processors::events::*;
use patchline_processors::fixtures;
use patchline_topology::codec::{Codec, Format};
use patchline_topology::dead_letter::DeadLetterReason;
use patchline_topology::embedded::EmbeddedPipeline;
use patchline_topology::observe::metrics::Metrics;
use patchline_topology::spec::TopologySpec;
use std::sync::Arc;

const NOW: i64 = 1_769_731_200_000;

fn provenance(feed: &str) -> Provenance {
    Provenance { feed: feed.into(), feed_version: None, fetched_at: NOW }
}

fn advisory(id: &str) -> Event {
    Event::Advisory(Advisory {
        id: id.into(),
        aliases: vec![],
        published: Some(NOW - 86_400_000),
        modified: NOW - 86_400_000,
        withdrawn: None,
        summary: "remote code execution".into(),
        cvss: Some(Cvss { version: "3.1".into(), base_score: 9.8, vector: None }),
        cwes: vec!["CWE-787".into()],
        affected: vec![],
        exploit_refs: vec![],
        ssvc: None,
        provenance: provenance("cve"),
    })
}

fn asset(id: &str, environment: Environment) -> Event {
    Event::AssetTelemetry(AssetTelemetry { environment, ..fixtures::asset(id, NOW) })
}

fn finding(asset: &str, cve: &str) -> Event {
    Event::Finding(Finding {
        asset_id: asset.into(),
        scanner: "trivy".into(),
        scan_id: "scan-1".into(),
        vulnerability_id: cve.into(),
        package: Package {
            ecosystem: "Debian".into(),
            name: "openssl".into(),
            installed_version: "3.0.1".into(),
            fixed_version: Some("3.0.2".into()),
        },
        status: FindingStatus::Open,
        first_seen: NOW,
        last_seen: NOW,
    })
}

fn kev(cve: &str) -> Event {
    Event::ThreatSignal(ThreatSignal {
        cve_id: cve.into(),
        kev: Some(KevEntry {
            date_added: 20_482,
            due_date: Some(20_496),
            ransomware_use: true,
            required_action: "Apply updates".into(),
        }),
        epss: None,
        exploit: None,
        provenance: provenance("cisa-kev"),
    })
}

#[tokio::test]
async fn good_records_flow_and_bad_records_are_dead_lettered() {
    let mut spec = TopologySpec::default_topology().expect("topology");
    for t in &mut spec.topics {
        if t.name == "patchline.findings" {
            t.max_message_bytes = 2048;
        }
    }
    let codec = Arc::new(Codec::bundled().expect("codec"));
    let metrics = Metrics::new().expect("metrics");
    let mut p = EmbeddedPipeline::new(spec, codec.clone(), metrics.clone(), Arc::new(|| NOW))
        .expect("pipeline");
    let bus = p.bus().clone();
    let put = |topic: &str, e: Event| {
        bus.produce(topic, e.key().as_bytes(), codec.encode(&e).expect("encode"), NOW)
            .expect("produce")
    };
    put("patchline.advisories", advisory("CVE-2026-0001"));
    put("patchline.advisories", advisory("CVE-2026-0002"));
    put("patchline.assets", asset("web-1", Environment::Production));
    put("patchline.assets", asset("dev-1", Environment::Development));
    put("patchline.findings", finding("web-1", "CVE-2026-0001"));
    put("patchline.findings", finding("dev-1", "CVE-2026-0001"));
    put("patchline.findings", finding("web-1", "CVE-2026-0002"));
    put("patchline.threats", kev("CVE-2026-0001"));

    let good = codec.encode(&finding("web-1", "CVE-2026-0002")).expect("encode");
    let mut bad_magic = good.clone();
    bad_magic[0] = 7;
    let mut unknown_id = good.clone();
    unknown_id[1..5].copy_from_slice(&999_999u32.to_be_bytes());
    let truncated = good[..good.len() / 2].to_vec();
    let mut too_large = good.clone();
    too_large.resize(4096, 0);
    let missing_id = codec.encode(&finding("", "CVE-2026-0002")).expect("encode");
    let bad: Vec<(Vec<u8>, DeadLetterReason)> = vec![
        (vec![0, 0, 0], DeadLetterReason::Truncated),
        (truncated, DeadLetterReason::Truncated),
        (bad_magic, DeadLetterReason::Undecodable),
        (unknown_id, DeadLetterReason::UnknownSchemaId),
        (too_large, DeadLetterReason::TooLarge),
        (missing_id, DeadLetterReason::ContractViolation),
    ];
    let mut coordinates = Vec::new();
    for (bytes, reason) in &bad {
        let (partition, offset) =
            bus.produce("patchline.findings", b"web-1", bytes.clone(), NOW).expect("produce");
        coordinates.push((partition, offset, *reason));
    }

    let totals = p.run_until_idle().await.expect("run");
    let assess = totals.get("assess").expect("assess ran");
    assert_eq!(assess.records_in, 8 + bad.len() as u64);
    assert_eq!(assess.records_in, assess.processed + assess.dead_lettered, "nothing dropped");
    assert_eq!(assess.dead_lettered, bad.len() as u64);

    let mut letters = Vec::new();
    for r in bus.read_all("patchline.dead-letter").expect("dlq") {
        letters.push(
            codec.decode_dead_letter(r.value.as_deref().unwrap_or_default()).expect("dead letter"),
        );
    }
    assert_eq!(letters.len(), bad.len());
    for (partition, offset, reason) in coordinates {
        let l = letters
            .iter()
            .find(|l| l.partition == partition && l.offset == offset)
            .unwrap_or_else(|| panic!("no dead letter for {partition}@{offset}"));
        assert_eq!(l.reason, reason, "{l:?}");
        assert_eq!(l.source_topic, "patchline.findings");
        assert_eq!(l.stage, "assess");
        assert_eq!(l.key.as_deref(), Some(&b"web-1"[..]));
    }

    let mut open = std::collections::BTreeMap::new();
    for r in bus.read_all("patchline.exposures").expect("exposures") {
        match codec.decode(
            EventKind::Exposure,
            Format::Avro,
            r.value.as_deref().unwrap_or_default(),
        ) {
            Ok(Event::Exposure(e)) => {
                open.insert(e.exposure_id.clone(), e);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut pairs: Vec<(String, String, bool)> =
        open.values().map(|e| (e.asset_id.clone(), e.vulnerability_id.clone(), e.kev)).collect();
    pairs.sort();
    assert_eq!(
        pairs,
        vec![
            ("dev-1".into(), "CVE-2026-0001".into(), true),
            ("web-1".into(), "CVE-2026-0001".into(), true),
            ("web-1".into(), "CVE-2026-0002".into(), false),
        ]
    );
    let command = |r: &patchline_topology::runtime::record::InputRecord| match codec.decode(
        EventKind::DeploymentCommand,
        Format::Avro,
        r.value.as_deref().unwrap_or_default(),
    ) {
        Ok(Event::DeploymentCommand(c)) => c,
        other => panic!("unexpected {other:?}"),
    };
    let commands: Vec<DeploymentCommand> =
        bus.read_all("patchline.commands").expect("commands").iter().map(command).collect();
    // One remediation (openssl 3.0.2) on two assets. The development asset is the canary; the
    // production asset waits until the canary passed its gate.
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert_eq!(
        (commands[0].ring, commands[0].target_assets.as_slice()),
        (Ring::Canary, &["dev-1".to_string()][..])
    );
    assert!(commands[0].emergency, "CVE-2026-0001 is in KEV");
    let success = Event::DeploymentOutcome(DeploymentOutcome {
        command_id: commands[0].command_id.clone(),
        asset_id: "dev-1".into(),
        status: OutcomeStatus::Succeeded,
        started_at: NOW + 60_000,
        finished_at: NOW + 120_000,
        reboot: false,
        health_before: None,
        health_after: None,
        error: None,
        executor: "awx".into(),
    });
    put("patchline.outcomes", success);
    p.run_until_idle().await.expect("run");
    // The emergency lane soaks 15 minutes after the canary passed, then the pilot opens.
    assert_eq!(p.punctuate(NOW + 10 * 60_000).expect("punctuate"), 0);
    assert_eq!(p.punctuate(NOW + 20 * 60_000).expect("punctuate"), 1);
    p.run_until_idle().await.expect("run");
    let commands: Vec<DeploymentCommand> =
        bus.read_all("patchline.commands").expect("commands").iter().map(command).collect();
    assert_eq!(commands.len(), 2);
    assert_eq!(
        (commands[1].ring, commands[1].target_assets.as_slice()),
        (Ring::Pilot, &["web-1".to_string()][..])
    );
    let rendered = metrics.render();
    assert!(rendered.contains("patchline_records_dead_lettered_total"), "{rendered}");
}
