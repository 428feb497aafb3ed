//! The resident's phone page: her orders, and placing one.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDateTime, TimeZone};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::client::{Category, Community, List, Refusal};
use super::layout::{Frame, Me};
use super::session::Visit;
use super::{Fields, Form, Web, failed, forbidden, see_other, signed_in};
use crate::orders::view::OrderView;

#[derive(Deserialize)]
pub struct Orders {
    pub items: Vec<OrderView>,
}

pub async fn my_orders(State(web): State<Web>, visit: Visit) -> Response {
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let orders: Orders = match visit.api().get("/api/v1/orders?limit=50").await {
        Ok(o) => o,
        Err(r) => return failed(&visit, Some(&me), &r),
    };
    let frame = Frame { visit: &visit, me: Some(&me), unread };
    let tz = web.state.timezone();
    let title = frame.t("我的订单", "My orders");
    frame.page(
        title,
        html! {
            h1 { (title) }
            p { a.button.primary href="/orders/new" { (frame.t("我要下单", "Order a service")) } }
            section id="orders" data-live aria-live="polite" {
                @if orders.items.is_empty() {
                    p.muted { (frame.t("还没有订单。", "No orders yet.")) }
                }
                ul.cards {
                    @for o in &orders.items {
                        li.card {
                            a.title href=(format!("/orders/{}", o.id)) { (o.title) }
                            p.meta {
                                (frame.status(o.status.into())) " · "
                                (o.number.as_deref().unwrap_or_default()) " · "
                                (frame.time(o.created_at, tz))
                            }
                        }
                    }
                }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct Chosen {
    community: Option<Uuid>,
}

#[derive(Deserialize)]
struct Compound {
    id: Uuid,
    name: String,
    #[serde(default)]
    buildings: Vec<Building>,
}

#[derive(Deserialize)]
struct Building {
    id: Uuid,
    name: String,
}

pub async fn new_order(visit: Visit, Query(chosen): Query<Chosen>) -> Response {
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let community = chosen.community.or(me.user.home_community_id);
    order_form(&visit, &me, unread, community, None, None, Desk::Resident).await
}

/// Who fills the order form: the resident for herself, or a dispatcher for a caller.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Desk {
    Resident,
    Intake,
}

/// Hotline intake (电话登记): a dispatcher enters the order of a resident who called or
/// walked in.
pub async fn intake_page(visit: Visit, Query(chosen): Query<Chosen>) -> Response {
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !me.staff() {
        return failed(&visit, Some(&me), &Refusal::forbidden());
    }
    let community = chosen.community.or(me.user.community_id);
    order_form(&visit, &me, unread, community, None, None, Desk::Intake).await
}

pub async fn intake(State(web): State<Web>, visit: Visit, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let community = form.text("community_id").and_then(|c| c.parse().ok());
    let mut body = order_body(&web, &form);
    body["on_behalf_of_phone"] = json!(form.get("caller_phone").unwrap_or_default());
    body["channel"] = json!(form.get("channel").unwrap_or("hotline_12345"));
    if let Some(name) = form.text("caller_name") {
        body["resident_name"] = json!(name);
    }
    let key = form.text("idem").unwrap_or_default().to_owned();
    let order = match visit.api().post_once::<OrderView>("/api/v1/orders", body, &key).await {
        Ok(order) => order,
        Err(refusal) => {
            return order_form(&visit, &me, unread, community, Some(&form), Some(&refusal), Desk::Intake).await;
        }
    };
    // The claim code is answered once: this page is the only place it is shown.
    let frame = Frame { visit: &visit, me: Some(&me), unread };
    let title = frame.t("已登记", "Entered");
    frame.page(
        title,
        html! {
            h1 { (title) }
            div.notice role="status" {
                p { (frame.t("请向来电人读出订单号：", "Read the order's number to the caller: ")) strong.readout { (order.number.as_deref().unwrap_or_default()) } }
                @if let Some(code) = &order.claim_code {
                    p {
                        (frame.t("新账户的认领码（只显示这一次）：", "The new account's claim code (shown this once): "))
                        strong.readout #claim-code { (code) }
                    }
                    p.muted { (frame.t("居民凭手机号和认领码在“认领账户”设置密码。", "The resident sets a password with her phone and this code.")) }
                } @else if let Some(note) = &order.claim_code_note {
                    p.muted { (note) }
                }
            }
            p {
                a.button.primary href=(format!("/orders/{}", order.id)) { (frame.t("去派单", "Dispatch it")) } " "
                a.button href="/desk/intake" { (frame.t("再登记一单", "Enter another")) }
            }
        },
    )
}

pub async fn place_order(State(web): State<Web>, visit: Visit, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let community = form.text("community_id").and_then(|c| c.parse().ok());
    let body = order_body(&web, &form);
    let key = form.text("idem").unwrap_or_default().to_owned();
    match visit.api().post_once::<OrderView>("/api/v1/orders", body, &key).await {
        Ok(order) => see_other(&format!("/orders/{}", order.id)),
        Err(refusal) => order_form(&visit, &me, unread, community, Some(&form), Some(&refusal), Desk::Resident).await,
    }
}

/// The API's order from the form's fields; what the API refuses, it says why.
fn order_body(web: &Web, form: &Fields) -> Value {
    let (compound, building) =
        form.get("place").unwrap_or_default().split_once('/').unwrap_or((form.get("place").unwrap_or_default(), ""));
    let mut body = json!({
        "community_id": form.get("community_id").unwrap_or_default(),
        "category_code": form.get("category_code").unwrap_or_default(),
        "title": form.get("title").unwrap_or_default(),
        "description": form.get("description").unwrap_or_default(),
        "urgency": form.get("urgency").unwrap_or("normal"),
        "address": {
            "compound_id": compound,
            "unit": form.get("unit").unwrap_or_default(),
            "room": form.get("room").unwrap_or_default(),
        },
    });
    if !building.is_empty() {
        body["address"]["building_id"] = json!(building);
    }
    if let Some(phone) = form.text("contact_phone") {
        body["contact_phone"] = json!(phone);
    }
    if let Some(start) = form.text("preferred_start") {
        // A browser's `datetime-local` is the district's wall clock.
        let tz = web.state.timezone();
        let at = NaiveDateTime::parse_from_str(start, "%Y-%m-%dT%H:%M")
            .ok()
            .and_then(|local| tz.from_local_datetime(&local).earliest())
            .map_or_else(|| start.to_owned(), |at| at.with_timezone(&chrono::Utc).to_rfc3339());
        body["preferred_start"] = json!(at);
    }
    body
}

async fn order_form(
    visit: &Visit,
    me: &Me,
    unread: u64,
    community: Option<Uuid>,
    values: Option<&Fields>,
    refusal: Option<&Refusal>,
    desk: Desk,
) -> Response {
    let frame = Frame { visit, me: Some(me), unread };
    let (title, action) = match desk {
        Desk::Resident => (frame.t("我要下单", "Order a service"), "/orders/new"),
        Desk::Intake => (frame.t("电话登记", "Hotline intake"), "/desk/intake"),
    };
    let api = visit.api();
    let Some(community) = community else {
        let communities: List<Community> = match api.get("/api/v1/communities?limit=100").await {
            Ok(c) => c,
            Err(r) => return failed(visit, Some(me), &r),
        };
        return frame.page(
            title,
            html! {
                h1 { (title) }
                p { (frame.t("您住在哪个社区？", "Which community do you live in?")) }
                ul.cards {
                    @for c in &communities.items {
                        li.card { a href=(format!("{action}?community={}", c.id)) { (c.name) } }
                    }
                }
            },
        );
    };
    let categories: List<Category> = match api.get("/api/v1/categories?active=true&limit=100").await {
        Ok(c) => c,
        Err(r) => return failed(visit, Some(me), &r),
    };
    let compounds: List<Compound> = match api.get(&format!("/api/v1/communities/{community}/compounds?limit=100")).await
    {
        Ok(c) => c,
        Err(r) => return failed(visit, Some(me), &r),
    };
    let value = |name: &str| values.and_then(|v| v.get(name)).unwrap_or_default().to_owned();
    let error = |name: &str| refusal.and_then(|r| r.field(name)).map(str::to_owned);
    let idem = values.and_then(|v| v.text("idem")).map_or_else(|| Uuid::now_v7().to_string(), str::to_owned);
    let urgency = values.and_then(|v| v.get("urgency")).unwrap_or("normal");
    let status = refusal.map_or(StatusCode::OK, |r| r.status);
    frame.page_with(
        status,
        title,
        html! {
            h1 { (title) }
            @if let Some(r) = refusal { (frame.notice(&r.message(), true)) }
            form.stack method="post" action=(action) {
                (frame.csrf())
                input type="hidden" name="community_id" value=(community);
                input type="hidden" name="idem" value=(idem);
                @if desk == Desk::Intake {
                    label for="caller_phone" { (frame.t("来电人手机号", "Caller's mobile number")) }
                    input #caller_phone name="caller_phone" type="tel" inputmode="numeric" required value=(value("caller_phone"));
                    (field_error(error("on_behalf_of_phone")))
                    label for="caller_name" { (frame.t("来电人姓名（新居民必填）", "Caller's name (needed for a new resident)")) }
                    input #caller_name name="caller_name" maxlength="50" value=(value("caller_name"));
                    (field_error(error("resident_name")))
                    label for="channel" { (frame.t("来源", "Channel")) }
                    select #channel name="channel" {
                        @for (code, zh, en) in [("hotline_12345", "12345热线", "12345 hotline"), ("walk_in", "上门", "walk-in"), ("wechat_group", "微信群", "WeChat group")] {
                            option value=(code) selected[value("channel") == code] { (if visit.en() { en } else { zh }) }
                        }
                    }
                }
                label for="category_code" { (frame.t("服务类别", "Service")) }
                select #category_code name="category_code" required {
                    @for c in &categories.items {
                        option value=(c.code) selected[value("category_code") == c.code] {
                            (c.name(visit.en()))
                        }
                    }
                }
                (field_error(error("category_code")))
                label for="title" { (frame.t("需要什么帮助（一句话）", "What do you need (one line)")) }
                input #title name="title" required maxlength="100" value=(value("title"));
                (field_error(error("title")))
                label for="description" { (frame.t("详细说明", "Details")) }
                textarea #description name="description" required maxlength="2000" rows="4" { (value("description")) }
                (field_error(error("description")))
                label for="place" { (frame.t("小区和楼栋", "Compound and building")) }
                select #place name="place" required {
                    @for c in &compounds.items {
                        optgroup label=(c.name) {
                            option value=(c.id) selected[value("place") == c.id.to_string()] {
                                (c.name)
                            }
                            @for b in &c.buildings {
                                @let v = format!("{}/{}", c.id, b.id);
                                option value=(v) selected[value("place") == v] { (c.name) " " (b.name) }
                            }
                        }
                    }
                }
                (field_error(error("address.compound_id").or_else(|| error("address.building_id"))))
                div.pair {
                    div {
                        label for="unit" { (frame.t("单元", "Unit")) }
                        input #unit name="unit" maxlength="20" value=(value("unit"));
                    }
                    div {
                        label for="room" { (frame.t("房号", "Room")) }
                        input #room name="room" maxlength="20" value=(value("room"));
                    }
                }
                fieldset {
                    legend { (frame.t("紧急程度", "Urgency")) }
                    @for (code, zh, en) in [("normal", "一般", "normal"), ("urgent", "紧急", "urgent"), ("emergency", "特急", "emergency")] {
                        label.choice {
                            input type="radio" name="urgency" value=(code) checked[urgency == code];
                            " " (if visit.en() { en } else { zh })
                        }
                    }
                }
                label for="preferred_start" { (frame.t("希望上门时间（可不填）", "Preferred time (optional)")) }
                input #preferred_start name="preferred_start" type="datetime-local" value=(value("preferred_start"));
                (field_error(error("preferred_start")))
                label for="contact_phone" { (match desk {
                    Desk::Resident => frame.t("联系电话（默认本人手机号）", "Contact phone (default: yours)"),
                    Desk::Intake => frame.t("联系电话（默认来电人手机号）", "Contact phone (default: the caller's)"),
                }) }
                input #contact_phone name="contact_phone" type="tel" inputmode="numeric" value=(value("contact_phone"));
                (field_error(error("contact_phone")))
                button.primary type="submit" { (match desk {
                    Desk::Resident => frame.t("提交订单", "Place the order"),
                    Desk::Intake => frame.t("登记", "Enter the order"),
                }) }
            }
        },
    )
}

fn field_error(message: Option<String>) -> Markup {
    html! {
        @if let Some(m) = message { p.field-error role="alert" { (m) } }
    }
}
