//! How a caller stands to an order: its resident, a dispatcher of its community, an admin,
//! or a provider it was offered or assigned to. Anyone else may not see it (404).

use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query as SqlQuery, QueryStatementBuilder, UnionType};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    QueryFilter, QuerySelect, QueryTrait,
};
use shenbian_domain::Role;
use shenbian_domain::order::{ActorRole, OrderStatus};
use uuid::Uuid;

use crate::auth::{Bearer, CallerSession, Principal, join_session};
use crate::entity::enums::{OfferStatus, ProviderKind};
use crate::entity::{category, offer, order, partner_member, user, volunteer};
use crate::error::{ApiError, t};
use crate::state::AppState;

/// A provider the caller acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderRef {
    pub kind: ProviderKind,
    pub id: Uuid,
}

/// The providers a user acts for: the partners they belong to and their volunteer record,
/// in one query.
pub async fn providers_of(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<ProviderRef>, ApiError> {
    let partners = SqlQuery::select()
        .expr_as(Expr::val(ProviderKind::Partner.to_value()), "kind")
        .expr_as(Expr::col(partner_member::Column::PartnerId), "id")
        .from(partner_member::Entity)
        .and_where(partner_member::Column::UserId.eq(user_id))
        .to_owned();
    let both = SqlQuery::select()
        .expr_as(Expr::val(ProviderKind::Volunteer.to_value()), "kind")
        .expr_as(Expr::col(volunteer::Column::Id), "id")
        .from(volunteer::Entity)
        .and_where(volunteer::Column::UserId.eq(user_id))
        .union(UnionType::All, partners)
        .to_owned();
    let rows: Vec<(ProviderKind, Uuid)> = ProviderRow::find_by_statement(db.get_database_backend().build(&both))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.kind, r.id))
        .collect();
    // Partners first, then the volunteer record, as callers list them.
    let mut providers: Vec<ProviderRef> = rows.into_iter().map(|(kind, id)| ProviderRef { kind, id }).collect();
    providers.sort_by_key(|p| (p.kind == ProviderKind::Volunteer, p.id));
    Ok(providers)
}

#[derive(Debug, FromQueryResult)]
struct ProviderRow {
    kind: ProviderKind,
    id: Uuid,
}

/// The caller's standing on one order.
#[derive(Debug, Clone)]
pub struct Standing {
    pub owner: bool,
    /// A dispatcher of the order's community.
    pub dispatcher: bool,
    pub admin: bool,
    /// The caller's provider that was offered or assigned this order.
    pub provider: Option<ProviderRef>,
    /// That provider's open offer, if any.
    pub open_offer: Option<offer::Model>,
    /// That provider is the one assigned.
    pub assigned: bool,
    /// Several of the caller's providers hold open offers: a provider action must name one.
    pub ambiguous: bool,
    /// Other providers hold open offers on the order too (a broadcast), so an accept has
    /// offers to close. Known only when the caller's offers were read.
    pub others_open: bool,
}

impl Standing {
    pub fn visible(&self) -> bool {
        self.owner || self.dispatcher || self.admin || self.provider.is_some()
    }

    /// The roles the caller may act in, most powerful first.
    pub fn roles(&self) -> Vec<ActorRole> {
        let mut roles = Vec::new();
        if self.dispatcher {
            roles.push(ActorRole::Dispatcher);
        }
        if self.owner {
            roles.push(ActorRole::Resident);
        }
        if self.provider.is_some() {
            roles.push(ActorRole::Provider);
        }
        roles
    }

    /// Whether the caller sees the resident's phone, name and exact address: the resident,
    /// the community's dispatchers, admins, and the assigned provider from acceptance until
    /// completion.
    pub fn sees_personal_data(&self, status: OrderStatus) -> bool {
        self.owner || self.dispatcher || self.admin || (self.assigned && status.holds_capacity())
    }

    /// Staff reads of personal data go to the audit log.
    pub fn is_staff_read(&self) -> bool {
        (self.dispatcher || self.admin) && !self.owner
    }
}

