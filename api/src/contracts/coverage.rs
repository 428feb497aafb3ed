//! What a contract covers: its communities and categories, read for many contracts at once,
//! and its period and status as of a day. Dispatch's eligibility reads contracts this way
//! too, so this part knows nothing of the routes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, Query as SqlQuery, UnionType};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter};
use shenbian_domain::contract::{ContractPeriod, ContractStatus};
use uuid::Uuid;

use crate::entity::{contract, contract_category, contract_community};
use crate::error::ApiError;

/// A contract with the communities and categories it covers.
pub struct Covered {
    pub contract: contract::Model,
    pub communities: Vec<Uuid>,
    pub categories: Vec<String>,
}

impl Covered {
    pub fn period(&self) -> ContractPeriod {
        // Stored periods were checked when recorded.
        ContractPeriod::new(self.contract.valid_from, self.contract.valid_to).unwrap_or_else(|_| {
            ContractPeriod::new(self.contract.valid_from, self.contract.valid_from).expect("one day")
        })
    }

    pub fn status_today(&self, today: NaiveDate) -> ContractStatus {
        ContractStatus::from(self.contract.status).as_of(&self.period(), today)
    }
}

/// Loads the coverage of contracts: communities and categories in one query.
pub async fn with_coverage(
    db: &impl ConnectionTrait,
    contracts: Vec<contract::Model>,
) -> Result<Vec<Covered>, ApiError> {
    if contracts.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = contracts.iter().map(|c| c.id).collect();
    let categories = SqlQuery::select()
        .column(contract_category::Column::ContractId)
        .expr_as(Expr::val(Option::<Uuid>::None), "community_id")
        .expr_as(Expr::col(contract_category::Column::CategoryCode), "category_code")
        .from(contract_category::Entity)
        .and_where(contract_category::Column::ContractId.is_in(ids.clone()))
        .to_owned();
    let both = SqlQuery::select()
        .column(contract_community::Column::ContractId)
        .expr_as(Expr::col(contract_community::Column::CommunityId), "community_id")
        .expr_as(Expr::val(Option::<String>::None), "category_code")
        .from(contract_community::Entity)
        .and_where(contract_community::Column::ContractId.is_in(ids))
        .union(UnionType::All, categories)
        .to_owned();
    let mut communities: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    let mut categories: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for row in CoverageRow::find_by_statement(db.get_database_backend().build(&both)).all(db).await? {
        match (row.community_id, row.category_code) {
            (Some(community), _) => communities.entry(row.contract_id).or_default().push(community),
            (None, Some(code)) => categories.entry(row.contract_id).or_default().push(code),
            (None, None) => {}
        }
    }
    Ok(contracts
        .into_iter()
        .map(|c| Covered {
            communities: communities.remove(&c.id).unwrap_or_default(),
            categories: categories.remove(&c.id).unwrap_or_default(),
            contract: c,
        })
        .collect())
}

#[derive(Debug, FromQueryResult)]
struct CoverageRow {
    contract_id: Uuid,
    community_id: Option<Uuid>,
    category_code: Option<String>,
}

/// Ids of contracts covering a community and/or a category.
pub(super) async fn contract_ids_covering(
    db: &impl ConnectionTrait,
    community: Option<Uuid>,
    category: Option<&str>,
) -> Result<Vec<Uuid>, ApiError> {
    let mut ids: Option<BTreeSet<Uuid>> = None;
    if let Some(community) = community {
        let rows = contract_community::Entity::find()
            .filter(contract_community::Column::CommunityId.eq(community))
            .all(db)
            .await?;
        ids = Some(rows.into_iter().map(|r| r.contract_id).collect());
    }
    if let Some(category) = category {
        let rows = contract_category::Entity::find()
            .filter(contract_category::Column::CategoryCode.eq(category))
            .all(db)
            .await?;
        let these: BTreeSet<Uuid> = rows.into_iter().map(|r| r.contract_id).collect();
        ids = Some(match ids {
            Some(before) => before.intersection(&these).copied().collect(),
            None => these,
        });
    }
    Ok(ids.unwrap_or_default().into_iter().collect())
}
