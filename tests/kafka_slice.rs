//! The first end-to-end slice on real Apache Kafka: advisories, threat signals, telemetry (as
//! JSON, like many SIEM pipelines emit) and findings go in; exposures and deployment commands
//! come out; bad records land in the dead-letter topic with their coordinates; and after the
//! processor is killed with SIGKILL mid-stream and restarted (restoring its state from the
//! changelog topics), no input is lost and every duplicate carries the same id as its original.

mod support;

use patchline_processors::events::*;
use patchline_topology::codec::{Codec, Format};
use patchline_topology::dead_letter::DeadLetterReason;
use patchline_topology::kafka::admin::check_topics;
use patchline_topology::spec::Format as TopicFormat;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use support::slice::*;
use support::*;

/// The default topology, except that telemetry arrives as JSON (its changelog holds the same
/// records, so it is JSON too) and the processor's record size limit on findings is lower than
/// the broker's, as with a tightened topology. Every topic is fresh: as specified and empty.
async fn scenario() -> Scenario {
    let config = "commit_interval_ms = 200\n[kafka]\n\"statistics.interval.ms\" = \"500\"\n";
    let mut world = Scenario::new("slice", config).await;
    let drift = check_topics(&kafka().client(), &world.spec).await.expect("check topics");
    assert!(drift.is_empty(), "topics not as specified: {drift:?}");
    for topic in &world.spec.topics {
        assert!(read_topic(&topic.name).is_empty(), "{} is not empty", topic.name);
    }
    let (assets, assets_changelog) =
        (world.topic("assets"), world.topic("assess.assets-changelog"));
    let findings = world.topic("findings");
    for topic in &mut world.spec.topics {
        if topic.name == assets || topic.name == assets_changelog {
            topic.format = TopicFormat::Json;
        }
        if topic.name == findings {
            topic.max_message_bytes = 4096;
        }
    }
    let spec = toml::to_string(&world.spec).expect("toml");
    std::fs::write(&world.topology, spec).expect("write topology");
    world
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slice_on_real_kafka_survives_kill_and_restart() {
    let world = scenario().await;
    let t = |s: &str| world.topic(s);
    let dir = &world.dir;
    let codec = Codec::bundled().expect("codec");
    let p = producer();
    let send = |topic: String, e: Event| {
        let p = p.clone();
        let value = codec.encode(&e).expect("encode");
        async move { produce(&p, &topic, e.key().as_bytes(), &value).await }
    };

    // Batch 1: tables, first findings, and one record of every bad kind.
    send(t("advisories"), advisory("CVE-2026-1001", &[])).await;
    send(t("advisories"), advisory("CVE-2026-1002", &[])).await;
    send(t("advisories"), advisory("CVE-2026-1003", &["GHSA-aaaa-bbbb-cccc"])).await;
    for (id, env, crit) in [
        ("web-1", "PRODUCTION", "HIGH"),
        ("web-2", "PRODUCTION", "HIGH"),
        ("db-1", "PRODUCTION", "CRITICAL"),
        ("dev-1", "DEVELOPMENT", "LOW"),
    ] {
        produce(&p, &t("assets"), id.as_bytes(), asset_json(id, env, crit).as_bytes()).await;
    }
    send(t("threats"), threat("CVE-2026-1002", false, Some(0.42))).await;
    send(t("findings"), finding("web-1", "CVE-2026-1001", "trivy", OPENSSL, FindingStatus::Open))
        .await;
    send(t("findings"), finding("web-2", "CVE-2026-1001", "trivy", OPENSSL, FindingStatus::Open))
        .await;
    send(t("findings"), finding("dev-1", "CVE-2026-1002", "grype", LOG4J, FindingStatus::Open))
        .await;
    send(
        t("findings"),
        finding("db-1", "GHSA-aaaa-bbbb-cccc", "grype", NGINX, FindingStatus::Open),
    )
    .await;

    let good = codec
        .encode(&finding("web-1", "CVE-2026-1001", "trivy", OPENSSL, FindingStatus::Open))
        .expect("encode");
    let mut bad_magic = good.clone();
    bad_magic[0] = 0x7b;
    let mut unknown_id = good.clone();
    unknown_id[1..5].copy_from_slice(&4_000_000u32.to_be_bytes());
    let mut too_large = good.clone();
    too_large.resize(5000, 1);
    let missing_id = codec
        .encode(&finding("", "CVE-2026-1001", "trivy", OPENSSL, FindingStatus::Open))
        .expect("encode");
    let mut expected_letters = BTreeSet::new();
    for (bytes, reason) in [
        (vec![0u8, 0, 0], DeadLetterReason::Truncated),
        (good[..good.len() - 3].to_vec(), DeadLetterReason::Truncated),
        (bad_magic, DeadLetterReason::Undecodable),
        (unknown_id, DeadLetterReason::UnknownSchemaId),
        (too_large, DeadLetterReason::TooLarge),
        (missing_id, DeadLetterReason::ContractViolation),
    ] {
        let (partition, offset) = produce(&p, &t("findings"), b"web-1", &bytes).await;
        expected_letters.insert((t("findings"), partition, offset, reason.label()));
    }
    let unknown_symbol = asset_json("web-3", "QA", "HIGH");
    let (partition, offset) = produce(&p, &t("assets"), b"web-3", unknown_symbol.as_bytes()).await;
    expected_letters.insert((
        t("assets"),
        partition,
        offset,
        DeadLetterReason::ContractViolation.label(),
    ));

    // First run: process batch 1, then SIGKILL.
    let admin = free_port();
    let args = world.run_args(&format!("127.0.0.1:{admin}"), &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut first = spawn_patchline(&args, &dir.join("first.log"));
    let seen = eventually(Duration::from_secs(90), || {
        assert!(
            first.try_wait().ok().flatten().is_none(),
            "patchline exited; see {}",
            dir.join("first.log").display()
        );
        let (latest, _) = latest_exposures(&codec, &t("exposures"));
        // The canary of log4j on dev-1, the only non-production asset, goes out at once.
        latest.len() >= 4 && !read_topic(&t("commands")).is_empty()
    })
    .await;
    assert!(seen, "first run produced no exposures; see {}", dir.join("first.log").display());
    tokio::time::sleep(Duration::from_millis(700)).await; // let a commit or two happen
    signal(&first, "KILL");
    let _ = first.wait();

    // Batch 2 while the processor is down: needs the state of batch 1.
    send(t("findings"), finding("web-1", "CVE-2026-1003", "trivy", NGINX, FindingStatus::Open))
        .await;
    send(t("findings"), finding("db-1", "CVE-2026-1003", "trivy", NGINX, FindingStatus::Open))
        .await;
    send(t("findings"), finding("dev-1", "CVE-2026-1002", "grype", LOG4J, FindingStatus::Fixed))
        .await;
    send(t("threats"), threat("CVE-2026-1001", true, None)).await;

    // Second run: restore, finish, then SIGTERM for a clean drain.
    let mut second = spawn_patchline(&args, &dir.join("second.log"));
    let done = eventually(Duration::from_secs(90), || {
        assert!(
            second.try_wait().ok().flatten().is_none(),
            "patchline exited; see {}",
            dir.join("second.log").display()
        );
        let (latest, _) = latest_exposures(&codec, &t("exposures"));
        let kev_rescored = ["web-1", "web-2"].iter().all(|a| {
            latest
                .values()
                .any(|e| e.asset_id == *a && e.vulnerability_id == "CVE-2026-1001" && e.kev)
        });
        let closed =
            latest.values().any(|e| e.asset_id == "dev-1" && e.status == ExposureStatus::Closed);
        kev_rescored && closed && latest.len() >= 5
    })
    .await;
    // Ready once every stage restored its partitions; the plan stage's group may still be
    // waiting out the killed member's session.
    let mut ready = None;
    eventually(Duration::from_secs(30), || {
        ready = http_get(admin, "/readyz").map(|(s, _)| s);
        ready == Some(200)
    })
    .await;
    // Interactive queries read the live state.
    let query = |path: &str| -> serde_json::Value {
        let (status, body) = http_get(admin, path).unwrap_or_default();
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap_or_default()
    };
    let ids = |v: &serde_json::Value, field: &str| -> Vec<String> {
        let mut ids: Vec<String> = v["exposures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[field].as_str().map(str::to_string))
            .collect();
        ids.sort();
        ids
    };
    let of_web1 = query("/assets/web-1/exposures");
    let of_cve = query("/vulnerabilities/CVE-2026-1001/exposures");
    let of_ghsa = query("/vulnerabilities/GHSA-aaaa-bbbb-cccc/exposures");
    let mut metrics = String::new();
    let scraped = eventually(Duration::from_secs(10), || {
        metrics = http_get(admin, "/metrics").map(|(_, body)| body).unwrap_or_default();
        metrics.contains("patchline_consumer_lag{")
    })
    .await;
    signal(&second, "TERM");
    let status = second.wait().expect("wait");
    let (latest, _) = latest_exposures(&codec, &t("exposures"));
    let summary: Vec<String> = latest
        .values()
        .map(|e| {
            format!(
                "{} {} {:?} kev={} {:?}",
                e.asset_id, e.vulnerability_id, e.status, e.kev, e.sources
            )
        })
        .collect();
    assert!(
        done,
        "second run did not finish ({summary:#?}); see {}",
        dir.join("second.log").display()
    );
    assert_eq!(ready, Some(200), "/readyz after restore");
    assert!(scraped, "consumer lag missing from /metrics:\n{metrics}");
    assert_eq!(
        ids(&of_web1, "vulnerability_id"),
        vec!["CVE-2026-1001", "CVE-2026-1003"],
        "{of_web1}"
    );
    assert_eq!(ids(&of_cve, "asset_id"), vec!["web-1", "web-2"], "{of_cve}");
    assert_eq!(ids(&of_ghsa, "asset_id"), vec!["db-1", "web-1"], "{of_ghsa}");
    for family in [
        "patchline_records_in_total",
        "patchline_records_out_total",
        "patchline_processing_seconds_bucket",
        "patchline_state_entries",
    ] {
        assert!(metrics.contains(family), "{family} missing from /metrics");
    }
    assert!(status.success(), "SIGTERM must drain and exit 0, got {status}");

    // Exact final state.
    let (latest, all) = latest_exposures(&codec, &t("exposures"));
    let mut state: Vec<(String, String, ExposureStatus, bool, Vec<String>)> = latest
        .values()
        .map(|e| {
            (e.asset_id.clone(), e.vulnerability_id.clone(), e.status, e.kev, e.sources.clone())
        })
        .collect();
    state.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let s = |x: &str| x.to_string();
    assert_eq!(
        state,
        vec![
            (
                s("db-1"),
                s("CVE-2026-1003"),
                ExposureStatus::Open,
                false,
                vec![s("grype"), s("trivy")]
            ),
            (s("dev-1"), s("CVE-2026-1002"), ExposureStatus::Closed, false, vec![s("grype")]),
            (s("web-1"), s("CVE-2026-1001"), ExposureStatus::Open, true, vec![s("trivy")]),
            (s("web-1"), s("CVE-2026-1003"), ExposureStatus::Open, false, vec![s("trivy")]),
            (s("web-2"), s("CVE-2026-1001"), ExposureStatus::Open, true, vec![s("trivy")]),
        ]
    );
    // Duplicates, if any, repeat an earlier version under the same id.
    let mut versions: BTreeMap<String, Vec<Exposure>> = BTreeMap::new();
    for e in all {
        versions.entry(e.exposure_id.clone()).or_default().push(e);
    }
    for (id, v) in &versions {
        let distinct: BTreeSet<String> = v
            .iter()
            .map(|e| format!("{:?}{:?}{}{:?}", e.status, e.kev, e.risk, e.sources))
            .collect();
        assert!(distinct.len() <= 3, "exposure {id} has {} distinct versions", distinct.len());
    }

    // Commands: duplicates identical to their original; the restart did not plan anything
    // twice (at most one DEPLOY per campaign and asset: the decision log was read back); every
    // campaign starts with a canary, and the first canary is the only non-production asset.
    // (The production campaigns then wait: the fleet of four allows one command in flight.)
    let mut commands: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut decoded = Vec::new();
    for r in read_topic(&t("commands")) {
        let Ok(Event::DeploymentCommand(c)) =
            codec.decode(EventKind::DeploymentCommand, Format::Avro, &r.value)
        else {
            panic!("undecodable command");
        };
        if let Some(previous) = commands.insert(c.command_id.clone(), r.value.clone()) {
            assert_eq!(
                previous, r.value,
                "duplicate command {} differs from its original",
                c.command_id
            );
        } else {
            decoded.push(c);
        }
    }
    let deploys: Vec<&DeploymentCommand> =
        decoded.iter().filter(|c| c.action == CommandAction::Deploy).collect();
    let per_asset: BTreeSet<(&str, &str)> =
        deploys.iter().map(|c| (c.campaign_id.as_str(), c.target_assets[0].as_str())).collect();
    assert_eq!(per_asset.len(), deploys.len(), "a DEPLOY was planned twice: {deploys:#?}");
    let first = deploys.first().expect("a canary");
    assert_eq!((first.ring, first.wave), (Ring::Canary, 1));
    assert_eq!(first.target_assets, ["dev-1"], "{first:#?}");
    assert!(first.rationale.iter().any(|r| r.vulnerability_id == "CVE-2026-1002"));
    assert!(deploys.iter().filter(|c| c.wave == 1).all(|c| c.ring == Ring::Canary));
    for c in decoded.iter().filter(|c| c.action == CommandAction::Rollback) {
        let of = c.rollback_of.as_deref().unwrap_or_default();
        assert!(deploys.iter().any(|d| d.command_id == of), "rollback of an unknown command");
    }

    // Dead letters: each bad record once or more (a replay may repeat one), with its coordinates.
    let mut letters = BTreeSet::new();
    for r in read_topic(&t("dead-letter")) {
        let l = codec.decode_dead_letter(&r.value).expect("dead letter");
        letters.insert((l.source_topic.clone(), l.partition, l.offset, l.reason.label()));
    }
    assert_eq!(letters, expected_letters);
}
