//! Logs never contain a phone number, a password or a token, even at the most verbose
//! level. This test binary installs its own subscriber writing to memory and scans it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use shenbian_tests::{TestApp, next_phone};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_phone_password_or_token_reaches_the_log() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(move || writer.clone())
        .init();

    let app = TestApp::spawn().await;
    let phone = next_phone();
    let password = "a-password-nobody-may-log";
    let body = json!({"phone": phone, "password": password, "display_name": "张三"});
    let registered: Value = app.post("/auth/register", None, &body).send().await.unwrap().json().await.unwrap();
    let wrong = json!({"phone": phone, "password": "another-password-to-hide"});
    app.post("/auth/login", None, &wrong).send().await.unwrap();
    let login = app.login_response(&phone, password).await;
    let login: Value = login.json().await.unwrap();
    let refresh = json!({"refresh_token": login["refresh_token"]});
    let rotated: Value = app.post("/auth/refresh", None, &refresh).send().await.unwrap().json().await.unwrap();
    app.post("/auth/refresh", None, &refresh).send().await.unwrap();
    app.get(&format!("/me?phone={phone}"), login["access_token"].as_str()).send().await.unwrap();
    app.post("/auth/register", None, &body).send().await.unwrap();

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("signed in"), "the log was captured");
    let secrets = [
        phone.clone(),
        password.to_owned(),
        "another-password-to-hide".to_owned(),
        registered["access_token"].as_str().unwrap().to_owned(),
        registered["refresh_token"].as_str().unwrap().to_owned(),
        login["access_token"].as_str().unwrap().to_owned(),
        login["refresh_token"].as_str().unwrap().to_owned(),
        rotated["refresh_token"].as_str().unwrap().to_owned(),
    ];
    for secret in secrets {
        assert!(!log.contains(&secret), "the log contains {}…", &secret[..4]);
    }
}
