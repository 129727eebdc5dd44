//! Sample events for tests in this crate and the others (Kafka tests, the embedded pipeline),
//! so each shape is written once.
//!
//! Invariant: every sample is valid under [`crate::validate::validate`] and deterministic; tests
//! change what they need with struct update syntax.

use crate::events::{
    Advisory, AffectedPackage, AssetTelemetry, CommandAction, Criticality, Cvss, DeploymentCommand,
    DeploymentOutcome, Environment, Health, HealthStatus, OutcomeStatus, Provenance, Rationale,
    Remediation, Ring,
};

/// A healthy production Debian 12 asset, last seen at `at`.
pub fn asset(id: &str, at: i64) -> AssetTelemetry {
    AssetTelemetry {
        asset_id: id.into(),
        hostname: id.into(),
        os_family: "debian".into(),
        os_version: "12".into(),
        environment: Environment::Production,
        criticality: Criticality::High,
        internet_exposed: true,
        business_service: Some("payments".into()),
        owner: None,
        ha_group: None,
        maintenance_window: None,
        health: Health { status: HealthStatus::Healthy, cpu_load: None, error_rate: None },
        decommissioned: false,
        last_seen: at,
    }
}

/// An unsigned canary `DEPLOY` of openssl 3.0.2 to `dev-1`, valid from 1,000 to 2,000 ms.
pub fn command() -> DeploymentCommand {
    DeploymentCommand {
        command_id: "cmd-1".into(),
        action: CommandAction::Deploy,
        campaign_id: "cmp-1".into(),
        wave: 1,
        ring: Ring::Canary,
        remediation: Remediation {
            ecosystem: "Debian".into(),
            package: "openssl".into(),
            target_version: Some("3.0.2".into()),
            kb: None,
        },
        target_assets: vec!["dev-1".into()],
        not_before: 1_000,
        not_after: 2_000,
        deadline: 5_000,
        rationale: vec![Rationale {
            exposure_id: "exp-1".into(),
            asset_id: "dev-1".into(),
            vulnerability_id: "CVE-2026-0001".into(),
            risk: 812.5,
            reason: "KEV".into(),
        }],
        predicted_failure: 0.031,
        issued_at: 900,
        policy_version: "plan-v1".into(),
        model_version: "prior-v1".into(),
        signature: None,
        plan_reason: "canary".into(),
        emergency: true,
        shadow: false,
        rollback_of: None,
    }
}

/// The executor's report of `command_id` on `asset_id`.
pub fn outcome(command_id: &str, asset_id: &str, status: OutcomeStatus) -> DeploymentOutcome {
    DeploymentOutcome {
        command_id: command_id.into(),
        asset_id: asset_id.into(),
        status,
        started_at: 1_100,
        finished_at: 1_200,
        reboot: false,
        health_before: None,
        health_after: None,
        error: None,
        executor: "test".into(),
    }
}

/// A CVE record of `vendor:product` with a CVSS 3.1 score, published on `published_day`.
pub fn advisory(id: &str, vendor_product: &str, cvss: f32, published_day: i32) -> Advisory {
    Advisory {
        id: id.into(),
        aliases: vec![],
        published: Some(i64::from(published_day) * 86_400_000),
        modified: i64::from(published_day) * 86_400_000,
        withdrawn: None,
        summary: String::new(),
        cvss: Some(Cvss {
            version: "3.1".into(),
            base_score: cvss,
            vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()),
        }),
        cwes: vec![],
        affected: vec![AffectedPackage {
            ecosystem: "vendor".into(),
            name: vendor_product.into(),
            ranges: vec![],
        }],
        exploit_refs: vec![],
        ssvc: None,
        provenance: Provenance { feed: "cve".into(), feed_version: None, fetched_at: 0 },
    }
}
