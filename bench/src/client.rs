//! The HTTP client of the virtual users: one connection pool for all of them, JSON in,
//! the status and the raw body out (parsed only when the bench needs a field of it).

use std::time::Duration;

use reqwest::{Client, Method};
use serde_json::Value;

/// A signed-in account.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: uuid::Uuid,
    pub phone: String,
    pub token: String,
}

#[derive(Clone)]
pub struct Api {
    client: Client,
    /// As a browser's, but following no redirect: a page answers what it answers.
    browser: Client,
    base: String,
}

/// An answer: its status (0 when none came) and its body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The `id` field of a JSON object answer.
    pub fn id(&self) -> Option<uuid::Uuid> {
        self.json()["id"].as_str().and_then(|s| s.parse().ok())
    }
}

impl Api {
    pub fn new(base: &str, connections: usize) -> Self {
        shenbian::webhooks::deliver::install_tls_provider();
        let client = Client::builder()
            .pool_max_idle_per_host(connections.max(1))
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client");
        let browser = Client::builder()
            .pool_max_idle_per_host(connections.max(1))
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self { client, browser, base: base.to_owned() }
    }

    /// `path` below `/api/v1`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Answer {
        self.send_to(method, self.url(path), token, body).await
    }

    /// A GET of a path outside `/api/v1` (the no-op route).
    pub async fn get_root(&self, path: &str) -> Answer {
        self.send_to(Method::GET, format!("{}{path}", self.base), None, None).await
    }

    async fn send_to(&self, method: Method, url: String, token: Option<&str>, body: Option<&Value>) -> Answer {
        let mut request = self.client.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(body) => Answer { status, body: body.to_vec() },
                    Err(_) => Answer { status: 0, body: Vec::new() },
                }
            }
            Err(_) => Answer { status: 0, body: Vec::new() },
        }
    }

    /// Signs in through the web front's form as a browser does (the sign-in page's token
    /// and cookie, then the form); the `Cookie` header its pages then send.
    pub async fn browser_sign_in(&self, phone: &str, password: &str) -> Result<String, String> {
        let page = self.browser.get(format!("{}/login", self.base)).send().await.map_err(|e| e.to_string())?;
        let pre = cookie_set(&page, "sb_pre").ok_or("no sb_pre cookie on the sign-in page")?;
        let html = page.text().await.map_err(|e| e.to_string())?;
        let at = html.find("name=\"csrf\" value=\"").ok_or("no token on the sign-in page")? + 19;
        let csrf = &html[at..at + html[at..].find('"').unwrap_or(0)];
        let signed_in = self
            .browser
            .post(format!("{}/login", self.base))
            .header("cookie", format!("sb_pre={pre}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&phone={phone}&password={password}"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let session = cookie_set(&signed_in, "sb_session").ok_or("the sign-in form set no session cookie")?;
        Ok(format!("sb_session={session}"))
    }

    /// A page, as the browser with `cookie` asks for it.
    pub async fn page(&self, path: &str, cookie: &str) -> Answer {
        match self.browser.get(format!("{}{path}", self.base)).header("cookie", cookie).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(body) => Answer { status, body: body.to_vec() },
                    Err(_) => Answer { status: 0, body: Vec::new() },
                }
            }
            Err(_) => Answer { status: 0, body: Vec::new() },
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        self.send(Method::POST, path, token, Some(body)).await
    }

    /// A POST without a body (accept, start, approve, sign, activate).
    pub async fn post_empty(&self, path: &str, token: &str) -> Answer {
        self.send(Method::POST, path, Some(token), None).await
    }
}

/// The value a response sets for cookie `name`.
fn cookie_set(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let (pair, _) = c.split_once(';').unwrap_or((c, ""));
        let (k, v) = pair.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_owned())
    })
}
