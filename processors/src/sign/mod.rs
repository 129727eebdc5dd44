//! Signing and verifying deployment commands with Ed25519, for the planner and for executors.
//!
//! Invariant: a command passes [`verify_command`] only if it is not a shadow plan, carries an
//! `ed25519` signature by the given key over its [canonical bytes](canonical_bytes) (every field
//! but the signature), and has not expired (`now_ms <= not_after`). Any change to any field after
//! signing, a missing signature, another key or a late execution fails with a distinct
//! [`SignError`]. Signing is deterministic (RFC 8032), so the same command signed twice is byte
//! for byte the same, and a replay re-issues identical commands.

mod canonical;
mod keys;

pub use canonical::{action_symbol, canonical_bytes, ring_symbol, DOMAIN};
pub use keys::{key_id, PublicKey, Signer};

use crate::events::{DeploymentCommand, Signature};

/// The only signature algorithm patchline writes and accepts.
pub const ALGORITHM: &str = "ed25519";

/// Why a key could not be read or a command does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// A key file or string could not be parsed.
    #[error("key: {0}")]
    Key(String),
    /// A shadow plan: never signed, never to be executed.
    #[error("command {0} is a shadow plan and must not be executed")]
    Shadow(String),
    /// The command carries no signature.
    #[error("command {0} is unsigned")]
    Unsigned(String),
    /// The signature names an algorithm other than `ed25519`.
    #[error("command {id}: unsupported signature algorithm {algorithm}")]
    Algorithm { id: String, algorithm: String },
    /// The signature was made with another key.
    #[error("command {id}: signed by key {found}, expected key {expected}")]
    WrongKey { id: String, expected: String, found: String },
    /// The signature value is not 64 bytes of hex.
    #[error("command {0}: malformed signature value")]
    Malformed(String),
    /// The signature does not match the command: a field changed after signing.
    #[error("command {0}: signature does not match its fields (tampered)")]
    Tampered(String),
    /// Verified too late: the command's window has closed.
    #[error("command {id} expired at {not_after} (now {now})")]
    Expired { id: String, not_after: i64, now: i64 },
}

/// Signs `command` in place with `signer` (replacing any earlier signature).
pub fn sign_command(command: &mut DeploymentCommand, signer: &Signer) {
    command.signature = None;
    let value = signer.sign_bytes(&canonical_bytes(command));
    command.signature = Some(Signature {
        algorithm: ALGORITHM.to_string(),
        key_id: signer.key_id().to_string(),
        value: hex::encode(value),
    });
}

/// Checks the signature of `command` against `key`, without looking at the time or the shadow
/// flag: what the planner checks when it reads its own decision log back.
pub fn verify_signature(command: &DeploymentCommand, key: &PublicKey) -> Result<(), SignError> {
    let id = || command.command_id.clone();
    let sig = command.signature.as_ref().ok_or_else(|| SignError::Unsigned(id()))?;
    if sig.algorithm != ALGORITHM {
        return Err(SignError::Algorithm { id: id(), algorithm: sig.algorithm.clone() });
    }
    if sig.key_id != key.key_id() {
        return Err(SignError::WrongKey {
            id: id(),
            expected: key.key_id().to_string(),
            found: sig.key_id.clone(),
        });
    }
    let bytes: [u8; 64] = hex::decode(&sig.value)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SignError::Malformed(id()))?;
    if key.verifies(&canonical_bytes(command), &bytes) {
        Ok(())
    } else {
        Err(SignError::Tampered(id()))
    }
}

/// What an executor calls before running a command: not a shadow plan, signed by `key`, fields
/// unchanged, and `now_ms` (the executor's clock) not after the command's `not_after`.
pub fn verify_command(
    command: &DeploymentCommand,
    key: &PublicKey,
    now_ms: i64,
) -> Result<(), SignError> {
    if command.shadow {
        return Err(SignError::Shadow(command.command_id.clone()));
    }
    verify_signature(command, key)?;
    if now_ms > command.not_after {
        return Err(SignError::Expired {
            id: command.command_id.clone(),
            not_after: command.not_after,
            now: now_ms,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
