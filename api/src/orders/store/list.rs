//! Lists of orders: a page of the orders a caller may see, narrowed by filters; a provider's
//! offered and assigned jobs; the events of an order and the caller's feed.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query as SqlQuery};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement,
};
use uuid::Uuid;

use super::Stored;
use super::names::{NamedEvent, OrderNames, named_events, with_names};
use crate::entity::enums::{OfferStatus, OrderStatusDb, UrgencyDb};
use crate::entity::{offer, order, order_event, user};

/// The filters of an order list, checked.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<OrderStatusDb>,
    pub category_code: Option<String>,
    pub urgency: Option<UrgencyDb>,
    pub community_id: Option<Uuid>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    /// Only orders past a deadline at this time.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Only orders whose contact or resident has this phone (normalised).
    pub phone: Option<String>,
    /// Only the order with this number (upper case).
    pub number: Option<String>,
}

/// The orders a caller may see.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Every order (admins).
    All,
    /// The orders any of these let in.
    Any(Vec<Branch>),
}

/// One way an order is in a caller's scope. Each is its own keyset query on its own index:
/// an `OR` of them makes SQLite read every order of the community and sort them.
#[derive(Debug, Clone)]
pub enum Branch {
    Resident(Uuid),
    Community(Uuid),
    /// Assigned to this provider.
    Provider(Uuid),
    /// Offered (open) to one of these providers.
    OfferedTo(Vec<Uuid>),
}

impl Branch {
    /// The ids the branch names, in order.
    fn ids(&self) -> &[Uuid] {
        match self {
            Branch::Resident(id) | Branch::Community(id) | Branch::Provider(id) => std::slice::from_ref(id),
            Branch::OfferedTo(ids) => ids,
        }
    }

    /// The same branch naming `ids` ([`Branch::ids`]'s order) instead.
    fn with_ids(&self, ids: &[Uuid]) -> Branch {
        match self {
            Branch::Resident(_) => Branch::Resident(ids[0]),
            Branch::Community(_) => Branch::Community(ids[0]),
            Branch::Provider(_) => Branch::Provider(ids[0]),
            Branch::OfferedTo(_) => Branch::OfferedTo(ids.to_vec()),
        }
    }

    fn condition(&self) -> Condition {
        match self {
            Branch::Resident(id) => Condition::all().add(order::Column::ResidentId.eq(*id)),
            Branch::Community(id) => Condition::all().add(order::Column::CommunityId.eq(*id)),
            Branch::Provider(id) => Condition::all().add(order::Column::ProviderId.eq(*id)),
            Branch::OfferedTo(ids) => Condition::all().add(
                order::Column::Id.in_subquery(
                    SqlQuery::select()
                        .column(offer::Column::OrderId)
                        .from(offer::Entity)
                        .and_where(offer::Column::ProviderId.is_in(ids.clone()))
                        .and_where(offer::Column::Status.eq(OfferStatus::Open))
                        .to_owned(),
                ),
            ),
        }
    }
}

impl ListFilter {
    /// Whether no filter is set.
    fn is_empty(&self) -> bool {
        let ListFilter { status, category_code, urgency, community_id, from, to, overdue_at, phone, number } = self;
        status.is_none()
            && category_code.is_none()
            && urgency.is_none()
            && community_id.is_none()
            && from.is_none()
            && to.is_none()
            && overdue_at.is_none()
            && phone.is_none()
            && number.is_none()
    }
}

