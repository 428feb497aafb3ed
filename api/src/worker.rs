//! The background worker: expires offers past their window, auto-dispatches where a
//! community asks for it, escalates overdue orders, and confirms completed orders left
//! alone. Every item is one small transaction with a guarded compare-and-set, so several
//! instances may run their workers on one database and each event happens exactly once; a
//! worker step racing a user step ends in one legal outcome (the loser changes nothing).
//! Time comes from the state's clock, so tests move time and call [`tick`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use shenbian_domain::order::{Action, ActorRole, OrderStatus, auto_confirm_due};
use uuid::Uuid;

use crate::db::begin_write;
use crate::entity::enums::{OfferStatus, OrderStatusDb};
use crate::entity::{community, offer, order};
use crate::error::ApiError;
use crate::metrics::WorkerTick;
use crate::orders::access::lock_order;
use crate::orders::cas::{back_to_pending, compare_and_set};
use crate::orders::closing::count_hours;
use crate::orders::events::{NewEvent, append};
use crate::orders::steps::NewOffer;
use crate::places::CommunitySettings;
use crate::state::AppState;

/// Items handled per kind and tick; the next tick takes the rest.
const BATCH: u64 = 200;

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub expired: u32,
    pub dispatched: u32,
    pub escalated: u32,
    pub confirmed: u32,
}

/// Runs ticks forever at the configured interval (until the task is aborted).
pub async fn run(state: AppState) {
    state.wait_ready().await;
    let every = Duration::from_secs(state.settings.worker_interval_secs);
    loop {
        match tick(&state).await {
            Ok(report) if report != Report::default() => tracing::info!(?report, "worker tick"),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "worker tick failed; will retry"),
        }
        tokio::time::sleep(every).await;
    }
}

/// One pass over everything due now, counted in the metrics (a pass that fails counts as a
/// failure; what it did before failing is in the database, not in the counters).
pub async fn tick(state: &AppState) -> Result<Report, ApiError> {
    let now = state.now();
    let passed = async {
        Ok::<_, ApiError>(Report {
            expired: expire_offers(state, now).await?,
            dispatched: auto_dispatch_pending(state).await?,
            escalated: escalate_overdue(state, now).await?,
            confirmed: auto_confirm(state, now).await?,
        })
    }
    .await;
    match &passed {
        Ok(r) => state.metrics.worker_ticked(WorkerTick {
            at_unix_secs: now.timestamp(),
            expired: r.expired,
            dispatched: r.dispatched,
            escalated: r.escalated,
            confirmed: r.confirmed,
        }),
        Err(_) => state.metrics.worker_failed(),
    }
    passed
}

/// Expires open offers past their window; an order left without open offers returns to
/// pending. Racing an accept, one of the two changes the offer; the other finds it closed.
async fn expire_offers(state: &AppState, now: DateTime<Utc>) -> Result<u32, ApiError> {
    let due = offer::Entity::find()
        .filter(offer::Column::Status.eq(OfferStatus::Open))
        .filter(offer::Column::AcceptBy.lte(now))
        .limit(BATCH)
        .all(state.db()?)
        .await?;
    let mut done = 0;
    for o in due {
        let tx = begin_write(state.db()?).await?;
        let Some(current) = lock_order(&tx, o.order_id).await? else { continue };
        let expired = offer::Entity::update_many()
            .col_expr(offer::Column::Status, Expr::value(OfferStatus::Expired))
            .col_expr(offer::Column::Reason, Expr::value("accept window passed"))
            .col_expr(offer::Column::ClosedAt, Expr::value(now))
            .filter(offer::Column::Id.eq(o.id))
            .filter(offer::Column::Status.eq(OfferStatus::Open))
            .exec(&tx)
            .await?
            .rows_affected;
        if expired == 0 || current.status != OrderStatusDb::Offered {
            tx.commit().await?;
            continue;
        }
        let remaining = offer::Entity::find()
            .filter(offer::Column::OrderId.eq(o.order_id))
            .filter(offer::Column::Status.eq(OfferStatus::Open))
            .count(&tx)
            .await?;
        let to = if remaining == 0 { OrderStatus::Pending } else { OrderStatus::Offered };
        if to == OrderStatus::Pending && compare_and_set(&tx, &current, back_to_pending(&current, now)).await?.is_none()
        {
            continue;
        }
        let event =
            NewEvent::new(Action::Expired, None, ActorRole::System, OrderStatus::Offered, to).provider(o.provider_id);
        append(&tx, current.id, vec![event], now).await?;
        tx.commit().await?;
        done += 1;
    }
    Ok(done)
}

