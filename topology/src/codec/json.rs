//! JSON payloads (input topics with `format = "json"`): one JSON object per record, fields named
//! as in the Avro schema, enum symbols as strings.
//!
//! Invariant: a JSON record decodes only if it is exactly one well-formed document (trailing
//! whitespace aside) that fits the Rust type, which rejects unknown fields and unknown enum
//! symbols; see [`super::classify::json_read`] for the error classes.

use super::classify;
use crate::error::Result;
use serde::de::DeserializeOwned;

/// Decodes one JSON record into `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(classify::json_read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use patchline_processors::events::{Finding, FindingStatus};

    const GOOD: &str = r#"{"asset_id": "a1", "scanner": "trivy", "scan_id": "s1",
        "vulnerability_id": "CVE-2024-3094",
        "package": {"ecosystem": "Debian", "name": "xz-utils", "installed_version": "5.6.0-0.2"},
        "status": "OPEN", "first_seen": 1711843200000, "last_seen": 1711929600000}"#;

    #[test]
    fn decodes_with_defaults() {
        let f: Finding = decode(GOOD.as_bytes()).expect("valid");
        assert_eq!(f.status, FindingStatus::Open);
        assert_eq!(f.package.fixed_version, None);
    }

    #[test]
    fn classifies_errors() {
        let contract = [
            GOOD.replace("\"OPEN\"", "\"SUPPRESSED\""),
            GOOD.replace("\"scan_id\": \"s1\",", "\"scan_id\": \"s1\", \"extra\": 1,"),
            GOOD.replace("\"scanner\": \"trivy\",", ""),
            GOOD.replace("1711843200000", "\"yesterday\""),
        ];
        for text in contract {
            let err = decode::<Finding>(text.as_bytes()).expect_err("contract");
            assert!(matches!(err, Error::Contract(_)), "{err}");
        }
        let err = decode::<Finding>(b"{\"asset_id\" \"a1\"}").expect_err("syntax");
        assert!(matches!(err, Error::Undecodable(_)), "{err}");
        let err = decode::<Finding>(format!("{GOOD} x").as_bytes()).expect_err("trailing");
        assert!(matches!(err, Error::Undecodable(_)), "{err}");
        let err = decode::<Finding>(&GOOD.as_bytes()[..40]).expect_err("cut");
        assert!(matches!(err, Error::Truncated(_)), "{err}");
    }
}
