//! Dead letters: input records a stage could not process, kept whole with the reason and the
//! coordinates they came from. Invariant: for every stage, records in = records processed +
//! records dead-lettered; nothing is dropped silently.

use serde::{Deserialize, Serialize};

/// Why a record was dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeadLetterReason {
    /// Not a valid encoding (bad magic byte, bad Avro body, bad JSON).
    Undecodable,
    /// Schema id unknown to the bundle and the registry.
    UnknownSchemaId,
    /// Shorter than its header or its body.
    Truncated,
    /// Over the configured size limit.
    TooLarge,
    /// Decodes but breaks the contract (unknown enum symbol, missing required id).
    ContractViolation,
    /// The processor rejected it.
    ProcessingFailed,
}

impl DeadLetterReason {
    /// Label used in metrics.
    pub fn label(self) -> &'static str {
        match self {
            DeadLetterReason::Undecodable => "undecodable",
            DeadLetterReason::UnknownSchemaId => "unknown_schema_id",
            DeadLetterReason::Truncated => "truncated",
            DeadLetterReason::TooLarge => "too_large",
            DeadLetterReason::ContractViolation => "contract_violation",
            DeadLetterReason::ProcessingFailed => "processing_failed",
        }
    }
}

/// One header of the original record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterHeader {
    /// Header key.
    pub key: String,
    /// Header value, when present.
    #[serde(default, with = "apache_avro::serde::bytes_opt")]
    pub value: Option<Vec<u8>>,
}

/// A record that could not be processed, as written to the dead-letter topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetter {
    /// Original key bytes.
    #[serde(default, with = "apache_avro::serde::bytes_opt")]
    pub key: Option<Vec<u8>>,
    /// Original value bytes (cut to the size limit when the record was too large).
    #[serde(default, with = "apache_avro::serde::bytes_opt")]
    pub value: Option<Vec<u8>>,
    /// Original headers.
    pub headers: Vec<DeadLetterHeader>,
    /// Why it was dead-lettered.
    pub reason: DeadLetterReason,
    /// The error text.
    pub error: String,
    /// Stage that rejected it.
    pub stage: String,
    /// Topic it was read from.
    pub source_topic: String,
    /// Partition it was read from.
    pub partition: i32,
    /// Offset it was read from.
    pub offset: i64,
    /// When it was dead-lettered (the record's timestamp when it has one).
    pub failed_at: i64,
}