/// Works out the caller's standing from the providers they act for ([`providers_of`]).
/// `chosen` is the `provider_id` a provider action named; it must be one of them — said
/// only to a caller who may see the order: anyone else gets 404, whatever they named, as
/// for an order that does not exist. Offers are read only when the caller acts for a
/// provider that is not already assigned the order (an assigned order has no open offers:
/// its accept closed them).
pub async fn standing(
    db: &impl ConnectionTrait,
    principal: &Principal,
    providers: Vec<ProviderRef>,
    order: &order::Model,
    chosen: Option<Uuid>,
) -> Result<Standing, ApiError> {
    let Some(chosen) = chosen else { return standing_among(db, principal, providers, order).await };
    if providers.iter().any(|p| p.id == chosen) {
        let named = providers.into_iter().filter(|p| p.id == chosen).collect();
        return standing_among(db, principal, named, order).await;
    }
    if standing_among(db, principal, providers, order).await?.visible() {
        Err(ApiError::validation("provider_id", t("不是你所属的服务方", "is not one of your providers")))
    } else {
        Err(ApiError::NotFound)
    }
}

/// The caller's standing through these of their providers.
async fn standing_among(
    db: &impl ConnectionTrait,
    principal: &Principal,
    providers: Vec<ProviderRef>,
    order: &order::Model,
) -> Result<Standing, ApiError> {
    let ids: Vec<Uuid> = providers.iter().map(|p| p.id).collect();
    let assigned = order.provider_id.filter(|id| ids.contains(id));
    // The caller's offers on the order, and whether anyone else's is open.
    let offers = if ids.is_empty() || assigned.is_some() {
        Vec::new()
    } else {
        offer::Entity::find()
            .filter(offer::Column::OrderId.eq(order.id))
            .filter(
                Condition::any()
                    .add(offer::Column::ProviderId.is_in(ids.clone()))
                    .add(offer::Column::Status.eq(OfferStatus::Open)),
            )
            .all(db)
            .await?
    };
    let (mine, others): (Vec<offer::Model>, Vec<offer::Model>) =
        offers.into_iter().partition(|o| ids.contains(&o.provider_id));
    Ok(stand(principal, &providers, order, assigned, mine, !others.is_empty()))
}

/// The caller's standing on an order whose provider is none of theirs, from their offers on
/// it as [`read_order`] read them: the same as [`providers_of`] and [`standing`] give for a
/// caller who named no provider and is not assigned the order, without a query.
fn standing_by_offers(principal: &Principal, read: &OrderRead) -> Standing {
    let mine = read.caller_offers.clone();
    let mut providers: Vec<ProviderRef> =
        mine.iter().map(|o| ProviderRef { kind: o.provider_kind, id: o.provider_id }).collect();
    providers.sort_by_key(|p| (p.kind == ProviderKind::Volunteer, p.id));
    providers.dedup();
    stand(principal, &providers, &read.order, None, mine, read.others_open)
}

/// The caller's standing on an order they read with [`read_order`]: without a further query
/// unless they named one of their providers (`chosen`) and act for any.
pub async fn standing_of(
    db: &impl ConnectionTrait,
    principal: &Principal,
    read: &OrderRead,
    chosen: Option<Uuid>,
) -> Result<Standing, ApiError> {
    let order = &read.order;
    match (read.caller_acts_for_providers, read.assigned_to_caller, order.provider_kind) {
        (false, _, _) => standing(db, principal, Vec::new(), order, chosen).await,
        (true, true, Some(kind)) if chosen.is_none() => {
            let providers = order.provider_id.map(|id| vec![ProviderRef { kind, id }]).unwrap_or_default();
            standing(db, principal, providers, order, None).await
        }
        (true, false, _) if chosen.is_none() => Ok(standing_by_offers(principal, read)),
        _ => standing(db, principal, providers_of(db, principal.user_id).await?, order, chosen).await,
    }
}

/// An order the caller may see, as [`read_order`] reads it, with their standing; 404
/// otherwise. One statement, two when the caller names one of their providers.
pub async fn visible_read(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
    chosen: Option<Uuid>,
) -> Result<(OrderRead, Standing), ApiError> {
    let read = read_order(db, id, false, Some(principal.user_id), None).await?.ok_or(ApiError::NotFound)?;
    let standing = standing_of(db, principal, &read, chosen).await?;
    if standing.visible() { Ok((read, standing)) } else { Err(ApiError::NotFound) }
}

/// `checked`, the check of a request's body or parameters on the order `id` — or, when it
/// refuses them, 404 in its place for a caller who may not see the order, as for an order
/// that does not exist: what a caller may not see is 404 whatever the request says. The
/// order is read only on the refusal's path.
pub async fn seen_or<T>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
    checked: Result<T, ApiError>,
) -> Result<T, ApiError> {
    match checked {
        Ok(value) => Ok(value),
        Err(refused) => {
            visible_read(db, principal, id, None).await?;
            Err(refused)
        }
    }
}

