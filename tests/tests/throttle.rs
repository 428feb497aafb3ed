//! Password and code attempts are throttled per account from one address and per address
//! (429), and slowed down per account; bursts are counted one by one; successes never are.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::Response;
use serde_json::{Value, json};
use shenbian_tests::{PASSWORD, TestApp, next_phone, problem};

/// How many answers had each status.
fn tally(answers: Vec<Response>) -> std::collections::BTreeMap<u16, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for answer in answers {
        *counts.entry(answer.status().as_u16()).or_default() += 1;
    }
    counts
}

/// A sign-in from the client address `ip` (the service trusts `X-Forwarded-For`).
async fn login_from(app: &TestApp, ip: &str, phone: &str, password: &str) -> Response {
    let body = json!({"phone": phone, "password": password});
    app.post("/auth/login", None, &body).header("x-forwarded-for", ip).send().await.unwrap()
}

#[tokio::test]
async fn an_account_is_throttled_from_one_address_after_repeated_failures_and_others_are_not() {
    let app = TestApp::spawn_with(|s| s.login_max_failures_per_account_and_address = 3).await;
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
    let app = TestApp::spawn_with(|s| s.login_max_failures_per_account_and_address = 3).await;
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
        s.login_max_failures_per_account_and_address = 100;
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
        s.login_max_failures_per_account_and_address = 100;
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
        s.login_max_failures_per_account_and_address = 100;
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
    let app = TestApp::spawn_with(|s| s.login_max_failures_per_account_and_address = 3).await;
    let resident = app.resident().await;
    for code in ["12345678", "23456789", "34567890"] {
        let body = json!({"phone": resident.phone, "code": code, "password": "fresh-start-please"});
        let refused = app.post("/auth/claim", None, &body).send().await.unwrap();
        assert_eq!(refused.status(), 401);
        assert_eq!(problem(refused).await["code"], "invalid_code");
    }
    let body = json!({"phone": resident.phone, "code": "45678901", "password": "fresh-start-please"});
    assert_eq!(app.post("/auth/claim", None, &body).send().await.unwrap().status(), 429);
}

#[tokio::test]
async fn forty_wrong_passwords_sent_at_once_are_evaluated_only_up_to_the_limit() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let answers = join_all((0..40).map(|_| app.login_response(&resident.phone, "wrong-password-here"))).await;
    let counts = tally(answers);
    assert_eq!(counts.get(&401), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&35), "{counts:?}");
}

#[tokio::test]
async fn forty_claim_guesses_sent_at_once_are_evaluated_only_up_to_the_limit() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let answers = join_all((0..40).map(|i| {
        let code = format!("{:08}", 10_000_000 + i);
        let request = app.post(
            "/auth/claim",
            None,
            &json!({"phone": resident.phone, "code": code, "password": "fresh-start-please"}),
        );
        async move { request.send().await.unwrap() }
    }))
    .await;
    let counts = tally(answers);
    assert_eq!(counts.get(&401), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&35), "{counts:?}");
}

#[tokio::test]
async fn password_guesses_through_a_signed_in_session_share_the_limit_even_in_a_burst() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let token = Some(resident.access_token.as_str());
    let change = json!({"current_password": "wrong-password-here", "new_password": "another-good-secret"});
    let close = json!({"password": "wrong-password-here"});
    let answers = join_all((0..40).map(|i| {
        let (path, body) = if i % 2 == 0 { ("/me/password", &change) } else { ("/me/close", &close) };
        let request = app.post(path, token, body);
        async move { request.send().await.unwrap() }
    }))
    .await;
    let counts = tally(answers);
    assert_eq!(counts.get(&422), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&35), "{counts:?}");
    // Sign-in from the same address counts on the same account.
    assert_eq!(app.login_response(&resident.phone, PASSWORD).await.status(), 429);
    assert_eq!(app.call(app.get("/me", token)).await.0, 200, "the account is still open");
}

#[tokio::test]
async fn a_stolen_token_cannot_guess_the_password_by_closing_the_account() {
    let app = TestApp::spawn_with(|s| s.login_max_failures_per_account_and_address = 3).await;
    let resident = app.resident().await;
    let token = Some(resident.access_token.as_str());
    for _ in 0..3 {
        let (status, _) = app.call(app.post("/me/close", token, &json!({"password": "wrong-password-here"}))).await;
        assert_eq!(status, 422);
    }
    let (status, refused) = app.call(app.post("/me/close", token, &json!({"password": PASSWORD}))).await;
    assert_eq!(status, 429, "even the right password waits: {refused}");
    assert_eq!(refused["code"], "rate_limited");
    assert_eq!(app.call(app.get("/me", token)).await.0, 200, "the account is still open");
}

