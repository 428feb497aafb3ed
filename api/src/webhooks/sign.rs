//! Signing as the Standard Webhooks specification asks: `webhook-signature` is a
//! space-separated list of `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, one per
//! secret in force; a secret is `whsec_` + base64 of its key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// A new secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    format!("{PREFIX}{}", STANDARD.encode(rand::random::<[u8; 32]>()))
}

/// The key of a secret (`whsec_` optional); `None` if it is not base64.
fn key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(PREFIX).unwrap_or(secret)).ok()
}

/// One signature, `v1,<base64>`.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)?).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: a signature per secret in force.
pub fn header(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().filter_map(|s| signature(s, id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's published test vector.
    #[test]
    fn signs_the_specifications_test_vector() {
        let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            signature(secret, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body).as_deref(),
            Some("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=")
        );
    }

    #[test]
    fn a_rotated_secret_signs_with_both_keys() {
        let (old, new) = (new_secret(), new_secret());
        assert!(new.starts_with("whsec_"));
        let h = header(&[&new, &old], "msg_1", 1, b"{}");
        let parts: Vec<&str> = h.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(Some(parts[0]), signature(&new, "msg_1", 1, b"{}").as_deref());
        assert_eq!(Some(parts[1]), signature(&old, "msg_1", 1, b"{}").as_deref());
    }
}
