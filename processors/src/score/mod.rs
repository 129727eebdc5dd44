//! Scoring: likelihood of exploitation times impact on this asset, 0 to 1000, with per-factor
//! contributions and the SSVC decision, due date and lane from the policy.
//!
//! Likelihood is the larger of the exploitation evidence (KEV, a sighting, a public exploit) and
//! the predicted probability: the learned exploit-likelihood model's when one is loaded (EPSS is
//! one of its features), else the EPSS score.
//!
//! Invariant: a score is a pure function of the [`ScoreInput`]; every factor that moves the risk
//! appears in the contributions, measured as the risk lost when that factor is set to its
//! baseline (leave-one-out), so a reader can see why an exposure ranks where it does. With a
//! model, its three strongest features appear too (`model:vendor=ivanti`): the risk lost when
//! that feature's term leaves the model's log-odds.

mod context;
pub mod features;
mod policy;
mod ssvc;
mod vendor_kev;

pub use context::{Context, Control};
pub use policy::{ExceptionKind, Policy, RiskException, Subject, DEFAULT_POLICY, POLICY_VERSION};
pub use ssvc::{MissionImpact, SsvcInputs};
pub use vendor_kev::VendorKev;

use crate::learn::{sigmoid, Term};

use crate::events::{
    Contribution, Criticality, Environment, Epss, ExploitKind, ExploitSighting, Exploitation,
    KevEntry, Lane, SsvcDecision, TechnicalImpact,
};

/// What the exploit-likelihood model said about one vulnerability.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Probability of exploitation.
    pub p: f32,
    /// The strongest terms of its log-odds, strongest first.
    pub terms: Vec<Term>,
}

/// Contributions listed per model feature.
const MODEL_TERMS: usize = 3;

/// Version of the built-in likelihood model (no learned model loaded).
pub const MODEL_VERSION: &str = "heuristic-v1";

/// Everything the scorer looks at for one exposure.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreInput<'a> {
    pub cvss: Option<f32>,
    pub has_exploit_ref: bool,
    pub ssvc_automatable: Option<bool>,
    pub ssvc_technical_impact: Option<TechnicalImpact>,
    pub kev: Option<&'a KevEntry>,
    pub epss: Option<&'a Epss>,
    pub exploit: Option<&'a ExploitSighting>,
    /// The learned model's estimate, when a model is loaded (it then replaces raw EPSS).
    pub model: Option<&'a Estimate>,
    pub environment: Environment,
    pub criticality: Criticality,
    pub internet_exposed: bool,
    /// Day the exposure was first seen (days since epoch): the SLA clock starts here.
    pub first_seen_day: i32,
    /// The asset's business service (for SLA overrides).
    pub business_service: Option<&'a str>,
    /// The policy exception covering this exposure, if any (see [`Policy::exception_for`]).
    pub exception: Option<&'a RiskException>,
    /// The day the score is for (event time), to tell active from expired exceptions.
    pub day: i32,
    /// Weight of the asset's business service (policy `[context.service_weights]`; 1 = neutral).
    pub service_weight: f32,
    /// Product of the compensating controls that cover the exposure (1 = none).
    pub controls: f32,
}

/// Result of scoring one exposure.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub risk: f32,
    pub likelihood: f32,
    pub impact: f32,
    pub contributions: Vec<Contribution>,
    pub ssvc_decision: SsvcDecision,
    pub due_date: i32,
    pub lane: Lane,
    /// The exception that applies, and the day it ends (the exposure is accepted until then).
    pub exception: Option<(String, i32)>,
}

/// Factors of the risk, each with a value and a baseline.
#[derive(Debug, Clone, Copy)]
struct Factors {
    exploit_evidence: f32,
    /// Predicted probability: the model's, else EPSS.
    predicted: f32,
    cvss: f32,
    criticality: f32,
    exposure: f32,
    environment: f32,
    service: f32,
    controls: f32,
}