/// Whether a community offers this category's orders automatically.
pub fn auto_dispatches(settings: &CommunitySettings, category: &str) -> bool {
    settings.auto_dispatch_categories.get(category).copied().unwrap_or(settings.auto_dispatch)
}

/// Offers pending orders of auto-dispatching communities to their best candidate (an
/// emergency to the best three); after too many declines or expiries, escalates instead.
async fn auto_dispatch_pending(state: &AppState) -> Result<u32, ApiError> {
    let db = state.db()?;
    let communities: Vec<(Uuid, CommunitySettings)> = community::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, CommunitySettings::from_stored(&c.settings)))
        .filter(|(_, s)| s.auto_dispatch || s.auto_dispatch_categories.values().any(|on| *on))
        .collect();
    if communities.is_empty() {
        return Ok(0);
    }
    let pending = order::Entity::find()
        .filter(order::Column::Status.eq(OrderStatusDb::Pending))
        .filter(order::Column::EscalationLevel.eq(0))
        .filter(order::Column::CommunityId.is_in(communities.iter().map(|c| c.0)))
        .limit(BATCH)
        .all(db)
        .await?;
    let mut done = 0;
    for o in pending {
        let Some((_, settings)) = communities.iter().find(|c| c.0 == o.community_id) else { continue };
        if auto_dispatches(settings, &o.category_code) && auto_dispatch_one(state, o.id).await? {
            done += 1;
        }
    }
    Ok(done)
}