/// [`seen_or`] for a caller whose session is checked with the order's read
/// ([`authenticated_read`]).
pub async fn seen_by_bearer_or<T>(
    state: &AppState,
    bearer: &Bearer,
    id: Uuid,
    checked: Result<T, ApiError>,
) -> Result<T, ApiError> {
    match checked {
        Ok(value) => Ok(value),
        Err(refused) => {
            authenticated_read(state.db()?, state, bearer, id, None).await?;
            Err(refused)
        }
    }
}

/// The caller, an order they may see and their standing, as [`visible_read`] gives them,
/// with the caller's session read in the order's statement: one round trip where a
/// [`Principal`] and [`visible_read`] take two. 401 for a session that is not live, 404 for
/// an order the caller may not see (or that does not exist: said only once their session
/// was checked in a statement of its own).
pub async fn authenticated_read(
    db: &impl ConnectionTrait,
    state: &AppState,
    bearer: &Bearer,
    id: Uuid,
    chosen: Option<Uuid>,
) -> Result<(Principal, OrderRead, Standing), ApiError> {
    let Some(mut read) = read_order(db, id, false, Some(bearer.user_id()), Some(bearer.session_id())).await? else {
        bearer.authenticate(state).await?;
        return Err(ApiError::NotFound);
    };
    let principal = bearer.principal(state, read.session.take())?;
    let standing = standing_of(db, &principal, &read, chosen).await?;
    if standing.visible() { Ok((principal, read, standing)) } else { Err(ApiError::NotFound) }
}

/// The caller's standing on an order whose step's write found them its resident or, with
/// `assigned`, found the provider assigned it among theirs (the one they named, if they
/// did): what [`standing_of`] gives for them on the order as it was before that write,
/// without a query. An assigned order has no open offers, and the rest of the standing is
/// the caller's roles. (The resident's standing leaves out any provider of theirs the order
/// was offered to: it counts for neither a resident's step nor what they may see.)
pub fn standing_written(principal: &Principal, order: &order::Model, assigned: bool) -> Standing {
    let provider = match (assigned, order.provider_kind, order.provider_id) {
        (true, Some(kind), Some(id)) => Some(ProviderRef { kind, id }),
        _ => None,
    };
    let providers: Vec<ProviderRef> = provider.into_iter().collect();
    stand(principal, &providers, order, provider.map(|p| p.id), Vec::new(), false)
}

/// The standing of a caller whose accept's write found exactly one open offer of the order
/// to one of their providers (`offer`, as it was before that write; the one they named, if
/// they did): what [`standing_of`] gives for them on the order, without a query.
/// `others_open`: another offer of the order is open.
pub fn offer_standing(principal: &Principal, order: &order::Model, offer: offer::Model, others_open: bool) -> Standing {
    let provider = ProviderRef { kind: offer.provider_kind, id: offer.provider_id };
    stand(principal, &[provider], order, None, vec![offer], others_open)
}

/// The standing of the resident of an order of the community `community_id` whose step's
/// write found them its resident, as [`standing_written`] gives it, without the order.
pub fn resident_standing(principal: &Principal, community_id: Uuid) -> Standing {
    Standing {
        owner: true,
        dispatcher: dispatches(principal, community_id),
        admin: principal.has(Role::Admin),
        provider: None,
        open_offer: None,
        assigned: false,
        ambiguous: false,
        others_open: false,
    }
}

/// Whether the caller is a dispatcher of the community.
fn dispatches(principal: &Principal, community_id: Uuid) -> bool {
    principal.has(Role::Dispatcher) && principal.community_id == Some(community_id)
}