/// The filters as a query on orders.
async fn filtered(db: &impl ConnectionTrait, f: &ListFilter) -> Stored<sea_orm::Select<order::Entity>> {
    let mut query = order::Entity::find();
    if let Some(status) = f.status {
        query = query.filter(order::Column::Status.eq(status));
    }
    if let Some(number) = &f.number {
        query = query.filter(order::Column::Number.eq(number.as_str()));
    }
    if let Some(category) = &f.category_code {
        query = query.filter(order::Column::CategoryCode.eq(category.as_str()));
    }
    if let Some(urgency) = f.urgency {
        query = query.filter(order::Column::Urgency.eq(urgency));
    }
    if let Some(community) = f.community_id {
        query = query.filter(order::Column::CommunityId.eq(community));
    }
    if let Some(from) = f.from {
        query = query.filter(order::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.to {
        query = query.filter(order::Column::CreatedAt.lt(to));
    }
    if let Some(now) = f.overdue_at {
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
    if let Some(phone) = &f.phone {
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
    }
    Ok(query)
}

/// An order in a list, with the names it is shown with.
pub struct Listed {
    pub order: order::Model,
    pub names: OrderNames,
}

/// A page of the orders in `scope` that pass the filters, newest first: `limit` orders
/// older than the order `before`, if given, each with its names (scalar subqueries of the
/// page's own statement). A page without filters, the usual one, binds its statements'
/// templates ([`templates::page`]); a filtered one builds its statements.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &ListFilter,
    scope: &Scope,
    before: Option<Uuid>,
    limit: u64,
) -> Stored<Vec<Listed>> {
    let backend = db.get_database_backend();
    let base = if filter.is_empty() { None } else { Some(filtered(db, filter).await?) };
    let statement = |branch: Option<&Branch>| {
        let template = base.is_none().then(|| templates::page(backend, branch, before, limit)).flatten();
        template.unwrap_or_else(|| {
            let base = base.clone().unwrap_or_else(order::Entity::find);
            page_statement(backend, base, branch, before, limit)
        })
    };
    match scope {
        Scope::All => listed(db, statement(None)).await,
        Scope::Any(branches) => {
            // The branches' pages merged by id.
            let mut rows: Vec<Listed> = Vec::new();
            for branch in branches {
                rows.extend(listed(db, statement(Some(branch))).await?);
            }
            rows.sort_by_key(|l| std::cmp::Reverse(l.order.id));
            rows.dedup_by_key(|l| l.order.id);
            rows.truncate(limit as usize);
            Ok(rows)
        }
    }
}

/// The statement of one branch's page (all orders' without a branch) of the filtered
/// orders `base`, with each order's names.
fn page_statement(
    backend: DatabaseBackend,
    mut query: sea_orm::Select<order::Entity>,
    branch: Option<&Branch>,
    before: Option<Uuid>,
    limit: u64,
) -> Statement {
    if let Some(branch) = branch {
        query = query.filter(branch.condition());
    }
    if let Some(before) = before {
        query = query.filter(order::Column::Id.lt(before));
    }
    backend.build(QueryTrait::as_query(&with_names(query.order_by_desc(order::Column::Id).limit(limit))))
}

mod templates {
    use sea_orm::{DatabaseBackend, EntityTrait, Statement};
    use uuid::Uuid;

    use super::{Branch, page_statement};
    use crate::entity::order;
    use crate::statement::{Template, Templates, backend_index};

    /// The most providers a branch of offers may name and still have a template.
    const OFFERED_TO_MAX: usize = 4;

    /// [`super::page`]'s statement for a page without filters, if its shape has a template.
    /// The shapes: the backend, the branch (none, a resident's, a community's, a provider's,
    /// or offered to one to four providers) and whether the page starts after a cursor.
    pub(super) fn page(
        backend: DatabaseBackend,
        branch: Option<&Branch>,
        before: Option<Uuid>,
        limit: u64,
    ) -> Option<Statement> {
        static TEMPLATES: Templates<48> = Templates::new();
        let ids = branch.map_or(&[][..], Branch::ids);
        let kind = match branch {
            None => 0,
            Some(Branch::Resident(_)) => 1,
            Some(Branch::Community(_)) => 2,
            Some(Branch::Provider(_)) => 3,
            Some(Branch::OfferedTo(_)) if (1..=OFFERED_TO_MAX).contains(&ids.len()) => 3 + ids.len(),
            Some(Branch::OfferedTo(_)) => return None,
        };
        let shape = (backend_index(backend) * 8 + kind) * 2 + usize::from(before.is_some());
        let template = TEMPLATES.get(shape, || {
            Template::with_limit(|stand_ins: [Uuid; OFFERED_TO_MAX + 1], limit| {
                let branch = branch.map(|b| b.with_ids(&stand_ins[..ids.len()]));
                let before = before.map(|_| stand_ins[OFFERED_TO_MAX]);
                page_statement(backend, order::Entity::find(), branch.as_ref(), before, limit)
            })
        });
        let mut params = [Uuid::nil(); OFFERED_TO_MAX + 1];
        params[..ids.len()].copy_from_slice(ids);
        params[OFFERED_TO_MAX] = before.unwrap_or_default();
        Some(template.bind_with_limit(params, limit))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// A bound template is the statement built for the page's ids and limit; an offer
        /// branch of more than four providers has none.
        #[test]
        fn a_bound_template_is_the_statement_built() {
            let id = Uuid::now_v7;
            for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
                let branches = [
                    None,
                    Some(Branch::Resident(id())),
                    Some(Branch::Community(id())),
                    Some(Branch::Provider(id())),
                    Some(Branch::OfferedTo(vec![id()])),
                    Some(Branch::OfferedTo(vec![id(), id(), id()])),
                ];
                for branch in &branches {
                    for (before, limit) in [(None, 21), (Some(id()), 101), (Some(id()), 2)] {
                        let bound = page(backend, branch.as_ref(), before, limit).expect("a template");
                        let built = page_statement(backend, order::Entity::find(), branch.as_ref(), before, limit);
                        assert_eq!(bound.sql, built.sql);
                        assert_eq!(bound.values, built.values);
                    }
                }
                let five = Branch::OfferedTo(vec![id(), id(), id(), id(), id()]);
                assert!(page(backend, Some(&five), None, 21).is_none());
            }
        }
    }
}

/// Runs a query on orders with each order's names.
async fn listed(db: &impl ConnectionTrait, statement: Statement) -> Stored<Vec<Listed>> {
    let rows = db.query_all_raw(statement).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(Listed {
            order: order::Model::from_query_result(row, "")?,
            names: OrderNames::from_query_result(row, "")?,
        });
    }
    Ok(out)
}

