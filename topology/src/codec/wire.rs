//! The Confluent wire format: one magic byte `0x00`, the writer schema id as a 4-byte big-endian
//! unsigned integer, then the Avro binary body.
//!
//! Invariant: [`unframe`] accepts exactly the framings [`write_header`] produces; anything shorter
//! than the header is [`Error::Truncated`] and any other first byte is [`Error::BadMagic`].

use crate::error::{Error, Result};

/// The Confluent magic byte.
pub const MAGIC: u8 = 0;

/// Length of the header: magic byte and schema id.
pub const HEADER_LEN: usize = 5;

/// Appends the header for `schema_id` to `out`.
pub fn write_header(out: &mut Vec<u8>, schema_id: u32) {
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
}

/// Splits a framed record into its writer schema id and its Avro body.
pub fn unframe(bytes: &[u8]) -> Result<(u32, &[u8])> {
    let Some((header, body)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(Error::Truncated(format!(
            "{} bytes, shorter than the {HEADER_LEN}-byte wire-format header",
            bytes.len()
        )));
    };
    let [magic, id @ ..] = *header;
    if magic != MAGIC {
        return Err(Error::BadMagic(magic));
    }
    Ok((u32::from_be_bytes(id), body))
}

/// Rejects bytes left over after a complete Avro body.
pub fn expect_consumed(rest: &[u8]) -> Result<()> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(Error::Undecodable(format!("{} trailing bytes after the Avro body", rest.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let mut out = Vec::new();
        write_header(&mut out, 0x0102_0304);
        out.extend_from_slice(b"body");
        assert_eq!(out[..HEADER_LEN], [0, 1, 2, 3, 4]);
        let (id, body) = unframe(&out).expect("framed");
        assert_eq!(id, 0x0102_0304);
        assert_eq!(body, b"body");
    }

    #[test]
    fn short_and_bad_magic_are_classified() {
        assert!(matches!(unframe(&[0, 0, 0]), Err(Error::Truncated(_))));
        assert!(matches!(unframe(&[]), Err(Error::Truncated(_))));
        assert!(matches!(unframe(&[7, 0, 0, 0, 1]), Err(Error::BadMagic(7))));
        assert_eq!(unframe(&[0, 0, 0, 0, 9]).expect("empty body").1, b"");
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        assert!(expect_consumed(&[]).is_ok());
        assert!(matches!(expect_consumed(&[0]), Err(Error::Undecodable(_))));
    }
}
