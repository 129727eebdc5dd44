//! `patchline run` without brokers: the same stages on the embedded bus over JSON-lines feeds,
//! outputs as JSON lines on stdout; a bad feed line is reported with its file and line number.

use std::process::Command;

fn write(dir: &std::path::Path, name: &str, lines: &[serde_json::Value]) -> String {
    let path = dir.join(name);
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    std::fs::write(&path, text.join("\n")).expect("write feed");
    path.display().to_string()
}

#[test]
fn feeds_in_json_lines_out() {
    let dir = std::env::temp_dir().join(format!("patchline-run-embedded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let prov = serde_json::json!({"feed": "cve", "feed_version": null, "fetched_at": 1_700_000_000_000i64});
    let advisories = write(
        &dir,
        "advisories.jsonl",
        &[serde_json::json!({
            "id": "CVE-2024-3094", "aliases": [], "published": null, "modified": 1_700_000_000_000i64,
            "withdrawn": null, "summary": "xz backdoor", "cvss": {"version": "3.1", "base_score": 10.0, "vector": null},
            "cwes": ["CWE-506"], "affected": [], "exploit_refs": [], "ssvc": null, "provenance": prov
        })],
    );
    let assets = write(
        &dir,
        "assets.jsonl",
        &[serde_json::json!({
            "asset_id": "build-7", "hostname": "build-7", "os_family": "debian", "os_version": "12",
            "environment": "STAGING", "criticality": "MEDIUM", "internet_exposed": false,
            "business_service": null, "owner": null, "ha_group": null, "maintenance_window": null,
            "health": {"status": "HEALTHY", "cpu_load": null, "error_rate": null},
            "decommissioned": false, "last_seen": 1_700_000_000_000i64
        })],
    );
    let findings = write(
        &dir,
        "findings.jsonl",
        &[serde_json::json!({
            "asset_id": "build-7", "scanner": "trivy", "scan_id": "s1", "vulnerability_id": "CVE-2024-3094",
            "package": {"ecosystem": "Debian", "name": "xz-utils", "installed_version": "5.6.0-0.2", "fixed_version": "5.6.1+really5.4.5-1"},
            "status": "OPEN", "first_seen": 1_700_000_000_000i64, "last_seen": 1_700_000_000_000i64
        })],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_patchline"))
        .args(["run", "--feed", &format!("patchline.advisories={advisories}")])
        .args(["--feed", &format!("patchline.assets={assets}")])
        .args(["--feed", &format!("patchline.findings={findings}")])
        .env_remove("PATCHLINE_BROKERS")
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let exposure = lines.iter().find(|l| l["topic"] == "patchline.exposures").expect("an exposure");
    assert_eq!(exposure["event"]["vulnerability_id"], "CVE-2024-3094");
    assert_eq!(exposure["event"]["status"], "OPEN");
    let command = lines.iter().find(|l| l["topic"] == "patchline.commands").expect("a command");
    assert_eq!(command["event"]["ring"], "CANARY", "every campaign starts with a canary");
    assert_eq!(command["event"]["target_assets"][0], "build-7", "its only asset, in staging");
    assert_eq!(command["event"]["remediation"]["target_version"], "5.6.1+really5.4.5-1");

    std::fs::write(dir.join("bad.jsonl"), "{\"asset_id\": 1}\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_patchline"))
        .args(["run", "--feed", &format!("patchline.findings={}", dir.join("bad.jsonl").display())])
        .env_remove("PATCHLINE_BROKERS")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.jsonl:1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
