//! The names an order is shown with — its resident's, its compound's and its building's —
//! read as scalar subqueries of the statement that reads the order, or for several orders
//! at once.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Expr, ExprTrait, IntoColumnRef, IntoTableRef, Query as SqlQuery, QueryStatementBuilder};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic, QueryFilter, QuerySelect, QueryTrait,
    Select,
};
use uuid::Uuid;

use super::Stored;
use crate::entity::{building, compound, order, user};

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
    let q = SqlQuery::select()
        .column(name)
        .from(table)
        .and_where(Expr::col(key).equals((order::Entity, column)))
        .to_owned();
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
