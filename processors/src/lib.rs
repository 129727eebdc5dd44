//! Pure stage logic of patchline: enrich, score and plan. No I/O, no Kafka types.
//!
//! Invariant: every processor is deterministic. Given the same inputs in the same order it emits
//! the same outputs byte for byte, using event time carried by the inputs, never the wall clock.
//! The runtime in `patchline-topology` may therefore replay inputs to rebuild state, and a replay
//! after a crash re-emits outputs with the same ids.

pub mod enrich;
pub mod error;
pub mod events;
pub mod fixtures;
pub mod ids;
pub mod learn;
pub mod plan;
pub mod processor;
pub mod score;
pub mod sign;
pub mod time;
pub mod validate;
pub mod versions;

pub use enrich::AssessProcessor;
pub use error::ProcessError;
pub use plan::PlanProcessor;
pub use processor::{Processor, Query};
