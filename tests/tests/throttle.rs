//! Failed sign-ins are throttled per account and per client address; successes never are.

use serde_json::json;
use shenbian_tests::{PASSWORD, TestApp, next_phone, problem};

#[tokio::test]
async fn an_account_is_throttled_after_repeated_failures_and_others_are_not() {
    let app = TestApp::spawn_with(|s| s.login_max_failures_per_account = 3).await;
    let victim = app.resident().await;
    let bystander = app.resident().await;
    for _ in 0..3 {
        assert_eq!(app.login_response(&victim.phone, "wrong-password-here").await.status(), 401);
    }
    let throttled = app.login_response(&victim.phone, "wrong-password-here").await;
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(problem(throttled).await["code"], "rate_limited");
    // Even the right password waits now: a guesser must not learn that it guessed right.
    assert_eq!(app.login_response(&victim.phone, PASSWORD).await.status(), 429);
    // The same failures do not touch another account.
    assert_eq!(app.login_response(&bystander.phone, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn successful_sign_ins_are_never_throttled_and_clear_the_count() {
    let app = TestApp::spawn_with(|s| s.login_max_failures_per_account = 3).await;
    let resident = app.resident().await;
    for _ in 0..10 {
        assert_eq!(app.login_response(&resident.phone, PASSWORD).await.status(), 200);
    }
    for _ in 0..4 {
        for _ in 0..2 {
            assert_eq!(app.login_response(&resident.phone, "wrong-password-here").await.status(), 401);
        }
        // Two failures then a success, over and over: never throttled.
        assert_eq!(app.login_response(&resident.phone, PASSWORD).await.status(), 200);
    }
}

#[tokio::test]
async fn one_address_guessing_at_many_accounts_is_throttled() {
    let app = TestApp::spawn_with(|s| {
        s.login_max_failures_per_account = 100;
        s.login_max_failures_per_address = 4;
    })
    .await;
    for _ in 0..4 {
        assert_eq!(app.login_response(&next_phone(), "wrong-password-here").await.status(), 401);
    }
    assert_eq!(app.login_response(&next_phone(), "wrong-password-here").await.status(), 429);
}

#[tokio::test]
async fn forwarded_addresses_count_only_when_trusted() {
    let app = TestApp::spawn_with(|s| {
        s.login_max_failures_per_account = 100;
        s.login_max_failures_per_address = 2;
        s.trust_forwarded_for = true;
    })
    .await;
    let attempt = |ip: &'static str| {
        let body = json!({"phone": next_phone(), "password": "wrong-password-here"});
        app.post("/auth/login", None, &body).header("x-forwarded-for", ip).send()
    };
    assert_eq!(attempt("203.0.113.7").await.unwrap().status(), 401);
    assert_eq!(attempt("203.0.113.7").await.unwrap().status(), 401);
    assert_eq!(attempt("203.0.113.7").await.unwrap().status(), 429);
    assert_eq!(attempt("198.51.100.9").await.unwrap().status(), 401, "another client behind the proxy");

    let untrusted = TestApp::spawn_with(|s| {
        s.login_max_failures_per_account = 100;
        s.login_max_failures_per_address = 2;
    })
    .await;
    for ip in ["203.0.113.1", "203.0.113.2"] {
        let body = json!({"phone": next_phone(), "password": "wrong-password-here"});
        let r = untrusted.post("/auth/login", None, &body).header("x-forwarded-for", ip).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
    let body = json!({"phone": next_phone(), "password": "wrong-password-here"});
    let spoofed =
        untrusted.post("/auth/login", None, &body).header("x-forwarded-for", "203.0.113.3").send().await.unwrap();
    assert_eq!(spoofed.status(), 429, "a forged header does not escape the limit");
}

#[tokio::test]
async fn guessing_one_time_codes_is_throttled() {
    let app = TestApp::spawn_with(|s| s.login_max_failures_per_account = 3).await;
    let resident = app.resident().await;
    for code in ["12345678", "23456789", "34567890"] {
        let body = json!({"phone": resident.phone, "code": code, "new_password": "fresh-start-please"});
        assert_eq!(app.post("/auth/claim", None, &body).send().await.unwrap().status(), 401);
    }
    let body = json!({"phone": resident.phone, "code": "45678901", "new_password": "fresh-start-please"});
    assert_eq!(app.post("/auth/claim", None, &body).send().await.unwrap().status(), 429);
}