/// A provider's jobs: the open offers to these providers with their orders, and the orders
/// assigned to them and not yet done; at most `limit` of each.
pub async fn jobs_of(
    db: &impl ConnectionTrait,
    providers: Vec<Uuid>,
    limit: u64,
) -> Stored<(Vec<(offer::Model, order::Model)>, Vec<order::Model>)> {
    let offers = offer::Entity::find()
        .filter(offer::Column::ProviderId.is_in(providers.clone()))
        .filter(offer::Column::Status.eq(OfferStatus::Open))
        .limit(limit)
        .all(db)
        .await?;
    let offered_ids: Vec<Uuid> = offers.iter().map(|o| o.order_id).collect();
    let offered: Vec<order::Model> = order::Entity::find().filter(order::Column::Id.is_in(offered_ids)).all(db).await?;
    let offers = offers
        .into_iter()
        .filter_map(|o| offered.iter().find(|x| x.id == o.order_id).cloned().map(|found| (o, found)))
        .collect();
    let assigned = order::Entity::find()
        .filter(order::Column::ProviderId.is_in(providers))
        .filter(order::Column::Status.is_in([OrderStatusDb::Accepted, OrderStatusDb::InProgress]))
        .limit(limit)
        .all(db)
        .await?;
    Ok((offers, assigned))
}

/// A page of an order's events after the sequence number `after`, oldest first, with their
/// names.
pub async fn events_of(db: &impl ConnectionTrait, order_id: Uuid, after: i64, limit: u64) -> Stored<Vec<NamedEvent>> {
    let query = order_event::Entity::find()
        .filter(order_event::Column::OrderId.eq(order_id))
        .filter(order_event::Column::Seq.gt(after))
        .order_by_asc(order_event::Column::Seq)
        .limit(limit);
    named_events(db, query).await
}

/// Whose events a feed shows.
pub struct FeedOf {
    /// None: every event (admins).
    pub user_id: Option<Uuid>,
    pub community_id: Option<Uuid>,
    pub providers: Vec<Uuid>,
}