#[tokio::test]
async fn strangers_failing_from_other_addresses_do_not_lock_the_owner_out() {
    let app = TestApp::spawn_with(|s| {
        s.trust_forwarded_for = true;
        s.login_slow_down_after_failures = 3;
        s.login_slow_down_base_ms = 1;
        s.login_slow_down_cap_ms = 5;
    })
    .await;
    let owner = app.resident().await;
    for _ in 0..5 {
        assert_eq!(login_from(&app, "203.0.113.66", &owner.phone, "wrong-password-here").await.status(), 401);
    }
    for password in ["wrong-password-here", PASSWORD] {
        let refused = login_from(&app, "203.0.113.66", &owner.phone, password).await;
        assert_eq!(refused.status(), 429, "the guessing address is throttled");
    }
    // More strangers, each under the per-address limit.
    for i in 0..4 {
        let ip = format!("198.51.100.{i}");
        for _ in 0..4 {
            assert_eq!(login_from(&app, &ip, &owner.phone, "wrong-password-here").await.status(), 401);
        }
    }
    let mine = login_from(&app, "192.0.2.10", &owner.phone, PASSWORD).await;
    assert_eq!(mine.status(), 200, "the owner from her own address gets in");
}

#[tokio::test]
async fn failures_from_many_addresses_slow_the_account_down() {
    let app = TestApp::spawn_with(|s| {
        s.trust_forwarded_for = true;
        s.login_slow_down_after_failures = 2;
        s.login_slow_down_base_ms = 150;
        s.login_slow_down_cap_ms = 300;
    })
    .await;
    let owner = app.resident().await;
    let bystander = app.resident().await;
    for ip in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(login_from(&app, ip, &owner.phone, "wrong-password-here").await.status(), 401);
    }
    let started = Instant::now();
    assert_eq!(login_from(&app, "203.0.113.3", &owner.phone, "wrong-password-here").await.status(), 401);
    assert!(started.elapsed() >= Duration::from_millis(150), "the third attempt waited the base");
    let started = Instant::now();
    assert_eq!(login_from(&app, "192.0.2.10", &owner.phone, PASSWORD).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300), "the wait doubled, up to the cap");
    assert_eq!(login_from(&app, "192.0.2.10", &bystander.phone, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn spoofed_forwarded_entries_do_not_evade_the_address_limit() {
    let behind_one_proxy = TestApp::spawn_with(|s| {
        s.login_max_failures_per_address = 2;
        s.trust_forwarded_for = true;
    })
    .await;
    let behind_two_proxies = TestApp::spawn_with(|s| {
        s.login_max_failures_per_address = 2;
        s.trust_forwarded_for = true;
        s.trusted_proxies = vec!["10.0.0.0/8".to_owned().try_into().unwrap()];
    })
    .await;
    for (app, appended) in [(&behind_one_proxy, "203.0.113.7"), (&behind_two_proxies, "203.0.113.7, 10.1.2.3")] {
        let answers: Vec<u16> = join_all((0..3).map(|i| async move {
            // The client writes a fresh first entry each time; the proxies append the rest.
            let forwarded = format!("198.51.100.{i}, {appended}");
            let body = json!({"phone": next_phone(), "password": "wrong-password-here"});
            let r = app.post("/auth/login", None, &body).header("x-forwarded-for", forwarded).send().await.unwrap();
            r.status().as_u16()
        }))
        .await;
        let mut sorted = answers.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [401, 401, 429], "{appended}");
    }
}

#[tokio::test]
async fn a_wrong_or_spent_code_is_refused_as_a_code_not_a_password() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let body = json!({"phone": resident.phone, "code": "12345678", "password": "fresh-start-please"});
    let refused = app.post("/auth/claim", None, &body).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let refused: Value = problem(refused).await;
    assert_eq!(refused["code"], "invalid_code");
    assert_eq!(refused["detail"], "验证码错误或已过期");
    let refused = app.post("/auth/claim", None, &body).header("accept-language", "en").send().await.unwrap();
    let detail = problem(refused).await["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("code") && !detail.contains("password"), "{detail}");
}
