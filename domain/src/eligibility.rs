//! May this provider be offered an order of this community and category today, and if not,
//! why not? One function for partners and one for volunteers; the dispatch and the candidate
//! list both ask them.

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use crate::contract::{ContractPeriod, ContractStatus};
use crate::partner::ProviderStatus;

/// The calendar month a contract's quota counts an accept in: `2026-11`.
pub fn quota_month(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

/// Why a provider may not be offered a job. Codes are stable; texts are for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ineligible {
    /// The partner or volunteer is not approved (pending, rejected or suspended).
    NotApproved,
    /// No contract of the partner covers this community and category.
    NoContract,
    /// The covering contract is still a draft: the partner has not signed it.
    ContractNotSigned,
    /// The covering contract is signed but not activated, suspended, terminated or expired.
    ContractNotActive,
    /// Today is outside the covering contract's dates.
    ContractNotInForce,
    /// The provider already holds as many open jobs as it may.
    CapacityFull,
    /// The contract's accepts for this calendar month are used up.
    QuotaExhausted,
    /// The volunteer serves another community.
    OtherCommunity,
    /// The volunteer has no skill in this category.
    NoSkill,
    /// The provider declined this order before.
    DeclinedBefore,
}

impl Ineligible {
    pub fn code(self) -> &'static str {
        match self {
            Ineligible::NotApproved => "not_approved",
            Ineligible::NoContract => "no_contract",
            Ineligible::ContractNotSigned => "contract_not_signed",
            Ineligible::ContractNotActive => "contract_not_active",
            Ineligible::ContractNotInForce => "contract_not_in_force",
            Ineligible::CapacityFull => "capacity_full",
            Ineligible::QuotaExhausted => "quota_exhausted",
            Ineligible::OtherCommunity => "other_community",
            Ineligible::NoSkill => "no_skill",
            Ineligible::DeclinedBefore => "declined_before",
        }
    }

    /// What a dispatcher reads, in Chinese.
    pub fn text_zh(self) -> &'static str {
        match self {
            Ineligible::NotApproved => "服务方未通过审核或已暂停",
            Ineligible::NoContract => "没有覆盖该社区和服务类别的契约",
            Ineligible::ContractNotSigned => "契约尚未签署",
            Ineligible::ContractNotActive => "契约未生效（未启用、已暂停、已终止或已到期）",
            Ineligible::ContractNotInForce => "今天不在契约有效期内",
            Ineligible::CapacityFull => "在办工单已达上限",
            Ineligible::QuotaExhausted => "本月契约配额已用完",
            Ineligible::OtherCommunity => "志愿者不属于该社区",
            Ineligible::NoSkill => "志愿者没有该类别的技能",
            Ineligible::DeclinedBefore => "已拒绝过该工单",
        }
    }

    /// What a dispatcher reads, in English.
    pub fn text_en(self) -> &'static str {
        match self {
            Ineligible::NotApproved => "the provider is not approved, or is suspended",
            Ineligible::NoContract => "no contract covers this community and category",
            Ineligible::ContractNotSigned => "the contract is not signed yet",
            Ineligible::ContractNotActive => {
                "the contract is not active (not activated, suspended, terminated or expired)"
            }
            Ineligible::ContractNotInForce => "today is outside the contract's dates",
            Ineligible::CapacityFull => "the provider's open jobs are at their limit",
            Ineligible::QuotaExhausted => "the contract's monthly quota is used up",
            Ineligible::OtherCommunity => "the volunteer serves another community",
            Ineligible::NoSkill => "the volunteer has no skill in this category",
            Ineligible::DeclinedBefore => "the provider declined this order before",
        }
    }
}

/// What eligibility needs to know of one contract.
#[derive(Debug, Clone)]
pub struct ContractFacts {
    pub id: Uuid,
    /// The stored state (expiry is derived here from the period).
    pub status: ContractStatus,
    pub period: ContractPeriod,
    pub communities: Vec<Uuid>,
    pub categories: Vec<String>,
    pub max_open_jobs: u32,
    pub open_jobs: u32,
    pub monthly_quota: Option<u32>,
    /// Accepts charged to the contract in the current calendar month.
    pub accepted_this_month: u32,
}

impl ContractFacts {
    fn covers(&self, community: Uuid, category: &str) -> bool {
        self.communities.contains(&community) && self.categories.iter().any(|c| c == category)
    }

    /// Everything that keeps this (covering) contract from taking a job today.
    fn problems(&self, today: NaiveDate) -> Vec<Ineligible> {
        let mut problems = Vec::new();
        match self.status.as_of(&self.period, today) {
            ContractStatus::Active => {}
            ContractStatus::Draft => problems.push(Ineligible::ContractNotSigned),
            _ => problems.push(Ineligible::ContractNotActive),
        }
        if !self.period.contains(today) {
            problems.push(Ineligible::ContractNotInForce);
        }
        if self.open_jobs >= self.max_open_jobs {
            problems.push(Ineligible::CapacityFull);
        }
        if self.monthly_quota.is_some_and(|quota| self.accepted_this_month >= quota) {
            problems.push(Ineligible::QuotaExhausted);
        }
        problems
    }
}

