//! Seeing orders: the list (scoped to the caller), one order, its timeline, a provider's
//! jobs, and the caller's feed from the event log.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{ExprTrait, Query as SqlQuery};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use shenbian_domain::Phone;
use shenbian_domain::Role;
use shenbian_domain::order::OrderStatus;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::access::{ProviderRef, authenticated_read, providers_of, seen_or, visible_order};
use super::view::{OrderView, offered_to, resident_names};
use crate::audit::{self, Entry};
use crate::auth::keys::Keys;
use crate::auth::{Bearer, Principal};
use crate::dates::bounded_instant;
use crate::db::begin_write;
use crate::entity::enums::{ActionDb, ActorRoleDb, OfferStatus, OrderStatusDb, ProviderKind, UrgencyDb};
use crate::entity::{offer, order, order_event, user};
use crate::error::{ApiError, t};
use crate::extract::{Path, Query};
use crate::pagination::{MAX_LIMIT, PageParams, Paginated, encode_cursor, encode_text_cursor};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrderFilter {
    status: Option<OrderStatusDb>,
    category_code: Option<String>,
    urgency: Option<UrgencyDb>,
    community_id: Option<Uuid>,
    /// Created at or after (RFC 3339, from 2000-01-01 to a year from now).
    #[serde(default, deserialize_with = "crate::dates::optional_instant")]
    from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339, from 2000-01-01 to a year from now).
    #[serde(default, deserialize_with = "crate::dates::optional_instant")]
    to: Option<DateTime<Utc>>,
    /// Dispatchers and admins: orders whose contact or resident has this phone (audited).
    phone: Option<String>,
    /// Only orders past a deadline: not dispatched, accepted or completed in time.
    overdue: Option<bool>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    cursor: Option<String>,
}

/// What the caller may see of orders: their own as resident, their community's as
/// dispatcher, everything as admin, and as provider those offered (open) or assigned to them.
async fn scope(
    db: &impl sea_orm::ConnectionTrait,
    principal: &Principal,
) -> Result<(Option<Vec<Condition>>, Vec<ProviderRef>), ApiError> {
    let providers = providers_of(db, principal.user_id).await?;
    if principal.has(Role::Admin) {
        return Ok((None, providers));
    }
    // One branch per index: the list runs them as separate keyset queries (an `OR` of them
    // makes SQLite read every order of the community and sort them).
    let mut branches = vec![Condition::all().add(order::Column::ResidentId.eq(principal.user_id))];
    if let (true, Some(community)) = (principal.has(Role::Dispatcher), principal.community_id) {
        branches.push(Condition::all().add(order::Column::CommunityId.eq(community)));
    }
    let ids: Vec<Uuid> = providers.iter().map(|p| p.id).collect();
    for id in &ids {
        branches.push(Condition::all().add(order::Column::ProviderId.eq(*id)));
    }
    if !ids.is_empty() {
        branches.push(
            Condition::all().add(
                order::Column::Id.in_subquery(
                    SqlQuery::select()
                        .column(offer::Column::OrderId)
                        .from(offer::Entity)
                        .and_where(offer::Column::ProviderId.is_in(ids))
                        .and_where(offer::Column::Status.eq(OfferStatus::Open))
                        .to_owned(),
                ),
            ),
        );
    }
    Ok((Some(branches), providers))
}

/// Whether a caller sees an order's personal data, judged from the list's scope.
fn unmasked_for(principal: &Principal, providers: &[ProviderRef], o: &order::Model) -> bool {
    o.resident_id == principal.user_id
        || principal.has(Role::Admin)
        || (principal.has(Role::Dispatcher) && principal.community_id == Some(o.community_id))
        || (o.provider_id.is_some_and(|p| providers.iter().any(|mine| mine.id == p))
            && OrderStatus::from(o.status).holds_capacity())
}

/// Whether a caller sees an order's personal data as staff (its community's dispatcher, an
/// admin) rather than as its resident: such reads are audited.
fn staff_sees(principal: &Principal, o: &order::Model) -> bool {
    o.resident_id != principal.user_id
        && (principal.has(Role::Admin)
            || (principal.has(Role::Dispatcher) && principal.community_id == Some(o.community_id)))
}

