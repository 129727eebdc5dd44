//! `patchline eval` end to end on a tiny synthetic data folder: the binary prints one JSON object
//! of the documented shape, and a readable table without `--json`.
//! Invariant: the folder is written under the OS temp dir per test process and removed after.

use std::path::{Path, PathBuf};
use std::process::Command;

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn folder(name: &str) -> TempDir {
    let dir =
        std::env::temp_dir().join(format!("patchline-cli-eval-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    let mut table = String::from(
        "cve_id,state,published,cvss_version,cvss_base_score,cvss_vector,cvss_source,cwe,vendor,product,has_exploit_ref,record_source\n",
    );
    // Forty CVEs from two vendors; the "acme" ones with a network vector are exploited, some
    // before the as-of day (training) and some after (labels).
    for i in 0..40 {
        let vendor = if i % 4 == 0 { "Acme" } else { "Other" };
        let vector = if i % 2 == 0 {
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
        } else {
            "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"
        };
        let score = if i % 2 == 0 { "9.8" } else { "3.1" };
        table.push_str(&format!(
            "CVE-2024-{i:04},PUBLISHED,2024-01-{:02}T00:00:00,3.1,{score},{vector},cna,CWE-78,{vendor},Box,0,vulnrichment\n",
            1 + i % 28
        ));
    }
    write("cve/cve_table.csv", &table);
    write(
        "epss/epss_scores-2024-02-20.csv",
        "cve,epss,percentile\nCVE-2024-0004,0.4,0.99\nCVE-2024-0001,0.01,0.5\n",
    );
    let kev: Vec<String> = (0..40)
        .filter(|i| i % 4 == 0)
        .map(|i| {
            let added = if i < 20 { "2024-02-10" } else { "2024-03-15" };
            format!(r#"{{"cveID": "CVE-2024-{i:04}", "dateAdded": "{added}"}}"#)
        })
        .collect();
    write(
        "kev/catalog.json",
        &format!(r#"{{"catalogVersion": "test", "vulnerabilities": [{}]}}"#, kev.join(",")),
    );
    TempDir(dir)
}

fn eval(dir: &Path, as_of: &str, json: bool) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patchline"));
    cmd.args(["eval", "--data"])
        .arg(dir)
        .arg("--kev-labels")
        .arg(dir.join("kev/catalog.json"))
        .args(["--as-of", as_of, "--horizon", "60"]);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().expect("run eval");
    assert!(out.status.success(), "eval failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn json_has_the_documented_shape() {
    let dir = folder("json");
    let text = eval(&dir.0, "2024-03-01", true);
    let doc: serde_json::Value = serde_json::from_str(&text).expect("one JSON object");
    let object = doc.as_object().expect("object");
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    for key in ["as_of", "horizon_days", "population", "positives", "strategies"] {
        assert!(object.contains_key(key), "{key} missing");
    }
    assert_eq!(doc["as_of"], "2024-03-01");
    assert_eq!(doc["horizon_days"], 60);
    // 40 CVEs minus the 5 acme CVEs in KEV by 2024-02-10; the other 5 are added on 2024-03-15.
    assert_eq!(doc["population"], 35);
    assert_eq!(doc["positives"], 5);
    let strategies = doc["strategies"].as_array().expect("strategies");
    let names: Vec<&str> = strategies.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "cvss>=7",
            "cvss>=9",
            "epss>=0.1",
            "epss",
            "patchline",
            "patchline@epss>=0.1-effort",
            "patchline@best-f1"
        ]
    );
    for s in strategies {
        let fields = s.as_object().expect("strategy object");
        assert_eq!(fields.len(), 5, "{s}");
        for key in ["effort", "coverage", "efficiency", "average_precision"] {
            let value = &fields[key];
            assert!(
                value.is_null() || value.as_f64().is_some_and(|v| (0.0..=1.0).contains(&v)),
                "{s}"
            );
        }
    }
    let patchline = &strategies[4];
    assert_eq!(patchline["effort"], 1.0);
    assert!(patchline["average_precision"].as_f64().expect("AP") > 0.2, "{patchline}");
    assert_eq!(eval(&dir.0, "2024-03-01", true), text, "deterministic");
}

#[test]
fn without_epss_the_epss_strategies_are_null_and_text_is_a_table() {
    let dir = folder("text");
    let doc: serde_json::Value =
        serde_json::from_str(&eval(&dir.0, "2024-02-15", true)).expect("json");
    let strategies = doc["strategies"].as_array().expect("strategies");
    assert!(strategies[2]["effort"].is_null() && strategies[3]["average_precision"].is_null());
    assert_eq!(strategies[5]["name"], "patchline@cvss>=9-effort");
    let text = eval(&dir.0, "2024-02-15", false);
    assert!(text.contains("strategy") && text.contains("unavailable"), "{text}");
}

#[test]
fn an_invalid_date_is_an_error() {
    let dir = folder("bad");
    let out = Command::new(env!("CARGO_BIN_EXE_patchline"))
        .args(["eval", "--data"])
        .arg(&dir.0)
        .arg("--kev-labels")
        .arg(dir.0.join("kev/catalog.json"))
        .args(["--as-of", "2024-02-30", "--horizon", "30"])
        .output()
        .expect("run eval");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--as-of"));
}
