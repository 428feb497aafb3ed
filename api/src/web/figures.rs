//! Figures. 信息公示: each community's public figures, for anyone, without signing in — the same
//! figures as `GET /public/communities/{id}/stats`, every small count suppressed there. The
//! daily chart is an SVG drawn here (no script), with the numbers in a table beside it.

use std::collections::BTreeMap;

use axum::extract::{Path, Query};
use axum::response::Response;
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::client::{Category, Community, List};
use super::layout::Frame;
use super::session::Visit;
use super::{failed, signed_in};

#[derive(Deserialize)]
struct Figures {
    community: String,
    from: NaiveDate,
    to: NaiveDate,
    /// The public figures' suppression threshold; staff see every count.
    #[serde(default)]
    min_count: u64,
    orders: Option<u64>,
    by_category: BTreeMap<String, u64>,
    time_to_accept: Percentiles,
    time_to_complete: Percentiles,
    sla_breach_rate: Option<f64>,
    satisfaction: Satisfaction,
    top_providers: Vec<TopProvider>,
    volunteers_active: Option<u64>,
    volunteer_minutes: Option<i64>,
    daily: Vec<Day>,
}

#[derive(Deserialize)]
struct Percentiles {
    median_minutes: Option<f64>,
}

#[derive(Deserialize)]
struct Satisfaction {
    average_stars: Option<f64>,
    share_four_or_five: Option<f64>,
}

#[derive(Deserialize)]
struct TopProvider {
    name: String,
    completed: u64,
    average_stars: Option<f64>,
}

#[derive(Deserialize)]
struct Day {
    date: NaiveDate,
    created: Option<u64>,
    completed: Option<u64>,
}

pub async fn communities(visit: Visit) -> Response {
    let frame = Frame { visit: &visit, me: None, unread: 0 };
    choose(&frame, "/public/").await
}

/// The communities, each a link to `{to}{id}`.
async fn choose(frame: &Frame<'_>, to: &str) -> Response {
    let visit = frame.visit;
    let list: List<Community> = match visit.api().get("/api/v1/communities?limit=100").await {
        Ok(c) => c,
        Err(r) => return failed(visit, frame.me, &r),
    };
    let title = frame.t("信息公示", "Public figures");
    frame.page(
        title,
        html! {
            h1 { (title) }
            p { (frame.t("各社区近30天的服务情况。", "Each community's services over the last 30 days.")) }
            ul.cards {
                @for c in &list.items {
                    li.card { a.title href=(format!("{to}{}", c.id)) { (c.name) } p.meta { (c.street) } }
                }
            }
        },
    )
}

pub async fn community(visit: Visit, Path(id): Path<Uuid>) -> Response {
    let frame = Frame { visit: &visit, me: None, unread: 0 };
    figures(&frame, &format!("/api/v1/public/communities/{id}/stats"), frame.t("信息公示", "public figures"), None)
        .await
}

/// The community a staff page is about (`?community=`; a dispatcher's own by default).
#[derive(Deserialize)]
pub struct Window {
    community: Option<Uuid>,
}

impl Window {
    pub fn community(&self) -> Option<Uuid> {
        self.community
    }
}

/// The community's figures for its staff: every provider, nothing suppressed, with the
/// orders' CSV for the window.
pub async fn staff(visit: Visit, Query(window): Query<Window>) -> Response {
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let frame = Frame { visit: &visit, me: Some(&me), unread };
    let Some(community) = window.community.or(me.user.community_id) else {
        return choose(&frame, "/desk/figures?community=").await;
    };
    let export = html! {
        p { a.button href=(format!("/desk/export.csv?community_id={community}")) download {
            (frame.t("导出订单（CSV）", "Export the orders (CSV)"))
        } }
    };
    figures(&frame, &format!("/api/v1/stats/communities/{community}"), frame.t("服务统计", "figures"), Some(export))
        .await
}

/// The orders' CSV, as the API writes it (staff; the export is audited there).
pub async fn export(visit: Visit, Query(filter): Query<Export>) -> Response {
    let path = match filter.community_id {
        Some(c) => format!("/api/v1/orders/export.csv?community_id={c}"),
        None => "/api/v1/orders/export.csv".to_owned(),
    };
    visit.api().raw(&path, None).await
}

#[derive(Deserialize)]
pub struct Export {
    community_id: Option<Uuid>,
}