impl OrderFilter {
    /// The filters as the audit log records them: a phone only as its keyed hash.
    pub(crate) fn describe(&self, keys: &Keys) -> String {
        let word = |v: serde_json::Value| v.as_str().map(str::to_owned).unwrap_or_default();
        let mut parts: Vec<String> = Vec::new();
        if let Some(v) = self.status {
            parts.push(format!("status={}", word(serde_json::json!(v))));
        }
        if let Some(v) = &self.category_code {
            parts.push(format!("category_code={v}"));
        }
        if let Some(v) = self.urgency {
            parts.push(format!("urgency={}", word(serde_json::json!(v))));
        }
        if let Some(v) = self.community_id {
            parts.push(format!("community_id={v}"));
        }
        if let Some(v) = self.from {
            parts.push(format!("from={}", v.to_rfc3339()));
        }
        if let Some(v) = self.to {
            parts.push(format!("to={}", v.to_rfc3339()));
        }
        if let Some(v) = &self.phone {
            let phone = Phone::parse(v).map(|p| p.as_str().to_owned()).unwrap_or_default();
            parts.push(format!("phone={}", audit::phone_key(keys, &phone)));
        }
        if let Some(v) = self.overdue {
            parts.push(format!("overdue={v}"));
        }
        if let Some(v) = self.limit {
            parts.push(format!("limit={v}"));
        }
        if self.cursor.is_some() {
            parts.push("cursor".to_owned());
        }
        format!("query: {}", parts.join("&"))
    }
}

