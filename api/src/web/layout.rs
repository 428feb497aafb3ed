//! The frame every page shares: the document, the navigation by what the caller is, the
//! language and large-type switches, and the small words pages use (states, times).

use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use shenbian_domain::order::{Action, OrderStatus, action_words, status_words};
use uuid::Uuid;

use super::assets;
use super::client::Refusal;
use super::session::Visit;

/// The caller as the API's `GET /me` answers.
#[derive(Debug, Deserialize)]
pub struct Me {
    #[serde(flatten)]
    pub user: MeUser,
    #[serde(default)]
    pub partners: Vec<Membership>,
    #[serde(default)]
    pub volunteers: Vec<VolunteerStanding>,
}

#[derive(Debug, Deserialize)]
pub struct MeUser {
    pub display_name: String,
    pub roles: Vec<String>,
    /// The community a dispatcher works for.
    pub community_id: Option<Uuid>,
    pub home_community_id: Option<Uuid>,
}

#[derive(Debug, Deserialize)]
pub struct Membership {
    pub partner_id: Uuid,
    /// `admin` or `member`.
    #[serde(default)]
    pub role: String,
    pub partner_status: String,
}

#[derive(Debug, Deserialize)]
pub struct VolunteerStanding {
    pub volunteer_id: Uuid,
    pub status: String,
}

impl Me {
    pub fn is(&self, role: &str) -> bool {
        self.user.roles.iter().any(|r| r == role)
    }

    pub fn staff(&self) -> bool {
        self.is("dispatcher") || self.is("admin")
    }

    /// The providers the caller acts for (approved partners and volunteer standings).
    pub fn providers(&self) -> Vec<Uuid> {
        let partners = self.partners.iter().filter(|m| m.partner_status == "approved").map(|m| m.partner_id);
        let volunteers = self.volunteers.iter().filter(|v| v.status == "approved").map(|v| v.volunteer_id);
        partners.chain(volunteers).collect()
    }

    pub fn provider(&self) -> bool {
        !self.providers().is_empty()
    }
}

/// What a page is rendered with.
pub struct Frame<'a> {
    pub visit: &'a Visit,
    pub me: Option<&'a Me>,
    pub unread: u64,
}

