//! Contract performance (监督评价): per calendar month of the district, what a partner was
//! offered and did under a contract, how it was rated, and the quota it used.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Principal;
use crate::contracts::standing::visible;
use crate::entity::enums::OfferStatus;
use crate::entity::{contract_usage, offer, order, rating};
use crate::error::{ApiError, t};
use crate::extract::{Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(performance))
}

/// One month of a contract's record.
#[derive(Debug, Default, Clone, Serialize, ToSchema, PartialEq)]
pub struct MonthFigures {
    /// `YYYY-MM`, in the district's time zone.
    pub month: String,
    /// Offers made under the contract.
    pub offered: u64,
    pub accepted: u64,
    pub declined: u64,
    pub expired: u64,
    /// Jobs completed this month.
    pub completed: u64,
    /// Of those, completed by their deadline.
    pub completed_on_time: u64,
    /// Average stars of ratings given this month; null without ratings.
    pub average_rating: Option<f64>,
    pub ratings: u64,
    /// Accepts charged to the contract's monthly quota.
    pub quota_used: u64,
    /// The monthly quota; null for none.
    pub quota: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Performance {
    pub contract_id: Uuid,
    pub partner_id: Uuid,
    pub months: Vec<MonthFigures>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MonthRange {
    /// First month, `YYYY-MM` (inclusive).
    from: Option<String>,
    /// Last month, `YYYY-MM` (inclusive).
    to: Option<String>,
}

fn check_month(field: &str, value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some(m) if chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_err() || m.len() != 7 => {
            Err(ApiError::validation(field, t("须为月份 YYYY-MM，如 2026-12", "a month as YYYY-MM")))
        }
        _ => Ok(()),
    }
}

/// A contract's record month by month (whoever may see the contract).
#[utoipa::path(get, path = "/contracts/{id}/performance", operation_id = "contract_performance", tag = "contracts", security(("bearer" = [])),
    params(("id" = Uuid, Path), MonthRange), responses((status = 200, body = Performance)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn performance(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    Query(range): Query<MonthRange>,
) -> Result<Json<Performance>, ApiError> {
    check_month("from", range.from.as_deref())?;
    check_month("to", range.to.as_deref())?;
    let db = state.db()?;
    let (covered, _) = visible(db, &principal, id).await?;
    let tz = state.timezone();
    let month_of = |at: DateTime<Utc>| at.with_timezone(&tz).format("%Y-%m").to_string();
    let quota = covered.contract.monthly_quota;
    let mut months: BTreeMap<String, MonthFigures> = BTreeMap::new();
    let offers = offer::Entity::find().filter(offer::Column::ContractId.eq(id)).all(db).await?;
    for o in &offers {
        let f = month(&mut months, month_of(o.created_at), quota);
        f.offered += 1;
        match o.status {
            OfferStatus::Accepted => f.accepted += 1,
            OfferStatus::Declined => f.declined += 1,
            OfferStatus::Expired => f.expired += 1,
            _ => {}
        }
    }
    let orders = order::Entity::find().filter(order::Column::ContractId.eq(id)).all(db).await?;
    for o in &orders {
        if let Some(done) = o.completed_at {
            let f = month(&mut months, month_of(done), quota);
            f.completed += 1;
            if o.complete_by.is_some_and(|due| done <= due) {
                f.completed_on_time += 1;
            }
        }
    }
    let order_ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let mut stars: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in rating::Entity::find().filter(rating::Column::OrderId.is_in(order_ids)).all(db).await? {
        let m = month_of(r.created_at);
        month(&mut months, m.clone(), quota);
        let s = stars.entry(m).or_default();
        s.0 += r.stars.max(0) as u64;
        s.1 += 1;
    }
    for (m, (sum, n)) in stars {
        let f = month(&mut months, m, quota);
        f.ratings = n;
        f.average_rating = Some(sum as f64 / n as f64);
    }
    for u in contract_usage::Entity::find().filter(contract_usage::Column::ContractId.eq(id)).all(db).await? {
        month(&mut months, u.month, quota).quota_used = u.accepted.max(0) as u64;
    }
    let from = range.from.unwrap_or_default();
    let to = range.to.unwrap_or_else(|| "9999-12".into());
    let months = months.into_values().filter(|f| f.month >= from && f.month <= to).collect();
    Ok(Json(Performance { contract_id: id, partner_id: covered.contract.partner_id, months }))
}

/// The figures of one month, made empty on first use.
fn month(months: &mut BTreeMap<String, MonthFigures>, m: String, quota: Option<i32>) -> &mut MonthFigures {
    months.entry(m.clone()).or_insert_with(|| MonthFigures { month: m, quota, ..MonthFigures::default() })
}
