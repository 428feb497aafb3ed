//! The web front's sessions and forms, over HTTP as a browser sends them: the cookie is the
//! API's session (a password change elsewhere ends it), forms need their token and this site,
//! a stranger's order is a 404 page, every page carries the Content-Security-Policy. The whole
//! story in a real browser is `.ci/browser.sh`.

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, redirect};
use serde_json::json;
use shenbian_tests::scene::{order_body, world};
use shenbian_tests::{Actor, TestApp};

/// A browser: its cookies, no automatic redirects.
struct Browser {
    http: Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(app: &TestApp) -> Self {
        let http = Client::builder().redirect(redirect::Policy::none()).build().unwrap();
        Self { http, base: app.url(""), cookies: Vec::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, headers: &HeaderMap) {
        for set in headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !attributes.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    async fn get(&mut self, path: &str) -> (u16, HeaderMap, String) {
        let r =
            self.http.get(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).send().await.unwrap();
        self.read(r).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> (u16, HeaderMap, String) {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let r = request.send().await.unwrap();
        self.read(r).await
    }

    async fn read(&mut self, r: Response) -> (u16, HeaderMap, String) {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        self.keep(&headers);
        (status, headers, r.text().await.unwrap())
    }

    /// The CSRF token of the page's first form.
    async fn token(&mut self, path: &str) -> String {
        let (_, _, html) = self.get(path).await;
        let at = html.find("name=\"csrf\" value=\"").expect("a form with a token") + 19;
        html[at..at + html[at..].find('"').unwrap()].to_owned()
    }

    async fn sign_in(&mut self, who: &Actor) -> (u16, HeaderMap, String) {
        let csrf = self.token("/login").await;
        self.post("/login", &[("csrf", &csrf), ("phone", &who.phone), ("password", &who.password)], None).await
    }

    fn has(&self, name: &str) -> bool {
        self.cookies.iter().any(|(k, _)| k == name)
    }
}

fn location(headers: &HeaderMap) -> &str {
    headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn the_browser_session_is_an_api_session_and_ends_with_it() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let mut browser = Browser::new(&app);

    let (status, headers, _) = browser.get("/my").await;
    assert_eq!((status, location(&headers)), (303, "/login"), "pages need a session");
    let (status, headers, _) = browser.sign_in(&resident).await;
    assert_eq!((status, location(&headers)), (303, "/"));
    let set = headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap()).find(|c| c.starts_with("sb_session="));
    let set = set.expect("a session cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    let (status, headers, html) = browser.get("/my").await;
    assert_eq!(status, 200);
    assert!(html.contains("我的订单") && html.contains("王秀英"), "{html}");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "{policy}");
    assert!(!html.contains("<script>"), "no inline script");

    // A password change through the API ends every other session: the browser's too.
    let change = json!({"current_password": resident.password, "new_password": "another-long-password"});
    let changed = app.post("/me/password", Some(&resident.access_token), &change).send().await.unwrap();
    assert_eq!(changed.status(), 204);
    let (status, headers, _) = browser.get("/my").await;
    assert_eq!((status, location(&headers)), (303, "/login"));
    assert!(!browser.has("sb_session"), "the dead cookie is removed");
}

#[tokio::test]
async fn forms_need_this_browsers_token_and_this_site() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let mut browser = Browser::new(&app);

    let fields = [("phone", resident.phone.as_str()), ("password", resident.password.as_str())];
    let (status, _, _) = browser.post("/login", &fields, None).await;
    assert_eq!(status, 403, "no token");
    let csrf = browser.token("/login").await;
    let with_token = [fields[0], fields[1], ("csrf", csrf.as_str())];
    let (status, _, _) = browser.post("/login", &with_token, Some("https://evil.example")).await;
    assert_eq!(status, 403, "another site");
    assert!(!browser.has("sb_session"));

    // A wrong password is the API's refusal, shown on the form.
    let wrong = [fields[0], ("password", "not-the-password"), ("csrf", csrf.as_str())];
    let (status, _, html) = browser.post("/login", &wrong, None).await;
    assert_eq!(status, 401);
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(!browser.has("sb_session"));

    // Signed in, the pre-sign-in token no longer works: forms carry the session's.
    browser.post("/login", &with_token, None).await;
    assert!(browser.has("sb_session"));
    let (status, _, _) = browser.post("/logout", &[("csrf", csrf.as_str())], None).await;
    assert_eq!(status, 403);
    let csrf = browser.token("/my").await;
    let (status, headers, _) = browser.post("/logout", &[("csrf", csrf.as_str())], None).await;
    assert_eq!((status, location(&headers)), (303, "/login"));
    assert_eq!(resident.get::<serde_json::Value>("/me").await.map(|_| 200).unwrap_or(401), 200, "other sessions go on");
}

#[tokio::test]
async fn a_resident_orders_through_the_page_and_a_stranger_gets_404() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (resident, stranger) = (app.resident().await, app.resident().await);
    let mut browser = Browser::new(&app);
    browser.sign_in(&resident).await;

    let body = order_body(&w);
    let place = format!(
        "{}/{}",
        body["address"]["compound_id"].as_str().unwrap(),
        body["address"]["building_id"].as_str().unwrap()
    );
    let csrf = browser.token(&format!("/orders/new?community={}", w.community)).await;
    let community = w.community.to_string();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("community_id", community.as_str()),
        ("idem", "web-test-1"),
        ("category_code", body["category_code"].as_str().unwrap()),
        ("title", "厨房水管漏水"),
        ("description", "水槽下面的水管一直滴水"),
        ("place", place.as_str()),
        ("room", "301"),
        ("urgency", "urgent"),
    ];
    let (status, headers, _) = browser.post("/orders/new", &fields, None).await;
    assert_eq!(status, 303);
    let page = location(&headers).to_owned();
    let id = page.rsplit('/').next().unwrap().to_owned();
    let order: serde_json::Value = resident.get(&format!("/orders/{id}")).await.expect("the API has it");
    assert_eq!((order["title"].as_str(), order["urgency"].as_str()), (Some("厨房水管漏水"), Some("urgent")));
    // The same form sent twice (a double tap) is one order.
    let (status, headers, _) = browser.post("/orders/new", &fields, None).await;
    assert_eq!((status, location(&headers)), (303, page.as_str()));

    let (status, _, html) = browser.get(&page).await;
    assert_eq!(status, 200);
    assert!(html.contains("待派单") && html.contains("301"), "her own page shows her address");

    // Bad input is the API's 422, with the field's message, and nothing is placed.
    fields.retain(|(k, _)| *k != "title" && *k != "idem");
    fields.push(("idem", "web-test-2"));
    let (status, _, html) = browser.post("/orders/new", &fields, None).await;
    assert_eq!(status, 422);
    assert!(html.contains("field-error"), "{html}");

    let mut other = Browser::new(&app);
    other.sign_in(&stranger).await;
    let (status, _, _) = other.get(&page).await;
    assert_eq!(status, 404);
}
