//! A provider's jobs: open offers to accept or decline, and assigned jobs, soonest deadline
//! first (partner members, volunteers).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::list::jobs_of;
use super::store::names::names_of;
use super::view::OrderView;
use crate::auth::Acting;
use crate::entity::enums::ProviderKind;
use crate::error::ApiError;
use crate::extract::Query;
use crate::pagination::{MAX_LIMIT, PageParams, Paginated, encode_text_cursor};
use crate::state::AppState;

/// A job in a provider's list: an open offer to accept or decline, or an assigned job.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct JobView {
    /// `offer` or `assigned`.
    pub kind: String,
    /// Which of the caller's providers it is for.
    pub provider_id: Uuid,
    pub provider_kind: ProviderKind,
    /// The offer's accept deadline, or the job's completion deadline.
    pub deadline: Option<DateTime<Utc>>,
    pub order: OrderView,
}

/// My offered and assigned jobs, soonest deadline first (partner members, volunteers).
#[utoipa::path(get, path = "/jobs", tag = "orders", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Paginated<JobView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn jobs(
    State(state): State<AppState>,
    Acting { providers, .. }: Acting,
    Query(params): Query<PageParams>,
) -> Result<Json<Paginated<JobView>>, ApiError> {
    let (limit, after) = params.text_page()?;
    let db = state.db()?;
    let ids: Vec<Uuid> = providers.iter().map(|p| p.id).collect();
    let (offers, assigned) = jobs_of(db, ids, MAX_LIMIT * 10).await?;
    let ids: Vec<Uuid> = assigned.iter().map(|o| o.id).chain(offers.iter().map(|(_, o)| o.id)).collect();
    let names = names_of(db, &ids).await?;
    let mut jobs: Vec<(String, JobView)> = Vec::new();
    for (o, found) in offers {
        // Masked as `GET /orders/{id}` masks it for an offered provider: `张*`, and the name
        // masked in the free text too.
        let view = OrderView::new(found, &names.get(&o.order_id).cloned().unwrap_or_default(), false);
        let key = format!("{}|{}", o.accept_by.to_rfc3339(), o.order_id);
        jobs.push((
            key,
            JobView {
                kind: "offer".into(),
                provider_id: o.provider_id,
                provider_kind: o.provider_kind,
                deadline: Some(o.accept_by),
                order: view,
            },
        ));
    }
    for o in assigned {
        let name = names.get(&o.id).cloned().unwrap_or_default();
        let deadline = o.complete_by;
        let key = format!("{}|{}", deadline.map(|d| d.to_rfc3339()).unwrap_or_default(), o.id);
        let (provider_id, provider_kind) =
            (o.provider_id.unwrap_or_default(), o.provider_kind.unwrap_or(ProviderKind::Partner));
        jobs.push((
            key,
            JobView {
                kind: "assigned".into(),
                provider_id,
                provider_kind,
                deadline,
                order: OrderView::new(o, &name, true),
            },
        ));
    }
    // Soonest deadline first; the key (deadline, order id) is the cursor.
    jobs.sort_by(|a, b| a.0.cmp(&b.0));
    let start = after.map_or(0, |after| jobs.iter().position(|(k, _)| *k > after).unwrap_or(jobs.len()));
    let page: Vec<(String, JobView)> = jobs.into_iter().skip(start).take(limit as usize + 1).collect();
    let more = page.len() as u64 > limit;
    let mut items: Vec<(String, JobView)> = page.into_iter().take(limit as usize).collect();
    let next_cursor = if more { items.last().map(|(k, _)| encode_text_cursor(k)) } else { None };
    Ok(Json(Paginated { items: items.drain(..).map(|(_, j)| j).collect(), next_cursor }))
}