/// Orders the caller may see, newest first, with filters.
#[utoipa::path(get, path = "/orders", tag = "orders", security(("bearer" = [])), params(OrderFilter),
    responses((status = 200, body = Paginated<OrderView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn list_orders(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<OrderFilter>,
) -> Result<Json<Paginated<OrderView>>, ApiError> {
    let page = PageParams { limit: filter.limit, cursor: filter.cursor.clone() }.page()?;
    let db = state.db()?;
    let Filtered { base, branches, providers, searched_phone } =
        filtered_parts(db, &state, &principal, &filter, false).await?;
    let page_of = |mut query: sea_orm::Select<order::Entity>| {
        if let Some(before) = page.after {
            query = query.filter(order::Column::Id.lt(before));
        }
        query.order_by_desc(order::Column::Id).limit(page.limit + 1)
    };
    // Each branch of the caller's scope is its own keyset query on its own index; the
    // pages are merged by id.
    let mut rows = match branches {
        None => page_of(base).all(db).await?,
        Some(branches) => {
            let mut rows: Vec<order::Model> = Vec::new();
            for branch in branches {
                rows.extend(page_of(base.clone().filter(branch)).all(db).await?);
            }
            rows.sort_by_key(|o| std::cmp::Reverse(o.id));
            rows.dedup_by_key(|o| o.id);
            rows
        }
    };
    let more = rows.len() as u64 > page.limit;
    rows.truncate(page.limit as usize);
    let next_cursor = if more { rows.last().map(|o| encode_cursor(o.id)) } else { None };
    let names = resident_names(db, &rows).await?;
    // One entry per request for a staff read: the search by phone, or any order shown
    // unmasked to its community's dispatcher or an admin rather than to its resident.
    let staff_read: Vec<Uuid> = rows.iter().filter(|o| staff_sees(&principal, o)).map(|o| o.id).collect();
    if searched_phone || !staff_read.is_empty() {
        let action = if searched_phone { "order.search_phone" } else { "order.list" };
        let what = format!("{}; {}", audit::ids(staff_read), filter.describe(state.keys()?));
        audit::record_read(db, principal.user_id, action, "order", "*", what, state.now()).await?;
    }
    let items = rows
        .into_iter()
        .map(|o| {
            let unmasked = unmasked_for(&principal, &providers, &o);
            let name = names.get(&o.resident_id).cloned().unwrap_or_default();
            OrderView::new(o, &name, unmasked)
        })
        .collect();
    Ok(Json(Paginated { items, next_cursor }))
}

/// The orders a caller may see, narrowed by the list's filters; shared by the list and the
/// CSV export. With `staff_only`, the scope is the caller's community (admins: all) only.
pub(crate) async fn filtered(
    db: &impl sea_orm::ConnectionTrait,
    state: &AppState,
    principal: &Principal,
    filter: &OrderFilter,
    staff_only: bool,
) -> Result<(sea_orm::Select<order::Entity>, Vec<ProviderRef>, bool), ApiError> {
    let Filtered { base, branches, providers, searched_phone } =
        filtered_parts(db, state, principal, filter, staff_only).await?;
    let query = match branches {
        None => base,
        Some(branches) => base.filter(branches.into_iter().fold(Condition::any(), Condition::add)),
    };
    Ok((query, providers, searched_phone))
}

/// The list's filters (`base`) and the caller's scope as branches any of which lets an
/// order in (`None`: every order).
pub(crate) struct Filtered {
    base: sea_orm::Select<order::Entity>,
    branches: Option<Vec<Condition>>,
    providers: Vec<ProviderRef>,
    searched_phone: bool,
}

async fn filtered_parts(
    db: &impl sea_orm::ConnectionTrait,
    state: &AppState,
    principal: &Principal,
    filter: &OrderFilter,
    staff_only: bool,
) -> Result<Filtered, ApiError> {
    let (branches, providers) = if staff_only {
        let scope = match (principal.has(Role::Admin), principal.community_id) {
            (true, _) => None,
            (false, Some(c)) if principal.has(Role::Dispatcher) => {
                Some(vec![Condition::all().add(order::Column::CommunityId.eq(c))])
            }
            _ => return Err(ApiError::Forbidden),
        };
        (scope, Vec::new())
    } else {
        scope(db, principal).await?
    };
    let mut query = order::Entity::find();
    if let Some(status) = filter.status {
        query = query.filter(order::Column::Status.eq(status));
    }
    if let Some(category) = &filter.category_code {
        query = query.filter(order::Column::CategoryCode.eq(category.as_str()));
    }
    if let Some(urgency) = filter.urgency {
        query = query.filter(order::Column::Urgency.eq(urgency));
    }
    if let Some(community) = filter.community_id {
        query = query.filter(order::Column::CommunityId.eq(community));
    }
    if let Some(from) = filter.from {
        let from = bounded_instant(state, "from", from)?;
        query = query.filter(order::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        let to = bounded_instant(state, "to", to)?;
        query = query.filter(order::Column::CreatedAt.lt(to));
    }
    if filter.overdue == Some(true) {
        let now = state.now();
        query = query.filter(
            Condition::any()
                .add(order::Column::Status.eq(OrderStatusDb::Pending).and(order::Column::DispatchBy.lt(now)))
                .add(order::Column::Status.eq(OrderStatusDb::Offered).and(order::Column::AcceptBy.lt(now)))
                .add(
                    order::Column::Status
                        .is_in([OrderStatusDb::Accepted, OrderStatusDb::InProgress])
                        .and(order::Column::CompleteBy.lt(now)),
                ),
        );
    }
    let searched_phone = match &filter.phone {
        None => false,
        Some(phone) => {
            if !(principal.has(Role::Admin) || principal.has(Role::Dispatcher)) {
                return Err(ApiError::Forbidden);
            }
            let phone = Phone::parse(phone).map_err(|e| ApiError::validation("phone", e))?;
            let residents: Vec<Uuid> = user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .filter(user::Column::Phone.eq(phone.as_str()))
                .into_tuple()
                .all(db)
                .await?;
            query = query.filter(
                Condition::any()
                    .add(order::Column::ContactPhone.eq(phone.as_str()))
                    .add(order::Column::ResidentId.is_in(residents)),
            );
            true
        }
    };
    Ok(Filtered { base: query, branches, providers, searched_phone })
}

/// One order, as the caller may see it (their session checked in the order's read). Staff
/// reads of personal data are audited.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn get_order(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
) -> Result<Json<OrderView>, ApiError> {
    let db = state.db()?;
    let (principal, read, standing) = authenticated_read(db, &state, &caller, id, None).await?;
    let unmasked = standing.sees_personal_data(read.order.status.into());
    if unmasked && standing.is_staff_read() {
        let tx = begin_write(db).await?;
        audit::record(&tx, Entry::new(principal.user_id, "order.read", "order", id), state.now()).await?;
        tx.commit().await?;
    }
    let offered = read.order.status == OrderStatusDb::Offered && (standing.dispatcher || standing.admin);
    let mut view = OrderView::new(read.order, &read.resident_name, unmasked);
    if offered {
        view.offered_to = Some(offered_to(db, id).await?);
    }
    Ok(Json(view))
}

/// An entry of an order's timeline: ids, the step, states and the reason — no personal data.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    /// Global position in the event log; the feed's cursor.
    pub seq: i64,
    pub order_id: Uuid,
    pub action: ActionDb,
    /// The user who acted; null for the system.
    pub actor: Option<Uuid>,
    pub actor_role: ActorRoleDb,
    pub from_status: Option<OrderStatusDb>,
    pub to_status: OrderStatusDb,
    pub reason: Option<String>,
    /// The provider an offer step concerns.
    pub provider_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl From<order_event::Model> for EventView {
    fn from(e: order_event::Model) -> Self {
        Self {
            id: e.id,
            seq: e.seq,
            order_id: e.order_id,
            action: e.action,
            actor: e.actor_id,
            actor_role: e.actor_role,
            from_status: e.from_status,
            to_status: e.to_status,
            reason: e.reason,
            provider_id: e.provider_id,
            at: e.at,
        }
    }
}

/// Reads a cursor that carries an event sequence number.
fn seq_cursor(params: &PageParams) -> Result<(u64, i64), ApiError> {
    let (limit, after) = params.text_page()?;
    let after = match after {
        None => 0,
        Some(s) => s
            .parse()
            .map_err(|_| ApiError::validation("cursor", t("不是本列表给出的游标", "is not a cursor from this list")))?,
    };
    Ok((limit, after))
}

/// An order's timeline, oldest first (whoever may see the order).
#[utoipa::path(get, path = "/orders/{id}/events", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Paginated<EventView>)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn order_events(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    Query(params): Query<PageParams>,
) -> Result<Json<Paginated<EventView>>, ApiError> {
    let db = state.db()?;
    let (limit, after) = seen_or(db, &principal, id, seq_cursor(&params)).await?;
    visible_order(db, &principal, id, None).await?;
    let mut rows = order_event::Entity::find()
        .filter(order_event::Column::OrderId.eq(id))
        .filter(order_event::Column::Seq.gt(after))
        .order_by_asc(order_event::Column::Seq)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|e| encode_text_cursor(&e.seq.to_string())) } else { None };
    Ok(Json(Paginated { items: rows.into_iter().map(EventView::from).collect(), next_cursor }))
}

