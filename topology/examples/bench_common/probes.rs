//! The events of `bench_latency`: probe `i` is a development asset with one finding of its own
//! CVE in its own Debian package, held by the assess stage until the CVE's advisory (the probe
//! itself) arrives; the advisory makes one exposure, a new campaign, and at once its
//! non-production canary: one signed `DEPLOY` keyed by the campaign id. KEV fleets are
//! production assets sharing one CVE over several packages.

use patchline_processors::events::EventKind;
use patchline_processors::events::{
    Advisory, AssetTelemetry, Criticality, Cvss, Environment, Finding, FindingStatus, KevEntry,
    Package, Provenance, ThreatSignal,
};
use patchline_processors::ids::stable_id;
use patchline_topology::spec::TopologySpec;

const INSTALLED: &str = "1.0-1";
const FIXED: &str = "1.0-2";

pub fn probe_cve(i: usize) -> String {
    format!("CVE-2031-{}", 1_000_000 + i)
}

pub fn probe_package(i: usize) -> String {
    format!("probe{i}")
}

/// The id of the campaign that fixes `package` (the key of its commands).
pub fn campaign_of(package: &str) -> String {
    stable_id("cmp", &["Debian", package, FIXED])
}

pub fn asset(id: &str, environment: Environment, at: i64) -> AssetTelemetry {
    AssetTelemetry {
        environment,
        criticality: Criticality::Medium,
        internet_exposed: false,
        business_service: None,
        ..patchline_processors::fixtures::asset(id, at)
    }
}

pub fn finding(asset: &str, cve: &str, package: &str, at: i64) -> Finding {
    Finding {
        asset_id: asset.into(),
        scanner: "trivy".into(),
        scan_id: "bench".into(),
        vulnerability_id: cve.into(),
        package: Package {
            ecosystem: "Debian".into(),
            name: package.into(),
            installed_version: INSTALLED.into(),
            fixed_version: Some(FIXED.into()),
        },
        status: FindingStatus::Open,
        first_seen: at,
        last_seen: at,
    }
}

pub fn advisory(cve: &str, at: i64) -> Advisory {
    Advisory {
        id: cve.into(),
        aliases: Vec::new(),
        published: Some(at - 86_400_000),
        modified: at,
        withdrawn: None,
        summary: format!("Heap overflow fixed in {FIXED}"),
        cvss: Some(Cvss {
            version: "3.1".into(),
            base_score: 8.1,
            vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()),
        }),
        cwes: vec!["CWE-787".into()],
        affected: Vec::new(),
        exploit_refs: Vec::new(),
        ssvc: None,
        provenance: Provenance { feed: "cve".into(), feed_version: None, fetched_at: at },
    }
}

/// A CISA KEV addition of `cve`, fetched at `at`.
pub fn kev(cve: &str, at: i64) -> ThreatSignal {
    ThreatSignal {
        cve_id: cve.into(),
        kev: Some(KevEntry {
            date_added: (at / 86_400_000) as i32,
            due_date: Some((at / 86_400_000) as i32 + 14),
            ransomware_use: false,
            required_action: "Apply updates per vendor instructions.".into(),
        }),
        epss: None,
        exploit: None,
        provenance: Provenance { feed: "kev".into(), feed_version: None, fetched_at: at },
    }
}

/// The topic of `kind` in `spec` that is not a changelog.
pub fn topic(spec: &TopologySpec, kind: EventKind) -> Result<String, String> {
    spec.topics
        .iter()
        .find(|t| t.event_kind() == Some(kind) && !t.name.contains("changelog"))
        .map(|t| t.name.clone())
        .ok_or_else(|| format!("no {} topic", kind.name()))
}

/// Milliseconds since the Unix epoch now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
