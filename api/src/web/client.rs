//! The pages' way to the API: a page calls the API's own routes in-process, as its signed-in
//! caller, so every rule — who may see what, masking, the life cycle, throttling — lives
//! once, in the API, and a page shows what the API answers.

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::header::{ACCEPT_LANGUAGE, AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower::ServiceExt;

use crate::error::Problem;
use crate::lang::Lang;

/// The most of an answer a page reads (a page of 100 orders is far below it).
const ANSWER_LIMIT: usize = 8 * 1024 * 1024;

/// Where the browser's request came from, passed on so that the API throttles sign-ins by
/// the browser's address, as it does its own callers'.
#[derive(Clone, Default)]
pub struct Origin {
    pub connect: Option<ConnectInfo<SocketAddr>>,
    pub forwarded_for: Vec<HeaderValue>,
}

/// The API, as one caller.
pub struct Api {
    router: Router,
    bearer: Option<HeaderValue>,
    lang: Lang,
    origin: Origin,
}

/// A page of the API's list envelope, as far as the pages read it.
#[derive(Debug, serde::Deserialize)]
pub struct List<T> {
    pub items: Vec<T>,
}

/// A community, as the pages list it.
#[derive(Debug, serde::Deserialize)]
pub struct Community {
    pub id: uuid::Uuid,
    pub name: String,
    pub street: String,
}

/// A service of the catalogue, as the pages name it.
#[derive(Debug, serde::Deserialize)]
pub struct Category {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub active: bool,
}

impl Category {
    /// Its name in the page's language.
    pub fn name(&self, english: bool) -> &str {
        if english { &self.name_en } else { &self.name_zh }
    }
}

/// The API's refusal: its status and problem document.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub problem: Problem,
}

impl Refusal {
    /// The sentence a page shows: the problem's detail, and each field's message.
    pub fn message(&self) -> String {
        let mut text = self.problem.detail.clone();
        for e in &self.problem.errors {
            text.push_str(&format!(" {}", e.message));
        }
        for p in &self.problem.ineligible {
            for r in &p.reasons {
                text.push_str(&format!(" {}", r.text));
            }
        }
        text
    }

    /// A form the pages did not make (no step, a missing field).
    pub fn bad_form() -> Self {
        let mut problem = plain_problem(StatusCode::BAD_REQUEST);
        problem.detail = "表单无法识别，请刷新页面后重试。The form was not understood; reload the page.".into();
        Self { status: StatusCode::BAD_REQUEST, problem }
    }

    /// A page the caller's roles do not open.
    pub fn forbidden() -> Self {
        let mut problem = plain_problem(StatusCode::FORBIDDEN);
        problem.detail = "您的账户不能打开此页面。Your account may not open this page.".into();
        Self { status: StatusCode::FORBIDDEN, problem }
    }

    /// The message about one field of the request, if the API named it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.problem.errors.iter().find(|e| e.field == name).map(|e| e.message.as_str())
    }
}

impl Api {
    pub fn new(router: Router, access_token: Option<String>, lang: Lang, origin: Origin) -> Self {
        let bearer = access_token.and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok());
        Self { router, bearer, lang, origin }
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Refusal> {
        self.json(Method::GET, path, None, None).await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: Value) -> Result<T, Refusal> {
        self.json(Method::POST, path, Some(body), None).await
    }

    pub async fn patch<T: DeserializeOwned>(&self, path: &str, body: Value) -> Result<T, Refusal> {
        self.json(Method::PATCH, path, Some(body), None).await
    }

    /// A `POST` that the API answers once per key (order creation).
    pub async fn post_once<T: DeserializeOwned>(&self, path: &str, body: Value, key: &str) -> Result<T, Refusal> {
        self.json(Method::POST, path, Some(body), Some(key)).await
    }

    /// The API's answer as it is, streamed (the live stream).
    pub async fn raw(&self, path: &str, last_event_id: Option<&HeaderValue>) -> Response {
        let mut req = self.request(Method::GET, path, Body::empty());
        if let Some(id) = last_event_id {
            req.headers_mut().insert("last-event-id", id.clone());
        }
        self.send(req).await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> Result<T, Refusal> {
        let has_body = body.is_some();
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let mut req = self.request(method, path, body);
        if has_body {
            req.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(key) = idempotency_key.and_then(|k| HeaderValue::from_str(k).ok()) {
            req.headers_mut().insert("idempotency-key", key);
        }
        let response = self.send(req).await;
        let status = response.status();
        let bytes = to_bytes(response.into_body(), ANSWER_LIMIT).await.map_err(|e| unreadable(&e))?;
        if status.is_success() {
            let bytes = if bytes.is_empty() { &b"null"[..] } else { &bytes[..] };
            return serde_json::from_slice(bytes).map_err(|e| unreadable(&e));
        }
        let problem = serde_json::from_slice(&bytes).unwrap_or_else(|_| plain_problem(status));
        Err(Refusal { status, problem })
    }

    fn request(&self, method: Method, path: &str, body: Body) -> Request<Body> {
        let mut req = Request::new(body);
        *req.method_mut() = method;
        *req.uri_mut() = path.parse().unwrap_or_default();
        let headers = req.headers_mut();
        if let Some(bearer) = &self.bearer {
            headers.insert(AUTHORIZATION, bearer.clone());
        }
        let lang = if self.lang == Lang::En { "en" } else { "zh-CN" };
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static(lang));
        for hop in &self.origin.forwarded_for {
            headers.append("x-forwarded-for", hop.clone());
        }
        if let Some(connect) = self.origin.connect {
            req.extensions_mut().insert(connect);
        }
        req
    }

    async fn send(&self, req: Request<Body>) -> Response {
        match self.router.clone().oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

fn unreadable(e: &dyn std::fmt::Display) -> Refusal {
    tracing::warn!(error = %e, "a page could not read the API's answer");
    Refusal { status: StatusCode::BAD_GATEWAY, problem: plain_problem(StatusCode::BAD_GATEWAY) }
}

fn plain_problem(status: StatusCode) -> Problem {
    let title = status.canonical_reason().unwrap_or("error").to_owned();
    Problem {
        kind: "about:blank".into(),
        detail: title.clone(),
        title,
        status: status.as_u16(),
        code: "unexpected".into(),
        errors: Vec::new(),
        ineligible: Vec::new(),
    }
}
