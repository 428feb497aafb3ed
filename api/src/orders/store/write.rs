//! Applying a step the domain planned ([`shenbian_domain::step::Plan`]) as one guarded
//! write, inside the caller's transaction.
//!
//! The guard: a step that moves the order (its state, or any column) writes it first with a
//! compare-and-set on its status and version — the version is bumped by every write of an
//! order's row, so a row that still has the version read is the row read. A step that leaves
//! the order as it is (a rating, a decline among other open offers) holds it instead: the
//! row is checked unchanged and, on PostgreSQL, locked until the commit — unless it is in a
//! final state (closed, cancelled), which no step changes any more. Either way the
//! order's row is the first row a step locks, so steps never deadlock. When the guard fails,
//! nothing is written: [`StoreError::LostRace`].

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockType, Query as SqlQuery, UpdateStatement};
use sea_orm::{
    ActiveValue::Set as SetValue, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, Iterable,
    ModelTrait, QueryFilter, QueryResult, QueryTrait, Statement,
};
use shenbian_domain::order::OrderStatus;
use shenbian_domain::step::{Capacity, Offers, Plan, Set};
use uuid::Uuid;

use super::events::{self, Guard, NewEvent};
use super::{StoreError, Stored, capacity, offers};
use crate::entity::enums::{OfferStatus, ProviderKind};
use crate::entity::{order, rating, volunteer_hour};
use crate::error::violates_unique;

/// What a step wrote.
pub struct Applied {
    /// The order as stored after the step.
    pub order: order::Model,
    /// The state the step left the order in.
    pub to: OrderStatus,
    /// The step's events, for [`super::events::append`] as the transaction's last write.
    pub events: Vec<NewEvent>,
}

/// Applies a planned step to the order read as `before`, at `at`; `month` is the contract
/// quota's calendar month (`YYYY-MM`), `rating` the row a rating inserts. The events come
/// back to be appended as the transaction's last write: the event counter's row lock is then
/// held only for its end (and a transaction that applies several steps locks every order
/// before the counter, as a single step does).
pub async fn apply(
    db: &impl ConnectionTrait,
    before: &order::Model,
    plan: &Plan,
    at: DateTime<Utc>,
    month: &str,
    rating: Option<&rating::Model>,
) -> Stored<Applied> {
    let (to, set) = match &plan.offers {
        Offers::CloseOne { offer, end, reason } => {
            hold(db, before).await?;
            if !offers::close_one(db, *offer, (*end).into(), reason.as_deref(), at).await? {
                return Err(StoreError::LostRace);
            }
            plan.settled(offers::open_count(db, before.id).await? > 0)
        }
        _ => (plan.to, plan.set.clone()),
    };
    let order = if to != plan.from || !set.is_empty() {
        compare_and_set(db, before, moved(before, to, &set, at)).await?.ok_or(StoreError::LostRace)?
    } else {
        // An order in a final state never changes again: nothing to hold (a second rating
        // is refused by the ratings' unique order).
        if !matches!(plan.offers, Offers::CloseOne { .. }) && !plan.from.is_final() {
            hold(db, before).await?;
        }
        before.clone()
    };
    let mut events = Vec::new();
    match &plan.offers {
        Offers::Make(made) => {
            offers::make(db, before.id, made, plan.actor_id, at).await?;
            // One event per provider offered; the first moves the order.
            for (i, o) in made.iter().enumerate() {
                let from = if i == 0 { plan.from } else { to };
                events.push(NewEvent::new(plan.action, plan.actor_id, plan.role, from, to).provider(o.provider.id));
            }
        }
        Offers::Spend { offer, others_open } => {
            if !offers::close_one(db, *offer, OfferStatus::Accepted, None, at).await? {
                return Err(StoreError::LostRace);
            }
            if *others_open {
                offers::close_all(db, before.id, OfferStatus::Closed, "accepted_by_another", at).await?;
            }
        }
        Offers::CloseAll { reason } => {
            offers::close_all(db, before.id, OfferStatus::Closed, reason, at).await?;
        }
        Offers::Untouched | Offers::CloseOne { .. } => {}
    }
    match plan.capacity {
        Capacity::Take { provider, contract_id } => {
            capacity::take(db, provider.kind.into(), provider.id, contract_id, month).await?;
        }
        Capacity::GiveBack => capacity::give_back(db, before).await?,
        Capacity::Untouched => {}
    }
    if plan.count_hours {
        count_hours(db, &order, at).await?;
    }
    if let Some(rating) = rating {
        insert_rating(db, rating).await?;
    }
    if events.is_empty() && (to != plan.from || plan.recorded_if_unmoved) {
        events.push(step_event(plan, to));
    }
    Ok(Applied { order, to, events })
}

