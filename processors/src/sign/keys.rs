//! Ed25519 keys as operators hold them: a 32-byte seed or public key in hex, or the PEM files
//! `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` write.
//!
//! Invariant: a [`Signer`] never shows its secret (its `Debug` prints the key id only), and the
//! key id of a key pair is a pure function of the public key, so the signer and every verifier
//! compute the same id.

use super::SignError;
use sha2::{Digest, Sha256};

/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410): the 32-byte seed follows.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32-byte key follows.
const SPKI_PREFIX: [u8; 12] =
    [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// The key id of a public key: the first 16 bytes of its SHA-256, lower-case hex.
pub fn key_id(public: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(public)[..16])
}

/// A signing key with its key id.
#[derive(Clone)]
pub struct Signer {
    key: ed25519_dalek::SigningKey,
    key_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl Signer {
    /// The key of a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Signer {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let key_id = key_id(&key.verifying_key().to_bytes());
        Signer { key, key_id }
    }

    /// Parses a key file's text: 64 hex characters (the seed) or a PEM `PRIVATE KEY` (PKCS#8).
    pub fn from_text(text: &str) -> Result<Signer, SignError> {
        let text = text.trim();
        let seed: [u8; 32] = if text.starts_with("-----BEGIN") {
            let der = pem_body(text, "PRIVATE KEY")?;
            let rest = der
                .strip_prefix(&PKCS8_PREFIX[..])
                .ok_or_else(|| SignError::Key("PEM is not a PKCS#8 Ed25519 private key".into()))?;
            fixed(rest, "PKCS#8 Ed25519 seed")?
        } else {
            fixed(&hex_bytes(text, "signing key")?, "signing key seed")?
        };
        Ok(Signer::from_seed(&seed))
    }

    /// The key id (see [`key_id`]).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public half, to publish to executors.
    pub fn public_key(&self) -> PublicKey {
        PublicKey { key: self.key.verifying_key(), key_id: self.key_id.clone() }
    }

    /// Signs `message` (deterministic: the same key and message give the same signature).
    pub(super) fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.key.sign(message).to_bytes()
    }
}

/// A public key that verifies commands, with its key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: ed25519_dalek::VerifyingKey,
    key_id: String,
}

impl PublicKey {
    /// Parses 64 hex characters or a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn from_text(text: &str) -> Result<PublicKey, SignError> {
        let text = text.trim();
        let bytes: [u8; 32] = if text.starts_with("-----BEGIN") {
            let der = pem_body(text, "PUBLIC KEY")?;
            let rest = der
                .strip_prefix(&SPKI_PREFIX[..])
                .ok_or_else(|| SignError::Key("PEM is not an Ed25519 public key".into()))?;
            fixed(rest, "Ed25519 public key")?
        } else {
            fixed(&hex_bytes(text, "public key")?, "public key")?
        };
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|e| SignError::Key(format!("not an Ed25519 public key: {e}")))?;
        Ok(PublicKey { key, key_id: key_id(&bytes) })
    }

    /// The key id (see [`key_id`]).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The 32 bytes as lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    /// The key as a PEM `PUBLIC KEY`, as `openssl pkey -pubout` writes it.
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.key.to_bytes());
        format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", base64(&der))
    }

    /// True when `signature` is this key's strict Ed25519 signature of `message`.
    pub(super) fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        self.key.verify_strict(message, &sig).is_ok()
    }
}

fn fixed<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], SignError> {
    bytes
        .try_into()
        .map_err(|_| SignError::Key(format!("{what}: {} bytes, expected {N}", bytes.len())))
}

fn hex_bytes(text: &str, what: &str) -> Result<Vec<u8>, SignError> {
    hex::decode(text).map_err(|e| SignError::Key(format!("{what} is neither PEM nor hex: {e}")))
}

/// The DER body of a PEM block with `label`.
fn pem_body(text: &str, label: &str) -> Result<Vec<u8>, SignError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = text
        .strip_prefix(&begin)
        .and_then(|rest| rest.trim_end().strip_suffix(&end))
        .ok_or_else(|| SignError::Key(format!("expected a PEM {label} block")))?;
    unbase64(body).ok_or_else(|| SignError::Key(format!("PEM {label} is not valid base64")))
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64, ignoring whitespace; `None` on any other character or bad length.
fn unbase64(text: &str) -> Option<Vec<u8>> {
    let symbols: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !symbols.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(symbols.len() / 4 * 3);
    for quad in symbols.chunks(4) {
        let pad = quad.iter().rev().take_while(|b| **b == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for (i, b) in quad.iter().enumerate() {
            let v = if i >= 4 - pad { 0 } else { ALPHABET.iter().position(|a| a == b)? as u32 };
            n = n << 6 | v;
        }
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&decoded[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        for n in 0..20u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(unbase64(&base64(&bytes)), Some(bytes));
        }
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(unbase64("Zm9v\nYg=="), Some(b"foob".to_vec()));
        assert_eq!(unbase64("Zm9*"), None);
    }

    #[test]
    fn pem_and_hex_forms_agree() {
        // The example private key of RFC 8410 section 10.3, as PEM and as its hex seed.
        let pem = "-----BEGIN PRIVATE KEY-----\n\
                   MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
                   -----END PRIVATE KEY-----\n";
        let signer = Signer::from_text(pem).expect("pem key");
        let hex_seed = "d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842";
        let same = Signer::from_text(hex_seed).expect("hex key");
        assert_eq!(signer.key_id(), same.key_id());
        let public = signer.public_key();
        assert_eq!(PublicKey::from_text(&public.to_pem()).expect("pem public"), public);
        assert_eq!(PublicKey::from_text(&public.to_hex()).expect("hex public"), public);
        assert!(format!("{signer:?}").contains(signer.key_id()));
        assert!(!format!("{signer:?}").contains(hex_seed));
        assert!(Signer::from_text("zz").is_err());
        assert!(Signer::from_text("abcd").is_err());
        assert!(PublicKey::from_text(pem).is_err());
    }
}
