//! The one path every step of an order takes, a person's and the worker's alike:
//!
//! 1. **read** the order with the caller's standing ([`begin`]: one statement, which also
//!    checks the caller's session) — or, for the worker, inside its transaction with the
//!    order's row locked ([`begin_system`]);
//! 2. **decide**: the domain plans the step on what was read
//!    ([`shenbian_domain::step::plan`]): a role that may never is 403, a state that does not
//!    allow it now 409, a missing requirement 409 or 422;
//! 3. **apply** the plan as one guarded write in one transaction ([`store::write::apply`]),
//!    its events last, and commit. When the guard finds the order changed since it was read,
//!    nothing is written and the answer is 409.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use shenbian_domain::eligibility::quota_month;
use shenbian_domain::order::{Action, ActorRole, OrderStatus, Outcome, decide_as_any};
use shenbian_domain::standing::Standing;
use shenbian_domain::step::{Actor, Plan, Step, StepRefusal, plan};
use uuid::Uuid;

use super::access::authenticated_read;
use super::store::events::append;
use super::store::load::{self, OrderRead};
use super::store::names::OrderNames;
use super::store::write::{Applied, apply, one_statement};
use super::store::{StoreError, offers};
use super::view::{OfferedToView, OrderView};
use crate::auth::{Bearer, Principal};
use crate::db::{WriteTx, begin_write};
use crate::entity::{order, rating};
use crate::error::{ApiError, t};
use crate::state::AppState;

/// The HTTP answer to a step the domain refused.
pub fn refused(r: StepRefusal) -> ApiError {
    use shenbian_domain::order::Refusal;
    match r {
        StepRefusal::Refused(Refusal::NotYourRole { .. }) => ApiError::Forbidden,
        StepRefusal::NameProvider => ApiError::validation("provider_id", r.message()),
        StepRefusal::MinutesRequired | StepRefusal::MinutesOutOfRange | StepRefusal::MinutesBeyondStart { .. } => {
            ApiError::validation("minutes", r.message())
        }
        StepRefusal::NotDue => ApiError::internal("a step of the worker's asked for by a caller"),
        _ => ApiError::InvalidTransition(r.message()),
    }
}

/// A guarded write that changed nothing: someone else moved the order first.
pub fn lost_race() -> ApiError {
    ApiError::InvalidTransition(t("订单刚被他人修改；请刷新后重试", "the order changed meanwhile; reload it"))
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Missing => ApiError::NotFound,
            StoreError::LostRace => lost_race(),
            StoreError::CapacityFull => ApiError::conflict(
                "capacity_full",
                t(
                    "该服务方进行中的工单已达上限；请等其完成后再派，或换一个服务方",
                    "the provider's open jobs are at their limit",
                ),
            ),
            StoreError::QuotaExhausted => ApiError::conflict(
                "quota_exhausted",
                t("该合同本月额度已用完；请换一个服务方", "the contract's monthly quota is used up"),
            ),
            StoreError::AlreadyRated => {
                ApiError::conflict("already_rated", t("这张订单已经评价过", "this order has been rated"))
            }
            StoreError::Db(e) => e.into(),
        }
    }
}

/// A step under way: the order as read, who takes the step, and its write transaction.
pub struct Ctx {
    pub tx: WriteTx,
    pub read: OrderRead,
    /// The caller and their standing; none for the worker.
    pub caller: Option<(Principal, Standing)>,
    pub now: DateTime<Utc>,
    month: String,
}

/// Begins a caller's step: the order and the caller's standing are read before the write
/// transaction (on SQLite every statement inside it holds the database's one write lock),
/// with the caller's session checked in the same statement; 401, or 404 for an order the
/// caller may not see. `chosen` is the provider a provider's step names.
pub async fn begin(state: &AppState, caller: &Bearer, id: Uuid, chosen: Option<Uuid>) -> Result<Ctx, ApiError> {
    let pool = state.db()?;
    let (principal, read, standing) = authenticated_read(pool, state, caller, id, chosen).await?;
    let tx = begin_write(pool).await?;
    Ok(Ctx { tx, read, caller: Some((principal, standing)), now: state.now(), month: quota_month(state.today()) })
}

/// Begins a step of the worker's: the order is read inside the transaction, its row locked.
/// `None` for an order that does not exist.
pub async fn begin_system(state: &AppState, id: Uuid) -> Result<Option<Ctx>, ApiError> {
    let tx = begin_write(state.db()?).await?;
    let Some(read) = load::locked(&tx, id).await? else { return Ok(None) };
    Ok(Some(Ctx { tx, read, caller: None, now: state.now(), month: quota_month(state.today()) }))
}

/// What a caller's step did, to answer with.
pub struct Done {
    pub order: order::Model,
    pub names: OrderNames,
    /// The caller's standing after the step (an accept assigns them, a release unassigns).
    pub standing: Standing,
    /// The role the step was taken in.
    pub role: ActorRole,
    /// For staff, the providers an offered order is offered to.
    pub offered_to: Option<Vec<OfferedToView>>,
}

impl Done {
    /// The order as `GET /orders/{id}` shows it to the caller.
    pub fn view(self) -> OrderView {
        let unmasked = self.standing.sees_personal_data(self.order.status.into());
        let mut view = OrderView::new(self.order, &self.names, unmasked);
        view.offered_to = self.offered_to;
        view
    }
}

