//! The embedded in-process bus: partitioned, offset-addressed logs with consumer-group commits,
//! so the same stages run without Kafka (the default when no brokers are configured, used by
//! `patchline demo` and the fast tests).
//!
//! Invariants: a record's partition is Kafka's default (murmur2 of the key), so co-partitioned
//! topics line up as they do on Kafka; offsets in a partition are dense and start at 0; a group
//! resumes from its last committed offset, as a Kafka consumer group does.

mod bus;
mod partitioner;
mod pipeline;
mod source;

pub use bus::{Bus, StoredRecord};
pub use partitioner::{murmur2, partition_for};
pub use pipeline::EmbeddedPipeline;
pub use source::{EmbeddedSink, EmbeddedSource};