/// Decides whether a partner may be offered an order today. `Ok` names the one contract the
/// job would be charged to; `Err` gives every reason, never empty.
pub fn partner_eligibility(
    status: ProviderStatus,
    contracts: &[ContractFacts],
    community: Uuid,
    category: &str,
    today: NaiveDate,
) -> Result<Uuid, Vec<Ineligible>> {
    let mut reasons = Vec::new();
    if status != ProviderStatus::Approved {
        reasons.push(Ineligible::NotApproved);
    }
    let covering: Vec<&ContractFacts> = contracts.iter().filter(|c| c.covers(community, category)).collect();
    // The covering contract closest to usable speaks for the partner.
    let best = covering.iter().map(|c| (c.id, c.problems(today))).min_by_key(|(id, problems)| (problems.len(), *id));
    match best {
        None => reasons.push(Ineligible::NoContract),
        Some((id, problems)) if problems.is_empty() && reasons.is_empty() => return Ok(id),
        Some((_, problems)) => reasons.extend(problems),
    }
    Err(reasons)
}

/// What eligibility needs to know of a volunteer.
#[derive(Debug, Clone)]
pub struct VolunteerFacts {
    pub status: ProviderStatus,
    pub community_id: Uuid,
    pub skills: Vec<String>,
    pub max_open_jobs: u32,
    pub open_jobs: u32,
}

