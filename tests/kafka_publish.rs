//! `patchline publish` on real Apache Kafka: a real Trivy report becomes findings on the findings
//! topic and operator overrides land on the overrides topic, each encoded with the pipeline's
//! codec; a bad override line sends nothing.

mod support;

use patchline_processors::events::*;
use patchline_topology::codec::{Codec, Format};
use std::process::Command;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanner_reports_and_overrides_are_published_as_contract_records() {
    let world = Scenario::new("publish", "").await;
    let dir = &world.dir;
    let topology = &world.topology;
    let brokers = brokers();
    let cli = |args: &[&str]| {
        let mut all = vec![args[0], args[1], "--brokers", &brokers];
        all.extend(["--topology", topology.to_str().unwrap_or_default()]);
        all.extend(&args[2..]);
        Command::new(env!("CARGO_BIN_EXE_patchline")).args(&all).output().expect("run patchline")
    };
    let report = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/scanner/real_world/multi-scanner-project_my-app_trivy-results.json.gz"
    );
    let out = cli(&["publish", "scan", "--format", "trivy", "--asset-id", "web-1", report]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let overrides = dir.join("overrides.jsonl");
    std::fs::write(
        &overrides,
        "{\"override_id\":\"ovr-1\",\"action\":\"FORCE_PATCH\",\"vulnerability_id\":\"CVE-2021-44228\",\
         \"approver\":\"ciso\",\"created_at\":1764547200000}\n",
    )
    .expect("write");
    let out = cli(&["publish", "overrides", overrides.to_str().unwrap_or_default()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"override_id\":\"ovr-2\",\"action\":\"FORCE_PATCH\",\"approver\":\"\",\"created_at\":1}\n")
        .expect("write");
    let out = cli(&["publish", "overrides", bad.to_str().unwrap_or_default()]);
    assert!(!out.status.success(), "an override without an approver is refused");

    let codec = Codec::bundled().expect("codec");
    let t = |s: &str| world.topic(s);
    let findings: Vec<Finding> = read_topic(&t("findings"))
        .into_iter()
        .map(|r| match codec.decode(EventKind::Finding, Format::Avro, &r.value) {
            Ok(Event::Finding(f)) => f,
            other => panic!("not a finding: {other:?}"),
        })
        .collect();
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f.asset_id == "web-1" && f.scanner == "trivy"));
    let published = read_topic(&t("overrides"));
    assert_eq!(published.len(), 1, "the bad file sent nothing");
    let o = codec.decode(EventKind::OperatorOverride, Format::Avro, &published[0].value);
    assert!(matches!(o, Ok(Event::OperatorOverride(o)) if o.action == OverrideAction::ForcePatch));
}
