//! CSV exports for dispatchers: orders (the list's filters) and volunteer hours. UTF-8 with a
//! byte-order mark so spreadsheet programs read Chinese correctly; cells that start with
//! `= + - @` (or a tab or carriage return) are prefixed with `'` against formula injection;
//! streamed page by page rather than built in memory. Exports of personal data are audited.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::stream;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use shenbian_domain::invisible::is_invisible;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::audit;
use crate::auth::{Principal, Staff};
use crate::entity::{category, order, user, volunteer, volunteer_hour};
use crate::error::ApiError;
use crate::extract::Query;
use crate::orders::list::OrderFilter;
use crate::orders::store::list::page as orders_page;
use crate::state::AppState;

/// The CSV exports' routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(orders_csv))
        .routes(utoipa_axum::routes!(hours_csv))
}

const PAGE: u64 = 500;

/// One CSV cell: quoted when needed, and defused when a spreadsheet would run it. A formula
/// hidden behind invisible characters (`U+200B`, `U+FEFF`) or spelled with full-width signs
/// (`＝`, `＋`, `－`, `＠`, which some spreadsheets take as their ASCII twins) is defused too.
pub fn cell(value: &str) -> String {
    let visible = value.trim_start_matches(is_invisible);
    let formula = visible.starts_with(['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'])
        && visible.parse::<f64>().is_err();
    let defused = if formula { format!("'{value}") } else { value.to_owned() };
    if defused.contains([',', '"', '\n', '\r']) { format!("\"{}\"", defused.replace('"', "\"\"")) } else { defused }
}

fn row(cells: &[String]) -> String {
    let mut line = cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

fn csv_response(filename: &str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        body,
    )
        .into_response()
}

fn time(t: Option<DateTime<Utc>>, tz: chrono_tz::Tz) -> String {
    t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
}

/// Orders as CSV, with the filters of `GET /orders` (dispatchers: their community; admins).
#[utoipa::path(get, path = "/orders/export.csv", tag = "exports", security(("bearer" = [])), params(OrderFilter),
    responses((status = 200, description = "CSV, UTF-8 with BOM", content_type = "text/csv", body = String)))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn orders_csv(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<OrderFilter>,
) -> Result<Response, ApiError> {
    let db = state.db()?.clone();
    // Checks scope and filters now, so a refusal is a problem, not a broken download.
    filter.checked(&state, &principal, &[], true)?;
    let what = filter.describe(state.keys()?);
    audit::record_read(&db, principal.user_id, "order.export", "order", "*", what, state.now()).await?;
    let header = row(&[
        "id",
        "number",
        "created_at",
        "status",
        "category_code",
        "urgency",
        "channel",
        "title",
        "resident",
        "contact_phone",
        "compound",
        "building",
        "provider_id",
        "accepted_at",
        "completed_at",
        "escalation_level",
    ]
    .map(str::to_owned));
    let first = Bytes::from(format!("\u{feff}{header}"));
    let tz = state.timezone();
    let pages = stream::unfold(Some((None::<Uuid>, db, state, principal, filter)), move |st| async move {
        let (after, db, state, principal, filter) = st?;
        let page = async {
            let checked = filter.checked(&state, &principal, &[], true)?;
            Ok::<_, ApiError>(orders_page(&db, &checked.filter, &checked.scope, after, PAGE).await?)
        };
        match page.await {
            Ok(rows) if rows.is_empty() => None,
            Ok(rows) => {
                let last = rows.last().map(|l| l.order.id);
                let mut chunk = String::new();
                for listed in &rows {
                    let o = &listed.order;
                    chunk.push_str(&row(&[
                        o.id.to_string(),
                        o.number.clone().unwrap_or_default(),
                        time(Some(o.created_at), tz),
                        serde_json::to_value(o.status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        o.category_code.clone(),
                        serde_json::to_value(o.urgency)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        serde_json::to_value(o.channel)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        o.title.clone(),
                        listed.names.resident().to_owned(),
                        o.contact_phone.clone(),
                        listed.names.compound_name.clone().unwrap_or_default(),
                        listed.names.building_name.clone().unwrap_or_default(),
                        o.provider_id.map(|p| p.to_string()).unwrap_or_default(),
                        time(o.accepted_at, tz),
                        time(o.completed_at, tz),
                        o.escalation_level.to_string(),
                    ]));
                }
                let done = (rows.len() as u64) < PAGE;
                let next = if done { None } else { Some((last, db, state, principal, filter)) };
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(chunk)), next))
            }
            Err(err) => {
                tracing::error!(error = %err, "order export stopped");
                None
            }
        }
    });
    let body = Body::from_stream(futures_util::StreamExt::chain(stream::once(async move { Ok(first) }), pages));
    Ok(csv_response("orders.csv", body))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HoursFilter {
    /// Admins: one community (default all); dispatchers always get their own.
    community_id: Option<Uuid>,
}

