//! The steps of an order's life: dispatch, withdraw, accept, decline, start, complete,
//! release, reassign, cancel. Each is one transaction whose first write is a compare-and-set
//! on the order's status and version (the order was read just before, with the caller's
//! standing, and the domain decided on it) — or, for start and complete (and confirm), on
//! its status and the caller's standing, with no read before it ([`write_first`]); an
//! accept spends the caller's offer first, with the order's row locked by that write's
//! condition, and then moves the order ([`accept_first`]); offers and capacity change with
//! it, and the event log gets its entry. Two racing actors: one wins, the other gets 409.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockType, Query as SqlQuery, QueryStatementBuilder, ReturningClause};
use sea_orm::{
    ActiveEnum, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, Iterable,
    ModelTrait, PaginatorTrait, QueryFilter, Value,
};
use serde::Deserialize;
use shenbian_domain::eligibility::{Ineligible, partner_eligibility, volunteer_eligibility};
use shenbian_domain::order::{Action, ActorRole, OrderStatus, Outcome, Refusal, allowed_from, decide, decide_as_any};
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::{
    OrderRead, Standing, authenticated_read, in_sets, lock_order, offer_standing, provider_sets, providers_of,
    read_order, resident_name, seen_by_bearer_or, seen_or, standing, standing_written,
};
use super::capacity;
use super::cas::{back_to_pending, compare_and_set};
use super::events::{NewEvent, append};
use super::view::{OrderView, offered_to};
use crate::access::{ReasonBody, check_reason, text_field};
use crate::auth::{Bearer, Principal};
use crate::db::{WriteTx, begin_write};
use crate::eligibility::{Ask, ReasonView, month_key, partner_facts, volunteer_facts};
use crate::entity::enums::{OfferStatus, OrderStatusDb, ProviderKind};
use crate::entity::{category, offer, order};
use crate::error::{ApiError, FieldIssue, IneligibleProvider, t};
use crate::extract::{JsonBody, Lang, MaybeJson, Path};
use crate::state::AppState;

/// The HTTP answer to a domain refusal: 403 for a role that may never, 409 for a state.
pub fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::NotYourRole { .. } => ApiError::Forbidden,
        Refusal::WrongState { .. } => ApiError::InvalidTransition(r.message()),
    }
}

/// A compare-and-set that changed no row: someone else moved the order first.
pub fn lost_race() -> ApiError {
    ApiError::InvalidTransition(t("订单刚被他人修改；请刷新后重试", "the order changed meanwhile; reload it"))
}

/// An order inside a step: visible to the caller, with the caller's standing, and a write
/// transaction open for the step.
pub(super) struct Ctx {
    pub(super) tx: WriteTx,
    /// The caller, authenticated with the order's read.
    pub(super) principal: Principal,
    pub(super) order: order::Model,
    pub(super) standing: Standing,
    /// The order's row as the step wrote it, when the step was written first
    /// ([`write_first`]); `order` is then the row as it was before that write.
    written: Option<order::Model>,
    /// The resident's display name, for the answer.
    resident_name: String,
    /// The order's category's service levels (stored JSON), as read with the order or
    /// returned by an accept's first write ([`accept_first`]); none after [`write_first`],
    /// whose steps need none.
    category_sla: Option<String>,
    pub(super) now: DateTime<Utc>,
}

/// Begins a step optimistically: the order and the caller's standing are read before the
/// write transaction, and the step's first write is the compare-and-set on the order's
/// status and version ([`Ctx::move_to`], or [`Ctx::unchanged`] as the condition of the
/// one row a step that leaves the status as it is inserts), which proves that nothing
/// changed since; when something did, the step changes nothing and answers 409. On SQLite
/// every statement inside the transaction holds the database's one write lock, so reads
/// are kept out of it.
///
/// The caller's session is checked in the order's read ([`authenticated_read`]).
pub(super) async fn begin(state: &AppState, caller: &Bearer, id: Uuid, chosen: Option<Uuid>) -> Result<Ctx, ApiError> {
    let pool = state.db()?;
    let (principal, read, standing) = authenticated_read(pool, state, caller, id, chosen).await?;
    let tx = begin_write(pool).await?;
    Ok(Ctx::new(tx, principal, read, standing, state.now()))
}

/// Begins a step that may leave the order's row as it is (a decline among other open
/// offers): the order is read and locked inside the transaction instead.
pub(super) async fn begin_locked(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    chosen: Option<Uuid>,
) -> Result<Ctx, ApiError> {
    let pool = state.db()?;
    let providers = providers_of(pool, principal.user_id).await?;
    let tx = begin_write(pool).await?;
    let read = read_order(&tx, id, true, None, None).await?.ok_or(ApiError::NotFound)?;
    let standing = standing(&tx, principal, providers, &read.order, chosen).await?;
    if !standing.visible() {
        return Err(ApiError::NotFound);
    }
    Ok(Ctx::new(tx, principal.clone(), read, standing, state.now()))
}

/// Who a step written first ([`write_first`]) is for, as its `UPDATE`'s condition.
pub(super) enum Guard {
    /// The provider assigned the order is one of the caller's (the one they named, if any).
    Assigned(Option<Uuid>),
    /// The caller is the order's resident.
    Resident,
}

impl Guard {
    fn role(&self) -> ActorRole {
        match self {
            Self::Assigned(_) => ActorRole::Provider,
            Self::Resident => ActorRole::Resident,
        }
    }

