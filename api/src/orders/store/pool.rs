//! Who could take an order, for the candidates' ranking: the partners whose contracts cover
//! its community and category, the community's volunteers with the skill (and their names),
//! those who look after its building, those who turned it down — and each provider's record
//! (offers made and accepted, jobs completed and on time, ratings) as sums per provider,
//! one grouped query each.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Func, IntoIden, Query as SqlQuery, QueryStatementBuilder, SelectStatement,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::Stored;
use crate::entity::enums::OfferStatus;
use crate::entity::{
    contract, contract_category, contract_community, offer, order, rating, user, volunteer, volunteer_building,
    volunteer_skill,
};

/// A volunteer who could take the order, with their display name.
#[derive(Debug, Clone, FromQueryResult)]
pub struct PoolVolunteer {
    pub id: Uuid,
    pub name: Option<String>,
}

/// The providers an order's candidates are drawn from.
#[derive(Debug, Default)]
pub struct Pool {
    /// Partners with a contract covering the order's community and category (any state:
    /// eligibility judges them).
    pub partners: BTreeSet<Uuid>,
    /// The community's volunteers with the category's skill.
    pub volunteers: Vec<PoolVolunteer>,
    /// Volunteers who look after the order's building.
    pub near: BTreeSet<Uuid>,
    /// Providers who declined the order or let an offer of it expire.
    pub turned_down: BTreeSet<Uuid>,
}

/// The pool of an order.
pub async fn pool_of(db: &impl ConnectionTrait, o: &order::Model) -> Stored<Pool> {
    let turned_down = offer::Entity::find()
        .select_only()
        .column(offer::Column::ProviderId)
        .filter(offer::Column::OrderId.eq(o.id))
        .filter(offer::Column::Status.is_in([OfferStatus::Declined, OfferStatus::Expired]))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let covering = |link: SelectStatement| Expr::col((contract::Entity, contract::Column::Id)).in_subquery(link);
    let partners = contract::Entity::find()
        .select_only()
        .column(contract::Column::PartnerId)
        .filter(covering(
            SqlQuery::select()
                .column(contract_community::Column::ContractId)
                .from(contract_community::Entity)
                .and_where(contract_community::Column::CommunityId.eq(o.community_id))
                .to_owned(),
        ))
        .filter(covering(
            SqlQuery::select()
                .column(contract_category::Column::ContractId)
                .from(contract_category::Entity)
                .and_where(contract_category::Column::CategoryCode.eq(o.category_code.as_str()))
                .to_owned(),
        ))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let name = SqlQuery::select()
        .column(user::Column::DisplayName)
        .from(user::Entity)
        .and_where(Expr::col((user::Entity, user::Column::Id)).equals((volunteer::Entity, volunteer::Column::UserId)))
        .to_owned();
    let volunteers = volunteer::Entity::find()
        .select_only()
        .column(volunteer::Column::Id)
        .expr_as(Expr::SubQuery(None, Box::new(name.into_sub_query_statement())), "name")
        .filter(volunteer::Column::CommunityId.eq(o.community_id))
        .filter(
            volunteer::Column::Id.in_subquery(
                SqlQuery::select()
                    .column(volunteer_skill::Column::VolunteerId)
                    .from(volunteer_skill::Entity)
                    .and_where(volunteer_skill::Column::CategoryCode.eq(o.category_code.as_str()))
                    .to_owned(),
            ),
        )
        .into_model::<PoolVolunteer>()
        .all(db)
        .await?;
    let near = match o.building_id {
        Some(building) => volunteer_building::Entity::find()
            .select_only()
            .column(volunteer_building::Column::VolunteerId)
            .filter(volunteer_building::Column::BuildingId.eq(building))
            .into_tuple::<Uuid>()
            .all(db)
            .await?
            .into_iter()
            .collect(),
        None => BTreeSet::new(),
    };
    Ok(Pool { partners, volunteers, near, turned_down })
}

/// A provider's record, as counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Record {
    pub offered: u64,
    pub accepted: u64,
    pub completed: u64,
    pub completed_on_time: u64,
    pub rating_sum: u64,
    pub rating_count: u64,
}

#[derive(FromQueryResult)]
struct Tally {
    provider_id: Uuid,
    n: i64,
    of_them: i64,
}

/// The records of these providers; a provider with none is absent.
pub async fn records(db: &impl ConnectionTrait, providers: &[Uuid]) -> Stored<BTreeMap<Uuid, Record>> {
    let mut records: BTreeMap<Uuid, Record> = BTreeMap::new();
    if providers.is_empty() {
        return Ok(records);
    }
    let count_if = |cond: Expr| Func::sum(Expr::case(cond, Expr::val(1)).finally(Expr::val(0)));
    let accepted = offer::Column::Status.eq(OfferStatus::Accepted);
    let offers =
        tally(offer::Entity, offer::Column::ProviderId, Func::count(Expr::val(1)).into(), count_if(accepted).into())
            .and_where(offer::Column::ProviderId.is_in(providers.iter().copied()))
            .to_owned();
    let on_time = Expr::col((order::Entity, order::Column::CompletedAt))
        .lte(Expr::col((order::Entity, order::Column::CompleteBy)));
    let jobs =
        tally(order::Entity, order::Column::ProviderId, Func::count(Expr::val(1)).into(), count_if(on_time).into())
            .and_where(order::Column::ProviderId.is_in(providers.iter().copied()))
            .and_where(order::Column::CompletedAt.is_not_null())
            .to_owned();
    let stars = Func::sum(Expr::col((rating::Entity, rating::Column::Stars)));
    let ratings = tally(rating::Entity, rating::Column::ProviderId, Func::count(Expr::val(1)).into(), stars.into())
        .and_where(rating::Column::ProviderId.is_in(providers.iter().copied()))
        .to_owned();
    let backend = db.get_database_backend();
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    for t in Tally::find_by_statement(backend.build(&offers)).all(db).await? {
        let r = records.entry(t.provider_id).or_default();
        (r.offered, r.accepted) = (count(t.n), count(t.of_them));
    }
    for t in Tally::find_by_statement(backend.build(&jobs)).all(db).await? {
        let r = records.entry(t.provider_id).or_default();
        (r.completed, r.completed_on_time) = (count(t.n), count(t.of_them));
    }
    for t in Tally::find_by_statement(backend.build(&ratings)).all(db).await? {
        let r = records.entry(t.provider_id).or_default();
        (r.rating_count, r.rating_sum) = (count(t.n), count(t.of_them));
    }
    Ok(records)
}

/// `SELECT provider_id, n, of_them FROM table … GROUP BY provider_id`, the counts cast to
/// a 64-bit integer on both databases.
fn tally(table: impl IntoIden, provider: impl IntoIden, n: Expr, of_them: Expr) -> SelectStatement {
    let (table, provider) = (table.into_iden(), provider.into_iden());
    let big = Alias::new("BIGINT");
    SqlQuery::select()
        .expr_as(Expr::col((table.clone(), provider.clone())), "provider_id")
        .expr_as(n.cast_as(big.clone()), "n")
        .expr_as(of_them.cast_as(big), "of_them")
        .from(table.clone())
        .group_by_col((table, provider))
        .to_owned()
}
