//! A signed-in account is its own client: [`Actor`] carries its tokens and the way to the
//! server, and sends requests as itself. The verbs of the story (`create_order`, `accept`,
//! `complete`, …) live in [`crate::verbs`] and [`crate::records`]; this module holds what
//! they share: sending, and reading an answer as the API's own view type or as the
//! [`Problem`] the API answered instead.

use reqwest::{Method, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

/// The problem document of a refused request, as the API defines it: `status`, `code`,
/// `title`, `detail`, per-field `errors` and, for a dispatch, the `ineligible` providers.
pub use shenbian::error::Problem;

/// A signed-in account, and the client that acts as it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub phone: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
    pub(crate) server: Server,
}

/// Where requests go: the test's HTTP client and the API's base URL.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    pub(crate) http: reqwest::Client,
    /// `http://127.0.0.1:port/api/v1`.
    pub(crate) base: String,
}

/// What a request answered: the view when the status was the one the endpoint documents for
/// success, the problem when it was refused.
pub type Answer<T> = Result<T, Problem>;

impl Actor {
    /// A request to `/api/v1{path}` carrying this account's access token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.server.http.request(method, format!("{}{path}", self.server.base)).bearer_auth(&self.access_token)
    }

    /// Sends `request` and reads the answer: `T` when the status is `expected`, the problem
    /// when it is a 4xx or 5xx. Any other status, a problem without `application/problem+json`
    /// or whose `status` differs from the response's, or a body that is not a `T`, fails the
    /// test.
    pub async fn send<T: DeserializeOwned>(&self, request: RequestBuilder, expected: u16) -> Answer<T> {
        read(request.send().await.expect("the server answers"), expected).await
    }

    /// `GET`, answered 200.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Answer<T> {
        self.send(self.request(Method::GET, path), 200).await
    }

    /// `POST` with a JSON body, answered 200.
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Answer<T> {
        self.send(self.request(Method::POST, path).json(body), 200).await
    }

    /// `POST` with a JSON body, answered 201 (something was created).
    pub async fn create<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Answer<T> {
        self.send(self.request(Method::POST, path).json(body), 201).await
    }

    /// `POST` without a body, answered 200.
    pub async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> Answer<T> {
        self.send(self.request(Method::POST, path), 200).await
    }

    /// `PATCH` with a JSON body, answered 200.
    pub async fn patch<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Answer<T> {
        self.send(self.request(Method::PATCH, path).json(body), 200).await
    }
}

async fn read<T: DeserializeOwned>(response: Response, expected: u16) -> Answer<T> {
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = response.text().await.expect("a body");
    if status == expected {
        let text = if text.is_empty() { "null" } else { text.as_str() };
        return Ok(serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("a {} in the {status} answer ({e}): {text}", std::any::type_name::<T>())));
    }
    assert!(status >= 400, "expected {expected}, got {status}: {text}");
    assert_eq!(content_type, shenbian::error::PROBLEM_JSON, "the {status} answer is a problem document: {text}");
    let problem: Problem = serde_json::from_str(&text).unwrap_or_else(|e| panic!("a problem ({e}): {text}"));
    assert_eq!(problem.status, status, "the problem's status is the response's: {text}");
    Err(problem)
}

/// How a batch of racing requests ended: how many were answered with success, and the
/// status of each refusal, in order.
pub fn outcomes<T>(answers: &[Answer<T>]) -> (usize, Vec<u16>) {
    let won = answers.iter().filter(|a| a.is_ok()).count();
    (won, answers.iter().filter_map(|a| a.as_ref().err()).map(|p| p.status).collect())
}

/// The id of an object read as JSON (`body.id()`); views have their `id` field.
pub trait Id {
    fn id(&self) -> Uuid;
}

impl Id for Value {
    fn id(&self) -> Uuid {
        self["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("an id in {self}"))
    }
}

/// A view as the JSON the server sent: for checks on the whole text (that a phone number
/// appears nowhere in it) and for comparing two answers field by field.
pub fn json_of(view: &impl Serialize) -> Value {
    serde_json::to_value(view).expect("a view serializes")
}