    fn condition(&self, caller: &Bearer) -> Condition {
        let user_id = caller.user_id();
        match self {
            Self::Assigned(chosen) => {
                let theirs = in_sets(Expr::col((order::Entity, order::Column::ProviderId)), &provider_sets(user_id));
                let mut condition = Condition::all().add(theirs);
                if let Some(chosen) = chosen {
                    condition = condition.add(order::Column::ProviderId.eq(*chosen));
                }
                condition
            }
            Self::Resident => Condition::all().add(order::Column::ResidentId.eq(user_id)),
        }
    }
}

/// Begins a step that moves the order from one state ([`Action::Started`] and the like)
/// write-first ([`write_first`]), else as [`begin`] does; either way the step's time is
/// `now`, the time its columns `set` were made with.
pub(super) async fn begin_first(
    state: &AppState,
    caller: &Bearer,
    id: Uuid,
    action: Action,
    guard: Guard,
    set: &[(order::Column, Value)],
    now: DateTime<Utc>,
) -> Result<Ctx, ApiError> {
    let chosen = match guard {
        Guard::Assigned(chosen) => chosen,
        Guard::Resident => None,
    };
    if let Some(ctx) = write_first(state, caller, id, action, guard, set, now).await? {
        return Ok(ctx);
    }
    let mut ctx = begin(state, caller, id, chosen).await?;
    ctx.now = now;
    Ok(ctx)
}

/// Begins a step write-first: the step's compare-and-set comes first and carries the
/// caller's session check ([`Bearer::live_session`]) and their standing ([`Guard`]) in its
/// condition, so that the step needs no read before it. The order is moved from the one
/// state the domain lets the guard's role take `action` from, to where the domain says,
/// with the step's other columns `set`; the row comes back with the resident's name and the
/// caller's roles. The context then holds the order as it was before (as a read would
/// have found it; `set`'s columns excepted) and the caller's standing on it
/// ([`standing_written`]), and the step goes on as after [`begin`]: its decision is
/// taken again on them, and [`Ctx::move_with`] gives the row already written.
///
/// `None` when no row matched — an unknown order, a session that is not live, another
/// caller, another state, a lost race: the write is rolled back and the step begins again
/// with [`begin`], which answers each of these as it always did. A step whose action may
/// start from several states is not written first.
async fn write_first(
    state: &AppState,
    caller: &Bearer,
    id: Uuid,
    action: Action,
    guard: Guard,
    set: &[(order::Column, Value)],
    now: DateTime<Utc>,
) -> Result<Option<Ctx>, ApiError> {
    let role = guard.role();
    let &[from] = allowed_from(action, role) else { return Ok(None) };
    let to = decide(from, action, role, Outcome::Default).map_err(refusal)?;
    let pool = state.db()?;
    let tx = begin_write(pool).await?;
    let (mut update, mut returning) = order_move(id, from, to, set, now);
    let columns = returning.len() - 1;
    returning.extend(caller.caller_user());
    update
        .and_where(caller.live_session(now))
        .cond_where(guard.condition(caller))
        .returning(ReturningClause::Exprs(returning));
    let Some(row) = tx.query_one(&update).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let written = order::Model::from_query_result(&row, "")?;
    let resident_name: Option<String> = row.try_get_by_index(columns)?;
    let roles: Option<String> = row.try_get_by_index(columns + 1)?;
    let community_id: Option<Uuid> = row.try_get_by_index(columns + 2)?;
    let principal = caller.checked(roles.as_deref(), community_id);
    let order = order::Model { status: from.into(), version: written.version - 1, ..written.clone() };
    let standing = standing_written(&principal, &order, matches!(guard, Guard::Assigned(_)));
    Ok(Some(Ctx {
        tx,
        principal,
        order,
        standing,
        written: Some(written),
        resident_name: resident_name.unwrap_or_default(),
        category_sla: None,
        now,
    }))
}

/// The `UPDATE` that moves an order from `from` to `to` with the step's other columns `set`,
/// at `now`, conditioned on its id and status, and what it should return: the order's
/// columns, then the resident's name. The subqueries a caller adds to that list are named
/// apart from the order's columns (PostgreSQL names a subquery's value after its column)
/// and read back by position.
fn order_move(
    id: Uuid,
    from: OrderStatus,
    to: OrderStatus,
    set: &[(order::Column, Value)],
    now: DateTime<Utc>,
) -> (sea_orm::sea_query::UpdateStatement, Vec<Expr>) {
    let mut update = SqlQuery::update();
    update
        .table(order::Entity)
        .value(order::Column::Status, order::Column::Status.save_as(Expr::value(OrderStatusDb::from(to))))
        .value(order::Column::Version, Expr::col(order::Column::Version).add(1))
        .value(order::Column::UpdatedAt, Expr::value(now));
    for (column, value) in set {
        update.value(*column, column.save_as(Expr::value(value.clone())));
    }
    update.and_where(order::Column::Id.eq(id)).and_where(order::Column::Status.eq(OrderStatusDb::from(from)));
    let mut returning: Vec<Expr> = order::Column::iter().map(|c| c.select_as(Expr::col((order::Entity, c)))).collect();
    returning.push(resident_name());
    (update, returning)
}

impl Ctx {
    fn new(tx: WriteTx, principal: Principal, read: OrderRead, standing: Standing, now: DateTime<Utc>) -> Self {
        let OrderRead { order, resident_name, category_sla, .. } = read;
        Self { tx, principal, order, standing, written: None, resident_name, category_sla, now }
    }