/// The standing from what was read: the caller's providers, which of them is assigned the
/// order, the caller's offers on it, and whether another provider holds an open one.
fn stand(
    principal: &Principal,
    providers: &[ProviderRef],
    order: &order::Model,
    assigned: Option<Uuid>,
    mine: Vec<offer::Model>,
    others_open: bool,
) -> Standing {
    let open: Vec<&offer::Model> = mine.iter().filter(|o| o.status == OfferStatus::Open).collect();
    // Assigned first, then an open offer, then any earlier offer (a lost race still sees
    // the order, to learn it lost).
    let provider_id = assigned.or(open.first().map(|o| o.provider_id)).or(mine.first().map(|o| o.provider_id));
    let provider = provider_id.and_then(|id| providers.iter().find(|p| p.id == id).copied());
    let open_offer = provider.and_then(|p| open.iter().find(|o| o.provider_id == p.id).map(|o| (*o).clone()));
    Standing {
        owner: order.resident_id == principal.user_id,
        dispatcher: dispatches(principal, order.community_id),
        admin: principal.has(Role::Admin),
        assigned: provider.is_some() && assigned.is_some(),
        ambiguous: assigned.is_none() && open.len() > 1,
        others_open: others_open || open.len() > 1,
        provider,
        open_offer,
    }
}

/// Loads an order the caller may see, with their standing; 404 otherwise.
pub async fn visible_order(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
    chosen: Option<Uuid>,
) -> Result<(order::Model, Standing), ApiError> {
    let (read, standing) = visible_read(db, principal, id, chosen).await?;
    Ok((read.order, standing))
}

/// Loads an order inside a write transaction, locking its row on PostgreSQL (SQLite's
/// immediate transaction already holds the write lock).
pub async fn lock_order(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<order::Model>, ApiError> {
    Ok(read_order(db, id, true, None, None).await?.map(|r| r.order))
}

/// An order as a step reads it, with what the step needs besides, all in one statement.
pub struct OrderRead {
    pub order: order::Model,
    /// The resident's display name, for the answer.
    pub resident_name: String,
    /// The order's category's service levels (stored JSON).
    pub category_sla: Option<String>,
    /// Whether the caller belongs to a partner or is a volunteer: only then are their
    /// providers worth reading.
    pub caller_acts_for_providers: bool,
    /// Whether the order is assigned to one of the caller's providers.
    pub assigned_to_caller: bool,
    /// The offers of the order to the caller's providers, any state.
    pub caller_offers: Vec<offer::Model>,
    /// Whether a provider not the caller's holds an open offer of the order.
    pub others_open: bool,
    /// The caller's session, when it was asked for (`None` too when it does not exist).
    pub session: Option<CallerSession>,
}

/// Reads an order with its resident's name, its category's service levels and, given a
/// caller, whether they act for any provider, whether the order is assigned to one of
/// theirs, their providers' offers of it (left-joined: one row each) and whether anyone
/// else holds an open one — in one statement, with the caller's `session` if asked for
/// ([`join_session`]). With `lock` (and no caller), the order's row is locked on PostgreSQL
/// (`FOR UPDATE` locks only the order: the subqueries' rows are not in `FROM`).
pub async fn read_order(
    db: &impl ConnectionTrait,
    id: Uuid,
    lock: bool,
    caller: Option<Uuid>,
    session: Option<Uuid>,
) -> Result<Option<OrderRead>, ApiError> {
    let sub = |q: sea_orm::sea_query::SelectStatement| Expr::SubQuery(None, Box::new(q.into_sub_query_statement()));
    let sla = SqlQuery::select()
        .column(category::Column::Sla)
        .from(category::Entity)
        .and_where(
            Expr::col((category::Entity, category::Column::Code)).equals((order::Entity, order::Column::CategoryCode)),
        )
        .to_owned();
    let mut query =
        order::Entity::find_by_id(id).expr_as(resident_name(), "resident_name").expr_as(sub(sla), "category_sla");
    if let Some(user_id) = caller {
        // The caller's providers, as sets: whether there are any, whether the order's
        // provider is one of them, and which of its offers are theirs.
        let sets = provider_sets(user_id);
        let [partners, volunteers] = &sets;
        let theirs = |provider: Expr| in_sets(provider, &sets);
        // `1` when the condition holds, else NULL.
        let flag = |c: Condition| -> Expr { Expr::case(c, Expr::val(1)).into() };
        let acts = Condition::any().add(Expr::exists(partners.clone())).add(Expr::exists(volunteers.clone()));
        let assigned = theirs(Expr::col((order::Entity, order::Column::ProviderId)));
        let (mine, other) = (Alias::new("mine"), Alias::new("other"));
        let others_open = SqlQuery::select()
            .expr(Expr::val(1))
            .from_as(offer::Entity, other.clone())
            .and_where(Expr::col((other.clone(), offer::Column::OrderId)).equals((order::Entity, order::Column::Id)))
            .and_where(Expr::col((other.clone(), offer::Column::Status)).eq(OfferStatus::Open.to_value()))
            .cond_where(theirs(Expr::col((other.clone(), offer::Column::ProviderId))).not())
            .limit(1)
            .to_owned();
        query = query
            .expr_as(flag(acts), "acts_for_providers")
            .expr_as(flag(assigned), "assigned_to_caller")
            .expr_as(sub(others_open), "others_open");
        for c in offer::Column::iter() {
            query = query.expr_as(Expr::col((mine.clone(), c)), format!("{MINE}{}", c.as_str()));
        }
        let on = Condition::all()
            .add(Expr::col((mine.clone(), offer::Column::OrderId)).equals((order::Entity, order::Column::Id)))
            .add(theirs(Expr::col((mine.clone(), offer::Column::ProviderId))));
        QuerySelect::query(&mut query).join_as(JoinType::LeftJoin, offer::Entity, mine, on);
    }
    if let Some(session_id) = session {
        join_session(QuerySelect::query(&mut query), session_id);
    }
    if lock && db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        debug_assert!(caller.is_none() && session.is_none(), "FOR UPDATE on the nullable side of a join");
        query = query.lock_exclusive();
    }
    let rows = db.query_all(query.as_query()).await?;
    let Some(row) = rows.first() else { return Ok(None) };
    let order = order::Model::from_query_result(row, "")?;
    let resident_name: Option<String> = row.try_get("", "resident_name")?;
    let category_sla: Option<String> = row.try_get("", "category_sla")?;
    let flag = |column: &str| -> Result<bool, ApiError> {
        if caller.is_none() {
            return Ok(false);
        }
        let value: Option<i32> = row.try_get("", column)?;
        Ok(value.is_some())
    };
    let caller_acts_for_providers = flag("acts_for_providers")?;
    let assigned_to_caller = flag("assigned_to_caller")?;
    let others_open = flag("others_open")?;
    let mut caller_offers = Vec::new();
    for row in rows.iter().filter(|_| caller.is_some()) {
        let id: Option<Uuid> = row.try_get(MINE, offer::Column::Id.as_str())?;
        if id.is_some() {
            caller_offers.push(offer::Model::from_query_result(row, MINE)?);
        }
    }
    Ok(Some(OrderRead {
        order,
        resident_name: resident_name.unwrap_or_default(),
        category_sla,
        caller_acts_for_providers,
        assigned_to_caller,
        caller_offers,
        others_open,
        session: if session.is_some() { CallerSession::read(row)? } else { None },
    }))
}

