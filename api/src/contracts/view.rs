//! A contract as the routes answer it, and its terms as a body gives them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shenbian_domain::contract::Terms;
use utoipa::ToSchema;
use uuid::Uuid;

use super::coverage::Covered;
use crate::entity::enums::{ContractStatusDb, PricingDb};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsBody {
    pub(super) pricing: PricingDb,
    /// 1–99, only with `discount` pricing.
    #[schema(minimum = 1, maximum = 99)]
    pub(super) discount_percent: Option<u32>,
    /// Accepts allowed per calendar month (district time); none for no limit.
    #[schema(minimum = 1, maximum = 100000)]
    pub(super) monthly_quota: Option<u32>,
    /// Accepted and in-progress jobs the partner may hold at once under this contract.
    #[schema(minimum = 1, maximum = 1000)]
    pub(super) max_open_jobs: u32,
    /// The accept window for offers under this contract, in minutes.
    #[schema(minimum = 1, maximum = 10080)]
    pub(super) accept_within_minutes: Option<u32>,
}

impl From<TermsBody> for Terms {
    fn from(t: TermsBody) -> Self {
        Terms {
            pricing: t.pricing.into(),
            discount_percent: t.discount_percent,
            monthly_quota: t.monthly_quota,
            max_open_jobs: t.max_open_jobs,
            accept_within_minutes: t.accept_within_minutes,
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ContractView {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub title: String,
    pub community_ids: Vec<Uuid>,
    pub category_codes: Vec<String>,
    /// First day in force (district local date).
    pub valid_from: NaiveDate,
    /// Last day in force, inclusive.
    pub valid_to: NaiveDate,
    pub terms: TermsBody,
    /// As of today: `expired` once past `valid_to`.
    pub status: ContractStatusDb,
    pub status_reason: Option<String>,
    /// Accepted and in-progress jobs charged to this contract.
    pub open_jobs: i32,
    pub signed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Covered {
    /// The contract as the routes answer it, its status as of `today`.
    pub(super) fn view(self, today: NaiveDate) -> ContractView {
        let status = self.status_today(today).into();
        let c = self.contract;
        ContractView {
            id: c.id,
            partner_id: c.partner_id,
            title: c.title,
            community_ids: self.communities,
            category_codes: self.categories,
            valid_from: c.valid_from,
            valid_to: c.valid_to,
            terms: TermsBody {
                pricing: c.pricing,
                discount_percent: c.discount_percent.map(|v| v as u32),
                monthly_quota: c.monthly_quota.map(|v| v as u32),
                max_open_jobs: c.max_open_jobs as u32,
                accept_within_minutes: c.accept_within_minutes.map(|v| v as u32),
            },
            status,
            status_reason: c.status_reason,
            open_jobs: c.open_jobs,
            signed_at: c.signed_at,
            created_at: c.created_at,
        }
    }
}
