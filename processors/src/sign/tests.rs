//! Signed commands verify; unsigned, expired, shadow, wrongly keyed and tampered ones do not.

use super::*;
use crate::events::{CommandAction, Ring};
use proptest::prelude::*;

fn command() -> DeploymentCommand {
    crate::fixtures::command()
}

fn signer(n: u8) -> Signer {
    Signer::from_seed(&[n; 32])
}

#[test]
fn a_signed_command_verifies_until_it_expires() {
    let s = signer(1);
    let mut c = command();
    sign_command(&mut c, &s);
    assert_eq!(verify_command(&c, &s.public_key(), 1_500), Ok(()));
    assert_eq!(verify_command(&c, &s.public_key(), 2_000), Ok(()), "not_after is inclusive");
    assert!(matches!(verify_command(&c, &s.public_key(), 2_001), Err(SignError::Expired { .. })));
    let mut again = command();
    sign_command(&mut again, &s);
    assert_eq!(again, c, "signing is deterministic");
}

#[test]
fn unsigned_shadow_and_foreign_commands_fail() {
    let s = signer(1);
    let c = command();
    assert!(matches!(verify_command(&c, &s.public_key(), 0), Err(SignError::Unsigned(_))));
    let mut shadow = command();
    shadow.shadow = true;
    sign_command(&mut shadow, &s);
    assert!(matches!(verify_command(&shadow, &s.public_key(), 0), Err(SignError::Shadow(_))));
    let mut foreign = command();
    sign_command(&mut foreign, &signer(2));
    assert!(matches!(
        verify_command(&foreign, &s.public_key(), 0),
        Err(SignError::WrongKey { .. })
    ));
    let mut forged = foreign.clone();
    if let Some(sig) = forged.signature.as_mut() {
        sig.key_id = s.key_id().to_string();
    }
    assert!(matches!(verify_command(&forged, &s.public_key(), 0), Err(SignError::Tampered(_))));
    let mut malformed = command();
    sign_command(&mut malformed, &s);
    if let Some(sig) = malformed.signature.as_mut() {
        sig.value.truncate(10);
    }
    assert!(matches!(verify_command(&malformed, &s.public_key(), 0), Err(SignError::Malformed(_))));
    let mut other_algorithm = command();
    sign_command(&mut other_algorithm, &s);
    if let Some(sig) = other_algorithm.signature.as_mut() {
        sig.algorithm = "rsa".into();
    }
    assert!(matches!(
        verify_command(&other_algorithm, &s.public_key(), 0),
        Err(SignError::Algorithm { .. })
    ));
}

/// Every field change an attacker could make to a signed command.
fn tamper(c: &mut DeploymentCommand, field: usize) {
    match field {
        0 => c.command_id.push('x'),
        1 => c.action = CommandAction::Rollback,
        2 => c.campaign_id.push('x'),
        3 => c.wave += 1,
        4 => c.ring = Ring::Broad,
        5 => c.remediation.ecosystem.push('x'),
        6 => c.remediation.package.push('x'),
        7 => c.remediation.target_version = Some("9.9.9".into()),
        8 => c.remediation.kb = Some("KB1".into()),
        9 => c.target_assets.push("prod-db-1".into()),
        10 => c.not_before -= 1,
        11 => c.not_after += 86_400_000,
        12 => c.deadline += 1,
        13 => c.rationale[0].risk = 1.0,
        14 => c.rationale[0].reason.push('x'),
        15 => c.rationale.clear(),
        16 => c.predicted_failure = 0.0,
        17 => c.issued_at += 1,
        18 => c.policy_version.push('x'),
        19 => c.model_version.push('x'),
        20 => c.plan_reason.push('x'),
        21 => c.emergency = !c.emergency,
        22 => c.rollback_of = Some("cmd-0".into()),
        23 => c.rationale[0].exposure_id.push('x'),
        24 => c.rationale[0].asset_id.push('x'),
        _ => c.rationale[0].vulnerability_id.push('x'),
    }
}

proptest! {
    #[test]
    fn any_tampered_field_fails_verification(field in 0usize..26) {
        let s = signer(7);
        let mut c = command();
        sign_command(&mut c, &s);
        tamper(&mut c, field);
        prop_assert!(matches!(verify_command(&c, &s.public_key(), 0), Err(SignError::Tampered(_))));
    }

    #[test]
    fn signed_commands_survive_a_json_round_trip(
        risk in 0.0f32..1000.0,
        p in 0.0f32..1.0,
        reason in ".{0,40}",
        assets in proptest::collection::vec("[a-z0-9-]{1,12}", 1..4),
    ) {
        let s = signer(3);
        let mut c = command();
        c.rationale[0].risk = risk;
        c.rationale[0].reason = reason;
        c.predicted_failure = p;
        c.target_assets = assets;
        sign_command(&mut c, &s);
        let json = serde_json::to_vec(&c).expect("json");
        let back: DeploymentCommand = serde_json::from_slice(&json).expect("parse");
        prop_assert_eq!(verify_command(&back, &s.public_key(), 0), Ok(()));
    }
}

#[test]
fn canonical_bytes_are_unambiguous() {
    let mut a = command();
    a.target_assets = vec!["ab".into(), "c".into()];
    let mut b = command();
    b.target_assets = vec!["a".into(), "bc".into()];
    assert_ne!(canonical_bytes(&a), canonical_bytes(&b));
    let mut signed = command();
    sign_command(&mut signed, &signer(1));
    assert_eq!(canonical_bytes(&signed), canonical_bytes(&command()), "signature excluded");
    assert!(canonical_bytes(&a).starts_with(DOMAIN));
}