/// The display name of the resident of the order in the statement's `orders` row, as a
/// scalar subquery. Its value is named `resident_name` on its own (PostgreSQL names a
/// subquery's value after its column), apart from any column of the order.
pub fn resident_name() -> Expr {
    let name = SqlQuery::select()
        .expr_as(Expr::col((user::Entity, user::Column::DisplayName)), "resident_name")
        .from(user::Entity)
        .and_where(Expr::col((user::Entity, user::Column::Id)).equals((order::Entity, order::Column::ResidentId)))
        .to_owned();
    Expr::SubQuery(None, Box::new(name.into_sub_query_statement()))
}

/// The providers a user acts for, as two sets of ids for a statement's conditions: the
/// partners they belong to, and their volunteer record.
pub fn provider_sets(user_id: Uuid) -> [sea_orm::sea_query::SelectStatement; 2] {
    let partners = SqlQuery::select()
        .column(partner_member::Column::PartnerId)
        .from(partner_member::Entity)
        .and_where(partner_member::Column::UserId.eq(user_id))
        .to_owned();
    let volunteers = SqlQuery::select()
        .column(volunteer::Column::Id)
        .from(volunteer::Entity)
        .and_where(volunteer::Column::UserId.eq(user_id))
        .to_owned();
    [partners, volunteers]
}

/// The condition that `provider` is one of the [`provider_sets`].
pub fn in_sets(provider: Expr, sets: &[sea_orm::sea_query::SelectStatement; 2]) -> Condition {
    let [partners, volunteers] = sets;
    Condition::any().add(provider.clone().in_subquery(partners.clone())).add(provider.in_subquery(volunteers.clone()))
}

/// The prefix of the caller's offer's columns in [`read_order`]'s rows.
const MINE: &str = "mine_";
