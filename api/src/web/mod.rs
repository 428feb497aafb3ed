//! The web front, served at `/` by the same binary: the resident's phone page, the
//! dispatcher's desk and the provider's inbox. Pages are rendered on the server (maud) and
//! call the API in-process as their caller ([`client`]), so they show exactly what the API
//! answers and every rule stays in one place. A small script (`web/app.js`) adds live
//! updates from the event stream and countdowns; every page works without it.

mod account;
mod admin;
mod assets;
mod catalogue;
mod client;
mod desk;
mod figures;
mod inbox;
mod layout;
mod order;
mod partners;
mod resident;
mod session;

use axum::Router;
use axum::extract::State;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::html;
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;
use client::Refusal;
use layout::{Frame, Me};
use session::{Caller, LANG_COOKIE, LARGE_COOKIE, PRE_COOKIE, SESSION_COOKIE, Visit};

/// What the pages are served with: the server's state and the API they call.
#[derive(Clone)]
pub struct Web {
    state: AppState,
    api: Router,
}

/// Content-Security-Policy: scripts, styles and connections from this site only, nothing
/// inline, no frames.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The pages, over the `api` they call.
pub fn router(state: AppState, api: Router) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/prefs", post(prefs))
        .route("/notifications", get(notifications).post(notifications_read))
        .route("/live", get(live))
        .route("/my", get(resident::my_orders))
        .route("/orders/new", get(resident::new_order).post(resident::place_order))
        .route("/orders/{id}", get(order::page).post(order::act))
        .route("/desk", get(desk::queue))
        .route("/desk/intake", get(resident::intake_page).post(resident::intake))
        .route("/desk/volunteers/{id}", post(desk::volunteer))
        .route("/desk/figures", get(figures::staff))
        .route("/desk/partners", get(partners::page))
        .route("/desk/contracts", post(partners::record))
        .route("/desk/contracts/{id}", post(partners::step))
        .route("/desk/export.csv", get(figures::export))
        .route("/admin", get(admin::page))
        .route("/admin/partners/{id}", post(admin::partner))
        .route("/admin/staff", post(admin::staff))
        .route("/admin/categories", get(catalogue::categories).post(catalogue::create_category))
        .route("/admin/categories/{code}", post(catalogue::change_category))
        .route("/admin/places", get(catalogue::places))
        .route("/admin/communities", post(catalogue::add_community))
        .route("/admin/communities/{id}/compounds", post(catalogue::add_compound))
        .route("/admin/compounds/{id}/buildings", post(catalogue::add_building))
        .route("/account", get(account::page))
        .route("/account/export", get(account::export))
        .route("/account/close", post(account::close))
        .route("/public", get(figures::communities))
        .route("/public/{id}", get(figures::community))
        .route("/inbox", get(inbox::jobs))
        .route("/static/{name}", get(assets::serve))
        .with_state(Web { state, api })
        .layer(axum::middleware::map_response(secure))
}

async fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

/// A posted form's fields, in order (a field may repeat: checkboxes).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The field, trimmed; empty as none.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

type Form = axum::Form<Fields>;

/// A path on this site to send a browser back to: `/…`, never `//host`, `/\\host` or one
/// with a tab or line break (which browsers drop), all read as another site.
fn local_path(path: &str) -> bool {
    let mut chars = path.chars();
    chars.next() == Some('/') && !matches!(chars.next(), Some('/' | '\\')) && !path.chars().any(char::is_control)
}

/// 303 to `to`.
fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response()
}

/// The sign-in page, ending the browser's session cookie if it had one.
fn to_sign_in(visit: &Visit) -> Response {
    let mut response = see_other("/login");
    if visit.caller.is_some() {
        response.headers_mut().append(SET_COOKIE, visit.cookie(SESSION_COOKIE, "", 0, true));
    }
    response
}

/// The signed-in caller (`GET /me`) and their unread notices, or the way to sign in.
async fn signed_in(visit: &Visit) -> Result<(Me, u64), Response> {
    if visit.caller.is_none() {
        return Err(to_sign_in(visit));
    }
    #[derive(Deserialize)]
    struct Unread {
        unread: u64,
    }
    let api = visit.api();
    let (me, unread) = tokio::join!(api.get::<Me>("/api/v1/me"), api.get::<Unread>("/api/v1/me/notifications?limit=1"));
    match me {
        Ok(me) => Ok((me, unread.map_or(0, |u| u.unread))),
        Err(r) if r.status == StatusCode::UNAUTHORIZED => Err(to_sign_in(visit)),
        Err(r) => Err(failed(visit, None, &r)),
    }
}

/// A page saying what the API refused, with its status.
fn failed(visit: &Visit, me: Option<&Me>, refusal: &Refusal) -> Response {
    let frame = Frame { visit, me, unread: 0 };
    let title = frame.t("无法完成", "Not possible");
    let status = match refusal.status {
        StatusCode::BAD_GATEWAY => StatusCode::INTERNAL_SERVER_ERROR,
        s => s,
    };
    frame.page_with(
        status,
        title,
        html! {
            h1 { (title) }
            (frame.notice(&refusal.message(), true))
            p { a href="/" { (frame.t("回到首页", "Back to the start")) } }
        },
    )
}

async fn home(visit: Visit) -> Response {
    let (me, _) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if me.is("dispatcher") {
        see_other("/desk")
    } else if me.is("admin") {
        see_other("/admin")
    } else if me.provider() {
        see_other("/inbox")
    } else {
        see_other("/my")
    }
}