impl Factors {
    const BASELINE: Factors = Factors {
        exploit_evidence: 0.0,
        predicted: 0.01,
        cvss: 0.5,
        criticality: 0.6,
        exposure: 0.7,
        environment: 0.6,
        service: 1.0,
        controls: 1.0,
    };

    fn likelihood(&self) -> f32 {
        (self.exploit_evidence.max(self.predicted) * self.controls).clamp(0.0, 1.0)
    }

    fn impact(&self) -> f32 {
        (self.cvss * self.criticality * self.exposure * self.environment * self.service)
            .clamp(0.0, 1.0)
    }

    /// Risk on a 0-1000 scale. The square root spreads the mass of low likelihoods.
    fn risk(&self) -> f32 {
        1000.0 * (self.likelihood() * self.impact()).sqrt()
    }
}

fn criticality_weight(c: Criticality) -> f32 {
    match c {
        Criticality::Low => 0.4,
        Criticality::Medium => 0.6,
        Criticality::High => 0.8,
        Criticality::Critical => 1.0,
    }
}

fn environment_weight(e: Environment) -> f32 {
    match e {
        Environment::Development => 0.3,
        Environment::Test => 0.4,
        Environment::Staging => 0.6,
        Environment::Production => 1.0,
    }
}

/// The SSVC exploitation state implied by the threat intelligence.
pub fn exploitation_state(input: &ScoreInput<'_>) -> Exploitation {
    let seen = input.exploit.is_some_and(|e| e.kind == ExploitKind::Seen);
    if input.kev.is_some() || seen {
        Exploitation::Active
    } else if input.has_exploit_ref || input.exploit.is_some() {
        Exploitation::Poc
    } else {
        Exploitation::None
    }
}

/// Scores one exposure under `policy`.
pub fn score(input: &ScoreInput<'_>, policy: &Policy) -> Score {
    let exploitation = exploitation_state(input);
    let factors = Factors {
        exploit_evidence: match exploitation {
            Exploitation::Active => 0.95,
            Exploitation::Poc => 0.3,
            Exploitation::None => 0.0,
        },
        predicted: match (input.model, input.epss) {
            (Some(m), _) => m.p,
            (None, Some(e)) => e.score,
            (None, None) => Factors::BASELINE.predicted,
        },
        cvss: input.cvss.map_or(Factors::BASELINE.cvss, |c| c / 10.0),
        criticality: criticality_weight(input.criticality),
        exposure: if input.internet_exposed { 1.0 } else { 0.7 },
        environment: environment_weight(input.environment),
        service: input.service_weight,
        controls: input.controls,
    };
    let risk = factors.risk();
    let base = Factors::BASELINE;
    let leave_one_out: [(&str, Factors); 8] = [
        ("exploit_evidence", Factors { exploit_evidence: base.exploit_evidence, ..factors }),
        (
            if input.model.is_some() { "exploit_model" } else { "epss" },
            Factors { predicted: base.predicted, ..factors },
        ),
        ("cvss", Factors { cvss: base.cvss, ..factors }),
        ("asset_criticality", Factors { criticality: base.criticality, ..factors }),
        ("internet_exposure", Factors { exposure: base.exposure, ..factors }),
        ("environment", Factors { environment: base.environment, ..factors }),
        ("business_service", Factors { service: base.service, ..factors }),
        ("compensating_controls", Factors { controls: base.controls, ..factors }),
    ];
    let mut contributions: Vec<Contribution> = leave_one_out
        .iter()
        .map(|(name, f)| Contribution {
            factor: (*name).to_string(),
            points: round1(risk - f.risk()),
        })
        .collect();
    for t in input.model.map_or(&[][..], |m| &m.terms).iter().take(MODEL_TERMS) {
        let p = f64::from(factors.predicted).clamp(1e-9, 1.0 - 1e-9);
        let without = sigmoid((p / (1.0 - p)).ln() - f64::from(t.logit)) as f32;
        contributions.push(Contribution {
            factor: format!("model:{}", t.name),
            points: round1(risk - Factors { predicted: without, ..factors }.risk()),
        });
    }
    contributions.retain(|c| c.points != 0.0);
    let mission = MissionImpact::from_asset(input.criticality, input.environment);
    let decision = policy.decide(&SsvcInputs {
        exploitation,
        automatable: input.ssvc_automatable.unwrap_or(false),
        technical_impact: input.ssvc_technical_impact.unwrap_or(TechnicalImpact::Partial),
        mission,
    });
    // An exception restarts the SLA clock on its expiry day; while it is active the exposure is
    // accepted and leaves the emergency lane.
    let restart = input.exception.map(|e| e.expires_day);
    let due_date =
        policy.due_date(decision, input.first_seen_day, input.kev, input.business_service, restart);
    let accepted = input.exception.is_some_and(|e| input.day < e.expires_day);
    let lane = if !accepted && (input.kev.is_some() || decision == SsvcDecision::Act) {
        Lane::Emergency
    } else {
        Lane::Standard
    };
    Score {
        risk: round1(risk),
        likelihood: factors.likelihood(),
        impact: factors.impact(),
        contributions,
        ssvc_decision: decision,
        due_date,
        lane,
        exception: input.exception.map(|e| (e.id.clone(), e.expires_day)),
    }
}

