//! The provider's inbox: open offers with their accept-by countdown (accept in one tap), and
//! the jobs in hand by deadline. Live.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::Frame;
use super::session::Visit;
use super::{Web, failed, signed_in};
use crate::orders::view::OrderView;

#[derive(Deserialize)]
struct Jobs {
    items: Vec<Job>,
}

#[derive(Deserialize)]
struct Contracts {
    items: Vec<Draft>,
}

#[derive(Deserialize)]
struct Draft {
    id: Uuid,
    title: String,
    category_codes: Vec<String>,
    valid_from: chrono::NaiveDate,
    valid_to: chrono::NaiveDate,
}

#[derive(Deserialize)]
struct Hours {
    community: String,
    total_minutes: i64,
    items: Vec<HoursEntry>,
}

#[derive(Deserialize)]
struct HoursEntry {
    service: Option<String>,
    date: chrono::NaiveDate,
    minutes: i32,
}

#[derive(Deserialize)]
struct Job {
    kind: String,
    provider_id: Uuid,
    deadline: Option<DateTime<Utc>>,
    order: OrderView,
}

pub async fn jobs(State(web): State<Web>, visit: Visit) -> Response {
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let api = visit.api();
    let jobs: Jobs = match api.get("/api/v1/jobs?limit=100").await {
        Ok(j) => j,
        Err(r) => return failed(&visit, Some(&me), &r),
    };
    // Contracts waiting for the signature of a partner this caller is the admin of.
    let signs = me.partners.iter().any(|m| m.role == "admin");
    let drafts = if signs {
        api.get::<Contracts>("/api/v1/contracts?status=draft&limit=50").await.map(|c| c.items).unwrap_or_default()
    } else {
        Vec::new()
    };
    // A volunteer's hours, per community she serves.
    let mut hours = Vec::new();
    for v in me.volunteers.iter().filter(|v| v.status == "approved") {
        if let Ok(record) = api.get::<Hours>(&format!("/api/v1/volunteers/{}/hours?limit=5", v.volunteer_id)).await {
            hours.push(record);
        }
    }
    let frame = Frame { visit: &visit, me: Some(&me), unread };
    let tz = web.state.timezone();
    let (offers, assigned): (Vec<&Job>, Vec<&Job>) = jobs.items.iter().partition(|j| j.kind == "offer");
    let title = frame.t("接单", "Jobs");
    frame.page(
        title,
        html! {
            h1 { (title) }
            div id="jobs" data-live aria-live="polite" {
                section aria-labelledby="h-offers" {
                    h2 id="h-offers" { (frame.t("新派单", "Offers")) " " span.count { (offers.len()) } }
                    @if offers.is_empty() { p.muted { (frame.t("暂无新派单", "No open offers")) } }
                    ul.cards {
                        @for j in &offers {
                            li.card.offer {
                                a.title href=(format!("/orders/{}", j.order.id)) { (j.order.title) }
                                p.meta {
                                    (j.order.number.as_deref().unwrap_or_default()) " · " (j.order.address.compound_name)
                                    @if let Some(at) = j.deadline { " · " (frame.t("接单截止", "accept by")) " " (frame.countdown(at, tz)) }
                                }
                                form.inline method="post" action=(format!("/orders/{}", j.order.id)) {
                                    (frame.csrf())
                                    input type="hidden" name="back" value="/inbox";
                                    input type="hidden" name="provider_id" value=(j.provider_id);
                                    button.primary type="submit" name="do" value="accept" { (frame.t("接单", "Accept")) }
                                }
                                " " a href=(format!("/orders/{}", j.order.id)) { (frame.t("查看或拒单", "View or decline")) }
                            }
                        }
                    }
                }
                @if !drafts.is_empty() {
                    section aria-labelledby="h-drafts" {
                        h2 id="h-drafts" { (frame.t("待签署的契约", "Contracts to sign")) }
                        ul.cards {
                            @for c in &drafts {
                                li.card {
                                    p.title { (c.title) }
                                    p.meta { (c.valid_from) " – " (c.valid_to) " · " (c.category_codes.join(", ")) }
                                    form.inline method="post" action=(format!("/desk/contracts/{}", c.id)) {
                                        (frame.csrf())
                                        button.primary type="submit" name="do" value="sign" { (frame.t("签署", "Sign")) }
                                    }
                                }
                            }
                        }
                    }
                }
                @for (i, h) in hours.iter().enumerate() {
                    section aria-labelledby=(format!("h-hours-{i}")) {
                        h2 id=(format!("h-hours-{i}")) { (frame.t("志愿服务时长", "Volunteer hours")) " · " (h.community) }
                        p.readout { (format!("{:.1}", h.total_minutes as f64 / 60.0)) " " (frame.t("小时", "hours")) }
                        ul {
                            @for e in &h.items {
                                li { (e.date) " · " (e.service.as_deref().unwrap_or_default()) " · " (e.minutes) " " (frame.t("分钟", "min")) }
                            }
                        }
                    }
                }
                section aria-labelledby="h-assigned" {
                    h2 id="h-assigned" { (frame.t("我的工单", "My jobs")) " " span.count { (assigned.len()) } }
                    @if assigned.is_empty() { p.muted { (frame.t("暂无进行中的工单", "No jobs in hand")) } }
                    ul.cards {
                        @for j in &assigned {
                            li.card {
                                a.title href=(format!("/orders/{}", j.order.id)) { (j.order.title) }
                                p.meta {
                                    (j.order.number.as_deref().unwrap_or_default()) " · " (frame.status(j.order.status.into()))
                                    @if let Some(at) = j.deadline { " · " (frame.t("完成截止", "due")) " " (frame.countdown(at, tz)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
