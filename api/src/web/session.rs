//! Who is at the browser. Signing in through a page starts an ordinary API session (the API's
//! own sign-in, throttled the same way); the browser keeps only a cookie naming that session,
//! sealed with the server's key. Each page mints a short access token for it and calls the
//! API, which reads the session on every request: a logout, a password change or a
//! deactivation ends the browser's session at the next page, on every instance.
//!
//! Forms carry a CSRF token: for a signed-in browser a keyed hash of its session, before
//! sign-in the value of a random cookie (double submit). A form posted from another site —
//! by `Origin` or `Sec-Fetch-Site` — is refused before its token is looked at.

use std::collections::HashMap;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use uuid::Uuid;

use super::Web;
use super::client::{Api, Origin};
use crate::crypto::keys::Keys;
use crate::lang::Lang;

pub const SESSION_COOKIE: &str = "sb_session";
pub const PRE_COOKIE: &str = "sb_pre";
pub const LANG_COOKIE: &str = "sb_lang";
pub const LARGE_COOKIE: &str = "sb_large";

/// A browser's signed-in session, as its cookie names it (not yet checked against the
/// database: the API does that on the page's first call).
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

impl Caller {
    /// The cookie's value: the user, the session and a keyed hash of both.
    pub fn seal(&self, keys: &Keys) -> String {
        let named = format!("{}.{}", self.user_id.simple(), self.session_id.simple());
        let mac = keys.keyed_hash("web-session", &named);
        format!("{named}.{mac}")
    }

    fn open(keys: &Keys, value: &str) -> Option<Self> {
        let (named, mac) = value.rsplit_once('.')?;
        if !same(keys.keyed_hash("web-session", named).as_bytes(), mac.as_bytes()) {
            return None;
        }
        let (user, session) = named.split_once('.')?;
        Some(Self { user_id: user.parse().ok()?, session_id: session.parse().ok()? })
    }
}

/// One request from a browser: its preferences, its session if any, and what its forms
/// must carry.
pub struct Visit {
    pub lang: Lang,
    pub large: bool,
    pub caller: Option<Caller>,
    /// The CSRF token this browser's forms carry.
    pub csrf: String,
    /// A new pre-sign-in token to set as a cookie (none was there).
    pub new_pre: Option<String>,
    /// Served over TLS (by a trusted proxy's word): cookies get `Secure`.
    pub secure: bool,
    cross_site: bool,
    origin: Origin,
    web: Web,
}

impl FromRequestParts<Web> for Visit {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Self::Rejection> {
        let cookies = cookies(&parts.headers);
        let lang = match cookies.get(LANG_COOKIE).map(String::as_str) {
            Some("en") => Lang::En,
            Some("zh") => Lang::Zh,
            _ => Lang::from_headers(&parts.headers),
        };
        let large = cookies.get(LARGE_COOKIE).is_some_and(|v| v == "1");
        let keys = web.state.keys().ok();
        let caller = keys.zip(cookies.get(SESSION_COOKIE)).and_then(|(keys, v)| Caller::open(keys, v));
        let (csrf, new_pre) = match (caller, keys) {
            (Some(c), Some(keys)) => (keys.keyed_hash("web-csrf", &c.session_id.to_string()), None),
            _ => match cookies.get(PRE_COOKIE) {
                Some(pre) if pre.len() == 43 => (pre.clone(), None),
                _ => {
                    let fresh = new_token();
                    (fresh.clone(), Some(fresh))
                }
            },
        };
        let trusted = web.state.settings.trust_forwarded_for;
        let secure = trusted && parts.headers.get("x-forwarded-proto").is_some_and(|v| v == "https");
        let origin = Origin {
            connect: parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().copied(),
            forwarded_for: parts.headers.get_all("x-forwarded-for").iter().cloned().collect(),
        };
        Ok(Self {
            lang,
            large,
            caller,
            csrf,
            new_pre,
            secure,
            cross_site: cross_site(&parts.headers),
            origin,
            web: web.clone(),
        })
    }
}

impl Visit {
    pub fn en(&self) -> bool {
        self.lang == Lang::En
    }

    /// The API, as this browser's caller (or anonymously).
    pub fn api(&self) -> Api {
        let token = self.caller.and_then(|c| {
            let keys = self.web.state.keys().ok()?;
            Some(keys.access_token(c.user_id, c.session_id, self.web.state.now()))
        });
        Api::new(self.web.api.clone(), token, self.lang, self.origin.clone())
    }

    /// Whether a posted form may act: from this site, with this browser's token.
    pub fn may_post(&self, form: &super::Fields) -> bool {
        !self.cross_site && form.get("csrf").is_some_and(|t| same(t.as_bytes(), self.csrf.as_bytes()))
    }

    pub fn keys(&self) -> Option<&Keys> {
        self.web.state.keys().ok()
    }

    /// A `Set-Cookie` value; `max_age` 0 removes the cookie.
    pub fn cookie(&self, name: &str, value: &str, max_age: i64, http_only: bool) -> HeaderValue {
        let mut c = format!("{name}={value}; Path=/; Max-Age={max_age}; SameSite=Lax");
        if http_only {
            c.push_str("; HttpOnly");
        }
        if self.secure {
            c.push_str("; Secure");
        }
        HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("sb_invalid=; Max-Age=0"))
    }

    /// How long a session cookie lives: as long as the API's session may.
    pub fn session_max_age(&self) -> i64 {
        self.web.state.settings.refresh_token_ttl_days as i64 * 86_400
    }
}

/// A form posted by another site: a foreign `Origin`, or the browser saying so.
fn cross_site(headers: &HeaderMap) -> bool {
    if headers.get("sec-fetch-site").is_some_and(|v| v == "cross-site") {
        return true;
    }
    match (headers.get(ORIGIN).and_then(|v| v.to_str().ok()), headers.get(HOST).and_then(|v| v.to_str().ok())) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            !authority.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// 32 random bytes, base64url: a token for a cookie and its form field.
fn new_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.parse().unwrap(), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn a_form_from_another_site_is_cross_site() {
        assert!(cross_site(&headers(&[("origin", "https://evil.example"), ("host", "shenbian.local")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&headers(&[("origin", "null"), ("host", "shenbian.local")])));
        assert!(!cross_site(&headers(&[("origin", "http://shenbian.local:8080"), ("host", "shenbian.local:8080")])));
        assert!(!cross_site(&headers(&[("host", "shenbian.local")])));
    }

    #[test]
    fn cookies_are_read_from_every_header() {
        let got = cookies(&headers(&[("cookie", "a=1; sb_lang=en"), ("cookie", "b=2")]));
        assert_eq!(got.get("sb_lang").map(String::as_str), Some("en"));
        assert_eq!(got.get("b").map(String::as_str), Some("2"));
    }
}
