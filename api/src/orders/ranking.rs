//! The candidates for an order, ranked: every provider that passes the eligibility rules,
//! with its record (offers, acceptance, punctuality, ratings), scored by the domain's
//! ranking, best first. What the candidates list shows and what auto-dispatch offers to.

use std::collections::BTreeMap;

use sea_orm::ConnectionTrait;
use shenbian_domain::eligibility::{Ineligible, partner_eligibility, volunteer_eligibility};
use shenbian_domain::ranking::{CandidateFacts, Scored, rank};
use uuid::Uuid;

use super::store::pool::{Pool, pool_of, records};
use crate::eligibility::{Ask, month_key, partner_facts, volunteer_facts};
use crate::entity::enums::ProviderKind;
use crate::entity::order;
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
    let Pool { partners, volunteers, near, turned_down } = pool_of(db, o).await?;
    let ids: Vec<Uuid> = partners.iter().copied().chain(volunteers.iter().map(|v| v.id)).collect();
    let records = records(db, &ids).await?;
    let record = |id: Uuid| {
        let r = records.get(&id).copied().unwrap_or_default();
        CandidateFacts {
            id,
            rating_sum: r.rating_sum,
            rating_count: r.rating_count,
            offered: r.offered,
            accepted: r.accepted,
            completed: r.completed,
            completed_on_time: r.completed_on_time,
            open_jobs: 0,
            max_open_jobs: 1,
            quota_left: None,
            monthly_quota: None,
            looks_after_building: false,
        }
    };
    let mut pool = Vec::new();
    let mut meta: BTreeMap<Uuid, (ProviderKind, String, Option<Uuid>, Option<u32>)> = BTreeMap::new();
    let ask = Ask { community: o.community_id, category: &o.category_code, month: &month, order: None };
    for pid in &partners {
        let Some(p) = partner_facts(db, *pid, &ask).await? else { continue };
        let verdict = partner_eligibility(p.status, &p.contracts, o.community_id, &o.category_code, today);
        let chosen = verdict.as_ref().ok().and_then(|c| p.contracts.iter().find(|x| x.id == *c));
        let facts = CandidateFacts {
            open_jobs: chosen.map_or(0, |c| c.open_jobs),
            max_open_jobs: chosen.map_or(1, |c| c.max_open_jobs),
            quota_left: chosen.and_then(|c| c.monthly_quota.map(|q| q.saturating_sub(c.accepted_this_month))),
            monthly_quota: chosen.and_then(|c| c.monthly_quota),
            looks_after_building: false,
            ..record(*pid)
        };
        let contract_id = verdict.as_ref().ok().copied();
        let window = contract_id.and_then(|c| p.accept_window(c));
        meta.insert(*pid, (ProviderKind::Partner, p.name, contract_id, window));
        pool.push((facts, excluded(verdict.map(|_| ()), turned_down.contains(pid))));
    }
    for v in volunteers {
        let Some((vf, _)) = volunteer_facts(db, v.id, &ask).await? else { continue };
        let verdict = volunteer_eligibility(&vf, o.community_id, &o.category_code);
        let facts = CandidateFacts {
            open_jobs: vf.open_jobs,
            max_open_jobs: vf.max_open_jobs,
            quota_left: None,
            monthly_quota: None,
            looks_after_building: near.contains(&v.id),
            ..record(v.id)
        };
        meta.insert(v.id, (ProviderKind::Volunteer, v.name.unwrap_or_default(), None, None));
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
