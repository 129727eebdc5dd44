//! Contract checks on input events that the schema alone cannot express. Invariant: an event
//! that passes [`validate`] has every required id non-empty and every score in its range.

use crate::error::ProcessError;
use crate::events::Event;

fn require(field: &str, value: &str) -> Result<(), ProcessError> {
    if value.trim().is_empty() {
        return Err(ProcessError::Contract(format!("missing required {field}")));
    }
    Ok(())
}

fn in_range(field: &str, value: f32, lo: f32, hi: f32) -> Result<(), ProcessError> {
    if !(lo..=hi).contains(&value) {
        return Err(ProcessError::Contract(format!("{field} {value} outside [{lo}, {hi}]")));
    }
    Ok(())
}

/// Checks the contract of one event.
pub fn validate(event: &Event) -> Result<(), ProcessError> {
    match event {
        Event::Advisory(a) => {
            require("advisory id", &a.id)?;
            if let Some(c) = &a.cvss {
                in_range("cvss base_score", c.base_score, 0.0, 10.0)?;
            }
            for p in &a.affected {
                require("affected package name", &p.name)?;
            }
            Ok(())
        }
        Event::ThreatSignal(t) => {
            require("cve_id", &t.cve_id)?;
            if t.is_empty() {
                return Err(ProcessError::Contract(
                    "threat signal carries no kev, epss or exploit".into(),
                ));
            }
            if let Some(e) = &t.epss {
                in_range("epss score", e.score, 0.0, 1.0)?;
                in_range("epss percentile", e.percentile, 0.0, 1.0)?;
            }
            Ok(())
        }
        Event::Finding(f) => {
            require("asset_id", &f.asset_id)?;
            require("vulnerability_id", &f.vulnerability_id)?;
            require("scanner", &f.scanner)?;
            require("package name", &f.package.name)
        }
        Event::AssetTelemetry(a) => require("asset_id", &a.asset_id),
        Event::DeploymentOutcome(o) => {
            require("command_id", &o.command_id)?;
            require("asset_id", &o.asset_id)
        }
        Event::Exposure(e) => {
            require("exposure_id", &e.exposure_id)?;
            require("asset_id", &e.asset_id)
        }
        Event::DeploymentCommand(c) => require("command_id", &c.command_id),
        Event::OperatorOverride(o) => {
            require("override_id", &o.override_id)?;
            require("approver", &o.approver)?;
            let restore = o.action == crate::events::OverrideAction::RestoreModel;
            if restore && (o.model.is_none() || o.model_version.is_none()) {
                return Err(ProcessError::Contract(
                    "RESTORE_MODEL needs model and model_version".into(),
                ));
            }
            Ok(())
        }
        Event::ModelSnapshot(m) => {
            require("model", &m.model)?;
            if m.indices.len() != m.weights.len() {
                return Err(ProcessError::Contract("indices and weights differ in length".into()));
            }
            Ok(())
        }
    }
}
