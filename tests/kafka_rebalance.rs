//! Two instances share the partitions of one topology on real Apache Kafka, rebuilding state
//! from the input topics (no changelogs). The second joins mid-stream (a rebalance): no
//! exposure is lost, no exposure gets a version beyond an
//! idempotent re-emit, and a KEV addition re-scores every affected exposure, on every asset and
//! partition, whichever instance owns it.

mod support;

use patchline_processors::events::*;
use patchline_processors::fixtures;
use patchline_topology::codec::Codec;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use support::slice::{latest_exposures, provenance, NOW};
use support::*;

const CVES: [&str; 3] = ["CVE-2026-2001", "CVE-2026-2002", "CVE-2026-2003"];

fn advisory(id: &str) -> Event {
    Event::Advisory(Advisory {
        id: id.into(),
        aliases: vec![],
        published: Some(NOW),
        modified: NOW,
        withdrawn: None,
        summary: String::new(),
        cvss: Some(Cvss { version: "3.1".into(), base_score: 7.5, vector: None }),
        cwes: vec![],
        affected: vec![],
        exploit_refs: vec![],
        ssvc: None,
        provenance: provenance("cve"),
    })
}

fn asset(id: &str) -> Event {
    Event::AssetTelemetry(AssetTelemetry {
        os_family: "ubuntu".into(),
        os_version: "24.04".into(),
        criticality: Criticality::Medium,
        internet_exposed: false,
        business_service: Some("web-shop".into()),
        ..fixtures::asset(id, NOW)
    })
}

fn finding(asset: &str, cve: &str) -> Event {
    Event::Finding(Finding {
        asset_id: asset.into(),
        scanner: "trivy".into(),
        scan_id: "nightly".into(),
        vulnerability_id: cve.into(),
        package: Package {
            ecosystem: "Ubuntu".into(),
            name: format!("pkg-{}", &cve[9..]),
            installed_version: "1.0-1".into(),
            fixed_version: Some("1.0-2".into()),
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
            date_added: 20_483,
            due_date: Some(20_497),
            ransomware_use: true,
            required_action: "Patch".into(),
        }),
        epss: None,
        exploit: None,
        provenance: provenance("cisa-kev"),
    })
}

/// The default topology without changelogs: a new owner rebuilds state from the input topics
/// themselves, as on clusters that forbid compacted topics.
async fn scenario() -> Scenario {
    let mut world = Scenario::new("rebalance", "commit_interval_ms = 200\n").await;
    for stage in &mut world.spec.stages {
        stage.changelogs.clear();
    }
    let spec = toml::to_string(&world.spec).expect("toml");
    std::fs::write(&world.topology, spec).expect("topology file");
    world
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_partitions_and_a_rebalance_loses_nothing() {
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

    let assets: Vec<String> = (0..24).map(|i| format!("host-{i:02}")).collect();
    for cve in CVES {
        send(t("advisories"), advisory(cve)).await;
    }
    for a in &assets {
        send(t("assets"), asset(a)).await;
    }
    // Batch A: every asset has the first two CVEs.
    for a in &assets {
        send(t("findings"), finding(a, CVES[0])).await;
        send(t("findings"), finding(a, CVES[1])).await;
    }
    let partitions: BTreeSet<i32> =
        read_topic(&t("findings")).iter().map(|r| r.partition).collect();
    assert_eq!(partitions.len(), 3, "the fleet spans every partition");

    let (port_a, port_b) = (free_port(), free_port());
    let run = |instance: &str, port: u16, log: &str| {
        let a = world.run_args(&format!("127.0.0.1:{port}"), &["--instance-id", instance]);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        spawn_patchline(&refs, &dir.join(log))
    };
    let mut first = run("a", port_a, "a.log");
    let half = eventually(Duration::from_secs(90), || {
        latest_exposures(&codec, &t("exposures")).0.len() >= 48
    })
    .await;
    assert!(half, "instance a did not process batch A; see {}", dir.join("a.log").display());

    // The second instance joins while batch B streams in: the group rebalances mid-stream.
    let mut second = run("b", port_b, "b.log");
    for a in &assets[..12] {
        send(t("findings"), finding(a, CVES[2])).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let joined = eventually(Duration::from_secs(60), || {
        http_get(port_b, "/readyz").map(|(s, _)| s) == Some(200)
    })
    .await;
    assert!(joined, "instance b never became ready; see {}", dir.join("b.log").display());
    for a in &assets[12..] {
        send(t("findings"), finding(a, CVES[2])).await;
    }
    // A KEV addition now re-scores exposures held by both instances.
    send(t("threats"), kev(CVES[0])).await;

    let done = eventually(Duration::from_secs(120), || {
        assert!(first.try_wait().ok().flatten().is_none(), "instance a exited");
        assert!(second.try_wait().ok().flatten().is_none(), "instance b exited");
        let (l, _) = latest_exposures(&codec, &t("exposures"));
        l.len() == 72 && l.values().filter(|e| e.vulnerability_id == CVES[0]).all(|e| e.kev)
    })
    .await;
    let metrics_b = http_get(port_b, "/metrics").map(|(_, b)| b).unwrap_or_default();
    let ready_b = http_get(port_b, "/readyz").map(|(s, _)| s);
    signal(&first, "TERM");
    signal(&second, "TERM");
    let (sa, sb) = (first.wait().expect("wait a"), second.wait().expect("wait b"));
    assert!(done, "exposures incomplete; see {}", dir.display());
    assert!(sa.success() && sb.success(), "both drain and exit 0 on SIGTERM: {sa} {sb}");
    assert_eq!(ready_b, Some(200));
    let processed_by_b: f64 = metrics_b
        .lines()
        .filter(|l| {
            l.starts_with("patchline_records_in_total")
                && l.contains("stage=\"assess\"")
                && l.contains("findings")
        })
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum();
    assert!(
        processed_by_b > 0.0,
        "instance b owns partitions and processed findings:\n{metrics_b}"
    );

    let (state, all) = latest_exposures(&codec, &t("exposures"));
    assert_eq!(state.len(), assets.len() * CVES.len(), "one exposure per asset and CVE");
    for e in state.values() {
        assert_eq!(e.status, ExposureStatus::Open);
        assert_eq!(e.kev, e.vulnerability_id == CVES[0], "{} {}", e.asset_id, e.vulnerability_id);
    }
    // Versions per exposure: the first CVE changed once (KEV), the others never. Anything else
    // must repeat an earlier version exactly (an idempotent re-emit).
    let mut versions: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for e in &all {
        versions.entry(e.exposure_id.as_str()).or_default().insert(format!("{e:?}"));
    }
    for (id, v) in versions {
        let e = &state[id];
        let expected = if e.vulnerability_id == CVES[0] { 2 } else { 1 };
        assert_eq!(
            v.len(),
            expected,
            "{} {} has {} versions",
            e.asset_id,
            e.vulnerability_id,
            v.len()
        );
    }
}
