//! Reading an order as a step or a reader needs it: the order, its names (resident, compound,
//! building), its category's service levels and, for a caller, how their providers stand to
//! it — in one statement, with the caller's session when it is to be checked in the same
//! round trip.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query as SqlQuery, QueryStatementBuilder, UnionType};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    QuerySelect, QueryTrait,
};
use shenbian_domain::standing::{OfferSeen, ProviderRef, sort_providers};
use shenbian_domain::step::OrderFacts;
use uuid::Uuid;

use super::Stored;
use super::names::{OrderNames, with_names};
use crate::auth::{CallerSession, join_session};
use crate::entity::enums::{OfferStatus, ProviderKind};
use crate::entity::{category, offer, order, partner_member, volunteer};

/// An order as read, with what a step needs besides.
pub struct OrderRead {
    pub order: order::Model,
    /// The names it is shown with.
    pub names: OrderNames,
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

/// The columns [`read`] adds to the order's, by name.
#[derive(FromQueryResult)]
struct Extras {
    category_sla: Option<String>,
}

/// The caller's flags [`read`] adds for a caller: `1` when true, else NULL.
#[derive(FromQueryResult)]
struct CallerFlags {
    acts_for_providers: Option<i32>,
    assigned_to_caller: Option<i32>,
    others_open: Option<i32>,
}

/// The prefix of the caller's offer's columns in [`read`]'s rows.
const MINE: &str = "mine_";

/// Whom a read is for.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadFor {
    /// The caller whose providers' offers and assignment are read.
    pub caller: Option<Uuid>,
    /// The session to check in the same statement.
    pub session: Option<Uuid>,
    /// Lock the order's row until the transaction ends (PostgreSQL; SQLite's write
    /// transaction holds the database's one write lock already). Only without a caller.
    pub lock: bool,
}

/// Reads an order with its names, its category's service levels and, given a
/// caller, whether they act for any provider, whether the order is assigned to one of
/// theirs, their providers' offers of it (left-joined: one row each) and whether anyone
/// else holds an open one — in one statement, with the caller's session if asked for.
pub async fn read(db: &impl ConnectionTrait, id: Uuid, whom: ReadFor) -> Stored<Option<OrderRead>> {
    let statement = templates::read_statement(db.get_database_backend(), id, whom);
    let rows = db.query_all_raw(statement).await?;
    decode(&rows, whom)
}

/// The statement [`read`] runs, built with sea-query (the templates build it once per shape).
fn build(backend: sea_orm::DatabaseBackend, id: Uuid, whom: ReadFor) -> sea_orm::Statement {
    let sub = |q: sea_orm::sea_query::SelectStatement| Expr::SubQuery(None, Box::new(q.into_sub_query_statement()));
    let sla = SqlQuery::select()
        .column(category::Column::Sla)
        .from(category::Entity)
        .and_where(
            Expr::col((category::Entity, category::Column::Code)).equals((order::Entity, order::Column::CategoryCode)),
        )
        .to_owned();
    let mut query = with_names(order::Entity::find_by_id(id)).expr_as(sub(sla), "category_sla");
    if let Some(user_id) = whom.caller {
        let [partners, volunteers] = &provider_sets(user_id);
        let theirs = |provider: Expr| acted_for_by(provider, user_id);
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
    if let Some(session_id) = whom.session {
        join_session(QuerySelect::query(&mut query), session_id);
    }
    if whom.lock && backend == sea_orm::DatabaseBackend::Postgres {
        debug_assert!(whom.caller.is_none() && whom.session.is_none(), "FOR UPDATE on the nullable side of a join");
        query = query.lock_exclusive();
    }
    backend.build(query.as_query())
}

/// The rows of [`read`]'s statement as an [`OrderRead`].
fn decode(rows: &[sea_orm::QueryResult], whom: ReadFor) -> Stored<Option<OrderRead>> {
    let Some(row) = rows.first() else { return Ok(None) };
    let order = order::Model::from_query_result(row, "")?;
    let extras = Extras::from_query_result(row, "")?;
    let flags = match whom.caller {
        Some(_) => CallerFlags::from_query_result(row, "")?,
        None => CallerFlags { acts_for_providers: None, assigned_to_caller: None, others_open: None },
    };
    let mut caller_offers = Vec::new();
    for row in rows.iter().filter(|_| whom.caller.is_some()) {
        let id: Option<Uuid> = row.try_get(MINE, offer::Column::Id.as_str())?;
        if id.is_some() {
            caller_offers.push(offer::Model::from_query_result(row, MINE)?);
        }
    }
    Ok(Some(OrderRead {
        order,
        names: OrderNames::from_query_result(row, "")?,
        category_sla: extras.category_sla,
        caller_acts_for_providers: flags.acts_for_providers.is_some(),
        assigned_to_caller: flags.assigned_to_caller.is_some(),
        caller_offers,
        others_open: flags.others_open.is_some(),
        session: if whom.session.is_some() { CallerSession::read(row)? } else { None },
    }))
}

/// [`read`]'s statement, built once per shape (backend, caller, session, lock) and bound per
/// request ([`crate::statement`]).
mod templates {
    use sea_orm::{DatabaseBackend, Statement};
    use uuid::Uuid;

    use super::ReadFor;
    use crate::statement::{Template, Templates, backend_index};

    /// [`super::read`]'s statement for an order and whom it is read for.
    pub(super) fn read_statement(backend: DatabaseBackend, id: Uuid, whom: ReadFor) -> Statement {
        static TEMPLATES: Templates<24> = Templates::new();
        let shape = backend_index(backend) * 8
            + usize::from(whom.caller.is_some()) * 4
            + usize::from(whom.session.is_some()) * 2
            + usize::from(whom.lock);
        let template = TEMPLATES.get(shape, || {
            Template::new(|[id, caller, session]| {
                let stand_in =
                    ReadFor { caller: whom.caller.map(|_| caller), session: whom.session.map(|_| session), ..whom };
                super::build(backend, id, stand_in)
            })
        });
        template.bind([id, whom.caller.unwrap_or_default(), whom.session.unwrap_or_default()])
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// A bound template is the statement built for the request's ids.
        #[test]
        fn a_bound_template_is_the_statement_built() {
            for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
                for (caller, session, lock) in [(true, true, false), (true, false, false), (false, false, true)] {
                    let whom = ReadFor { caller: caller.then(Uuid::now_v7), session: session.then(Uuid::now_v7), lock };
                    let id = Uuid::now_v7();
                    let bound = read_statement(backend, id, whom);
                    let built = super::super::build(backend, id, whom);
                    assert_eq!(bound.sql, built.sql);
                    assert_eq!(bound.values, built.values);
                }
            }
        }
    }
}