fn round1(x: f32) -> f32 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>() -> ScoreInput<'a> {
        ScoreInput {
            cvss: Some(9.8),
            has_exploit_ref: false,
            ssvc_automatable: None,
            ssvc_technical_impact: None,
            kev: None,
            epss: None,
            exploit: None,
            model: None,
            environment: Environment::Production,
            criticality: Criticality::High,
            internet_exposed: true,
            first_seen_day: 20_000,
            business_service: None,
            exception: None,
            day: 20_000,
            service_weight: 1.0,
            controls: 1.0,
        }
    }

    #[test]
    fn kev_outranks_unexploited_and_goes_to_the_emergency_lane() {
        let policy = Policy::default();
        let kev = KevEntry {
            date_added: 20_001,
            due_date: Some(20_015),
            ransomware_use: true,
            required_action: "Apply updates".into(),
        };
        let plain = score(&input(), &policy);
        let exploited = score(&ScoreInput { kev: Some(&kev), ..input() }, &policy);
        assert!(exploited.risk > 3.0 * plain.risk, "{exploited:?} vs {plain:?}");
        assert_eq!(exploited.lane, Lane::Emergency);
        assert_eq!(plain.lane, Lane::Standard);
        assert_eq!(exploited.due_date, 20_015);
        let top = exploited
            .contributions
            .iter()
            .max_by(|a, b| a.points.total_cmp(&b.points))
            .expect("contributions");
        assert_eq!(top.factor, "exploit_evidence");
    }

    #[test]
    fn risk_stays_in_range_and_drops_with_context() {
        let policy = Policy::default();
        let prod = score(&input(), &policy);
        let dev = score(
            &ScoreInput {
                environment: Environment::Development,
                internet_exposed: false,
                ..input()
            },
            &policy,
        );
        assert!(prod.risk <= 1000.0 && dev.risk >= 0.0);
        assert!(dev.risk < prod.risk);
    }

    #[test]
    fn business_service_weight_and_compensating_controls_move_the_risk_and_explain_it() {
        let policy = Policy::default();
        let plain = score(&input(), &policy);
        let key_service = score(&ScoreInput { service_weight: 1.3, ..input() }, &policy);
        let behind_waf = score(&ScoreInput { controls: 0.5, ..input() }, &policy);
        assert!(key_service.risk > plain.risk && behind_waf.risk < plain.risk);
        let points =
            |s: &Score, f: &str| s.contributions.iter().find(|c| c.factor == f).map(|c| c.points);
        assert!(points(&key_service, "business_service").is_some_and(|p| p > 0.0));
        assert!(points(&behind_waf, "compensating_controls").is_some_and(|p| p < 0.0));
        assert_eq!(points(&plain, "compensating_controls"), None, "neutral factors are not listed");
    }
}
