//! One order's page: what it is, its timeline (live), and the steps the caller may take now —
//! the resident's, the dispatcher's (with the ranked candidates) or the provider's. Which
//! steps show is the domain's table of who may take which step from which state; the API
//! decides, and a refusal is shown as its message.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use shenbian_domain::order::{Action, ActorRole, OrderStatus, allowed_from};
use uuid::Uuid;

use super::client::Refusal;
use super::layout::{Frame, Me};
use super::session::Visit;
use super::{Fields, Form, Web, failed, forbidden, see_other, signed_in};
use crate::error::ReasonView;
use crate::orders::view::OrderView;

#[derive(Deserialize)]
struct Events {
    items: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    action: Action,
    actor_name: Option<String>,
    to_status: OrderStatus,
    reason: Option<String>,
    #[serde(default)]
    provider_name: Option<String>,
    at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Notes {
    items: Vec<Note>,
}

#[derive(Deserialize)]
struct Note {
    body: String,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Candidates {
    items: Vec<Candidate>,
}

#[derive(Deserialize)]
struct Candidate {
    provider: CandidateProvider,
    score: f64,
    reasons: Vec<ReasonView>,
}

#[derive(Deserialize)]
struct CandidateProvider {
    id: Uuid,
    name: String,
}

/// How the caller stands to the order, as far as the page's buttons go.
fn role_of(me: &Me, order: &OrderView) -> Option<ActorRole> {
    let mine = me.providers();
    if me.staff() {
        Some(ActorRole::Dispatcher)
    } else if order.provider.as_ref().is_some_and(|p| mine.contains(&p.id))
        || (order.status == OrderStatus::Offered.into() && !mine.is_empty() && order.masked)
    {
        Some(ActorRole::Provider)
    } else if !order.masked {
        // Only the resident herself sees her own order unmasked without being staff or its provider.
        Some(ActorRole::Resident)
    } else {
        None
    }
}

pub async fn page(State(web): State<Web>, visit: Visit, Path(id): Path<Uuid>) -> Response {
    show(&web, &visit, id, None).await
}

async fn show(web: &Web, visit: &Visit, id: Uuid, refusal: Option<&Refusal>) -> Response {
    let api = visit.api();
    let (order_path, events_path) = (format!("/api/v1/orders/{id}"), format!("/api/v1/orders/{id}/events?limit=100"));
    let (caller, order, events) =
        tokio::join!(signed_in(visit), api.get::<OrderView>(&order_path), api.get::<Events>(&events_path));
    let (me, unread) = match caller {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (order, events) = match (order, events) {
        (Ok(order), Ok(events)) => (order, events),
        (Err(r), _) | (_, Err(r)) => return failed(visit, Some(&me), &r),
    };
    let status: OrderStatus = order.status.into();
    let role = role_of(&me, &order);
    let staff = role == Some(ActorRole::Dispatcher);
    let (candidates, notes) = tokio::join!(
        async {
            if staff && status == OrderStatus::Pending {
                api.get::<Candidates>(&format!("/api/v1/orders/{id}/candidates"))
                    .await
                    .map(|c| c.items)
                    .unwrap_or_default()
            } else {
                Vec::new()
            }
        },
        async {
            if staff {
                api.get::<Notes>(&format!("/api/v1/orders/{id}/notes?limit=100"))
                    .await
                    .map(|n| n.items)
                    .unwrap_or_default()
            } else {
                Vec::new()
            }
        }
    );
    let frame = Frame { visit, me: Some(&me), unread };
    let tz = web.state.timezone();
    let rated = events.items.iter().any(|e| e.action == Action::Rated);
    let may = |action: Action| role.is_some_and(|r| allowed_from(action, r).contains(&status));
    let title = order.number.clone().unwrap_or_else(|| order.title.clone());
    let code = refusal.map_or(StatusCode::OK, |r| r.status);
    frame.page_with(
        code,
        &title,
        html! {
            @if let Some(r) = refusal { (frame.notice(&r.message(), true)) }
            section id="order" data-live aria-live="polite" {
                h1 { (order.title) }
                p.meta { (order.number.as_deref().unwrap_or_default()) " · " (frame.status(status)) }
                dl.facts {
                    dt { (frame.t("说明", "Details")) } dd { (order.description) }
                    dt { (frame.t("地址", "Address")) }
                    dd {
                        (order.address.compound_name)
                        @if let Some(b) = &order.address.building_name { " " (b) }
                        @if let Some(u) = order.address.unit.as_deref().filter(|u| !u.is_empty()) { " " (u) (frame.t("单元", "")) }
                        @if let Some(r) = order.address.room.as_deref().filter(|r| !r.is_empty()) { " " (r) }
                    }
                    dt { (frame.t("联系人", "Contact")) } dd { (order.resident_name) " " (order.contact_phone) }
                    @if let Some(at) = order.accept_by.filter(|_| status == OrderStatus::Offered) {
                        dt { (frame.t("接单截止", "Accept by")) } dd { (frame.countdown(at, tz)) }
                    }
                    @if let Some(at) = order.complete_by.filter(|_| matches!(status, OrderStatus::Accepted | OrderStatus::InProgress)) {
                        dt { (frame.t("完成截止", "Complete by")) } dd { (frame.countdown(at, tz)) }
                    }
                    @if let Some(s) = &order.summary {
                        dt { (frame.t("服务小结", "Summary")) } dd { (s) }
                    }
                }
                h2 { (frame.t("进度", "Timeline")) }
                ol.timeline {
                    @for e in &events.items {
                        li {
                            (frame.time(e.at, tz)) " "
                            strong { (frame.action(e.action)) }
                            @if let Some(name) = e.actor_name.as_deref().or(e.provider_name.as_deref()) { " · " (name) }
                            " → " (frame.status(e.to_status))
                            @if let Some(r) = &e.reason { span.muted { " (" (r) ")" } }
                        }
                    }
                }
            }
            section.actions aria-label=(frame.t("可以做的", "What you can do")) {
                (actions(&frame, &order, may, rated, &candidates))
            }
            @if staff {
                section aria-labelledby="h-notes" {
                    h2 id="h-notes" { (frame.t("内部备注（居民看不到）", "Internal notes (residents do not see them)")) }
                    ul.cards {
                        @for n in &notes {
                            li.card { p { (n.body) } p.meta { (frame.time(n.created_at, tz)) } }
                        }
                    }
                    form.stack method="post" action=(format!("/orders/{}", order.id)) {
                        (frame.csrf())
                        label for="note" { (frame.t("添加备注", "Add a note")) }
                        textarea #note name="body" required maxlength="2000" rows="2" {}
                        button type="submit" name="do" value="note" { (frame.t("保存备注", "Save the note")) }
                    }
                }
            }
        },
    )
}

/// The forms of the steps the caller may take now.
fn actions(
    frame: &Frame,
    order: &OrderView,
    may: impl Fn(Action) -> bool,
    rated: bool,
    candidates: &[Candidate],
) -> Markup {
    let post = format!("/orders/{}", order.id);
    let button = |action: &'static str, label: &'static str, class: &'static str| {
        html! {
            form.inline method="post" action=(post) {
                (frame.csrf())
                button type="submit" name="do" value=(action) class=(class) { (label) }
            }
        }
    };
    html! {
        @if may(Action::Dispatched) && !candidates.is_empty() {
            h2 { (frame.t("派单", "Dispatch")) }
            form.stack method="post" action=(post) {
                (frame.csrf())
                fieldset {
                    legend { (frame.t("候选服务方（按推荐排序）", "Candidates, best first")) }
                    @for (i, c) in candidates.iter().enumerate() {
                        label.choice.candidate {
                            input type="checkbox" name="provider_ids" value=(c.provider.id) checked[i == 0];
                            " " strong { (c.provider.name) } " " span.score { (format!("{:.0}", c.score)) }
                            ul.reasons { @for r in &c.reasons { li { (r.text) } } }
                        }
                    }
                }
                button.primary type="submit" name="do" value="dispatch" { (frame.t("派给所选", "Offer to the chosen")) }
            }
        } @else if may(Action::Dispatched) {
            p.muted { (frame.t("暂无可派的服务方。", "No provider may be offered this order now.")) }
        }
        @if may(Action::Accepted) {
            (button("accept", frame.t("接单", "Accept"), "primary"))
        }
        @if may(Action::Started) {
            (button("start", frame.t("开始服务", "Start"), "primary"))
        }
        @if may(Action::Completed) {
            form.stack method="post" action=(post) {
                (frame.csrf())
                label for="summary" { (frame.t("服务小结", "Summary")) }
                textarea #summary name="summary" required maxlength="2000" rows="3" {}
                label for="minutes" { (frame.t("服务时长（分钟，志愿者填写）", "Minutes (volunteers)")) }
                input #minutes name="minutes" type="number" min="1" max="1440" inputmode="numeric";
                button.primary type="submit" name="do" value="complete" { (frame.t("完成服务", "Complete")) }
            }
        }
        @if may(Action::Confirmed) {
            (button("confirm", frame.t("确认完成", "Confirm"), "primary"))
        }
        @if may(Action::Rated) && !rated {
            form.stack method="post" action=(post) {
                (frame.csrf())
                fieldset.stars {
                    legend { (frame.t("评价", "Rating")) }
                    @for n in 1..=5 {
                        label.choice {
                            input type="radio" name="stars" value=(n) required checked[n == 5];
                            " " (n) (frame.t("星", " stars"))
                        }
                    }
                }
                label for="comment" { (frame.t("留言（可不填）", "Comment (optional)")) }
                textarea #comment name="comment" maxlength="500" rows="2" {}
                button type="submit" name="do" value="rate" { (frame.t("提交评价", "Rate")) }
            }
        }
        @if may(Action::Declined) {
            (frame.with_reason(&post, "decline", frame.t("拒单", "Decline"), frame.t("确认拒单", "Decline"), "decline"))
        }
        @if may(Action::Withdrawn) {
            (frame.with_reason(&post, "withdraw", frame.t("撤回派单", "Withdraw"), frame.t("确认撤回", "Withdraw"), "withdraw"))
        }
        @if may(Action::Released) {
            (frame.with_reason(&post, "release", frame.t("退回订单", "Release"), frame.t("确认退回", "Release"), "release"))
        }
        @if may(Action::Resolved) {
            form.stack method="post" action=(post) {
                (frame.csrf())
                fieldset {
                    legend { (frame.t("处理异议", "Resolve the dispute")) }
                    label.choice { input type="radio" name="outcome" value="redo" required; " " (frame.t("重新派单（再做一次）", "Dispatch again (redo)")) }
                    label.choice { input type="radio" name="outcome" value="close"; " " (frame.t("维持完成，结束订单", "The job stands: close")) }
                }
                label for="reason-resolve" { (frame.t("处理说明", "Reason")) }
                input #reason-resolve name="reason" required maxlength="500";
                button type="submit" name="do" value="resolve" { (frame.t("提交处理", "Resolve")) }
            }
        }
        @if may(Action::Reassigned) {
            (frame.with_reason(&post, "reassign", frame.t("改派", "Reassign"), frame.t("收回并重新派单", "Take back to dispatch again"), "reassign"))
        }
        @if may(Action::Disputed) {
            (frame.with_reason(&post, "dispute", frame.t("有异议", "Dispute"), frame.t("提交异议", "Dispute"), "dispute"))
        }
        @if may(Action::Cancelled) {
            (frame.with_reason(&post, "cancel", frame.t("取消订单", "Cancel the order"), frame.t("确认取消", "Cancel"), "cancel"))
        }
    }
}

/// A step from the page's forms: the API's step with the form's fields.
pub async fn act(State(web): State<Web>, visit: Visit, Path(id): Path<Uuid>, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let Some((step, body)) = step(&form) else {
        return failed(&visit, None, &Refusal::bad_form());
    };
    let path = match step {
        "notes" => format!("/api/v1/orders/{id}/notes"),
        step => format!("/api/v1/orders/{id}/{step}"),
    };
    match visit.api().post::<serde::de::IgnoredAny>(&path, body).await {
        Ok(_) => see_other(form.text("back").filter(|b| super::local_path(b)).unwrap_or(&format!("/orders/{id}"))),
        Err(refusal) => show(&web, &visit, id, Some(&refusal)).await,
    }
}

/// The API's step and body for a form.
fn step(form: &Fields) -> Option<(&'static str, Value)> {
    let reason = || json!({ "reason": form.get("reason").unwrap_or_default() });
    let (step, mut body) = match form.get("do")? {
        "dispatch" => ("dispatch", json!({ "provider_ids": form.all("provider_ids").collect::<Vec<_>>() })),
        "accept" => ("accept", json!({})),
        "decline" => ("decline", reason()),
        "start" => ("start", json!({})),
        "complete" => {
            let mut body = json!({ "summary": form.get("summary").unwrap_or_default() });
            if let Some(m) = form.text("minutes") {
                body["minutes"] = m.parse::<u32>().map_or_else(|_| json!(m), |m| json!(m));
            }
            ("complete", body)
        }
        "release" => ("release", reason()),
        "reassign" => ("reassign", reason()),
        "resolve" => (
            "resolve",
            json!({ "outcome": form.get("outcome").unwrap_or_default(), "reason": form.get("reason").unwrap_or_default() }),
        ),
        "note" => ("notes", json!({ "body": form.get("body").unwrap_or_default() })),
        "withdraw" => ("withdraw", reason()),
        "confirm" => ("confirm", json!({})),
        "dispute" => ("dispute", reason()),
        "cancel" => ("cancel", reason()),
        "rate" => {
            let stars = form.get("stars").and_then(|s| s.parse::<i64>().ok());
            let mut body = json!({ "stars": stars });
            if let Some(c) = form.text("comment") {
                body["comment"] = json!(c);
            }
            ("rating", body)
        }
        _ => return None,
    };
    // Which of the caller's providers acts, when the page knows.
    if let Some(provider) =
        form.text("provider_id").filter(|_| matches!(step, "accept" | "decline" | "start" | "complete" | "release"))
    {
        body["provider_id"] = json!(provider);
    }
    Some((step, body))
}
