//! The background worker: expires offers past their window, auto-dispatches where a
//! community asks for it, escalates overdue orders, and confirms completed orders left
//! alone. Every item is one small transaction with a guarded compare-and-set, so several
//! instances may run their workers on one database and each event happens exactly once; a
//! worker step racing a user step ends in one legal outcome (the loser changes nothing).
//! Each item is a step of the `System` actor through the orders' one pipeline, decided by
//! the domain like any other. Time comes from the state's clock, so tests move time and
//! call [`tick`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect};
use shenbian_domain::order::OrderStatus;
use shenbian_domain::step::Step;
use uuid::Uuid;

use crate::entity::enums::OrderStatusDb;
use crate::entity::{community, order};
use crate::error::ApiError;
use crate::metrics::WorkerTick;
use crate::orders::auto_dispatch::{auto_dispatch, auto_dispatches};
use crate::orders::pipeline::begin_system;
use crate::orders::store::offers;
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
    /// Reminders given (offers expiring soon, ratings not given).
    pub reminded: u64,
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
            reminded: crate::notifications::remind(state, now).await?,
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

/// Runs one step of the worker's on one order, in its own transaction.
async fn step(state: &AppState, order_id: Uuid, step: Step) -> Result<bool, ApiError> {
    match begin_system(state, order_id).await? {
        Some(ctx) => ctx.run_system(step).await,
        None => Ok(false),
    }
}

/// Expires open offers past their window; an order left without open offers returns to
/// pending. Racing an accept, one of the two changes the offer; the other finds it closed.
async fn expire_offers(state: &AppState, now: DateTime<Utc>) -> Result<u32, ApiError> {
    let due = offers::due_to_expire(state.db()?, now, BATCH).await?;
    let mut done = 0;
    for o in due {
        if step(state, o.order_id, Step::Expire { offer: o.id, provider: o.provider_id }).await? {
            done += 1;
        }
    }
    Ok(done)
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
        if auto_dispatches(settings, &o.category_code) && auto_dispatch(state, o.id).await? {
            done += 1;
        }
    }
    Ok(done)
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
        if step(state, o.id, Step::Escalate { level, reason }).await? {
            done += 1;
        }
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
        if step(state, o.id, Step::AutoConfirm { after_hours: hours }).await? {
            done += 1;
        }
    }
    Ok(done)
}
