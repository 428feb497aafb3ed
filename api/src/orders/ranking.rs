//! The candidates for an order, ranked: every provider that passes the eligibility rules,
//! with its record (offers, acceptance, punctuality, ratings), scored by the domain's
//! ranking, best first. What the candidates list shows and what auto-dispatch offers to.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use shenbian_domain::eligibility::{Ineligible, partner_eligibility, volunteer_eligibility};
use shenbian_domain::ranking::{CandidateFacts, Scored, rank};
use uuid::Uuid;

use crate::eligibility::{Ask, month_key, partner_facts, volunteer_facts};
use crate::entity::enums::{OfferStatus, ProviderKind};
use crate::entity::{
    contract_category, contract_community, offer, order, rating, user, volunteer, volunteer_building, volunteer_skill,
};
use crate::error::ApiError;
use crate::state::AppState;

/// A ranked provider, with what a dispatch to it needs.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub kind: ProviderKind,
    pub name: String,
    /// For a partner, the contract the job would be charged to.
    pub contract_id: Option<Uuid>,
    /// That contract's own accept window, in minutes, where it sets one.
    pub accept_within: Option<u32>,
    pub scored: Scored,
}

/// Ranks every provider for an order. Providers that declined this order, or let an offer
/// of it expire, are left out.
pub async fn ranked(db: &impl ConnectionTrait, state: &AppState, o: &order::Model) -> Result<Vec<Candidate>, ApiError> {
    let today = state.today();
    let month = month_key(today);
    let turned_down: BTreeSet<Uuid> = offer::Entity::find()
        .filter(offer::Column::OrderId.eq(o.id))
        .filter(offer::Column::Status.is_in([OfferStatus::Declined, OfferStatus::Expired]))
        .all(db)
        .await?
        .into_iter()
        .map(|x| x.provider_id)
        .collect();

    // Partners whose contracts cover the community and the category.
    let by_community: BTreeSet<Uuid> = contract_community::Entity::find()
        .filter(contract_community::Column::CommunityId.eq(o.community_id))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.contract_id)
        .collect();
    let covering: Vec<Uuid> = contract_category::Entity::find()
        .filter(contract_category::Column::CategoryCode.eq(o.category_code.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.contract_id)
        .filter(|c| by_community.contains(c))
        .collect();
    let partner_ids: BTreeSet<Uuid> = crate::entity::contract::Entity::find()
        .filter(crate::entity::contract::Column::Id.is_in(covering))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.partner_id)
        .collect();
    // Volunteers of the community with the skill.
    let skilled: BTreeSet<Uuid> = volunteer_skill::Entity::find()
        .filter(volunteer_skill::Column::CategoryCode.eq(o.category_code.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.volunteer_id)
        .collect();
    let volunteers = volunteer::Entity::find()
        .filter(volunteer::Column::CommunityId.eq(o.community_id))
        .filter(volunteer::Column::Id.is_in(skilled))
        .all(db)
        .await?;
    let near: BTreeSet<Uuid> = match o.building_id {
        Some(b) => volunteer_building::Entity::find()
            .filter(volunteer_building::Column::BuildingId.eq(b))
            .all(db)
            .await?
            .into_iter()
            .map(|v| v.volunteer_id)
            .collect(),
        None => BTreeSet::new(),
    };

    let ids: Vec<Uuid> = partner_ids.iter().copied().chain(volunteers.iter().map(|v| v.id)).collect();
    let record = Record::load(db, &ids).await?;
    let mut pool = Vec::new();
    let mut meta: BTreeMap<Uuid, (ProviderKind, String, Option<Uuid>, Option<u32>)> = BTreeMap::new();
    let ask = Ask { community: o.community_id, category: &o.category_code, month: &month, order: None };
    for pid in &partner_ids {
        let Some(p) = partner_facts(db, *pid, &ask).await? else { continue };
        let verdict = partner_eligibility(p.status, &p.contracts, o.community_id, &o.category_code, today);
        let chosen = verdict.as_ref().ok().and_then(|c| p.contracts.iter().find(|x| x.id == *c));
        let facts = CandidateFacts {
            open_jobs: chosen.map_or(0, |c| c.open_jobs),
            max_open_jobs: chosen.map_or(1, |c| c.max_open_jobs),
            quota_left: chosen.and_then(|c| c.monthly_quota.map(|q| q.saturating_sub(c.accepted_this_month))),
            monthly_quota: chosen.and_then(|c| c.monthly_quota),
            looks_after_building: false,
            ..record.facts(*pid)
        };
        let contract_id = verdict.as_ref().ok().copied();
        let window = contract_id.and_then(|c| p.accept_window(c));
        meta.insert(*pid, (ProviderKind::Partner, p.name, contract_id, window));
        pool.push((facts, excluded(verdict.map(|_| ()), turned_down.contains(pid))));
    }
    for v in &volunteers {
        let Some((vf, _)) = volunteer_facts(db, v.id, &ask).await? else { continue };
        let verdict = volunteer_eligibility(&vf, o.community_id, &o.category_code);
        let facts = CandidateFacts {
            open_jobs: vf.open_jobs,
            max_open_jobs: vf.max_open_jobs,
            quota_left: None,
            monthly_quota: None,
            looks_after_building: near.contains(&v.id),
            ..record.facts(v.id)
        };
        let name = user::Entity::find_by_id(v.user_id).one(db).await?.map(|u| u.display_name).unwrap_or_default();
        meta.insert(v.id, (ProviderKind::Volunteer, name, None, None));
        pool.push((facts, excluded(verdict, turned_down.contains(&v.id))));
    }
    Ok(rank(pool, o.urgency.into())
        .into_iter()
        .filter_map(|scored| {
            let (kind, name, contract_id, accept_within) = meta.get(&scored.id)?.clone();
            Some(Candidate { kind, name, contract_id, accept_within, scored })
        })
        .collect())
}

