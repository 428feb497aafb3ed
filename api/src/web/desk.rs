//! The dispatcher's desk: the community's queue — waiting for dispatch, offered, overdue (in
//! red), disputed — updated live. Admins see the district's.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use super::layout::Frame;
use super::resident::Orders;
use super::session::Visit;
use super::{Web, failed, signed_in};
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
    let tz = web.state.timezone();
    let title = frame.t("调度台", "Dispatch desk");
    frame.page(
        title,
        html! {
            h1 { (title) }
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
        },
    )
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
