//! The names an order is shown with — its resident's, its compound's and its building's —
//! and an event — its actor's and its provider's — read as scalar subqueries of the
//! statement that reads them.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Expr, ExprTrait, IntoColumnRef, IntoTableRef, Query as SqlQuery, QueryStatementBuilder};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic, QueryFilter, QuerySelect, QueryTrait,
    Select,
};
use uuid::Uuid;

use super::Stored;
use crate::entity::{building, compound, order, order_event, partner, user, volunteer};

/// The names of an order's resident, compound and building (none without a building).
#[derive(Debug, Clone, Default, FromQueryResult)]
pub struct OrderNames {
    pub resident_name: Option<String>,
    pub compound_name: Option<String>,
    pub building_name: Option<String>,
}

impl OrderNames {
    /// The resident's display name; empty if the account is gone.
    pub fn resident(&self) -> &str {
        self.resident_name.as_deref().unwrap_or_default()
    }
}

/// `query` with the names of each order it selects, as columns named as [`OrderNames`]'s
/// fields (PostgreSQL names a subquery's value after its column, so each is aliased).
pub fn with_names<E: EntityTrait>(query: Select<E>) -> Select<E> {
    query
        .expr_as(
            name_of(user::Entity, user::Column::DisplayName, user::Column::Id, order::Column::ResidentId),
            "resident_name",
        )
        .expr_as(
            name_of(compound::Entity, compound::Column::Name, compound::Column::Id, order::Column::CompoundId),
            "compound_name",
        )
        .expr_as(
            name_of(building::Entity, building::Column::Name, building::Column::Id, order::Column::BuildingId),
            "building_name",
        )
}

/// The scalar subquery `(SELECT name FROM table WHERE key = orders.column)`.
fn name_of(table: impl IntoTableRef, name: impl IntoColumnRef, key: impl IntoColumnRef, column: order::Column) -> Expr {
    scalar(table, name, key, (order::Entity, column))
}

/// The scalar subquery `(SELECT value FROM table WHERE key = outer)`.
fn scalar(
    table: impl IntoTableRef,
    value: impl IntoColumnRef,
    key: impl IntoColumnRef,
    outer: impl IntoColumnRef,
) -> Expr {
    let q = SqlQuery::select().column(value).from(table).and_where(Expr::col(key).equals(outer)).to_owned();
    Expr::SubQuery(None, Box::new(q.into_sub_query_statement()))
}

/// The names of some orders, by order id, in one query.
pub async fn names_of(db: &impl ConnectionTrait, ids: &[Uuid]) -> Stored<BTreeMap<Uuid, OrderNames>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let query = with_names(order::Entity::find().select_only().column(order::Column::Id))
        .filter(order::Column::Id.is_in(ids.iter().copied()));
    let rows = db.query_all_raw(db.get_database_backend().build(query.as_query())).await?;
    let mut names = BTreeMap::new();
    for row in &rows {
        let id: Uuid = row.try_get("", order::Column::Id.as_str())?;
        names.insert(id, OrderNames::from_query_result(row, "")?);
    }
    Ok(names)
}

/// An event with the names it is shown with, and its order's community (whose staff see the
/// names unmasked).
pub struct NamedEvent {
    pub event: order_event::Model,
    pub names: EventNames,
}

/// The names of an event's actor and of the provider it concerns.
#[derive(Debug, Clone, Default, FromQueryResult)]
pub struct EventNames {
    /// The acting user's display name.
    pub actor_name: Option<String>,
    /// The partner's name (an organisation's, not personal), when the provider is a partner.
    pub partner_name: Option<String>,
    /// The volunteer's display name, when the provider is a volunteer.
    pub volunteer_name: Option<String>,
    /// The community of the event's order.
    pub community_id: Option<Uuid>,
}

/// Runs a query on events with each event's names.
pub async fn named_events(db: &impl ConnectionTrait, query: Select<order_event::Entity>) -> Stored<Vec<NamedEvent>> {
    let e = order_event::Entity;
    let volunteer_name = SqlQuery::select()
        .column((user::Entity, user::Column::DisplayName))
        .from(volunteer::Entity)
        .inner_join(
            user::Entity,
            Expr::col((user::Entity, user::Column::Id)).equals((volunteer::Entity, volunteer::Column::UserId)),
        )
        .and_where(Expr::col((volunteer::Entity, volunteer::Column::Id)).equals((e, order_event::Column::ProviderId)))
        .to_owned();
    let query = query
        .expr_as(
            scalar(user::Entity, user::Column::DisplayName, user::Column::Id, (e, order_event::Column::ActorId)),
            "actor_name",
        )
        .expr_as(
            scalar(partner::Entity, partner::Column::Name, partner::Column::Id, (e, order_event::Column::ProviderId)),
            "partner_name",
        )
        .expr_as(Expr::SubQuery(None, Box::new(volunteer_name.into_sub_query_statement())), "volunteer_name")
        .expr_as(
            scalar(order::Entity, order::Column::CommunityId, order::Column::Id, (e, order_event::Column::OrderId)),
            "community_id",
        );
    let rows = db.query_all_raw(db.get_database_backend().build(query.as_query())).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(NamedEvent {
            event: order_event::Model::from_query_result(row, "")?,
            names: EventNames::from_query_result(row, "")?,
        });
    }
    Ok(out)
}
