//! Access-token attacks all answer 401 with one and the same body, and nothing else.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::{Sha256, Sha512};
use shenbian_tests::TestApp;
use uuid::Uuid;

const SECRET: &str = "a-test-signing-key-of-enough-length-0123456789";

#[derive(Serialize)]
struct Claims {
    sub: Uuid,
    sid: Uuid,
    iat: i64,
    exp: i64,
}

/// A compact JWT made by hand, so that the test does not share the server's code.
fn token(alg: &str, claims: &impl Serialize, key: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
    let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap()));
    let signature = match alg {
        "HS512" => {
            let mut mac = Hmac::<Sha512>::new_from_slice(key.as_bytes()).unwrap();
            mac.update(signed.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
            mac.update(signed.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn sign(claims: &Claims, key: &str) -> String {
    token("HS256", claims, key)
}

fn session_of(token: &str) -> (Uuid, Uuid) {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    (claims["sub"].as_str().unwrap().parse().unwrap(), claims["sid"].as_str().unwrap().parse().unwrap())
}

#[tokio::test]
async fn every_forged_or_stale_token_gets_the_same_401() {
    let app = TestApp::spawn_with(|s| {
        s.jwt_secret = Some(shenbian_tests::shenbian::config::Secret::new(SECRET));
        s.jwt_leeway_secs = 5;
    })
    .await;
    let resident = app.resident().await;
    let (user, session) = session_of(&resident.access_token);
    let now = chrono::Utc::now().timestamp();

    // A token we sign ourselves with the right key is accepted: the forgeries below fail
    // for what they change, not for how this test makes tokens.
    let genuine = sign(&Claims { sub: user, sid: session, iat: now, exp: now + 60 }, SECRET);
    assert_eq!(app.get("/me", Some(&genuine)).send().await.unwrap().status(), 200);
    let within_leeway = sign(&Claims { sub: user, sid: session, iat: now - 900, exp: now - 2 }, SECRET);
    assert_eq!(app.get("/me", Some(&within_leeway)).send().await.unwrap().status(), 200, "leeway is 5 s");

    let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = resident.access_token.split('.').nth(1).unwrap().to_owned();
    let alg_none = format!("{header_none}.{payload}.");
    let wrong_key =
        sign(&Claims { sub: user, sid: session, iat: now, exp: now + 60 }, "another-key-of-enough-length-9876543210");
    let expired = sign(&Claims { sub: user, sid: session, iat: now - 1000, exp: now - 60 }, SECRET);
    let other_user = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"sub":"{}","sid":"{session}","iat":{now},"exp":{}}}"#,
        Uuid::now_v7(),
        now + 60
    ));
    let parts: Vec<&str> = resident.access_token.split('.').collect();
    let tampered = format!("{}.{other_user}.{}", parts[0], parts[2]);
    let no_exp = {
        #[derive(Serialize)]
        struct NoExp {
            sub: Uuid,
            sid: Uuid,
        }
        token("HS256", &NoExp { sub: user, sid: session }, SECRET)
    };
    let hs512 = token("HS512", &Claims { sub: user, sid: session, iat: now, exp: now + 60 }, SECRET);

    let attacks: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("alg none", Some(alg_none)),
        ("wrong key", Some(wrong_key)),
        ("expired beyond the leeway", Some(expired)),
        ("tampered claims", Some(tampered)),
        ("no exp claim", Some(no_exp)),
        ("another algorithm", Some(hs512)),
        ("a refresh token", Some(resident.refresh_token.clone())),
        ("garbage", Some("not.a.token".into())),
        ("empty", Some(String::new())),
    ];
    let mut bodies = Vec::new();
    for (name, token) in attacks {
        let response = app.get("/me", token.as_deref()).send().await.unwrap();
        assert_eq!(response.status(), 401, "{name}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{name}");
        bodies.push((name, response.text().await.unwrap()));
    }
    let first = bodies[0].1.clone();
    for (name, body) in &bodies {
        assert_eq!(body, &first, "{name} must not say more than the others");
    }
    let basic =
        app.client.get(app.url("/api/v1/me")).header("authorization", "Basic dXNlcjpwYXNz").send().await.unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(basic.text().await.unwrap(), first);
}