/// Decides whether a volunteer may be offered an order; `Err` gives every reason.
pub fn volunteer_eligibility(
    volunteer: &VolunteerFacts,
    community: Uuid,
    category: &str,
) -> Result<(), Vec<Ineligible>> {
    let mut reasons = Vec::new();
    if volunteer.status != ProviderStatus::Approved {
        reasons.push(Ineligible::NotApproved);
    }
    if volunteer.community_id != community {
        reasons.push(Ineligible::OtherCommunity);
    }
    if !volunteer.skills.iter().any(|s| s == category) {
        reasons.push(Ineligible::NoSkill);
    }
    if volunteer.open_jobs >= volunteer.max_open_jobs {
        reasons.push(Ineligible::CapacityFull);
    }
    if reasons.is_empty() { Ok(()) } else { Err(reasons) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn contract(community: Uuid, status: ContractStatus) -> ContractFacts {
        ContractFacts {
            id: Uuid::now_v7(),
            status,
            period: ContractPeriod::new(day("2026-01-01"), day("2026-12-31")).unwrap(),
            communities: vec![community],
            categories: vec!["legal_advice".into()],
            max_open_jobs: 3,
            open_jobs: 0,
            monthly_quota: Some(10),
            accepted_this_month: 0,
        }
    }

    #[test]
    fn an_approved_partner_with_an_active_covering_contract_is_eligible() {
        let community = Uuid::now_v7();
        let c = contract(community, ContractStatus::Active);
        let today = day("2026-11-27");
        assert_eq!(
            partner_eligibility(ProviderStatus::Approved, std::slice::from_ref(&c), community, "legal_advice", today),
            Ok(c.id)
        );
    }

    #[test]
    fn each_failing_condition_gives_its_reason() {
        let community = Uuid::now_v7();
        let today = day("2026-11-27");
        let check = |status, c: ContractFacts, category: &str, day: NaiveDate| {
            partner_eligibility(status, &[c], community, category, day).unwrap_err()
        };
        let active = contract(community, ContractStatus::Active);
        assert_eq!(check(ProviderStatus::Suspended, active.clone(), "legal_advice", today), [Ineligible::NotApproved]);
        assert_eq!(check(ProviderStatus::Approved, active.clone(), "home_repair", today), [Ineligible::NoContract]);
        assert_eq!(
            check(ProviderStatus::Approved, contract(community, ContractStatus::Draft), "legal_advice", today),
            [Ineligible::ContractNotSigned]
        );
        assert_eq!(
            check(ProviderStatus::Approved, contract(community, ContractStatus::Suspended), "legal_advice", today),
            [Ineligible::ContractNotActive]
        );
        assert_eq!(
            check(ProviderStatus::Approved, active.clone(), "legal_advice", day("2027-01-01")),
            [Ineligible::ContractNotActive, Ineligible::ContractNotInForce]
        );
        assert_eq!(
            check(ProviderStatus::Approved, active.clone(), "legal_advice", day("2025-12-31")),
            [Ineligible::ContractNotInForce]
        );
        let full = ContractFacts { open_jobs: 3, ..active.clone() };
        assert_eq!(check(ProviderStatus::Approved, full, "legal_advice", today), [Ineligible::CapacityFull]);
        let used_up = ContractFacts { accepted_this_month: 10, ..active };
        assert_eq!(check(ProviderStatus::Approved, used_up, "legal_advice", today), [Ineligible::QuotaExhausted]);
    }

    #[test]
    fn a_volunteer_needs_approval_community_skill_and_room() {
        let community = Uuid::now_v7();
        let v = VolunteerFacts {
            status: ProviderStatus::Approved,
            community_id: community,
            skills: vec!["elder_meals".into()],
            max_open_jobs: 2,
            open_jobs: 1,
        };
        assert_eq!(volunteer_eligibility(&v, community, "elder_meals"), Ok(()));
        let reasons = volunteer_eligibility(
            &VolunteerFacts { status: ProviderStatus::Pending, open_jobs: 2, ..v },
            Uuid::now_v7(),
            "legal_advice",
        )
        .unwrap_err();
        assert_eq!(
            reasons,
            [Ineligible::NotApproved, Ineligible::OtherCommunity, Ineligible::NoSkill, Ineligible::CapacityFull]
        );
    }

    fn any_status() -> impl Strategy<Value = ContractStatus> {
        prop_oneof![
            Just(ContractStatus::Draft),
            Just(ContractStatus::Signed),
            Just(ContractStatus::Active),
            Just(ContractStatus::Suspended),
            Just(ContractStatus::Terminated),
        ]
    }

    fn any_provider_status() -> impl Strategy<Value = ProviderStatus> {
        prop_oneof![
            Just(ProviderStatus::Pending),
            Just(ProviderStatus::Approved),
            Just(ProviderStatus::Rejected),
            Just(ProviderStatus::Suspended),
        ]
    }

    prop_compose! {
        fn any_contract(communities: [Uuid; 2])(
            status in any_status(), start in 0i64..700, len in 0i64..400, which in 0usize..3,
            category in prop_oneof![Just("legal_advice"), Just("home_repair")],
            max_open_jobs in 1u32..4, open_jobs in 0u32..5, quota in proptest::option::of(1u32..5), used in 0u32..6,
        ) -> ContractFacts {
            let from = day("2026-01-01") + chrono::Duration::days(start);
            ContractFacts {
                id: Uuid::now_v7(),
                status,
                period: ContractPeriod::new(from, from + chrono::Duration::days(len)).unwrap(),
                communities: match which { 0 => vec![communities[0]], 1 => vec![communities[1]], _ => communities.to_vec() },
                categories: vec![category.to_owned()],
                max_open_jobs,
                open_jobs,
                monthly_quota: quota,
                accepted_this_month: used,
            }
        }
    }

    proptest! {
        /// Eligible exactly when the partner is approved and one covering contract is active,
        /// in force, under its open-job limit and under its quota — and then that contract is
        /// the one named.
        #[test]
        fn eligibility_matches_its_definition(
            status in any_provider_status(),
            contracts in proptest::collection::vec(any_contract([Uuid::from_u128(1), Uuid::from_u128(2)]), 0..4),
            offset in 0i64..1100,
        ) {
            let community = Uuid::from_u128(1);
            let today = day("2026-01-01") + chrono::Duration::days(offset);
            let usable = |c: &ContractFacts| {
                c.communities.contains(&community)
                    && c.categories.iter().any(|k| k == "legal_advice")
                    && c.status == ContractStatus::Active
                    && c.period.contains(today)
                    && c.open_jobs < c.max_open_jobs
                    && c.monthly_quota.is_none_or(|q| c.accepted_this_month < q)
            };
            match partner_eligibility(status, &contracts, community, "legal_advice", today) {
                Ok(id) => {
                    prop_assert_eq!(status, ProviderStatus::Approved);
                    let chosen = contracts.iter().find(|c| c.id == id).unwrap();
                    prop_assert!(usable(chosen));
                }
                Err(reasons) => {
                    prop_assert!(!reasons.is_empty());
                    prop_assert!(status != ProviderStatus::Approved || !contracts.iter().any(usable));
                }
            }
        }

        /// More open jobs never makes a volunteer eligible.
        #[test]
        fn more_load_never_helps_a_volunteer(open in 0u32..5, more in 0u32..3, max in 1u32..4) {
            let community = Uuid::from_u128(1);
            let v = VolunteerFacts { status: ProviderStatus::Approved, community_id: community, skills: vec!["x1".into()], max_open_jobs: max, open_jobs: open };
            let busier = VolunteerFacts { open_jobs: open + more, ..v.clone() };
            if volunteer_eligibility(&busier, community, "x1").is_ok() {
                prop_assert!(volunteer_eligibility(&v, community, "x1").is_ok());
            }
        }
    }
}