/// The caller's feed: events of the orders they may see as resident or dispatcher, and the
/// offers and jobs of their providers, in commit order. `next_cursor` is always given, so an
/// app polls with it; a late-committing event is never skipped.
#[utoipa::path(get, path = "/events", operation_id = "event_feed", tag = "orders", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Paginated<EventView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn feed(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<PageParams>,
) -> Result<Json<Paginated<EventView>>, ApiError> {
    let (limit, after) = seq_cursor(&params)?;
    let db = state.db()?;
    let providers: Vec<Uuid> = providers_of(db, principal.user_id).await?.into_iter().map(|p| p.id).collect();
    let mut query = order_event::Entity::find()
        .filter(order_event::Column::Seq.gt(after))
        .order_by_asc(order_event::Column::Seq)
        .limit(limit + 1);
    if !principal.has(Role::Admin) {
        let mut orders = Condition::any().add(order::Column::ResidentId.eq(principal.user_id));
        if let (true, Some(community)) = (principal.has(Role::Dispatcher), principal.community_id) {
            orders = orders.add(order::Column::CommunityId.eq(community));
        }
        if !providers.is_empty() {
            orders = orders.add(order::Column::ProviderId.is_in(providers.clone()));
        }
        let mine = SqlQuery::select().column(order::Column::Id).from(order::Entity).cond_where(orders).to_owned();
        let mut cond = Condition::any().add(order_event::Column::OrderId.in_subquery(mine));
        if !providers.is_empty() {
            cond = cond.add(order_event::Column::ProviderId.is_in(providers));
        }
        query = query.filter(cond);
    }
    let mut rows = query.all(db).await?;
    rows.truncate(limit as usize);
    let last = rows.last().map_or(after, |e| e.seq);
    Ok(Json(Paginated {
        items: rows.into_iter().map(EventView::from).collect(),
        next_cursor: Some(encode_text_cursor(&last.to_string())),
    }))
}

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
    principal: Principal,
    Query(params): Query<PageParams>,
) -> Result<Json<Paginated<JobView>>, ApiError> {
    let (limit, after) = params.text_page()?;
    let db = state.db()?;
    let providers = providers_of(db, principal.user_id).await?;
    let ids: Vec<Uuid> = providers.iter().map(|p| p.id).collect();
    let offers = offer::Entity::find()
        .filter(offer::Column::ProviderId.is_in(ids.clone()))
        .filter(offer::Column::Status.eq(OfferStatus::Open))
        .limit(MAX_LIMIT * 10)
        .all(db)
        .await?;
    let offered_ids: BTreeSet<Uuid> = offers.iter().map(|o| o.order_id).collect();
    let assigned = order::Entity::find()
        .filter(order::Column::ProviderId.is_in(ids))
        .filter(order::Column::Status.is_in([OrderStatusDb::Accepted, OrderStatusDb::InProgress]))
        .limit(MAX_LIMIT * 10)
        .all(db)
        .await?;
    let offered_orders = order::Entity::find().filter(order::Column::Id.is_in(offered_ids)).all(db).await?;
    let mut names = resident_names(db, &assigned).await?;
    names.extend(resident_names(db, &offered_orders).await?);
    let mut jobs: Vec<(String, JobView)> = Vec::new();
    for o in offers {
        let Some(found) = offered_orders.iter().find(|x| x.id == o.order_id) else { continue };
        // Masked as `GET /orders/{id}` masks it for an offered provider: `张*`, and the name
        // masked in the free text too.
        let name = names.get(&found.resident_id).cloned().unwrap_or_default();
        let view = OrderView::new(found.clone(), &name, false);
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
        let name = names.get(&o.resident_id).cloned().unwrap_or_default();
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
