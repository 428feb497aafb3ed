//! Contracts (契约) between the community and a partner: their states, their period, their
//! terms. Draft → signed → active ⇄ suspended, and any of them → terminated; a contract
//! past its last day is expired, whatever its stored state, in the district's time zone.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::message::{Message, zh_texts};
use crate::transition::WrongState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    /// Recorded by staff; the partner has not signed.
    Draft,
    /// Signed by the partner admin; not yet in force.
    Signed,
    /// In force: the partner may be offered jobs it covers, within its dates.
    Active,
    /// Stopped for now; may be activated again.
    Suspended,
    /// Ended for good.
    Terminated,
    /// Past its last day (derived from the dates, never stored).
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractAction {
    Sign,
    Activate,
    Suspend,
    Terminate,
}

impl ContractAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ContractAction::Sign => "sign",
            ContractAction::Activate => "activate",
            ContractAction::Suspend => "suspend",
            ContractAction::Terminate => "terminate",
        }
    }
}

impl ContractStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Draft => "draft",
            ContractStatus::Signed => "signed",
            ContractStatus::Active => "active",
            ContractStatus::Suspended => "suspended",
            ContractStatus::Terminated => "terminated",
            ContractStatus::Expired => "expired",
        }
    }

    /// The state as of `today`: a stored state other than terminated becomes expired after
    /// the last day.
    pub fn as_of(self, period: &ContractPeriod, today: NaiveDate) -> Self {
        if self != ContractStatus::Terminated && today > period.valid_to() { ContractStatus::Expired } else { self }
    }

    /// The state after `action`; call it on the state [`as_of`](Self::as_of) today.
    pub fn apply(self, action: ContractAction) -> Result<Self, WrongState> {
        use ContractAction::*;
        use ContractStatus::*;
        match (self, action) {
            (Draft, Sign) => Ok(Signed),
            (Signed | Suspended, Activate) => Ok(Active),
            (Active, Suspend) => Ok(Suspended),
            (Draft | Signed | Active | Suspended, Terminate) => Ok(Terminated),
            _ => Err(WrongState { action: action.as_str(), from: self.as_str(), message: refusal(self, action) }),
        }
    }
}

/// Why `action` is refused from `from`, and what to do instead.
fn refusal(from: ContractStatus, action: ContractAction) -> Message {
    use ContractAction::*;
    use ContractStatus::*;
    let (verb_zh, verb_en) = match action {
        Sign => ("签署", "signed"),
        Activate => ("生效", "activated"),
        Suspend => ("暂停", "suspended"),
        Terminate => ("终止", "terminated"),
    };
    let (zh, en): (String, String) = match (from, action) {
        (Terminated, _) => (
            format!("合同已终止，不能再{verb_zh}；如需继续合作，请新建合同"),
            format!("the contract is terminated, so it cannot be {verb_en}; draft a new contract instead"),
        ),
        (Expired, _) => (
            format!("合同已过期，不能再{verb_zh}；如需继续合作，请新建合同"),
            format!("the contract has expired, so it cannot be {verb_en}; draft a new contract instead"),
        ),
        (Signed | Active | Suspended, Sign) => ("合同已经签署".into(), "the contract is already signed".into()),
        (Draft, Activate) => (
            "合同需先由合作方签署，才能生效".into(),
            "the partner must sign the contract before it can be activated".into(),
        ),
        (Active, Activate) => ("合同已经生效".into(), "the contract is already active".into()),
        (Draft | Signed, Suspend) => {
            ("合同尚未生效，不能暂停".into(), "the contract is not active yet, so it cannot be suspended".into())
        }
        (Suspended, Suspend) => ("合同已经暂停".into(), "the contract is already suspended".into()),
        _ => (format!("此合同现在不能{verb_zh}"), format!("the contract cannot be {verb_en} now")),
    };
    Message::new(zh, en)
}

/// The days a contract is in force, both inclusive, as local dates of the district.
///
/// Invariant: `valid_from <= valid_to`, and the period is at most ten years long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractPeriod {
    valid_from: NaiveDate,
    valid_to: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("valid_to must not be before valid_from")]
    EndsBeforeStart,
    #[error("a contract runs for at most ten years")]
    TooLong,
}

zh_texts!(PeriodError {
    EndsBeforeStart => "valid_to 不能早于 valid_from",
    TooLong => "合同期限最长十年",
});

impl ContractPeriod {
    pub fn new(valid_from: NaiveDate, valid_to: NaiveDate) -> Result<Self, PeriodError> {
        if valid_to < valid_from {
            return Err(PeriodError::EndsBeforeStart);
        }
        if (valid_to - valid_from).num_days() > 3653 {
            return Err(PeriodError::TooLong);
        }
        Ok(Self { valid_from, valid_to })
    }

    pub fn valid_from(&self) -> NaiveDate {
        self.valid_from
    }

    pub fn valid_to(&self) -> NaiveDate {
        self.valid_to
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && day <= self.valid_to
    }

    pub fn overlaps(&self, other: &ContractPeriod) -> bool {
        self.valid_from <= other.valid_to && other.valid_from <= self.valid_to
    }
}

/// What the partner charges residents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pricing {
    Free,
    Discount,
    Market,
}

