//! Access tokens as compact JWTs signed with HS256, and nothing else: the algorithm is
//! pinned (a header naming any other, `none` included, is refused before the signature is
//! looked at), `exp` and `sub` are required, and the signature is compared in constant time.
//! Forty lines on `hmac` and `sha2`, which the service carries anyway, instead of a JWT
//! library whose backends bring a second cryptography stack into the build.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

/// What an access token carries: the user and the session, nothing else. Roles and
/// memberships are read per request, so a change takes effect at once.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
}

/// `{"alg":"HS256","typ":"JWT"}`, encoded.
const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
}

fn mac(key: &[u8], signed: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(signed.as_bytes());
    mac
}

/// Signs the claims.
pub fn sign(claims: &Claims, key: &[u8]) -> String {
    // Serialising four plain fields cannot fail.
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signed = format!("{HEADER}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(mac(key, &signed).finalize().into_bytes());
    format!("{signed}.{signature}")
}

/// The token's claims if its header says HS256, its signature is right and it has not
/// expired more than `leeway_secs` before `now` (Unix seconds).
pub fn verify(token: &str, key: &[u8], now: i64, leeway_secs: i64) -> Option<Claims> {
    let (signed, signature) = token.rsplit_once('.')?;
    let (header, payload) = signed.split_once('.')?;
    if payload.contains('.') {
        return None;
    }
    let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.alg != "HS256" || header.typ.as_deref().is_some_and(|t| t != "JWT") {
        return None;
    }
    mac(key, signed).verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?).ok()?;
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    (claims.exp.saturating_add(leeway_secs) >= now).then_some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a-test-signing-key-of-enough-length";

    fn claims(exp: i64) -> Claims {
        Claims { sub: Uuid::now_v7(), sid: Uuid::now_v7(), iat: exp - 900, exp }
    }

    #[test]
    fn signs_as_the_specification_does() {
        // The example of RFC 7515's tooling (jwt.io): the same header, payload and key give
        // the same signature.
        let signed = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ";
        let signature = URL_SAFE_NO_PAD.encode(mac(b"your-256-bit-secret", signed).finalize().into_bytes());
        assert_eq!(signature, "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
    }

    #[test]
    fn a_token_verifies_until_it_expires_beyond_the_leeway() {
        let token = sign(&claims(1_000), KEY);
        assert_eq!(verify(&token, KEY, 900, 5).map(|c| c.exp), Some(1_000));
        assert!(verify(&token, KEY, 1_005, 5).is_some());
        assert!(verify(&token, KEY, 1_006, 5).is_none());
        assert!(verify(&token, b"another-key-of-enough-length-0000", 900, 5).is_none());
    }

    #[test]
    fn other_algorithms_extra_parts_and_tampering_are_refused() {
        let token = sign(&claims(1_000), KEY);
        let (_, rest) = token.split_once('.').unwrap();
        let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(verify(&format!("{none}.{rest}"), KEY, 900, 5).is_none());
        assert!(verify(&format!("{token}.x"), KEY, 900, 5).is_none());
        let mut tampered = token.into_bytes();
        let at = tampered.len() / 2;
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        assert!(verify(&String::from_utf8(tampered).unwrap(), KEY, 900, 5).is_none());
        assert!(verify("", KEY, 900, 5).is_none());
    }
}