/// Reads an order inside a write transaction, locking its row on PostgreSQL.
pub async fn locked(db: &impl ConnectionTrait, id: Uuid) -> Stored<Option<OrderRead>> {
    read(db, id, ReadFor { lock: true, ..ReadFor::default() }).await
}

impl OrderRead {
    /// The order as a step needs it.
    pub fn facts(&self) -> OrderFacts {
        let o = &self.order;
        OrderFacts {
            status: o.status.into(),
            urgency: o.urgency.into(),
            provider: provider_of(o),
            contract_id: o.contract_id,
            first_dispatched_at: o.first_dispatched_at,
            completed_at: o.completed_at,
            started_at: o.started_at,
            escalation_level: o.escalation_level,
        }
    }

    /// The category's service levels, as stored.
    pub fn sla(&self) -> Option<shenbian_domain::category::Sla> {
        self.category_sla.as_deref().and_then(|sla| serde_json::from_str(sla).ok())
    }

    /// The caller's offers, as the domain reads them.
    pub fn offers_seen(&self) -> Vec<OfferSeen> {
        self.caller_offers.iter().map(offer_seen).collect()
    }
}

/// An offer as the domain reads it.
pub fn offer_seen(o: &offer::Model) -> OfferSeen {
    OfferSeen {
        id: o.id,
        provider: ProviderRef { kind: o.provider_kind.into(), id: o.provider_id },
        open: o.status == OfferStatus::Open,
        accept_by: o.accept_by,
        contract_id: o.contract_id,
    }
}

/// The provider assigned an order, if any.
pub fn provider_of(o: &order::Model) -> Option<ProviderRef> {
    o.provider_kind.zip(o.provider_id).map(|(kind, id)| ProviderRef { kind: kind.into(), id })
}

#[derive(Debug, FromQueryResult)]
struct ProviderRow {
    kind: ProviderKind,
    id: Uuid,
}

/// The providers a user acts for: the partners they belong to and their volunteer record,
/// in one query; partners first.
pub async fn providers_of(db: &impl ConnectionTrait, user_id: Uuid) -> Stored<Vec<ProviderRef>> {
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
    let mut providers: Vec<ProviderRef> = ProviderRow::find_by_statement(db.get_database_backend().build(&both))
        .all(db)
        .await?
        .into_iter()
        .map(|r| ProviderRef { kind: r.kind.into(), id: r.id })
        .collect();
    sort_providers(&mut providers);
    Ok(providers)
}

/// The providers a user acts for, as two sets of ids for a statement's conditions: the
/// partners they belong to, and their volunteer record.
fn provider_sets(user_id: Uuid) -> [sea_orm::sea_query::SelectStatement; 2] {
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

/// The condition that `provider` is one of the user's providers: a partner they belong to
/// or their volunteer record. Two correlated `EXISTS` probes by key, where `IN (SELECT …)`
/// would build a temporary table per use.
pub fn acted_for_by(provider: Expr, user_id: Uuid) -> Condition {
    let member = SqlQuery::select()
        .expr(Expr::val(1))
        .from(partner_member::Entity)
        .and_where(Expr::col((partner_member::Entity, partner_member::Column::PartnerId)).eq(provider.clone()))
        .and_where(Expr::col((partner_member::Entity, partner_member::Column::UserId)).eq(user_id))
        .to_owned();
    let volunteer = SqlQuery::select()
        .expr(Expr::val(1))
        .from(volunteer::Entity)
        .and_where(Expr::col((volunteer::Entity, volunteer::Column::Id)).eq(provider))
        .and_where(Expr::col((volunteer::Entity, volunteer::Column::UserId)).eq(user_id))
        .to_owned();
    Condition::any().add(Expr::exists(member)).add(Expr::exists(volunteer))
}
