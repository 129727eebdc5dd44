//! SSVC decision points. The decision itself is data: the table of the policy
//! (`default_policy.toml`, after CISA's SSVC guide). Invariant: mission impact is derived from
//! the asset alone, the same way for every policy.

use crate::events::{Criticality, Environment, Exploitation, TechnicalImpact};
use serde::Deserialize;

/// Mission and well-being impact, derived from the asset's criticality and environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MissionImpact {
    Low,
    Medium,
    High,
}

impl MissionImpact {
    /// Production assets carry their criticality; other environments are at most medium.
    pub fn from_asset(criticality: Criticality, environment: Environment) -> MissionImpact {
        let by_criticality = match criticality {
            Criticality::Low => MissionImpact::Low,
            Criticality::Medium => MissionImpact::Medium,
            Criticality::High | Criticality::Critical => MissionImpact::High,
        };
        if environment == Environment::Production {
            by_criticality
        } else {
            by_criticality.min(MissionImpact::Medium)
        }
    }
}

/// The four decision points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsvcInputs {
    pub exploitation: Exploitation,
    pub automatable: bool,
    pub technical_impact: TechnicalImpact,
    pub mission: MissionImpact,
}
