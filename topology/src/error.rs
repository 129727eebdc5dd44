//! The one error type of the topology crate, classified by domain and with a retry hint.
//!
//! Invariant: every error says whether retrying the same operation can succeed
//! ([`Error::retryable`]) and, for errors about one record, which dead-letter reason it maps to
//! ([`Error::dead_letter_reason`]). Record errors never stop a stage; they become dead letters.

use crate::dead_letter::DeadLetterReason;

/// Errors of the runtime, codec, Kafka I/O and configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The record is shorter than the wire-format header or its body ends early.
    #[error("truncated record: {0}")]
    Truncated(String),
    /// The first byte is not the Confluent magic byte 0.
    #[error("bad magic byte {0:#04x}; expected 0x00 (Confluent wire format)")]
    BadMagic(u8),
    /// The schema id is neither bundled nor known to the schema registry.
    #[error("unknown schema id {0}")]
    UnknownSchemaId(u32),
    /// The record exceeds the configured size limit.
    #[error("record of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// The bytes are not a valid encoding of the schema (bad varint, bad union index, bad UTF-8, ...).
    #[error("undecodable record: {0}")]
    Undecodable(String),
    /// The record decodes but breaks the contract (unknown enum symbol, missing required id, ...).
    #[error("contract violation: {0}")]
    Contract(String),
    /// A value could not be encoded with its schema: a bug in patchline, not in the input.
    #[error("cannot encode {kind}: {reason}")]
    Encode { kind: &'static str, reason: String },
    /// A schema file is invalid or breaks the evolution rules.
    #[error("schema {name}: {reason}")]
    Schema { name: String, reason: String },
    /// The schema registry answered with an error or could not be reached.
    #[error("schema registry: {0}")]
    Registry(String),
    /// Kafka client error.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// Invalid configuration or topology file.
    #[error("configuration: {0}")]
    Config(String),
    /// The embedded bus or a channel was closed.
    #[error("bus closed: {0}")]
    Closed(String),
    /// File or socket I/O.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// Whether retrying the same operation later may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            Error::Registry(_) | Error::Io(_) => true,
            Error::Kafka(e) => !matches!(
                e.rdkafka_error_code(),
                Some(rdkafka::types::RDKafkaErrorCode::MessageSizeTooLarge)
                    | Some(rdkafka::types::RDKafkaErrorCode::InvalidConfig)
            ),
            _ => false,
        }
    }

    /// The dead-letter reason for errors about one record; `None` for errors of the process.
    pub fn dead_letter_reason(&self) -> Option<DeadLetterReason> {
        Some(match self {
            Error::Truncated(_) => DeadLetterReason::Truncated,
            Error::BadMagic(_) | Error::Undecodable(_) => DeadLetterReason::Undecodable,
            Error::UnknownSchemaId(_) => DeadLetterReason::UnknownSchemaId,
            Error::TooLarge { .. } => DeadLetterReason::TooLarge,
            Error::Contract(_) => DeadLetterReason::ContractViolation,
            _ => return None,
        })
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