    /// The service levels of the order's category, as read with the order.
    fn sla(&self) -> Result<shenbian_domain::category::Sla, ApiError> {
        parse_sla(self.category_sla.as_deref())
    }

    pub(super) fn from(&self) -> OrderStatus {
        self.order.status.into()
    }

    /// Decides the step for the caller's roles.
    pub(super) fn decide(&self, action: Action, outcome: Outcome) -> Result<(ActorRole, OrderStatus), ApiError> {
        decide_as_any(self.from(), action, &self.standing.roles(), outcome).map_err(refusal)
    }

    /// A provider step needs one provider: refuse if the caller must say which.
    fn acting_provider(&self) -> Result<super::access::ProviderRef, ApiError> {
        if self.standing.ambiguous {
            return Err(ApiError::validation(
                "provider_id",
                t("你在此代表多个服务方；请用 provider_id 指明一个", "you act for several providers here; name one"),
            ));
        }
        self.standing.provider.ok_or(ApiError::Forbidden)
    }

    /// Moves the order with a compare-and-set on its status and version; `change` sets the
    /// step's other columns.
    pub(super) async fn move_to(
        &self,
        to: OrderStatus,
        change: impl FnOnce(&mut order::Model),
    ) -> Result<order::Model, ApiError> {
        let mut after = self.moved(to);
        change(&mut after);
        self.write(after).await
    }

    /// The order moved to `to`, as its compare-and-set writes it: the version bumped, the
    /// update's time now.
    fn moved(&self, to: OrderStatus) -> order::Model {
        let mut after = self.order.clone();
        after.status = to.into();
        after.version += 1;
        after.updated_at = self.now;
        after
    }

    /// The compare-and-set of the order read to `after`; 409 when it moved meanwhile.
    async fn write(&self, after: order::Model) -> Result<order::Model, ApiError> {
        if self.written.is_some() {
            return Err(ApiError::internal("a step written first moves with move_with"));
        }
        compare_and_set(&self.tx, &self.order, after).await?.ok_or_else(lost_race)
    }

    /// Moves the order as [`Ctx::move_to`] does, with the step's other columns `set` —
    /// or, for a step written first ([`write_first`]) with the same `set`, gives the row
    /// that write left, once it is sure the domain decided the same move.
    pub(super) async fn move_with(
        &self,
        to: OrderStatus,
        set: &[(order::Column, Value)],
    ) -> Result<order::Model, ApiError> {
        if let Some(written) = &self.written {
            return if OrderStatus::from(written.status) == to {
                Ok(written.clone())
            } else {
                Err(ApiError::internal("a step written first moved the order elsewhere"))
            };
        }
        let mut after = self.moved(to);
        for (column, value) in set {
            after.try_set(*column, value.clone()).map_err(ApiError::internal)?;
        }
        self.write(after).await
    }

    /// The compare-and-set of a step that leaves the order's status as it is and writes a
    /// row of its own: the condition, for that row's `INSERT … SELECT … WHERE`, that the order
    /// is still as read (on PostgreSQL the order's row is locked by the check until the
    /// commit, so a step racing on it waits and then finds the order changed).
    pub(super) fn unchanged(&self) -> Expr {
        let mut q = SqlQuery::select();
        q.expr(Expr::val(1))
            .from(order::Entity)
            .and_where(order::Column::Id.eq(self.order.id))
            .and_where(order::Column::Status.eq(self.order.status))
            .and_where(order::Column::Version.eq(self.order.version));
        if self.tx.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            q.lock(LockType::Update);
        }
        Expr::exists(q)
    }

    /// Appends the events, commits, and answers the order as the caller now sees it.
    pub(super) async fn finish(
        self,
        updated: order::Model,
        events: Vec<NewEvent>,
        standing: Standing,
    ) -> Result<Json<OrderView>, ApiError> {
        append(&self.tx, updated.id, events, self.now).await?;
        // The step answers the order as `GET /orders/{id}` would show it to the caller.
        let offered = updated.status == OrderStatusDb::Offered && (standing.dispatcher || standing.admin);
        let offered = if offered { Some(offered_to(&self.tx, updated.id).await?) } else { None };
        self.tx.commit().await?;
        let name = self.resident_name;
        let unmasked = standing.sees_personal_data(updated.status.into());
        let mut view = OrderView::new(updated, &name, unmasked);
        view.offered_to = offered;
        Ok(Json(view))
    }
}

/// Closes one offer if it is still open, with a status and, for a decline, a reason;
/// `false` when it was not open any more (someone else closed it first).
async fn close_offer(
    db: &impl ConnectionTrait,
    offer_id: Uuid,
    status: OfferStatus,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let mut update = offer::Entity::update_many()
        .col_expr(offer::Column::Status, Expr::value(status))
        .col_expr(offer::Column::ClosedAt, Expr::value(at));
    if let Some(reason) = reason {
        update = update.col_expr(offer::Column::Reason, Expr::value(reason));
    }
    let closed = update
        .filter(offer::Column::Id.eq(offer_id))
        .filter(offer::Column::Status.eq(OfferStatus::Open))
        .exec(db)
        .await?
        .rows_affected;
    Ok(closed > 0)
}

