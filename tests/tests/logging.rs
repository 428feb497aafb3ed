//! Logs never contain a phone number, a password or a token, even at the most verbose
//! level. This test binary installs its own subscriber writing to memory and scans it.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};
use shenbian_tests::{TestApp, next_phone};
use uuid::Uuid;

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

impl Capture {
    /// Everything logged so far, by every test of this binary (they run at once).
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// The lines logged within the span of the request with this id.
    fn lines_of(&self, request_id: &str) -> Vec<Value> {
        let text = self.text();
        let lines = text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok());
        let of_request =
            |l: &Value| l["spans"].as_array().is_some_and(|s| s.iter().any(|s| s["request_id"] == request_id));
        lines.filter(of_request).collect()
    }
}

/// The one subscriber of this test binary, installed by the first test that asks.
fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(move || writer.clone())
            .init();
        capture
    })
}

#[tokio::test]
async fn no_phone_password_or_token_reaches_the_log() {
    let capture = capture();

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

    let log = capture.text();
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

#[tokio::test]
async fn every_request_is_logged_once_with_its_route_template_status_time_and_request_id() {
    let capture = capture();
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let (order, phone, request_id) = (Uuid::now_v7(), next_phone(), Uuid::now_v7().to_string());

    let response = app
        .get(&format!("/orders/{order}?phone={phone}"), Some(&resident.access_token))
        .header("x-request-id", &request_id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let answered: Vec<Value> =
        capture.lines_of(&request_id).into_iter().filter(|l| l["fields"]["message"] == "answered").collect();
    assert_eq!(answered.len(), 1, "one access line per request");
    let line = &answered[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["span"]["route"], "/api/v1/orders/{id}");
    assert_eq!(line["fields"]["status"], 404);
    assert!(line["fields"]["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
    let log = capture.text();
    assert!(!log.contains(&order.to_string()), "the route template, never the path");
    assert!(!log.contains(&phone), "never the query string");
}

#[tokio::test]
async fn a_throttled_sign_in_is_logged_at_warn_without_the_phone() {
    let capture = capture();
    let app = TestApp::spawn_with(|s| s.login_max_failures_per_account_and_address = 1).await;
    let phone = next_phone();
    let wrong = json!({"phone": phone, "password": "not-the-password"});
    let (failed, throttled) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());

    let first = app.post("/auth/login", None, &wrong).header("x-request-id", &failed).send().await.unwrap();
    assert_eq!(first.status(), 401);
    let second = app.post("/auth/login", None, &wrong).header("x-request-id", &throttled).send().await.unwrap();
    assert_eq!(second.status(), 429);

    let refused = capture.lines_of(&failed);
    assert!(
        refused.iter().any(|l| l["level"] == "INFO" && l["fields"]["message"].as_str().unwrap().contains("refused"))
    );
    let lines = capture.lines_of(&throttled);
    let warning = lines.iter().find(|l| l["level"] == "WARN").expect("a warning for the throttled attempt");
    assert!(warning["fields"]["message"].as_str().unwrap().contains("throttled"), "{warning}");
    assert_eq!(warning["fields"]["limit"], "account_and_address");
    assert!(!capture.text().contains(&phone));
}