impl Frame<'_> {
    /// The words in the page's language.
    pub fn t(&self, zh: &'static str, en: &'static str) -> &'static str {
        if self.visit.en() { en } else { zh }
    }

    /// The hidden field every form carries.
    pub fn csrf(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.visit.csrf); }
    }

    /// A whole page.
    pub fn page(&self, title: &str, main: Markup) -> Response {
        self.page_with(StatusCode::OK, title, main)
    }

    /// A page headed by its title, with the API's refusal (and its status) when a form was
    /// refused.
    pub fn titled(&self, title: &str, refusal: Option<&Refusal>, main: Markup) -> Response {
        let status = refusal.map_or(StatusCode::OK, |r| r.status);
        let body = html! {
            h1 { (title) }
            @if let Some(r) = refusal { (self.notice(&r.message(), true)) }
            (main)
        };
        self.page_with(status, title, body)
    }

    /// A step that needs a reason, folded away until opened: `name` = `value` with `reason`.
    pub fn with_reason(&self, action: &str, id: &str, summary: &str, confirm: &str, value: &str) -> Markup {
        html! {
            details {
                summary { (summary) }
                form.stack method="post" action=(action) {
                    (self.csrf())
                    label for=(format!("reason-{id}")) { (self.t("原因", "Reason")) }
                    input id=(format!("reason-{id}")) name="reason" required maxlength="500";
                    button type="submit" name="do" value=(value) { (confirm) }
                }
            }
        }
    }

    pub fn page_with(&self, status: StatusCode, title: &str, main: Markup) -> Response {
        let v = self.visit;
        let doc = html! {
            (DOCTYPE)
            html lang=(if v.en() { "en" } else { "zh-CN" }) class=[v.large.then_some("large")] {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · " (self.t("身边", "Shenbian")) }
                    link rel="icon" href="data:,";
                    link rel="stylesheet" href=(assets::url("app.css"));
                    script src=(assets::url("app.js")) defer {}
                }
                body {
                    a.skip href="#main" { (self.t("跳到正文", "Skip to content")) }
                    header.bar { (self.nav()) }
                    main id="main" tabindex="-1" { (main) }
                    footer.foot { (self.switches()) }
                }
            }
        };
        let mut response = (status, Html(doc.into_string())).into_response();
        response.headers_mut().insert(CACHE_CONTROL, "no-store".parse().expect("static header"));
        if let Some(pre) = &v.new_pre {
            response.headers_mut().append(SET_COOKIE, v.cookie(super::session::PRE_COOKIE, pre, 86_400, true));
        }
        response
    }

    fn nav(&self) -> Markup {
        html! {
            nav aria-label=(self.t("主导航", "Main")) {
                a.brand href="/" { (self.t("身边", "Shenbian")) }
                @if let Some(me) = self.me {
                    span.who { (me.user.display_name) }
                    ul {
                        @if me.is("resident") {
                            li { a href="/my" { (self.t("我的订单", "My orders")) } }
                        }
                        @if me.staff() {
                            li { a href="/desk" { (self.t("调度台", "Desk")) } }
                        }
                        @if me.is("admin") {
                            li { a href="/admin" { (self.t("区管理", "Admin")) } }
                        }
                        @if me.provider() {
                            li { a href="/inbox" { (self.t("接单", "Jobs")) } }
                        }
                        li {
                            a href="/notifications" {
                                (self.t("通知", "Notices"))
                                @if self.unread > 0 {
                                    " " span.badge aria-label=(format!("{} {}", self.unread, self.t("条未读", "unread"))) { (self.unread) }
                                }
                            }
                        }
                        li { a href="/account" { (self.t("账户", "Account")) } }
                        li {
                            form method="post" action="/logout" {
                                (self.csrf())
                                button.link type="submit" { (self.t("退出", "Sign out")) }
                            }
                        }
                    }
                } @else {
                    ul {
                        li { a href="/public" { (self.t("信息公示", "Public figures")) } }
                        li { a href="/login" { (self.t("登录", "Sign in")) } }
                    }
                }
            }
        }
    }

    /// The language and large-type switches.
    fn switches(&self) -> Markup {
        let v = self.visit;
        html! {
            form.switches method="post" action="/prefs" {
                (self.csrf())
                input type="hidden" name="back" value="";
                button type="submit" name="lang" value=(if v.en() { "zh" } else { "en" }) lang=(if v.en() { "zh-CN" } else { "en" }) {
                    (if v.en() { "中文" } else { "English" })
                }
                button type="submit" name="large" value=(if v.large { "0" } else { "1" }) aria-pressed=(v.large) {
                    (self.t("大字模式", "Large type"))
                }
            }
            p.muted { (self.t("身边 · 社区服务", "Shenbian · neighbourhood services")) }
        }
    }

    /// A state as people say it.
    pub fn status(&self, s: OrderStatus) -> Markup {
        let (zh, en) = status_words(s);
        html! { span class=(format!("status s-{}", s.as_str())) { (if self.visit.en() { en } else { zh }) } }
    }

    pub fn action(&self, a: Action) -> &'static str {
        let (zh, en) = action_words(a);
        if self.visit.en() { en } else { zh }
    }

    /// A time in the district's zone, machine-readable too.
    pub fn time(&self, at: DateTime<Utc>, tz: chrono_tz::Tz) -> Markup {
        html! { time datetime=(at.to_rfc3339()) { (at.with_timezone(&tz).format("%m-%d %H:%M")) } }
    }

    /// A deadline that counts down in the browser.
    pub fn countdown(&self, at: DateTime<Utc>, tz: chrono_tz::Tz) -> Markup {
        html! {
            time datetime=(at.to_rfc3339()) data-countdown=(self.t("还剩", "left")) data-over=(self.t("已超时", "overdue")) {
                (at.with_timezone(&tz).format("%m-%d %H:%M"))
            }
        }
    }

    /// A message box: a refusal, or news.
    pub fn notice(&self, text: &str, error: bool) -> Markup {
        html! {
            @if error {
                div.notice.error role="alert" { (text) }
            } @else {
                div.notice role="status" { (text) }
            }
        }
    }
}
