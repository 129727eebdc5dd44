//! Maps apache-avro and serde_json errors onto the crate's [`Error`] classes.
//!
//! Invariant: classification looks only at structured error data (`apache_avro::error::Details`,
//! `std::io::ErrorKind`, `serde_json::error::Category`), never at Display text, so a wording change
//! upstream cannot move an error into another dead-letter class.

use crate::error::Error;
use apache_avro::error::Details;
use std::io::ErrorKind;

/// Classifies an error raised while reading an Avro body with its exact writer schema.
///
/// An I/O error of kind `UnexpectedEof` means the body ended early: [`Error::Truncated`]. Every
/// other failure (bad union or enum index, invalid UTF-8, negative length, bad boolean byte,
/// allocation above the limit, ...) means the bytes are not an encoding of the schema:
/// [`Error::Undecodable`].
pub fn avro_read(err: apache_avro::Error) -> Error {
    if is_eof(err.details()) {
        Error::Truncated(format!("Avro body ends early: {err}"))
    } else {
        Error::Undecodable(err.to_string())
    }
}

/// Classifies an error raised while resolving a structurally valid body from its writer schema to
/// the reader schema, or while mapping the resolved value onto the Rust type: the record breaks
/// the reader's contract (a symbol the reader lacks, a field the writer lacks and the reader has
/// no default for, a type the reader cannot promote).
pub fn avro_resolve(err: apache_avro::Error) -> Error {
    Error::Contract(format!("cannot resolve to the reader schema: {err}"))
}

/// Classifies an error raised while writing a value with its schema: a bug, not bad input.
pub fn avro_write(kind: &'static str, err: apache_avro::Error) -> Error {
    Error::Encode { kind, reason: err.to_string() }
}

/// Classifies a JSON decoding error: syntax -> [`Error::Undecodable`], document ending early ->
/// [`Error::Truncated`], well-formed JSON that does not fit the type (unknown field or enum
/// symbol, missing required field, wrong type) -> [`Error::Contract`].
pub fn json_read(err: serde_json::Error) -> Error {
    use serde_json::error::Category;
    match err.classify() {
        Category::Eof => Error::Truncated(format!("JSON ends early: {err}")),
        Category::Syntax | Category::Io => Error::Undecodable(format!("invalid JSON: {err}")),
        Category::Data => Error::Contract(format!("JSON does not fit the contract: {err}")),
    }
}

/// True when the error is a read that hit the end of the input.
fn is_eof(details: &Details) -> bool {
    match details {
        Details::ReadBoolean(io)
        | Details::ReadBytes(io)
        | Details::ReadString(io)
        | Details::ReadDouble(io)
        | Details::ReadFloat(io)
        | Details::ReadDuration(io)
        | Details::ReadFixed(io, _)
        | Details::ReadVariableIntegerBytes(io)
        | Details::ReadIntoBuf(io) => io.kind() == ErrorKind::UnexpectedEof,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eof_is_truncated_and_the_rest_undecodable() {
        let eof = std::io::Error::from(ErrorKind::UnexpectedEof);
        let err = apache_avro::Error::new(Details::ReadVariableIntegerBytes(eof));
        assert!(matches!(avro_read(err), Error::Truncated(_)));
        let err = apache_avro::Error::new(Details::GetUnionVariant { index: 5, num_variants: 2 });
        assert!(matches!(avro_read(err), Error::Undecodable(_)));
    }

    #[test]
    fn json_categories() {
        let eof = serde_json::from_str::<Vec<u8>>("[1,").expect_err("eof");
        assert!(matches!(json_read(eof), Error::Truncated(_)));
        let syntax = serde_json::from_str::<u8>("}").expect_err("syntax");
        assert!(matches!(json_read(syntax), Error::Undecodable(_)));
        let data = serde_json::from_str::<u8>("\"x\"").expect_err("data");
        assert!(matches!(json_read(data), Error::Contract(_)));
    }
}
