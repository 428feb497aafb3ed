//! The dispatcher's desk: the community's queue — waiting for dispatch, offered, overdue (in
//! red), disputed — updated live. Admins see the district's.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::layout::Frame;
use super::resident::Orders;
use super::session::Visit;
use super::{Form, Web, failed, forbidden, see_other, signed_in};
use crate::orders::view::OrderView;

pub async fn queue(State(web): State<Web>, visit: Visit) -> Response {
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let frame = Frame { visit: &visit, me: Some(&me), unread };
    if !me.staff() {
        return failed(&visit, Some(&me), &super::client::Refusal::forbidden());
    }
    let api = visit.api();
    let lists = [
        ("overdue", "overdue=true", frame.t("已超时", "Overdue")),
        ("pending", "status=pending", frame.t("待派单", "Waiting for dispatch")),
        ("offered", "status=offered", frame.t("已派单、待接单", "Offered")),
        ("disputed", "status=disputed", frame.t("有异议", "Disputed")),
    ];
    let mut sections = Vec::new();
    for (id, filter, title) in lists {
        match api.get::<Orders>(&format!("/api/v1/orders?{filter}&limit=50")).await {
            Ok(orders) => sections.push((id, title, orders.items)),
            Err(r) => return failed(&visit, Some(&me), &r),
        }
    }
    let volunteers = api.get::<Volunteers>("/api/v1/volunteers?status=pending&limit=50").await.map(|v| v.items);
    let volunteers = match volunteers {
        Ok(v) => v,
        Err(r) => return failed(&visit, Some(&me), &r),
    };
    let tz = web.state.timezone();
    let title = frame.t("调度台", "Dispatch desk");
    frame.page(
        title,
        html! {
            h1 { (title) }
            p {
                a.button.primary href="/desk/intake" { (frame.t("电话登记", "Hotline intake")) } " "
                a.button href="/desk/figures" { (frame.t("服务统计", "Figures")) } " "
                a.button href="/desk/partners" { (frame.t("合伙人与契约", "Partners and contracts")) } " "
                a.button href="/admin/places" { (frame.t("小区与楼栋", "Compounds and buildings")) }
            }
            div id="queue" data-live aria-live="polite" {
                @for (id, heading, orders) in &sections {
                    section class=(format!("queue q-{id}")) aria-labelledby=(format!("h-{id}")) {
                        h2 id=(format!("h-{id}")) { (heading) " " span.count { (orders.len()) } }
                        @if orders.is_empty() {
                            p.muted { (frame.t("无", "None")) }
                        }
                        ul.cards {
                            @for o in orders {
                                (card(&frame, o, *id == "overdue", tz))
                            }
                        }
                    }
                }
            }
            section.queue aria-labelledby="h-volunteers" {
                h2 id="h-volunteers" { (frame.t("待审核的志愿者", "Volunteers to approve")) " " span.count { (volunteers.len()) } }
                @if volunteers.is_empty() { p.muted { (frame.t("无", "None")) } }
                ul.cards {
                    @for v in &volunteers {
                        li.card {
                            p.title { (v.display_name) }
                            p.meta { (frame.t("技能：", "Skills: ")) (v.skills.join("、")) }
                            @if !v.bio.is_empty() { p { (v.bio) } }
                            form.inline method="post" action=(format!("/desk/volunteers/{}", v.id)) {
                                (frame.csrf())
                                button.primary type="submit" name="do" value="approve" { (frame.t("批准", "Approve")) }
                            }
                            (frame.with_reason(&format!("/desk/volunteers/{}", v.id), &v.id.to_string(),
                                frame.t("不批准", "Reject"), frame.t("确认不批准", "Reject"), "reject"))
                        }
                    }
                }
            }
        },
    )
}

#[derive(Deserialize)]
struct Volunteers {
    items: Vec<Volunteer>,
}

#[derive(Deserialize)]
struct Volunteer {
    id: Uuid,
    display_name: String,
    skills: Vec<String>,
    bio: String,
}

/// Approving or rejecting a volunteer's application.
pub async fn volunteer(visit: Visit, Path(id): Path<Uuid>, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let (step, body) = match form.get("do") {
        Some("approve") => ("approve", json!({})),
        Some("reject") => ("reject", json!({ "reason": form.get("reason").unwrap_or_default() })),
        _ => return failed(&visit, None, &super::client::Refusal::bad_form()),
    };
    match visit.api().post::<serde::de::IgnoredAny>(&format!("/api/v1/volunteers/{id}/{step}"), body).await {
        Ok(_) => see_other("/desk"),
        Err(r) => failed(&visit, None, &r),
    }
}

fn card(frame: &Frame, o: &OrderView, overdue: bool, tz: chrono_tz::Tz) -> Markup {
    let deadline = o.accept_by.or(o.complete_by).unwrap_or(o.dispatch_by);
    html! {
        li.card.overdue[overdue] {
            a.title href=(format!("/orders/{}", o.id)) { (o.title) }
            p.meta {
                (o.number.as_deref().unwrap_or_default()) " · " (frame.status(o.status.into())) " · "
                (o.address.compound_name) " · " (frame.t("截止", "due")) " " (frame.countdown(deadline, tz))
            }
        }
    }
}
