//! The event contracts of patchline as Rust types.
//!
//! Each type here mirrors one Avro record in `schemas/` field for field, in the same order, so the
//! codec can read and write it on apache-avro's schema-aware serde path. Invariant: a field added
//! here is added to the matching `.avsc` with a default (see `schemas/README.md`), and every type
//! rejects unknown fields when read from JSON.
//!
//! Conventions shared by all records:
//! - instants are `i64` milliseconds since the Unix epoch (Avro `timestamp-millis`);
//! - calendar dates are `i32` days since the Unix epoch (Avro `date`);
//! - enum symbols are SCREAMING_SNAKE_CASE, as Avro requires simple names.

mod advisory;
mod asset;
mod command;
mod exposure;
mod finding;
mod model;
mod operator;
mod outcome;
mod threat;

pub use advisory::{
    Advisory, AffectedPackage, Cvss, Exploitation, Provenance, Ssvc, TechnicalImpact, VersionRange,
};
pub use asset::{
    AssetTelemetry, Criticality, Environment, Health, HealthStatus, MaintenanceWindow,
};
pub use command::{CommandAction, DeploymentCommand, Rationale, Remediation, Ring, Signature};
pub use exposure::{Contribution, Exposure, ExposureStatus, Lane, SsvcDecision};
pub use finding::{Finding, FindingStatus, Package};
pub use model::{ModelMetrics, ModelSnapshot};
pub use operator::{OperatorOverride, OverrideAction};
pub use outcome::{DeploymentOutcome, OutcomeStatus};
pub use threat::{Epss, ExploitKind, ExploitSighting, KevEntry, ThreatSignal};

/// Every event kind patchline reads or writes. The name is the schema's file stem in `schemas/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Advisory,
    ThreatSignal,
    Finding,
    AssetTelemetry,
    Exposure,
    DeploymentCommand,
    DeploymentOutcome,
    ModelSnapshot,
    OperatorOverride,
}

impl EventKind {
    /// All kinds, in schema order.
    pub const ALL: [EventKind; 9] = [
        EventKind::Advisory,
        EventKind::ThreatSignal,
        EventKind::Finding,
        EventKind::AssetTelemetry,
        EventKind::Exposure,
        EventKind::DeploymentCommand,
        EventKind::DeploymentOutcome,
        EventKind::ModelSnapshot,
        EventKind::OperatorOverride,
    ];

    /// The schema file stem, e.g. `asset_telemetry` for `schemas/asset_telemetry.avsc`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Advisory => "advisory",
            EventKind::ThreatSignal => "threat_signal",
            EventKind::Finding => "finding",
            EventKind::AssetTelemetry => "asset_telemetry",
            EventKind::Exposure => "exposure",
            EventKind::DeploymentCommand => "deployment_command",
            EventKind::DeploymentOutcome => "deployment_outcome",
            EventKind::ModelSnapshot => "model_snapshot",
            EventKind::OperatorOverride => "operator_override",
        }
    }

    /// Parses a schema file stem.
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One decoded event of any kind: what flows between the codec and the processors.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Advisory(Advisory),
    ThreatSignal(ThreatSignal),
    Finding(Finding),
    AssetTelemetry(AssetTelemetry),
    Exposure(Exposure),
    DeploymentCommand(DeploymentCommand),
    DeploymentOutcome(DeploymentOutcome),
    ModelSnapshot(ModelSnapshot),
    OperatorOverride(OperatorOverride),
}

impl Event {
    /// The kind of this event.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Advisory(_) => EventKind::Advisory,
            Event::ThreatSignal(_) => EventKind::ThreatSignal,
            Event::Finding(_) => EventKind::Finding,
            Event::AssetTelemetry(_) => EventKind::AssetTelemetry,
            Event::Exposure(_) => EventKind::Exposure,
            Event::DeploymentCommand(_) => EventKind::DeploymentCommand,
            Event::DeploymentOutcome(_) => EventKind::DeploymentOutcome,
            Event::ModelSnapshot(_) => EventKind::ModelSnapshot,
            Event::OperatorOverride(_) => EventKind::OperatorOverride,
        }
    }

    /// The record key this event is partitioned by (see each schema's doc).
    pub fn key(&self) -> &str {
        match self {
            Event::Advisory(a) => &a.id,
            Event::ThreatSignal(t) => &t.cve_id,
            Event::Finding(f) => &f.asset_id,
            Event::AssetTelemetry(a) => &a.asset_id,
            Event::Exposure(e) => &e.asset_id,
            Event::DeploymentCommand(c) => &c.campaign_id,
            Event::DeploymentOutcome(o) => &o.asset_id,
            Event::ModelSnapshot(m) => &m.model,
            Event::OperatorOverride(o) => &o.override_id,
        }
    }
}
