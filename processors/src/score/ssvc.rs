//! CISA SSVC coordinator decisions (Track, Track*, Attend, Act) from four decision points.
//! Invariant: the decision is monotone: raising any decision point never lowers the decision.

use crate::events::{Criticality, Environment, Exploitation, SsvcDecision, TechnicalImpact};

/// Mission and well-being impact, derived from the asset's criticality and environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

/// The decision for the inputs, following the shape of CISA's SSVC tree.
pub fn decide(i: &SsvcInputs) -> SsvcDecision {
    use SsvcDecision::*;
    let total = i.technical_impact == TechnicalImpact::Total;
    match (i.exploitation, i.mission) {
        (Exploitation::Active, MissionImpact::High) => {
            if i.automatable || total {
                Act
            } else {
                Attend
            }
        }
        (Exploitation::Active, MissionImpact::Medium) => {
            if i.automatable && total {
                Act
            } else {
                Attend
            }
        }
        (Exploitation::Active, MissionImpact::Low) => {
            if i.automatable || total {
                Attend
            } else {
                TrackStar
            }
        }
        (Exploitation::Poc, MissionImpact::High) => {
            if i.automatable || total {
                Attend
            } else {
                TrackStar
            }
        }
        (Exploitation::Poc, _) => {
            if i.automatable && total {
                Attend
            } else if total {
                TrackStar
            } else {
                Track
            }
        }
        (Exploitation::None, MissionImpact::High) => {
            if i.automatable && total {
                Attend
            } else if total {
                TrackStar
            } else {
                Track
            }
        }
        (Exploitation::None, _) => {
            if total && i.automatable {
                TrackStar
            } else {
                Track
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPLOITATION: [Exploitation; 3] =
        [Exploitation::None, Exploitation::Poc, Exploitation::Active];
    const MISSION: [MissionImpact; 3] =
        [MissionImpact::Low, MissionImpact::Medium, MissionImpact::High];

    fn all() -> Vec<SsvcInputs> {
        let mut v = Vec::new();
        for exploitation in EXPLOITATION {
            for mission in MISSION {
                for automatable in [false, true] {
                    for technical_impact in [TechnicalImpact::Partial, TechnicalImpact::Total] {
                        v.push(SsvcInputs { exploitation, automatable, technical_impact, mission });
                    }
                }
            }
        }
        v
    }

    #[test]
    fn decisions_are_monotone_in_every_decision_point() {
        let rank = |e: Exploitation| EXPLOITATION.iter().position(|x| *x == e).unwrap_or(0);
        for a in all() {
            for b in all() {
                let dominates = rank(b.exploitation) >= rank(a.exploitation)
                    && b.mission >= a.mission
                    && (b.automatable || !a.automatable)
                    && (b.technical_impact == TechnicalImpact::Total
                        || a.technical_impact == TechnicalImpact::Partial);
                if dominates {
                    assert!(
                        decide(&b) >= decide(&a),
                        "{a:?} -> {:?}, {b:?} -> {:?}",
                        decide(&a),
                        decide(&b)
                    );
                }
            }
        }
    }

    #[test]
    fn active_automatable_high_mission_is_act_and_nothing_is_track() {
        let act = SsvcInputs {
            exploitation: Exploitation::Active,
            automatable: true,
            technical_impact: TechnicalImpact::Total,
            mission: MissionImpact::High,
        };
        assert_eq!(decide(&act), SsvcDecision::Act);
        let quiet = SsvcInputs {
            exploitation: Exploitation::None,
            automatable: false,
            technical_impact: TechnicalImpact::Partial,
            mission: MissionImpact::Low,
        };
        assert_eq!(decide(&quiet), SsvcDecision::Track);
    }
}