/// Auto-dispatches one pending order, in its own transaction. Returns whether it changed.
pub async fn auto_dispatch_one(state: &AppState, order_id: Uuid) -> Result<bool, ApiError> {
    let now = state.now();
    let tx = begin_write(state.db()?).await?;
    let Some(current) = lock_order(&tx, order_id).await? else { return Ok(false) };
    if current.status != OrderStatusDb::Pending || current.escalation_level > 0 {
        return Ok(false);
    }
    let failures = offer::Entity::find()
        .filter(offer::Column::OrderId.eq(order_id))
        .filter(offer::Column::Status.is_in([OfferStatus::Declined, OfferStatus::Expired]))
        .count(&tx)
        .await?;
    let candidates = crate::candidates::ranked(&tx, state, &current).await?;
    if failures >= u64::from(state.settings.auto_dispatch_max_attempts) || candidates.is_empty() {
        let reason = if candidates.is_empty() {
            "auto_dispatch: no eligible provider"
        } else {
            "auto_dispatch: attempts used up"
        };
        let escalated = escalate(&tx, &current, 1, reason, now).await?;
        tx.commit().await?;
        return Ok(escalated);
    }
    let how_many = if current.urgency == crate::entity::enums::UrgencyDb::Emergency { 3 } else { 1 };
    let category = crate::entity::category::Entity::find_by_id(current.category_code.clone())
        .one(&tx)
        .await?
        .ok_or_else(|| ApiError::internal("order without category"))?;
    let window = crate::categories::stored_sla(&category)?.for_urgency(current.urgency.into()).accept;
    let offers: Vec<NewOffer> = candidates
        .iter()
        .take(how_many)
        .map(|c| NewOffer {
            kind: c.kind,
            provider_id: c.scored.id,
            contract_id: c.contract_id,
            minutes: c.accept_within.unwrap_or(window),
        })
        .collect();
    let (_, events) = crate::orders::steps::make_offers(&tx, &current, &offers, None, ActorRole::System, now).await?;
    append(&tx, order_id, events, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Raises an order's escalation level once (a guarded update: exactly once across
/// instances) and records it.
async fn escalate(
    db: &impl sea_orm::ConnectionTrait,
    o: &order::Model,
    level: i32,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let raised = order::Entity::update_many()
        .col_expr(order::Column::EscalationLevel, Expr::value(level))
        // A write of an order's row bumps its version (see `compare_and_set`): a step that
        // read the order before the escalation then finds it changed.
        .col_expr(order::Column::Version, Expr::col(order::Column::Version).add(1))
        .col_expr(order::Column::UpdatedAt, Expr::value(at))
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::Status.eq(o.status))
        .filter(order::Column::EscalationLevel.lt(level))
        .exec(db)
        .await?
        .rows_affected;
    if raised == 1 {
        let status = OrderStatus::from(o.status);
        let event =
            NewEvent::new(Action::Escalated, None, ActorRole::System, status, status).reason(Some(reason.to_owned()));
        append(db, o.id, vec![event], at).await?;
    }
    Ok(raised == 1)
}

/// Escalates orders past a deadline: not dispatched in time (level 1), not completed in time
/// (level 2). Each once.
async fn escalate_overdue(state: &AppState, now: DateTime<Utc>) -> Result<u32, ApiError> {
    let overdue = order::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(order::Column::Status.is_in([OrderStatusDb::Pending, OrderStatusDb::Offered]))
                        .add(order::Column::DispatchBy.lt(now))
                        .add(order::Column::EscalationLevel.lt(1)),
                )
                .add(
                    Condition::all()
                        .add(order::Column::Status.is_in([OrderStatusDb::Accepted, OrderStatusDb::InProgress]))
                        .add(order::Column::CompleteBy.lt(now))
                        .add(order::Column::EscalationLevel.lt(2)),
                ),
        )
        .limit(BATCH)
        .all(state.db()?)
        .await?;
    let mut done = 0;
    for o in overdue {
        let (level, reason) = if OrderStatus::from(o.status).holds_capacity() {
            (2, "complete_by passed")
        } else {
            (1, "dispatch_by passed")
        };
        let tx = begin_write(state.db()?).await?;
        let Some(current) = lock_order(&tx, o.id).await? else { continue };
        if current.status == o.status && escalate(&tx, &current, level, reason, now).await? {
            done += 1;
        }
        tx.commit().await?;
    }
    Ok(done)
}

/// Confirms completed orders left alone for the configured time; a volunteer's minutes count.
async fn auto_confirm(state: &AppState, now: DateTime<Utc>) -> Result<u32, ApiError> {
    let hours = state.settings.auto_confirm_after_hours;
    let since = now - chrono::Duration::hours(i64::from(hours));
    let due = order::Entity::find()
        .filter(order::Column::Status.eq(OrderStatusDb::Completed))
        .filter(order::Column::CompletedAt.lte(since))
        .limit(BATCH)
        .all(state.db()?)
        .await?;
    let mut done = 0;
    for o in due {
        let tx = begin_write(state.db()?).await?;
        let Some(current) = lock_order(&tx, o.id).await? else { continue };
        let due_now = current.status == OrderStatusDb::Completed
            && current.completed_at.is_some_and(|c| auto_confirm_due(c, now, hours));
        if !due_now {
            continue;
        }
        let after = order::Model {
            status: OrderStatusDb::Closed,
            version: current.version + 1,
            updated_at: now,
            ..current.clone()
        };
        let closed = compare_and_set(&tx, &current, after).await?;
        let Some(closed) = closed else { continue };
        count_hours(&tx, &closed, now).await?;
        let event =
            NewEvent::new(Action::Confirmed, None, ActorRole::System, OrderStatus::Completed, OrderStatus::Closed)
                .reason(Some(format!("auto_confirmed after {hours} h")));
        append(&tx, closed.id, vec![event], now).await?;
        tx.commit().await?;
        done += 1;
    }
    Ok(done)
}