fn excluded(verdict: Result<(), Vec<Ineligible>>, turned_down: bool) -> Result<(), Vec<Ineligible>> {
    if turned_down { Err(vec![Ineligible::DeclinedBefore]) } else { verdict }
}

/// Providers' records: offers, acceptance, punctuality, ratings.
#[derive(Default)]
struct Record {
    offered: BTreeMap<Uuid, (u64, u64)>,
    completed: BTreeMap<Uuid, (u64, u64)>,
    ratings: BTreeMap<Uuid, (u64, u64)>,
}

impl Record {
    async fn load(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Self, ApiError> {
        let mut r = Record::default();
        for x in offer::Entity::find().filter(offer::Column::ProviderId.is_in(ids.to_vec())).all(db).await? {
            let e = r.offered.entry(x.provider_id).or_default();
            e.0 += 1;
            if x.status == OfferStatus::Accepted {
                e.1 += 1;
            }
        }
        for o in order::Entity::find().filter(order::Column::ProviderId.is_in(ids.to_vec())).all(db).await? {
            if let (Some(provider), Some(done)) = (o.provider_id, o.completed_at) {
                let e = r.completed.entry(provider).or_default();
                e.0 += 1;
                if o.complete_by.is_some_and(|due| done <= due) {
                    e.1 += 1;
                }
            }
        }
        for x in rating::Entity::find().filter(rating::Column::ProviderId.is_in(ids.to_vec())).all(db).await? {
            let e = r.ratings.entry(x.provider_id).or_default();
            e.0 += x.stars.max(0) as u64;
            e.1 += 1;
        }
        Ok(r)
    }

    fn facts(&self, id: Uuid) -> CandidateFacts {
        let (offered, accepted) = self.offered.get(&id).copied().unwrap_or_default();
        let (completed, on_time) = self.completed.get(&id).copied().unwrap_or_default();
        let (rating_sum, rating_count) = self.ratings.get(&id).copied().unwrap_or_default();
        CandidateFacts {
            id,
            rating_sum,
            rating_count,
            offered,
            accepted,
            completed,
            completed_on_time: on_time,
            open_jobs: 0,
            max_open_jobs: 1,
            quota_left: None,
            monthly_quota: None,
            looks_after_building: false,
        }
    }
}