async fn figures(frame: &Frame<'_>, path: &str, what: &str, extra: Option<Markup>) -> Response {
    let visit = frame.visit;
    let api = visit.api();
    let (figures, categories) =
        tokio::join!(api.get::<Figures>(path), api.get::<List<Category>>("/api/v1/categories?limit=100"));
    let f = match figures {
        Ok(f) => f,
        Err(r) => return failed(visit, frame.me, &r),
    };
    let names: BTreeMap<String, String> = categories
        .map(|c| c.items.into_iter().map(|c| (c.code.clone(), c.name(visit.en()).to_owned())).collect())
        .unwrap_or_default();
    let hidden = if f.min_count > 0 { frame.t("不足公示数", "too few to show") } else { "—" };
    let count = |n: Option<u64>| n.map_or_else(|| hidden.to_owned(), |n| n.to_string());
    let minutes =
        |m: Option<f64>| m.map_or_else(|| hidden.to_owned(), |m| format!("{m:.0} {}", frame.t("分钟", "min")));
    let share = |r: Option<f64>| r.map_or_else(|| hidden.to_owned(), |r| format!("{:.0}%", r * 100.0));
    frame.page(
        &f.community,
        html! {
            h1 { (f.community) " · " (what) }
            p.meta { (f.from) " – " (f.to) }
            @if let Some(extra) = extra { (extra) }
            dl.facts.figures {
                dt { (frame.t("订单", "Orders")) } dd { (count(f.orders)) }
                dt { (frame.t("接单用时（中位数）", "Time to accept (median)")) } dd { (minutes(f.time_to_accept.median_minutes)) }
                dt { (frame.t("完成用时（中位数）", "Time to complete (median)")) } dd { (minutes(f.time_to_complete.median_minutes)) }
                dt { (frame.t("超时比例", "Deadlines missed")) } dd { (share(f.sla_breach_rate)) }
                dt { (frame.t("平均评分", "Average rating")) }
                dd { (f.satisfaction.average_stars.map_or_else(|| hidden.to_owned(), |s| format!("{s:.1} / 5"))) }
                dt { (frame.t("四星及以上", "Four or five stars")) } dd { (share(f.satisfaction.share_four_or_five)) }
                dt { (frame.t("参与的志愿者", "Volunteers who served")) } dd { (count(f.volunteers_active)) }
                dt { (frame.t("志愿服务时长", "Volunteer time")) }
                dd { (f.volunteer_minutes.map_or_else(|| hidden.to_owned(), |m| format!("{:.1} {}", m as f64 / 60.0, frame.t("小时", "h")))) }
            }
            h2 { (frame.t("每日订单", "Orders per day")) }
            (chart(frame, &f.daily, f.min_count > 0))
            h2 { (frame.t("服务类别", "Services")) }
            table {
                @if f.min_count > 0 {
                    caption.muted { (frame.t("少于", "Categories with fewer than ")) (f.min_count) (frame.t("单的类别不公示", " orders are not shown")) }
                }
                thead { tr { th scope="col" { (frame.t("类别", "Service")) } th scope="col" { (frame.t("订单", "Orders")) } } }
                tbody { @for (code, n) in &f.by_category { tr { td { (names.get(code).unwrap_or(code)) } td { (n) } } } }
            }
            @if !f.top_providers.is_empty() {
                h2 { (frame.t("服务最多的合伙人", "Partners who served most")) }
                table {
                    thead { tr {
                        th scope="col" { (frame.t("合伙人", "Partner")) }
                        th scope="col" { (frame.t("完成", "Completed")) }
                        th scope="col" { (frame.t("评分", "Rating")) }
                    } }
                    tbody { @for p in &f.top_providers { tr {
                        td { (p.name) } td { (p.completed) }
                        td { (p.average_stars.map_or_else(|| hidden.to_owned(), |s| format!("{s:.1}"))) }
                    } } }
                }
            }
        },
    )
}

/// Created and completed orders per day as bars; suppressed days have no bar.
fn chart(frame: &Frame, days: &[Day], suppressed: bool) -> Markup {
    let (width, height, gap) = (640.0_f64, 160.0_f64, 1.0_f64);
    let most = days.iter().flat_map(|d| [d.created, d.completed]).flatten().max().unwrap_or(0).max(1) as f64;
    let step = width / days.len().max(1) as f64;
    let bar = (step - gap) / 2.0;
    let label =
        frame.t("每日新建（深色）与完成（浅色）的订单数", "Orders created (dark) and completed (light) per day");
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {width} {height}")) role="img" aria-label=(label) preserveAspectRatio="none" {
                title { (label) }
                @for (i, d) in days.iter().enumerate() {
                    @let x = i as f64 * step;
                    @if let Some(n) = d.created {
                        @let h = n as f64 / most * (height - 4.0);
                        rect.created x=(format!("{x:.1}")) y=(format!("{:.1}", height - h)) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) {
                            title { (d.date) ": " (n) }
                        }
                    }
                    @if let Some(n) = d.completed {
                        @let h = n as f64 / most * (height - 4.0);
                        rect.completed x=(format!("{:.1}", x + bar)) y=(format!("{:.1}", height - h)) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) {
                            title { (d.date) ": " (n) }
                        }
                    }
                }
            }
            figcaption.muted {
                (label)
                @if suppressed { "; " (frame.t("过少的日子不画出", "days with too few are not drawn")) }
            }
        }
    }
}
