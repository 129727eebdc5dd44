//! The canonical bytes of a deployment command: what the Ed25519 signature covers.
//!
//! Invariant: the encoding is a pure function of every field of the command except `signature`,
//! in schema order, with no ambiguity (every string and list is length-prefixed), so two
//! commands have the same canonical bytes if and only if they are equal field for field apart
//! from the signature. It never depends on a serialization library's choices (JSON spacing, Avro
//! block sizes): an executor in any language can rebuild it from `docs/EXECUTORS.md`.
//!
//! Layout: the ASCII domain tag [`DOMAIN`], then each field:
//! - string: u32 big-endian byte length, then the UTF-8 bytes;
//! - `int` / `long`: 4 / 8 bytes big-endian two's complement;
//! - `float`: the 4 bytes of the IEEE-754 binary32 value, big-endian;
//! - `boolean`: one byte, 0 or 1;
//! - optional value: one byte 0 (absent) or 1 followed by the value;
//! - array: u32 big-endian item count, then the items;
//! - enum: its symbol as a string (`DEPLOY`, `CANARY`, ...).

use crate::events::{CommandAction, DeploymentCommand, Ring};

/// Domain separation tag: bytes signed for a command can never be mistaken for another message.
pub const DOMAIN: &[u8] = b"patchline/deployment_command/v2\n";

/// The canonical bytes of `c` (every field but the signature).
pub fn canonical_bytes(c: &DeploymentCommand) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(512));
    w.0.extend_from_slice(DOMAIN);
    w.str(&c.command_id);
    w.str(action_symbol(c.action));
    w.str(&c.campaign_id);
    w.i32(c.wave);
    w.str(ring_symbol(c.ring));
    w.str(&c.remediation.ecosystem);
    w.str(&c.remediation.package);
    w.opt_str(c.remediation.target_version.as_deref());
    w.opt_str(c.remediation.kb.as_deref());
    w.len(c.target_assets.len());
    for a in &c.target_assets {
        w.str(a);
    }
    w.i64(c.not_before);
    w.i64(c.not_after);
    w.i64(c.deadline);
    w.len(c.rationale.len());
    for r in &c.rationale {
        w.str(&r.exposure_id);
        w.str(&r.asset_id);
        w.str(&r.vulnerability_id);
        w.f32(r.risk);
        w.str(&r.reason);
    }
    w.f32(c.predicted_failure);
    w.i64(c.issued_at);
    w.str(&c.policy_version);
    w.str(&c.model_version);
    // `signature` is skipped: it is what these bytes are signed into.
    w.str(&c.plan_reason);
    w.bool(c.emergency);
    w.bool(c.shadow);
    w.opt_str(c.rollback_of.as_deref());
    w.0
}

/// The Avro symbol of an action.
pub fn action_symbol(a: CommandAction) -> &'static str {
    match a {
        CommandAction::Deploy => "DEPLOY",
        CommandAction::Pause => "PAUSE",
        CommandAction::Rollback => "ROLLBACK",
    }
}

/// The Avro symbol of a ring.
pub fn ring_symbol(r: Ring) -> &'static str {
    match r {
        Ring::Canary => "CANARY",
        Ring::Pilot => "PILOT",
        Ring::Broad => "BROAD",
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn len(&mut self, n: usize) {
        // Commands are far below 4 GiB; saturate rather than wrap if one ever is not.
        self.0.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
    }

    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.0.push(0),
            Some(s) => {
                self.0.push(1);
                self.str(s);
            }
        }
    }

    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_bits().to_be_bytes());
    }

    fn bool(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }
}