/// Closes every open offer of an order, with a status and a reason.
async fn close_open_offers(
    db: &impl ConnectionTrait,
    order_id: Uuid,
    status: OfferStatus,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<u64, ApiError> {
    Ok(offer::Entity::update_many()
        .col_expr(offer::Column::Status, Expr::value(status))
        .col_expr(offer::Column::Reason, Expr::value(reason))
        .col_expr(offer::Column::ClosedAt, Expr::value(at))
        .filter(offer::Column::OrderId.eq(order_id))
        .filter(offer::Column::Status.eq(OfferStatus::Open))
        .exec(db)
        .await?
        .rows_affected)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    /// Partner or volunteer ids (never user ids): one for a directed offer, several (up to
    /// 20) for a broadcast where the first to accept wins.
    #[schema(min_items = 1, max_items = 20)]
    provider_ids: Vec<Uuid>,
    /// The accept window; else the contract's, else the category's for the urgency.
    #[schema(minimum = 1, maximum = 10080)]
    accept_within_minutes: Option<u32>,
}

/// Offer the order to one provider or several (the community's dispatchers). Every target is
/// checked; any that may not be offered it makes the whole dispatch `422 not_eligible`, with
/// the reasons per provider.
#[utoipa::path(post, path = "/orders/{id}/dispatch", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path),
    ("accept-language" = Option<String>, Header)), request_body = DispatchBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn dispatch(
    State(state): State<AppState>,
    caller: Bearer,
    lang: Lang,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<DispatchBody>,
) -> Result<Json<OrderView>, ApiError> {
    let mut targets = body.provider_ids.clone();
    targets.sort();
    targets.dedup();
    let checked = if targets.is_empty() || targets.len() > 20 {
        Err(ApiError::validation("provider_ids", t("须为 1 到 20 个服务方", "between 1 and 20 providers")))
    } else if body.accept_within_minutes.is_some_and(|m| !(1..=10_080).contains(&m)) {
        Err(ApiError::validation("accept_within_minutes", t("须在 1 到 10080 之间", "between 1 and 10080")))
    } else {
        Ok(())
    };
    seen_by_bearer_or(&state, &caller, id, checked).await?;
    let ctx = begin(&state, &caller, id, None).await?;
    let (role, _) = ctx.decide(Action::Dispatched, Outcome::Default)?;
    let today = state.today();
    let month = month_key(today);
    let sla = ctx.sla()?;
    let default_window = sla.for_urgency(ctx.order.urgency.into()).accept;
    let mut offers = Vec::new();
    let mut ineligible = Vec::new();
    let mut unknown = Vec::new();
    let ask =
        Ask { community: ctx.order.community_id, category: &ctx.order.category_code, month: &month, order: Some(id) };
    // The accept window: the dispatcher's, else the contract's, else the category's.
    let minutes =
        |contract_window: Option<u32>| body.accept_within_minutes.or(contract_window).unwrap_or(default_window);
    for (i, provider_id) in targets.iter().copied().enumerate() {
        let (verdict, declined_before) = if let Some(p) = partner_facts(&ctx.tx, provider_id, &ask).await? {
            let verdict = partner_eligibility(p.status, &p.contracts, ask.community, ask.category, today).map(|c| {
                let minutes = minutes(p.accept_window(c));
                NewOffer { kind: ProviderKind::Partner, provider_id, contract_id: Some(c), minutes }
            });
            (verdict, p.declined)
        } else if let Some((facts, declined)) = volunteer_facts(&ctx.tx, provider_id, &ask).await? {
            let verdict = volunteer_eligibility(&facts, ask.community, ask.category).map(|()| NewOffer {
                kind: ProviderKind::Volunteer,
                provider_id,
                contract_id: None,
                minutes: minutes(None),
            });
            (verdict, declined)
        } else {
            unknown.push(FieldIssue::new(
                format!("provider_ids[{i}]"),
                t("没有这个合作方或志愿者", "no such partner or volunteer"),
            ));
            continue;
        };
        match (verdict, declined_before) {
            (Ok(offer), false) => offers.push(offer),
            (verdict, declined) => {
                let mut reasons = verdict.err().unwrap_or_default();
                if declined {
                    reasons.push(Ineligible::DeclinedBefore);
                }
                let reasons = reasons.into_iter().map(|r| ReasonView::new(r, lang)).collect();
                ineligible.push(IneligibleProvider { provider_id, reasons });
            }
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    if !ineligible.is_empty() {
        return Err(ApiError::NotEligible(ineligible));
    }
    let (updated, events) =
        make_offers(&ctx.tx, &ctx.order, &offers, Some(ctx.principal.user_id), role, ctx.now).await?;
    let standing = ctx.standing.clone();
    ctx.finish(updated, events, standing).await
}

/// An offer to make: to whom, under which contract (a partner's), open for how long.
pub(crate) struct NewOffer {
    pub kind: ProviderKind,
    pub provider_id: Uuid,
    pub contract_id: Option<Uuid>,
    /// The accept window, in minutes.
    pub minutes: u32,
}

/// Offers a pending order to providers already found eligible: one offer row each, the
/// order moved to offered by a compare-and-set, one `dispatched` event per provider.
pub(crate) async fn make_offers(
    db: &impl ConnectionTrait,
    o: &order::Model,
    offers: &[NewOffer],
    actor: Option<Uuid>,
    role: ActorRole,
    now: DateTime<Utc>,
) -> Result<(order::Model, Vec<NewEvent>), ApiError> {
    let mut earliest: Option<DateTime<Utc>> = None;
    let mut rows = Vec::new();
    for offer in offers {
        let accept_by = now + Duration::minutes(i64::from(offer.minutes));
        earliest = Some(earliest.map_or(accept_by, |e| Ord::min(e, accept_by)));
        rows.push(offer::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(o.id),
            provider_kind: Set(offer.kind),
            provider_id: Set(offer.provider_id),
            contract_id: Set(offer.contract_id),
            status: Set(OfferStatus::Open),
            accept_by: Set(accept_by),
            reason: Set(None),
            dispatched_by: Set(actor.unwrap_or_default()),
            created_at: Set(now),
            closed_at: Set(None),
        });
    }
    let from = OrderStatus::from(o.status);
    let to = OrderStatus::Offered;
    let mut after = o.clone();
    after.status = OrderStatusDb::Offered;
    after.version += 1;
    after.updated_at = now;
    after.accept_by = earliest;
    after.first_dispatched_at = Some(o.first_dispatched_at.unwrap_or(now));
    let updated = compare_and_set(db, o, after).await?.ok_or_else(lost_race)?;
    // After the compare-and-set: a step's first write proves the order is as it read it.
    offer::Entity::insert_many(rows).exec_without_returning(db).await?;
    let events = offers
        .iter()
        .enumerate()
        .map(|(i, offer)| {
            let from = if i == 0 { from } else { to };
            NewEvent::new(Action::Dispatched, actor, role, from, to).provider(offer.provider_id)
        })
        .collect();
    Ok((updated, events))
}

/// Take back every open offer (the community's dispatchers); the order is pending again.
#[utoipa::path(post, path = "/orders/{id}/withdraw", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReasonBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn withdraw(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<OrderView>, ApiError> {
    let reason = seen_by_bearer_or(&state, &caller, id, body.checked()).await?;
    let ctx = begin(&state, &caller, id, None).await?;
    let (role, to) = ctx.decide(Action::Withdrawn, Outcome::Default)?;
    let updated = ctx.move_to(to, |o| o.accept_by = None).await?;
    close_open_offers(&ctx.tx, id, OfferStatus::Closed, "withdrawn", ctx.now).await?;
    let event =
        NewEvent::new(Action::Withdrawn, Some(ctx.principal.user_id), role, ctx.from(), to).reason(Some(reason));
    let standing = ctx.standing.clone();
    ctx.finish(updated, vec![event], standing).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderChoice {
    /// Which of the caller's providers acts, when they act for several.
    provider_id: Option<Uuid>,
}

/// Accept an offer (the provider offered it). The first to accept wins; the other offers
/// close. Capacity and the contract's monthly quota are taken here.
#[utoipa::path(post, path = "/orders/{id}/accept", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body(content = Option<ProviderChoice>), responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn accept(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    MaybeJson(body): MaybeJson<ProviderChoice>,
) -> Result<Json<OrderView>, ApiError> {
    let now = state.now();
    let (ctx, offer_spent) = match accept_first(&state, &caller, id, body.provider_id, now).await? {
        Some(ctx) => (ctx, true),
        None => {
            let mut ctx = begin(&state, &caller, id, body.provider_id).await?;
            ctx.now = now;
            (ctx, false)
        }
    };
    let (role, to) = ctx.decide(Action::Accepted, Outcome::Default)?;
    let provider = ctx.acting_provider()?;
    let offer = ctx
        .standing
        .open_offer
        .clone()
        .ok_or_else(|| ApiError::InvalidTransition(t("给你的派单已关闭", "your offer is closed")))?;
    if offer.accept_by <= now {
        return Err(ApiError::InvalidTransition(t("给你的派单已过期", "your offer has expired")));
    }
    let complete_by = completion_deadline(ctx.sla()?, ctx.order.urgency, now);
    let updated = ctx.move_with(to, &accepted_set(provider, offer.contract_id, now, complete_by)).await?;
    if !offer_spent && !close_offer(&ctx.tx, offer.id, OfferStatus::Accepted, None, now).await? {
        return Err(lost_race());
    }
    capacity::take(&ctx.tx, provider.kind, provider.id, offer.contract_id, &month_key(state.today())).await?;
    if ctx.standing.others_open {
        close_open_offers(&ctx.tx, id, OfferStatus::Closed, "accepted_by_another", now).await?;
    }
    let event =
        NewEvent::new(Action::Accepted, Some(ctx.principal.user_id), role, ctx.from(), to).provider(provider.id);
    let mut standing = ctx.standing.clone();
    standing.assigned = true;
    ctx.finish(updated, vec![event], standing).await
}

