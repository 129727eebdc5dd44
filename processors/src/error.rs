//! The one error type of the processors crate. Invariant: a processor error is always about the
//! one input event being processed; the runtime dead-letters that event and keeps going.

use crate::events::EventKind;

/// Why a processor rejected an input event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProcessError {
    /// The event breaks the contract: a required id is empty, a score is out of range, ...
    #[error("contract violation: {0}")]
    Contract(String),
    /// The processor does not consume events of this kind (a wiring mistake in the topology).
    #[error("processor {processor} does not consume {kind:?} events")]
    Unsupported { processor: &'static str, kind: EventKind },
    /// A deployment command read back from the decision log does not carry this planner's valid
    /// signature (forged, tampered or signed with another key).
    #[error("signature: {0}")]
    Signature(#[from] crate::sign::SignError),
}