impl Ctx {
    /// The state the order was read in.
    pub fn from(&self) -> OrderStatus {
        self.read.order.status.into()
    }

    /// The caller's standing (a worker's step has none).
    pub fn standing(&self) -> Option<&Standing> {
        self.caller.as_ref().map(|(_, s)| s)
    }

    /// Refuses early, before a step's requirements are gathered, when the caller may not
    /// take `action` now (403 or 409), by the same rule [`Ctx::run`] plans with.
    pub fn may(&self, action: Action) -> Result<ActorRole, ApiError> {
        let roles = self.standing().map_or_else(|| vec![ActorRole::System], Standing::roles);
        let (role, _) = decide_as_any(self.from(), action, &roles, Outcome::Default)
            .map_err(|r| refused(StepRefusal::Refused(r)))?;
        Ok(role)
    }

    /// Plans the step on the order as read.
    pub fn plan(&self, step: Step) -> Result<Plan, StepRefusal> {
        let actor = match &self.caller {
            Some((principal, standing)) => Actor::Caller { user_id: principal.user_id, standing },
            None => Actor::System,
        };
        plan(&self.read.facts(), actor, step, self.read.sla().as_ref(), self.now)
    }

    /// Plans and applies the step, commits, and answers what it did.
    pub async fn run(self, step: Step) -> Result<Done, ApiError> {
        let plan = self.plan(step).map_err(refused)?;
        self.apply(&plan, None).await
    }

    /// Applies a planned step (with the rating a rating inserts), commits, and answers what
    /// it did: in one statement when the step can be one ([`one_statement`]).
    pub async fn apply(self, plan: &Plan, rating: Option<&rating::Model>) -> Result<Done, ApiError> {
        let Ctx { tx, read, caller, now, month } = self;
        let before = &read.order;
        let (order, to, tx) = match one_statement(tx.get_database_backend(), before, plan, now, rating)? {
            Some(one) => {
                let done = tx.finish_with(one.statement.clone()).await;
                let Applied { order, to, .. } = one.written(done)?;
                (order, to, None)
            }
            None => {
                let Applied { order, to, events } = apply(&tx, before, plan, now, &month, rating).await?;
                append(&tx, before.id, events, now).await?;
                (order, to, Some(tx))
            }
        };
        let names = read.names;
        let Some((_, mut standing)) = caller else {
            if let Some(tx) = tx {
                tx.commit().await?;
            }
            return Ok(Done { order, names, standing: Standing::default(), role: plan.role, offered_to: None });
        };
        standing.assigned = standing.provider.is_some_and(|p| Some(p.id) == order.provider_id);
        let mut offered = None;
        if let Some(tx) = tx {
            if to == OrderStatus::Offered && standing.is_staff() {
                offered = Some(offered_to(&tx, order.id).await?);
            }
            tx.commit().await?;
        }
        Ok(Done { order, names, standing, role: plan.role, offered_to: offered })
    }

    /// A step of the worker's: planned and applied if it is due on the order as read;
    /// `false` when it was not due or there was nothing it changed.
    pub async fn run_system(self, step: Step) -> Result<bool, ApiError> {
        let Ok(plan) = self.plan(step) else { return Ok(false) };
        let tx = &self.tx;
        match apply(tx, &self.read.order, &plan, self.now, &self.month, None).await {
            Ok(Applied { order, to, events }) => {
                let recorded = !events.is_empty();
                append(tx, order.id, events, self.now).await?;
                self.tx.commit().await?;
                Ok(recorded || to != plan.from)
            }
            Err(StoreError::LostRace) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// The providers an order is offered to (its open offers), oldest offer first: what its
/// community's staff see as `offered_to` while it is offered.
pub async fn offered_to(db: &impl ConnectionTrait, order_id: Uuid) -> Result<Vec<OfferedToView>, ApiError> {
    Ok(offers::open_of(db, order_id)
        .await?
        .into_iter()
        .map(|o| OfferedToView { kind: o.provider_kind, id: o.provider_id, accept_by: o.accept_by })
        .collect())
}

/// Closes the open offers to a provider (a partner, a volunteer) or under a contract, in
/// the caller's transaction, each as the worker's step [`Step::CloseOffer`]: orders left
/// with no open offer go back to pending. Callers run it before they write their own row
/// (partner, volunteer, contract), and every order is locked before the events are appended:
/// the lock order is the same as a single step's.
pub async fn close_offers_where(
    db: &impl ConnectionTrait,
    whose: offers::Whose,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<u64, ApiError> {
    let open = offers::open_of_whom(db, whose).await?;
    let mut events = Vec::new();
    for o in &open {
        let Some(read) = load::locked(db, o.order_id).await? else { continue };
        let step = Step::CloseOffer { offer: o.id, provider: o.provider_id, reason: reason.to_owned() };
        let Ok(plan) = plan(&read.facts(), Actor::System, step, None, at) else { continue };
        match apply(db, &read.order, &plan, at, "", None).await {
            Ok(applied) => events.push((read.order.id, applied.events)),
            Err(StoreError::LostRace) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for (order_id, events) in events {
        append(db, order_id, events, at).await?;
    }
    Ok(open.len() as u64)
}