/// A contract's terms.
///
/// Invariant: a discount percent (1–99) exactly when pricing is `discount`; a monthly quota,
/// when set, of 1–100,000 accepts; 1–1,000 open jobs; an accept window, when set, of 1 minute
/// to 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub pricing: Pricing,
    pub discount_percent: Option<u32>,
    pub monthly_quota: Option<u32>,
    pub max_open_jobs: u32,
    pub accept_within_minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    #[error("a discount needs discount_percent between 1 and 99")]
    DiscountPercentRequired,
    #[error("discount_percent is only for discount pricing")]
    DiscountPercentNotAllowed,
    #[error("monthly_quota must be between 1 and 100000")]
    QuotaOutOfRange,
    #[error("max_open_jobs must be between 1 and 1000")]
    MaxOpenJobsOutOfRange,
    #[error("accept_within_minutes must be between 1 and 10080")]
    AcceptWindowOutOfRange,
}

zh_texts!(TermsError {
    DiscountPercentRequired => "折扣计价须填写 1 到 99 之间的 discount_percent",
    DiscountPercentNotAllowed => "只有折扣计价才能填写 discount_percent",
    QuotaOutOfRange => "monthly_quota 须在 1 到 100000 之间",
    MaxOpenJobsOutOfRange => "max_open_jobs 须在 1 到 1000 之间",
    AcceptWindowOutOfRange => "accept_within_minutes 须在 1 到 10080 之间",
});

impl TermsError {
    /// The field of `terms` the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            TermsError::DiscountPercentRequired | TermsError::DiscountPercentNotAllowed => "terms.discount_percent",
            TermsError::QuotaOutOfRange => "terms.monthly_quota",
            TermsError::MaxOpenJobsOutOfRange => "terms.max_open_jobs",
            TermsError::AcceptWindowOutOfRange => "terms.accept_within_minutes",
        }
    }
}

impl Terms {
    /// Checks every rule and reports every broken one.
    pub fn parse(terms: Terms) -> Result<Self, Vec<TermsError>> {
        let mut errors = Vec::new();
        match (terms.pricing, terms.discount_percent) {
            (Pricing::Discount, Some(p)) if (1..=99).contains(&p) => {}
            (Pricing::Discount, _) => errors.push(TermsError::DiscountPercentRequired),
            (_, Some(_)) => errors.push(TermsError::DiscountPercentNotAllowed),
            _ => {}
        }
        if terms.monthly_quota.is_some_and(|q| !(1..=100_000).contains(&q)) {
            errors.push(TermsError::QuotaOutOfRange);
        }
        if !(1..=1000).contains(&terms.max_open_jobs) {
            errors.push(TermsError::MaxOpenJobsOutOfRange);
        }
        if terms.accept_within_minutes.is_some_and(|m| !(1..=10_080).contains(&m)) {
            errors.push(TermsError::AcceptWindowOutOfRange);
        }
        if errors.is_empty() { Ok(terms) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContractAction::*;
    use ContractStatus::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_contract_is_signed_activated_suspended_and_terminated() {
        assert_eq!(Draft.apply(Sign), Ok(Signed));
        assert_eq!(Signed.apply(Activate), Ok(Active));
        assert_eq!(Active.apply(Suspend), Ok(Suspended));
        assert_eq!(Suspended.apply(Activate), Ok(Active));
        assert_eq!(Active.apply(Terminate), Ok(Terminated));
        assert!(Draft.apply(Activate).is_err(), "the partner signs first");
        assert!(Terminated.apply(Activate).is_err());
        assert!(Expired.apply(Activate).is_err());
        assert!(Active.apply(Sign).is_err());
    }

    #[test]
    fn expiry_follows_from_the_last_day() {
        let period = ContractPeriod::new(day("2026-01-01"), day("2026-12-31")).unwrap();
        assert_eq!(Active.as_of(&period, day("2026-12-31")), Active);
        assert_eq!(Active.as_of(&period, day("2027-01-01")), Expired);
        assert_eq!(Terminated.as_of(&period, day("2027-01-01")), Terminated);
    }

    #[test]
    fn periods_are_ordered_and_overlap_inclusively() {
        assert_eq!(ContractPeriod::new(day("2026-02-01"), day("2026-01-31")), Err(PeriodError::EndsBeforeStart));
        let a = ContractPeriod::new(day("2026-01-01"), day("2026-06-30")).unwrap();
        let b = ContractPeriod::new(day("2026-06-30"), day("2026-12-31")).unwrap();
        let c = ContractPeriod::new(day("2026-07-01"), day("2026-12-31")).unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
    }

    #[test]
    fn terms_report_every_broken_rule() {
        let bad = Terms {
            pricing: Pricing::Free,
            discount_percent: Some(20),
            monthly_quota: Some(0),
            max_open_jobs: 0,
            accept_within_minutes: Some(20_000),
        };
        let errors = Terms::parse(bad).unwrap_err();
        assert_eq!(errors.len(), 4);
        let discount_without_percent = Terms { pricing: Pricing::Discount, discount_percent: None, ..bad };
        assert!(Terms::parse(discount_without_percent).unwrap_err().contains(&TermsError::DiscountPercentRequired));
    }
}