/// Volunteer hours as CSV, a line per ledger entry (dispatchers: their community; admins).
#[utoipa::path(get, path = "/volunteers/hours.csv", tag = "exports", security(("bearer" = [])), params(HoursFilter),
    responses((status = 200, description = "CSV, UTF-8 with BOM", content_type = "text/csv", body = String)))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn hours_csv(
    State(state): State<AppState>,
    Staff { principal, scope }: Staff,
    Query(filter): Query<HoursFilter>,
) -> Result<Response, ApiError> {
    let community = scope.or(filter.community_id);
    let db: DatabaseConnection = state.db()?.clone();
    let scope = community.map_or_else(|| "*".to_owned(), |c| c.to_string());
    let what = format!("query: community_id={scope}");
    audit::record_read(&db, principal.user_id, "volunteer.hours_export", "community", scope, what, state.now()).await?;
    let mut query = volunteer::Entity::find();
    if let Some(c) = community {
        query = query.filter(volunteer::Column::CommunityId.eq(c));
    }
    let volunteers = query.all(&db).await?;
    let mut names = BTreeMap::new();
    for v in &volunteers {
        let name = user::Entity::find_by_id(v.user_id).one(&db).await?.map(|u| u.display_name).unwrap_or_default();
        names.insert(v.id, name);
    }
    let categories: BTreeMap<String, String> =
        category::Entity::find().all(&db).await?.into_iter().map(|c| (c.code, c.name_zh)).collect();
    let tz = state.timezone();
    let ids: Vec<Uuid> = volunteers.iter().map(|v| v.id).collect();
    let header = row(&["volunteer_id", "name", "date", "service", "minutes", "kind", "reason"].map(str::to_owned));
    let first = Bytes::from(format!("\u{feff}{header}"));
    let pages = stream::unfold(Some(None::<Uuid>), move |after| {
        let (db, ids, names, categories) = (db.clone(), ids.clone(), names.clone(), categories.clone());
        async move {
            let after = after?;
            let page = async {
                let mut q = volunteer_hour::Entity::find()
                    .filter(volunteer_hour::Column::VolunteerId.is_in(ids))
                    .order_by_asc(volunteer_hour::Column::Id)
                    .limit(PAGE);
                if let Some(a) = after {
                    q = q.filter(volunteer_hour::Column::Id.gt(a));
                }
                let rows = q.all(&db).await?;
                let order_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.order_id).collect();
                let orders: BTreeMap<Uuid, order::Model> = order::Entity::find()
                    .filter(order::Column::Id.is_in(order_ids))
                    .all(&db)
                    .await?
                    .into_iter()
                    .map(|o| (o.id, o))
                    .collect();
                Ok::<_, ApiError>((rows, orders))
            };
            match page.await {
                Ok((rows, _)) if rows.is_empty() => None,
                Ok((rows, orders)) => {
                    let mut chunk = String::new();
                    for r in &rows {
                        let service = r
                            .order_id
                            .and_then(|o| orders.get(&o))
                            .map(|o| {
                                format!(
                                    "{}：{}",
                                    categories.get(&o.category_code).cloned().unwrap_or_default(),
                                    o.title
                                )
                            })
                            .unwrap_or_default();
                        chunk.push_str(&row(&[
                            r.volunteer_id.to_string(),
                            names.get(&r.volunteer_id).cloned().unwrap_or_default(),
                            r.at.with_timezone(&tz).format("%Y-%m-%d").to_string(),
                            service,
                            r.minutes.to_string(),
                            r.kind.clone(),
                            r.reason.clone().unwrap_or_default(),
                        ]));
                    }
                    let next = if (rows.len() as u64) < PAGE { None } else { Some(rows.last().map(|r| r.id)) };
                    Some((Ok::<Bytes, std::io::Error>(Bytes::from(chunk)), next))
                }
                Err(err) => {
                    tracing::error!(error = %err, "hours export stopped");
                    None
                }
            }
        }
    });
    let body = Body::from_stream(futures_util::StreamExt::chain(stream::once(async move { Ok(first) }), pages));
    Ok(csv_response("volunteer-hours.csv", body))
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("张三"), "张三");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+86 138"), "'+86 138");
        assert_eq!(cell("-1+A1"), "'-1+A1");
        assert_eq!(cell("-15"), "-15", "a plain number stays a number");
        assert_eq!(cell("@SUM"), "'@SUM");
        assert_eq!(cell("\u{200B}=1+1"), "'\u{200B}=1+1");
        assert_eq!(cell("\u{FEFF}@SUM(A1)"), "'\u{FEFF}@SUM(A1)");
        assert_eq!(cell("＝HYPERLINK(1)"), "'＝HYPERLINK(1)");
        assert_eq!(cell("－1＋A1"), "'－1＋A1");
    }
}
