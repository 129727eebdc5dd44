//! Records as the runtime sees them: bytes plus coordinates. Invariant: an [`InputRecord`]
//! carries everything needed to dead-letter it whole (key, value, headers, topic, partition,
//! offset), whatever bus it came from.

use std::sync::Arc;

/// One record read from a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRecord {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Record timestamp in milliseconds, when the bus has one.
    pub timestamp: Option<i64>,
}

/// One record to write.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRecord {
    pub topic: Arc<str>,
    /// Explicit partition (changelog records go to their source record's partition); `None`
    /// lets the key's hash choose.
    pub partition: Option<i32>,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// Identifies the input a produced record belongs to, so its acknowledgement can release the
/// input's offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AckToken {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    /// Assignment generation of the partition when the record was read; acks of an older
    /// generation (the partition was revoked meanwhile) are ignored.
    pub generation: u64,
}

/// A committable position: the next offset to read on a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOffset {
    pub topic: Arc<str>,
    pub partition: i32,
    pub next_offset: i64,
}