/// The order moved to `to` with the step's columns set, as its compare-and-set writes it:
/// the version bumped, the update's time `at`.
fn moved(before: &order::Model, to: OrderStatus, set: &[Set], at: DateTime<Utc>) -> order::Model {
    let mut o = before.clone();
    o.status = to.into();
    o.version += 1;
    o.updated_at = at;
    for change in set {
        match change {
            Set::Assign { provider, contract_id, accepted_at, complete_by } => {
                o.provider_kind = Some(provider.kind.into());
                o.provider_id = Some(provider.id);
                o.contract_id = *contract_id;
                o.accepted_at = Some(*accepted_at);
                o.complete_by = Some(*complete_by);
            }
            Set::Unassign => unassigned(&mut o),
            Set::StartedAt(at) => o.started_at = Some(*at),
            Set::AcceptBy(accept_by) => o.accept_by = *accept_by,
            Set::FirstDispatchedAt(first) => o.first_dispatched_at = Some(*first),
            Set::Completion { summary, minutes, completed_at } => {
                o.summary = Some(summary.clone());
                o.minutes = minutes.map(|m| m as i32);
                o.completed_at = Some(*completed_at);
            }
            Set::ClearCompletedAt => o.completed_at = None,
            Set::EscalationLevel(level) => o.escalation_level = *level,
        }
    }
    o
}

/// The order with no provider: kind, provider, contract and the times of its acceptance and
/// its start cleared.
pub fn unassigned(o: &mut order::Model) {
    o.provider_kind = None;
    o.provider_id = None;
    o.contract_id = None;
    o.accepted_at = None;
    o.complete_by = None;
    o.started_at = None;
}

/// Writes `after` over the order read as `before`, provided the row still has `before`'s
/// status and version; `after` is then the row as stored, and is returned. Only the columns
/// that differ are written, and nothing is read back. `None` when the row moved meanwhile
/// (nothing is written).
pub async fn compare_and_set(
    db: &impl ConnectionTrait,
    before: &order::Model,
    after: order::Model,
) -> Stored<Option<order::Model>> {
    let written = db.execute(&cas(before, &after)).await?.rows_affected();
    Ok((written == 1).then_some(after))
}

/// The compare-and-set's `UPDATE`.
fn cas(before: &order::Model, after: &order::Model) -> UpdateStatement {
    debug_assert_eq!(before.id, after.id);
    debug_assert!(after.version > before.version, "a write of an order's row bumps its version");
    let mut update = order::Entity::update_many();
    for column in order::Column::iter() {
        let value = after.get(column);
        if before.get(column) != value {
            update = update.col_expr(column, Expr::value(value));
        }
    }
    update
        .filter(order::Column::Id.eq(before.id))
        .filter(order::Column::Status.eq(before.status))
        .filter(order::Column::Version.eq(before.version))
        .into_query()
}

/// A step written with its events in one statement ([`events::in_sequence`] with the step's
/// one guarded write as its guard), to run as its transaction's only statement
/// ([`crate::db::WriteTx::finish_with`]).
pub struct OneStatement {
    pub statement: Statement,
    order: order::Model,
    to: OrderStatus,
    /// The events the statement inserts (a row returned for each) when the guard holds.
    events: usize,
}

