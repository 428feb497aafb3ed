//! Correcting an order before it is dispatched: its resident or the community's dispatchers,
//! each correction an `updated` event.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use shenbian_domain::order::{Action, OrderStatus, Outcome, decide_as_any};
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::visible_read;
use super::create::{AddressBody, active_category, check_address};
use super::pipeline::{lost_race, refused};
use super::store::events::{NewEvent, append};
use super::store::intake::lookups;
use super::store::names::OrderNames;
use super::store::write::compare_and_set;
use super::view::OrderView;
use crate::access::text_field;
use crate::auth::Principal;
use crate::db::begin_write;
use crate::entity::enums::UrgencyDb;
use crate::entity::order;
use crate::error::{ApiError, t};
use crate::extract::{Fields, JsonBody, Path};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderPatch {
    category_code: Option<String>,
    urgency: Option<UrgencyDb>,
    #[schema(min_length = 1, max_length = 100)]
    title: Option<String>,
    #[schema(min_length = 1, max_length = 2000)]
    description: Option<String>,
    address: Option<AddressBody>,
}

/// Correct an order before it is dispatched (its resident, the community's dispatchers).
/// Each correction is an `updated` event.
#[utoipa::path(patch, path = "/orders/{id}", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = OrderPatch, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn patch_order(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<OrderPatch>,
) -> Result<Json<OrderView>, ApiError> {
    let db = state.db()?;
    let now = state.now();
    let tx = begin_write(db).await?;
    let (read, standing) = visible_read(&tx, &principal, id, None).await?;
    let current = read.order;
    let from = OrderStatus::from(current.status);
    let (role, to) =
        decide_as_any(from, Action::Updated, &standing.roles(), Outcome::Default).map_err(|r| refused(r.into()))?;
    let mut fields = Fields::default();
    let category = body.category_code.clone().unwrap_or_else(|| current.category_code.clone());
    let found = lookups(
        &tx,
        None,
        current.community_id,
        &category,
        body.address.as_ref().map(|a| a.compound_id),
        body.address.as_ref().and_then(|a| a.building_id),
        None,
    )
    .await?;
    let sla = active_category(&found)?;
    if sla.is_none() {
        fields.push("category_code", t("没有这个服务类别，或它暂不接单", "no such category, or it takes no orders"));
    }
    let title = body.title.as_deref().map(|t| fields.check("title", text_field(t, 1, 100)));
    let description = body.description.as_deref().map(|d| fields.check("description", text_field(d, 1, 2000)));
    let address = match &body.address {
        Some(a) => check_address(&found, current.community_id, a, &mut fields),
        None => None,
    };
    let Some(sla) = sla else { return Err(fields.into_error()) };
    fields.finish()?;
    let urgency = body.urgency.unwrap_or(current.urgency);
    let mut after = order::Model {
        category_code: category,
        urgency,
        dispatch_by: shenbian_domain::step::dispatch_by(&sla, urgency.into(), current.created_at),
        version: current.version + 1,
        updated_at: now,
        ..current.clone()
    };
    if let Some(Some(title)) = title {
        after.title = title;
    }
    if let Some(Some(description)) = description {
        after.description = description;
    }
    if let Some(a) = address {
        after.compound_id = a.compound_id;
        after.building_id = a.building_id;
        after.unit = a.unit;
        after.room = a.room;
        after.address_detail = a.detail;
    }
    let updated = compare_and_set(&tx, &current, after).await?.ok_or_else(lost_race)?;
    // Appended last: the event counter's row lock is held from here to the commit.
    append(&tx, id, vec![NewEvent::new(Action::Updated, Some(principal.user_id), role, from, to)], now).await?;
    tx.commit().await?;
    let names = if body.address.is_some() {
        OrderNames { compound_name: found.compound_name, building_name: found.building_name, ..read.names }
    } else {
        read.names
    };
    Ok(Json(OrderView::new(updated, &names, true)))
}
