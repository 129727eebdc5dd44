//! The priority lane on real Apache Kafka: when a KEV addition arrives behind a backlog of bulk
//! findings, the threat intel is consumed first and every affected exposure is re-scored before
//! the backlog is worked off. The test measures how far ahead, and prints the latency.

mod support;

use patchline_processors::events::*;
use patchline_processors::fixtures;
use patchline_topology::codec::{Codec, Format};
use std::time::{Duration, Instant};
use support::slice::{provenance, NOW};
use support::*;

const HOT: &str = "CVE-2026-3001";
const BULK: &str = "CVE-2026-3002";
const ASSETS: usize = 150;
const BACKLOG: usize = 6_000;

fn advisory(id: &str) -> Event {
    Event::Advisory(Advisory {
        id: id.into(),
        aliases: vec![],
        published: Some(NOW),
        modified: NOW,
        withdrawn: None,
        summary: String::new(),
        cvss: Some(Cvss { version: "3.1".into(), base_score: 8.1, vector: None }),
        cwes: vec![],
        affected: vec![],
        exploit_refs: vec![],
        ssvc: None,
        provenance: provenance("cve"),
    })
}

fn asset(id: &str) -> Event {
    Event::AssetTelemetry(AssetTelemetry {
        os_family: "rhel".into(),
        os_version: "9".into(),
        business_service: None,
        ..fixtures::asset(id, NOW)
    })
}

fn finding(asset: &str, cve: &str, package: &str) -> Event {
    Event::Finding(Finding {
        asset_id: asset.into(),
        scanner: "qualys".into(),
        scan_id: "weekly".into(),
        vulnerability_id: cve.into(),
        package: Package {
            ecosystem: "RPM".into(),
            name: package.into(),
            installed_version: "1.0-1.el9".into(),
            fixed_version: Some("1.0-2.el9".into()),
        },
        status: FindingStatus::Open,
        first_seen: NOW,
        last_seen: NOW,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kev_behind_a_backlog_is_processed_first() {
    let world = Scenario::new("priority", "").await;
    let t = |s: &str| world.topic(s);
    let dir = &world.dir;
    let codec = Codec::bundled().expect("codec");
    let p = producer();
    let encode = |e: &Event| codec.encode(e).expect("encode");
    let assets: Vec<String> = (0..ASSETS).map(|i| format!("srv-{i:03}")).collect();
    for id in [HOT, BULK] {
        produce(&p, &t("advisories"), id.as_bytes(), &encode(&advisory(id))).await;
    }
    for a in &assets {
        produce(&p, &t("assets"), a.as_bytes(), &encode(&asset(a))).await;
        produce(&p, &t("findings"), a.as_bytes(), &encode(&finding(a, HOT, "openssh"))).await;
    }
    let args = world.run_args(&format!("127.0.0.1:{}", free_port()), &["--stage", "assess"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut first = spawn_patchline(&args, &dir.join("first.log"));
    let hot_open = |codec: &Codec| {
        read_topic(&t("exposures"))
            .iter()
            .filter_map(|r| codec.decode(EventKind::Exposure, Format::Avro, &r.value).ok())
            .filter(|e| matches!(e, Event::Exposure(x) if x.vulnerability_id == HOT))
            .count()
    };
    assert!(
        eventually(Duration::from_secs(90), || hot_open(&codec) >= ASSETS).await,
        "initial exposures; see {}",
        dir.display()
    );
    signal(&first, "TERM");
    assert!(first.wait().expect("wait").success());

    // While the processor is down: a backlog of bulk findings, then a KEV addition behind it.
    let mut sends = Vec::with_capacity(BACKLOG);
    for i in 0..BACKLOG {
        let a = &assets[i % ASSETS];
        let value = encode(&finding(a, BULK, &format!("lib-{i:05}")));
        let topic = t("findings");
        let (p, key) = (p.clone(), a.clone());
        sends.push(async move { produce(&p, &topic, key.as_bytes(), &value).await });
    }
    futures::future::join_all(sends).await;
    let kev = Event::ThreatSignal(ThreatSignal {
        cve_id: HOT.into(),
        kev: Some(KevEntry {
            date_added: 20_483,
            due_date: Some(20_497),
            ransomware_use: true,
            required_action: "Patch now".into(),
        }),
        epss: None,
        exploit: None,
        provenance: provenance("cisa-kev"),
    });
    produce(&p, &t("threats"), HOT.as_bytes(), &encode(&kev)).await;

    let started = Instant::now();
    let mut second = spawn_patchline(&args, &dir.join("second.log"));
    let drained = eventually(Duration::from_secs(120), || {
        read_topic(&t("exposures")).len() >= ASSETS * 2 + BACKLOG
    })
    .await;
    signal(&second, "TERM");
    assert!(second.wait().expect("wait").success());
    assert!(drained, "backlog not drained; see {}", dir.display());
    let wall = started.elapsed();

    // Order of the second run's outputs by their create time.
    let mut rescored = Vec::new();
    let mut backlog = Vec::new();
    for r in read_topic(&t("exposures")) {
        if let Ok(Event::Exposure(e)) = codec.decode(EventKind::Exposure, Format::Avro, &r.value) {
            match (e.vulnerability_id.as_str(), e.kev) {
                (HOT, true) => rescored.push(r.timestamp),
                (BULK, _) => backlog.push(r.timestamp),
                _ => {}
            }
        }
    }
    assert_eq!(rescored.len(), ASSETS, "every exposure of the KEV CVE re-scored once");
    backlog.sort_unstable();
    let last_rescore = rescored.iter().copied().max().unwrap_or(0);
    let first_output =
        backlog.first().copied().unwrap_or(0).min(rescored.iter().copied().min().unwrap_or(0));
    let ahead = backlog.iter().filter(|&&ts| ts <= last_rescore).count();
    eprintln!(
        "priority lane: {ASSETS} exposures re-scored {} ms after the first output of the run; \
         {ahead} of {BACKLOG} backlog exposures came out before the last re-score; backlog drained \
         {} ms after the first output (wall {} ms incl. start)",
        last_rescore - first_output,
        backlog.last().copied().unwrap_or(0) - first_output,
        wall.as_millis()
    );
    assert!(
        ahead * 10 < BACKLOG,
        "threat intel must overtake the backlog: {ahead} of {BACKLOG} came first"
    );
}