/// A category's service levels, as stored (JSON); every order has a category.
fn parse_sla(stored: Option<&str>) -> Result<shenbian_domain::category::Sla, ApiError> {
    match stored {
        Some(sla) => serde_json::from_str(sla).map_err(ApiError::internal),
        None => Err(ApiError::internal("order without category")),
    }
}

/// When an accepted job is due: the category's completion time for the order's urgency.
fn completion_deadline(
    sla: shenbian_domain::category::Sla,
    urgency: crate::entity::enums::UrgencyDb,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    now + Duration::minutes(i64::from(sla.for_urgency(urgency.into()).complete))
}

/// The columns an accept sets besides the status: who, under which contract, when, and by
/// when the job is due.
fn accepted_set(
    provider: super::access::ProviderRef,
    contract_id: Option<Uuid>,
    now: DateTime<Utc>,
    complete_by: DateTime<Utc>,
) -> [(order::Column, Value); 5] {
    [
        (order::Column::ProviderKind, Some(provider.kind).into()),
        (order::Column::ProviderId, Some(provider.id).into()),
        (order::Column::ContractId, contract_id.into()),
        (order::Column::AcceptedAt, Some(now).into()),
        (order::Column::CompleteBy, Some(complete_by).into()),
    ]
}

/// Begins an accept write-first: the caller's offer is spent first — its `UPDATE` carries
/// the session check, that the offer is open and to one of the caller's providers (the one
/// they named, if they did), and that the order is offered (the order's row locked by that
/// check on PostgreSQL, first, as every step locks it) — and returns the offer with the
/// caller's roles, the category's service levels, the order's urgency and whether another
/// offer of the order is open. The order then moves with a compare-and-set on its status,
/// its deadline worked out from those service levels. The context is as after [`begin`],
/// with the standing [`offer_standing`] gives, and [`Ctx::move_with`] gives the row
/// written.
///
/// `None` when not exactly one offer matched, or it has expired, or the order did not
/// move: everything is rolled back, and the accept begins again with [`begin`], which
/// answers each of these as it always did.
async fn accept_first(
    state: &AppState,
    caller: &Bearer,
    id: Uuid,
    chosen: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Option<Ctx>, ApiError> {
    let from = OrderStatus::Offered;
    let pool = state.db()?;
    let tx = begin_write(pool).await?;
    let postgres = tx.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let mut offered = SqlQuery::select();
    offered
        .expr(Expr::val(1))
        .from(order::Entity)
        .and_where(order::Column::Id.eq(id))
        .and_where(order::Column::Status.eq(OrderStatusDb::from(from)));
    if postgres {
        offered.lock(LockType::Update);
    }
    let sla = SqlQuery::select()
        .expr_as(Expr::col((category::Entity, category::Column::Sla)), "category_sla")
        .from(category::Entity)
        .and_where(
            Expr::col((category::Entity, category::Column::Code)).in_subquery(
                SqlQuery::select()
                    .column(order::Column::CategoryCode)
                    .from(order::Entity)
                    .and_where(order::Column::Id.eq(id))
                    .to_owned(),
            ),
        )
        .to_owned();
    let other = Alias::new("other");
    let others_open = SqlQuery::select()
        .expr_as(Expr::val(1), "others_open")
        .from_as(offer::Entity, other.clone())
        .and_where(Expr::col((other.clone(), offer::Column::OrderId)).eq(id))
        .and_where(Expr::col((other.clone(), offer::Column::Status)).eq(OfferStatus::Open.to_value()))
        .and_where(Expr::col((other.clone(), offer::Column::Id)).ne(Expr::col((offer::Entity, offer::Column::Id))))
        .limit(1)
        .to_owned();
    let mut returning: Vec<Expr> = offer::Column::iter().map(|c| c.select_as(Expr::col((offer::Entity, c)))).collect();
    let columns = returning.len();
    returning.extend(caller.caller_user());
    returning.push(Expr::SubQuery(None, Box::new(sla.into_sub_query_statement())));
    let urgency = SqlQuery::select()
        .expr_as(order::Column::Urgency.select_as(Expr::col(order::Column::Urgency)), "order_urgency")
        .from(order::Entity)
        .and_where(order::Column::Id.eq(id))
        .to_owned();
    returning.push(Expr::SubQuery(None, Box::new(urgency.into_sub_query_statement())));
    returning.push(Expr::SubQuery(None, Box::new(others_open.into_sub_query_statement())));
    let mut spend = SqlQuery::update();
    spend
        .table(offer::Entity)
        .value(offer::Column::Status, offer::Column::Status.save_as(Expr::value(OfferStatus::Accepted)))
        .value(offer::Column::ClosedAt, Expr::value(Some(now)))
        .and_where(offer::Column::OrderId.eq(id))
        .and_where(offer::Column::Status.eq(OfferStatus::Open))
        .cond_where(in_sets(Expr::col((offer::Entity, offer::Column::ProviderId)), &provider_sets(caller.user_id())))
        .and_where(caller.live_session(now))
        .and_where(Expr::exists(offered))
        .returning(ReturningClause::Exprs(returning));
    if let Some(chosen) = chosen {
        spend.and_where(offer::Column::ProviderId.eq(chosen));
    }
    let rows = tx.query_all(&spend).await?;
    let [row] = rows.as_slice() else {
        tx.rollback().await?;
        return Ok(None);
    };
    let spent = offer::Model::from_query_result(row, "")?;
    if spent.accept_by <= now {
        tx.rollback().await?;
        return Ok(None);
    }
    let roles: Option<String> = row.try_get_by_index(columns)?;
    let community_id: Option<Uuid> = row.try_get_by_index(columns + 1)?;
    let category_sla: Option<String> = row.try_get_by_index(columns + 2)?;
    let urgency: crate::entity::enums::UrgencyDb = row.try_get_by_index(columns + 3)?;
    let others_open: Option<i32> = row.try_get_by_index(columns + 4)?;
    let sla = parse_sla(category_sla.as_deref())?;
    let provider = super::access::ProviderRef { kind: spent.provider_kind, id: spent.provider_id };
    let set = accepted_set(provider, spent.contract_id, now, completion_deadline(sla, urgency, now));
    let (mut update, returning) = order_move(id, from, OrderStatus::Accepted, &set, now);
    let order_columns = returning.len() - 1;
    update.returning(ReturningClause::Exprs(returning));
    let Some(moved) = tx.query_one(&update).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let written = order::Model::from_query_result(&moved, "")?;
    let resident_name: Option<String> = moved.try_get_by_index(order_columns)?;
    let principal = caller.checked(roles.as_deref(), community_id);
    // The order as it was: offered, to no provider yet.
    let order = order::Model {
        status: from.into(),
        version: written.version - 1,
        provider_kind: None,
        provider_id: None,
        contract_id: None,
        accepted_at: None,
        complete_by: None,
        ..written.clone()
    };
    let before = offer::Model { status: OfferStatus::Open, closed_at: None, ..spent };
    let standing = offer_standing(&principal, &order, before, others_open.is_some());
    Ok(Some(Ctx {
        tx,
        principal,
        order,
        standing,
        written: Some(written),
        resident_name: resident_name.unwrap_or_default(),
        category_sla,
        now,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineBody {
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
    provider_id: Option<Uuid>,
}

/// Decline an offer, with a reason (the provider offered it). Only the last open offer's
/// decline sends the order back to pending; declines in a broadcast never collide.
#[utoipa::path(post, path = "/orders/{id}/decline", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = DeclineBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn decline(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<DeclineBody>,
) -> Result<Json<OrderView>, ApiError> {
    let reason = seen_or(state.db()?, &principal, id, check_reason(&body.reason)).await?;
    let ctx = begin_locked(&state, &principal, id, body.provider_id).await?;
    // Decide the role first (403/409 before anything else), then the outcome.
    ctx.decide(Action::Declined, Outcome::Default)?;
    let provider = ctx.acting_provider()?;
    let offer = ctx
        .standing
        .open_offer
        .clone()
        .ok_or_else(|| ApiError::InvalidTransition(t("给你的派单已关闭", "your offer is closed")))?;
    if !close_offer(&ctx.tx, offer.id, OfferStatus::Declined, Some(&reason), ctx.now).await? {
        return Err(lost_race());
    }
    let still_open = offer::Entity::find()
        .filter(offer::Column::OrderId.eq(id))
        .filter(offer::Column::Status.eq(OfferStatus::Open))
        .count(&ctx.tx)
        .await?;
    let outcome = if still_open > 0 { Outcome::OthersStillOpen } else { Outcome::Default };
    let (role, to) = ctx.decide(Action::Declined, outcome)?;
    let updated = if to == ctx.from() { ctx.order.clone() } else { ctx.move_to(to, |o| o.accept_by = None).await? };
    let event = NewEvent::new(Action::Declined, Some(principal.user_id), role, ctx.from(), to)
        .reason(Some(reason))
        .provider(provider.id);
    let standing = ctx.standing.clone();
    ctx.finish(updated, vec![event], standing).await
}

/// Start the job (the assigned provider).
#[utoipa::path(post, path = "/orders/{id}/start", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body(content = Option<ProviderChoice>), responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn start(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    MaybeJson(body): MaybeJson<ProviderChoice>,
) -> Result<Json<OrderView>, ApiError> {
    let guard = Guard::Assigned(body.provider_id);
    let ctx = begin_first(&state, &caller, id, Action::Started, guard, &[], state.now()).await?;
    let (role, to) = assigned_step(&ctx, Action::Started)?;
    let updated = ctx.move_with(to, &[]).await?;
    let event = NewEvent::new(Action::Started, Some(ctx.principal.user_id), role, ctx.from(), to);
    let standing = ctx.standing.clone();
    ctx.finish(updated, vec![event], standing).await
}

/// A provider step on an assigned job: only the assigned provider may take it.
fn assigned_step(ctx: &Ctx, action: Action) -> Result<(ActorRole, OrderStatus), ApiError> {
    let decided = ctx.decide(action, Outcome::Default)?;
    if !ctx.standing.assigned {
        // Offered once but not assigned: the role may act, this provider may not.
        return Err(ApiError::InvalidTransition(t("这项工作没有指派给你", "the job is not assigned to you")));
    }
    Ok(decided)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// What was done.
    #[schema(min_length = 1, max_length = 1000)]
    summary: String,
    /// Whole minutes worked; required for a volunteer's job (1–1440).
    #[schema(minimum = 1, maximum = 1440)]
    minutes: Option<u32>,
    provider_id: Option<Uuid>,
}

/// Complete the job with a summary and, for volunteers, the minutes worked (the assigned
/// provider). Capacity is given back.
#[utoipa::path(post, path = "/orders/{id}/complete", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = CompleteBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn complete(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<CompleteBody>,
) -> Result<Json<OrderView>, ApiError> {
    let summary = text_field(&body.summary, 1, 1000).map_err(|e| ApiError::validation("summary", e));
    let summary = seen_by_bearer_or(&state, &caller, id, summary).await?;
    let now = state.now();
    // The minutes as written; out of range, none are, and the step refuses below.
    let minutes = body.minutes.filter(|m| (1..=1440).contains(m)).map(|m| m as i32);
    let set = [
        (order::Column::Summary, Some(summary).into()),
        (order::Column::Minutes, minutes.into()),
        (order::Column::CompletedAt, Some(now).into()),
    ];
    let guard = Guard::Assigned(body.provider_id);
    let ctx = begin_first(&state, &caller, id, Action::Completed, guard, &set, now).await?;
    let (role, to) = assigned_step(&ctx, Action::Completed)?;
    match (ctx.order.provider_kind, body.minutes) {
        (Some(ProviderKind::Volunteer), None) => {
            return Err(ApiError::validation(
                "minutes",
                t("志愿者完成时须填写服务分钟数 minutes", "a volunteer's job records the minutes worked"),
            ));
        }
        (_, Some(m)) if !(1..=1440).contains(&m) => {
            return Err(ApiError::validation("minutes", t("须在 1 到 1440 之间", "between 1 and 1440")));
        }
        _ => {}
    }
    let updated = ctx.move_with(to, &set).await?;
    capacity::give_back(&ctx.tx, &ctx.order).await?;
    let event = NewEvent::new(Action::Completed, Some(ctx.principal.user_id), role, ctx.from(), to);
    let standing = ctx.standing.clone();
    ctx.finish(updated, vec![event], standing).await
}

/// Clears an order's assignment and gives its capacity back: release and reassign.
async fn unassign(
    ctx: Ctx,
    action: Action,
    role: ActorRole,
    to: OrderStatus,
    reason: String,
) -> Result<Json<OrderView>, ApiError> {
    let updated = ctx
        .move_to(to, |o| {
            super::cas::unassigned(o);
            o.accept_by = None;
        })
        .await?;
    capacity::give_back(&ctx.tx, &ctx.order).await?;
    let mut event = NewEvent::new(action, Some(ctx.principal.user_id), role, ctx.from(), to).reason(Some(reason));
    event.provider_id = ctx.order.provider_id;
    let mut standing = ctx.standing.clone();
    standing.assigned = false;
    ctx.finish(updated, vec![event], standing).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
    provider_id: Option<Uuid>,
}

/// Give a job back, with a reason (the assigned provider): the order is pending again.
#[utoipa::path(post, path = "/orders/{id}/release", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReleaseBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn release(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReleaseBody>,
) -> Result<Json<OrderView>, ApiError> {
    let reason = seen_by_bearer_or(&state, &caller, id, check_reason(&body.reason)).await?;
    let ctx = begin(&state, &caller, id, body.provider_id).await?;
    let (role, to) = assigned_step(&ctx, Action::Released)?;
    unassign(ctx, Action::Released, role, to, reason).await
}

/// Take a job from its provider (a no-show), with a reason (the community's dispatchers).
#[utoipa::path(post, path = "/orders/{id}/reassign", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReasonBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn reassign(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<OrderView>, ApiError> {
    let reason = seen_by_bearer_or(&state, &caller, id, body.checked()).await?;
    let ctx = begin(&state, &caller, id, None).await?;
    let (role, to) = ctx.decide(Action::Reassigned, Outcome::Default)?;
    unassign(ctx, Action::Reassigned, role, to, reason).await
}