/// The step as [`OneStatement`], when it can be one: a step that moves the order and whose
/// other write, if any, is the capacity it gives back — a start, a completion, a release, a
/// confirmation (of a partner's job: a volunteer's counts hours) — or a rating of an order
/// that no step changes any more (closed). `None` for any other step: [`apply`], then
/// [`events::append`].
pub fn one_statement(
    backend: DatabaseBackend,
    before: &order::Model,
    plan: &Plan,
    at: DateTime<Utc>,
    rating: Option<&rating::Model>,
) -> Stored<Option<OneStatement>> {
    let counts_hours = plan.count_hours && before.provider_kind == Some(ProviderKind::Volunteer);
    if !matches!(plan.offers, Offers::Untouched) || counts_hours {
        return Ok(None);
    }
    let then = match plan.capacity {
        Capacity::Untouched => None,
        Capacity::GiveBack => capacity::give_back_statement(before),
        Capacity::Take { .. } => return Ok(None),
    };
    let (guard, order) = match rating {
        None if plan.to != plan.from => {
            let order = moved(before, plan.to, &plan.set, at);
            (Guard::update(cas(before, &order)).then(then), order)
        }
        Some(r) if plan.to == plan.from && plan.from.is_final() && plan.recorded_if_unmoved && then.is_none() => {
            (Guard::insert(rating_insert(r).into_query()), before.clone())
        }
        _ => return Ok(None),
    };
    let rows = events::rows(before.id, vec![step_event(plan, plan.to)], at);
    let Some(statement) = events::in_sequence(backend, &rows, Some(guard))? else { return Ok(None) };
    Ok(Some(OneStatement { statement, order, to: plan.to, events: rows.len() }))
}

impl OneStatement {
    /// What the step wrote, from the rows the statement returned: [`StoreError::LostRace`]
    /// when the guard found the order changed, [`StoreError::AlreadyRated`] for a second
    /// rating.
    pub fn written(self, done: Result<Vec<QueryResult>, DbErr>) -> Stored<Applied> {
        match done.map(|rows| rows.len()) {
            Ok(0) => Err(StoreError::LostRace),
            Ok(n) if n == self.events => Ok(Applied { order: self.order, to: self.to, events: Vec::new() }),
            Ok(n) => Err(DbErr::Custom(format!("a step's write inserted {n} events, not {}", self.events)).into()),
            Err(e) => Err(rating_refused(e)),
        }
    }
}

/// The event a step records when the order ends in `to`.
fn step_event(plan: &Plan, to: OrderStatus) -> NewEvent {
    let event = NewEvent::new(plan.action, plan.actor_id, plan.role, plan.from, to).reason(plan.reason.clone());
    match plan.provider_id {
        Some(provider) => event.provider(provider),
        None => event,
    }
}

/// Holds the order as read: checks its status and version unchanged and, on PostgreSQL,
/// locks its row until the commit (SQLite's write transaction holds the one write lock).
async fn hold(db: &impl ConnectionTrait, before: &order::Model) -> Stored<()> {
    let mut q = SqlQuery::select();
    q.expr(Expr::val(1))
        .from(order::Entity)
        .and_where(order::Column::Id.eq(before.id))
        .and_where(order::Column::Status.eq(before.status))
        .and_where(order::Column::Version.eq(before.version));
    if db.get_database_backend() == DatabaseBackend::Postgres {
        q.lock(LockType::Update);
    }
    db.query_one(&q).await?.map(|_| ()).ok_or(StoreError::LostRace)
}

/// Counts a closed volunteer job's minutes in the hours ledger.
async fn count_hours(db: &impl ConnectionTrait, o: &order::Model, at: DateTime<Utc>) -> Stored<()> {
    if let (Some(ProviderKind::Volunteer), Some(volunteer_id), Some(minutes)) =
        (o.provider_kind, o.provider_id, o.minutes)
    {
        volunteer_hour::Entity::insert(volunteer_hour::ActiveModel {
            id: SetValue(Uuid::now_v7()),
            volunteer_id: SetValue(volunteer_id),
            order_id: SetValue(Some(o.id)),
            minutes: SetValue(minutes),
            kind: SetValue("service".into()),
            reason: SetValue(None),
            created_by: SetValue(None),
            at: SetValue(at),
        })
        .exec(db)
        .await?;
    }
    Ok(())
}

/// Inserts an order's rating; a second one is [`StoreError::AlreadyRated`].
async fn insert_rating(db: &impl ConnectionTrait, r: &rating::Model) -> Stored<()> {
    rating_insert(r).exec_without_returning(db).await.map_err(rating_refused)?;
    Ok(())
}

fn rating_insert(r: &rating::Model) -> sea_orm::Insert<rating::ActiveModel> {
    rating::Entity::insert(rating::ActiveModel::from(r.clone()))
}

/// A failed rating insert: a second rating of the order is [`StoreError::AlreadyRated`].
fn rating_refused(e: DbErr) -> StoreError {
    if violates_unique(&e, "uq_rating_order", "ratings.order_id") { StoreError::AlreadyRated } else { e.into() }
}