fn login_form(visit: &Visit, phone: &str, error: Option<&str>, status: StatusCode) -> Response {
    let frame = Frame { visit, me: None, unread: 0 };
    let title = frame.t("登录", "Sign in");
    frame.page_with(
        status,
        title,
        html! {
            h1 { (title) }
            @if let Some(error) = error { (frame.notice(error, true)) }
            form.stack method="post" action="/login" {
                (frame.csrf())
                label for="phone" { (frame.t("手机号", "Mobile number")) }
                input #phone name="phone" type="tel" inputmode="numeric" autocomplete="username" required value=(phone);
                label for="password" { (frame.t("密码", "Password")) }
                input #password name="password" type="password" autocomplete="current-password" required;
                button.primary type="submit" { (title) }
            }
        },
    )
}

async fn login_page(visit: Visit) -> Response {
    login_form(&visit, "", None, StatusCode::OK)
}

async fn login(visit: Visit, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let phone = form.get("phone").unwrap_or_default();
    let body = json!({ "phone": phone, "password": form.get("password").unwrap_or_default() });
    #[derive(Deserialize)]
    struct SignedIn {
        access_token: String,
    }
    let signed_in: SignedIn = match visit.api().post("/api/v1/auth/login", body).await {
        Ok(s) => s,
        Err(r) => return login_form(&visit, phone, Some(&r.message()), r.status),
    };
    let Some(keys) = visit.keys() else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    let Some(claims) = keys.verify_access(&signed_in.access_token) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let caller = Caller { user_id: claims.sub, session_id: claims.sid };
    let mut response = see_other("/");
    let headers = response.headers_mut();
    headers.append(SET_COOKIE, visit.cookie(SESSION_COOKIE, &caller.seal(keys), visit.session_max_age(), true));
    headers.append(SET_COOKIE, visit.cookie(PRE_COOKIE, "", 0, true));
    response
}

async fn logout(visit: Visit, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    // Ended or not, the browser forgets it.
    let _ = visit.api().post::<serde::de::IgnoredAny>("/api/v1/auth/logout", json!({})).await;
    let mut response = see_other("/login");
    response.headers_mut().append(SET_COOKIE, visit.cookie(SESSION_COOKIE, "", 0, true));
    response
}

/// 403: a form from another site, or without this browser's token.
fn forbidden(visit: &Visit) -> Response {
    let frame = Frame { visit, me: None, unread: 0 };
    let title = frame.t("请求已拒绝", "Request refused");
    frame.page_with(
        StatusCode::FORBIDDEN,
        title,
        html! {
            h1 { (title) }
            (frame.notice(frame.t("表单已过期或来自其他网站。请刷新页面后重试。", "The form expired or came from another site. Reload the page and try again."), true))
        },
    )
}

/// The language and large-type switches: cookies for a year.
async fn prefs(visit: Visit, headers: HeaderMap, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    // Back to the page the switch was on, if it was one of ours.
    let back = headers
        .get("referer")
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .filter(|path| local_path(path))
        .unwrap_or("/");
    let mut response = see_other(back);
    let year = 365 * 86_400;
    if let Some(lang) = form.get("lang").filter(|l| matches!(*l, "zh" | "en")) {
        response.headers_mut().append(SET_COOKIE, visit.cookie(LANG_COOKIE, lang, year, true));
    }
    if let Some(large) = form.get("large").filter(|l| matches!(*l, "0" | "1")) {
        response.headers_mut().append(SET_COOKIE, visit.cookie(LARGE_COOKIE, large, year, true));
    }
    response
}

/// The caller's live events: the API's stream, for the page's script.
async fn live(visit: Visit, headers: HeaderMap) -> Response {
    if visit.caller.is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    visit.api().raw("/api/v1/events/stream", headers.get("last-event-id")).await
}

#[derive(Deserialize)]
struct Inbox {
    items: Vec<Notice>,
}

#[derive(Deserialize)]
struct Notice {
    text: String,
    order_id: Option<uuid::Uuid>,
    order_number: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
    read: bool,
}

async fn notifications(State(web): State<Web>, visit: Visit) -> Response {
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let inbox: Inbox = match visit.api().get("/api/v1/me/notifications?limit=50").await {
        Ok(inbox) => inbox,
        Err(r) => return failed(&visit, Some(&me), &r),
    };
    let frame = Frame { visit: &visit, me: Some(&me), unread };
    let tz = web.state.timezone();
    let title = frame.t("通知", "Notices");
    frame.page(
        title,
        html! {
            h1 { (title) }
            @if unread > 0 {
                form method="post" action="/notifications" {
                    (frame.csrf())
                    button type="submit" { (frame.t("全部标为已读", "Mark all read")) }
                }
            }
            section id="notices" data-live aria-live="polite" {
                @if inbox.items.is_empty() {
                    p.muted { (frame.t("暂无通知", "No notices yet")) }
                }
                ul.cards {
                    @for n in &inbox.items {
                        li.card.unread[!n.read] {
                            p { (n.text) }
                            p.meta {
                                (frame.time(n.at, tz))
                                @if let (Some(id), Some(number)) = (n.order_id, &n.order_number) {
                                    " · " a href=(format!("/orders/{id}")) { (number) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

async fn notifications_read(visit: Visit, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    match visit.api().post::<serde::de::IgnoredAny>("/api/v1/me/notifications/read", json!({ "all": true })).await {
        Ok(_) => see_other("/notifications"),
        Err(r) => failed(&visit, None, &r),
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_paths_of_this_site_are_local() {
        assert!(local_path("/orders/1") && local_path("/"));
        assert!(
            !local_path("//evil.example/x") && !local_path("/\\evil.example") && !local_path("https://evil.example")
        );
        assert!(!local_path("") && !local_path("/\t/evil.example"));
    }
}