/// Cancel, with a reason: the resident before the job starts, a dispatcher any time before
/// completion. Open offers close; an accepted job gives its capacity back.
#[utoipa::path(post, path = "/orders/{id}/cancel", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReasonBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<OrderView>, ApiError> {
    let reason = seen_by_bearer_or(&state, &caller, id, body.checked()).await?;
    let ctx = begin(&state, &caller, id, None).await?;
    let (role, to) = ctx.decide(Action::Cancelled, Outcome::Default)?;
    let updated = ctx.move_to(to, |_| {}).await?;
    close_open_offers(&ctx.tx, id, OfferStatus::Closed, "cancelled", ctx.now).await?;
    if ctx.from().holds_capacity() {
        capacity::give_back(&ctx.tx, &ctx.order).await?;
    }
    let event =
        NewEvent::new(Action::Cancelled, Some(ctx.principal.user_id), role, ctx.from(), to).reason(Some(reason));
    let standing = ctx.standing.clone();
    ctx.finish(updated, vec![event], standing).await
}

/// Closes the open offers to a provider (a partner, a volunteer) or under a contract, in
/// the caller's transaction; orders left with no open offer go back to pending. Callers
/// run it before they write their own row (partner, volunteer, contract): every step locks
/// the order first, so locking orders first here keeps the lock order the same everywhere.
pub async fn close_offers_where(
    db: &impl ConnectionTrait,
    filter: sea_orm::Condition,
    reason: &str,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<u64, ApiError> {
    let open = offer::Entity::find().filter(filter).filter(offer::Column::Status.eq(OfferStatus::Open)).all(db).await?;
    // Events are appended after the loop: the event counter's row lock is then held only
    // for the last moments of the transaction, not across every order it touches.
    let mut events = Vec::new();
    for o in &open {
        // Lock the order first, as every step does, so that this never deadlocks with one.
        let Some(current) = lock_order(db, o.order_id).await? else { continue };
        close_offer(db, o.id, OfferStatus::Closed, Some(reason), at).await?;
        let remaining = offer::Entity::find()
            .filter(offer::Column::OrderId.eq(o.order_id))
            .filter(offer::Column::Status.eq(OfferStatus::Open))
            .count(db)
            .await?;
        if current.status == OrderStatusDb::Offered
            && remaining == 0
            && compare_and_set(db, &current, back_to_pending(&current, at)).await?.is_some()
        {
            let event =
                NewEvent::new(Action::Withdrawn, actor, ActorRole::System, OrderStatus::Offered, OrderStatus::Pending)
                    .reason(Some(reason.to_owned()))
                    .provider(o.provider_id);
            events.push((current.id, event));
        }
    }
    for (order_id, event) in events {
        append(db, order_id, vec![event], at).await?;
    }
    Ok(open.len() as u64)
}