/// A page of the event log after the sequence number `after`, in commit order: the events
/// of the orders the caller is the resident of, dispatches for or is assigned, and the
/// events that concern their providers.
pub async fn feed(db: &impl ConnectionTrait, of: &FeedOf, after: i64, limit: u64) -> Stored<Vec<NamedEvent>> {
    let mut query =
        order_event::Entity::find().filter(order_event::Column::Seq.gt(after)).order_by_asc(order_event::Column::Seq);
    if let Some(user_id) = of.user_id {
        let mut orders = Condition::any().add(order::Column::ResidentId.eq(user_id));
        if let Some(community) = of.community_id {
            orders = orders.add(order::Column::CommunityId.eq(community));
        }
        if !of.providers.is_empty() {
            orders = orders.add(order::Column::ProviderId.is_in(of.providers.clone()));
        }
        let mine = SqlQuery::select().column(order::Column::Id).from(order::Entity).cond_where(orders).to_owned();
        let mut cond = Condition::any().add(order_event::Column::OrderId.in_subquery(mine));
        if !of.providers.is_empty() {
            cond = cond.add(order_event::Column::ProviderId.is_in(of.providers.clone()));
        }
        query = query.filter(cond);
    }
    named_events(db, query.limit(limit)).await
}

/// Whom a stretch of the log concerns, by the keys [`feed`] selects on: its orders'
/// residents, communities and providers, and its events' own providers. Read once for all
/// of a process's live streams (`orders::stream`): a stream reads its feed only when its
/// [`FeedOf`] meets them.
#[derive(Debug, Default)]
pub struct Touches {
    /// Too many events to list: every stream reads its feed.
    pub everyone: bool,
    pub residents: HashSet<Uuid>,
    pub communities: HashSet<Uuid>,
    pub providers: HashSet<Uuid>,
}

/// Events in a stretch beyond which [`touches`] lists no keys and says `everyone`.
const TOUCHES_MAX: i64 = 5_000;

impl FeedOf {
    /// Whether the feed can hold any of the events `touches` describes (the same keys as
    /// [`feed`]'s condition: the resident, the dispatcher's community, the providers).
    pub fn meets(&self, touches: &Touches) -> bool {
        let Some(user_id) = self.user_id else { return true };
        touches.everyone
            || touches.residents.contains(&user_id)
            || self.community_id.is_some_and(|c| touches.communities.contains(&c))
            || self.providers.iter().any(|p| touches.providers.contains(p))
    }
}

/// Whom the events after `after` up to `upto` concern, as the orders stand now.
pub async fn touches(db: &impl ConnectionTrait, after: i64, upto: i64) -> Stored<Touches> {
    if upto - after > TOUCHES_MAX {
        return Ok(Touches { everyone: true, ..Touches::default() });
    }
    let (e, o) = (order_event::Entity, order::Entity);
    let query = SqlQuery::select()
        .column((e, order_event::Column::ProviderId))
        .column((o, order::Column::ResidentId))
        .column((o, order::Column::CommunityId))
        .column((o, order::Column::ProviderId))
        .from(e)
        .inner_join(o, Expr::col((o, order::Column::Id)).equals((e, order_event::Column::OrderId)))
        .and_where(Expr::col((e, order_event::Column::Seq)).gt(after))
        .and_where(Expr::col((e, order_event::Column::Seq)).lte(upto))
        .to_owned();
    let mut rows = Vec::new();
    for row in db.query_all_raw(db.get_database_backend().build(&query)).await? {
        let event_provider: Option<Uuid> = row.try_get_by_index(0)?;
        let resident: Uuid = row.try_get_by_index(1)?;
        let community: Uuid = row.try_get_by_index(2)?;
        let order_provider: Option<Uuid> = row.try_get_by_index(3)?;
        rows.push((event_provider, resident, community, order_provider));
    }
    let mut touches = Touches::default();
    for (event_provider, resident, community, order_provider) in rows {
        touches.residents.insert(resident);
        touches.communities.insert(community);
        touches.providers.extend(event_provider);
        touches.providers.extend(order_provider);
    }
    Ok(touches)
}
