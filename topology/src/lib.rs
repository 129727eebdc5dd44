//! Wiring and runtime of patchline: the topology spec, the codec, the embedded bus and the Kafka
//! runtime, dead letters, metrics and the admin HTTP server.
//!
//! Invariant: data flows one way, topic -> decode -> processor -> encode -> topic, and an input
//! offset is committed only after every record it produced is acknowledged.

pub mod codec;
pub mod dead_letter;
pub mod error;
pub mod spec;

pub use error::{Error, Result};
pub mod embedded;
pub mod kafka;
pub mod observe;
pub mod runtime;
