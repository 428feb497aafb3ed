//! The service catalogue: category codes, urgencies and their service levels (分级响应).

use serde::{Deserialize, Serialize};

use crate::message::zh_texts;

/// How fast a request must be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Normal,
    Urgent,
    Emergency,
}

impl Urgency {
    pub const ALL: [Urgency; 3] = [Urgency::Normal, Urgency::Urgent, Urgency::Emergency];

    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::Urgent => "urgent",
            Urgency::Emergency => "emergency",
        }
    }
}

/// A category code: 2–32 characters of `a-z`, `0-9`, `_`, `-`, starting with a letter
/// (`legal_advice`). Codes are stable identifiers; names may change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryError {
    #[error("must be 2–32 characters of a-z, 0-9, _ or -, starting with a letter")]
    BadCode,
    #[error("every time limit must be between 1 minute and 365 days")]
    MinutesOutOfRange,
    #[error("a more urgent level cannot allow more time than a less urgent one")]
    UrgencyOrder,
}

zh_texts!(CategoryError {
    BadCode => "须为 2–32 个字符，只含 a-z、0-9、_ 或 -，并以字母开头",
    MinutesOutOfRange => "每个时限须在 1 分钟到 365 天之间",
    UrgencyOrder => "越紧急的级别，时限不能比不紧急的更长",
});

impl CategoryCode {
    pub fn parse(input: &str) -> Result<Self, CategoryError> {
        let ok = (2..=32).contains(&input.len())
            && input.starts_with(|c: char| c.is_ascii_lowercase())
            && input.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok { Ok(Self(input.to_owned())) } else { Err(CategoryError::BadCode) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Minutes allowed for each step at one urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepMinutes {
    /// From creation to dispatch.
    pub dispatch: u32,
    /// From each dispatch to acceptance.
    pub accept: u32,
    /// From acceptance to completion.
    pub complete: u32,
}

/// The service levels of a category, one per urgency.
///
/// Invariant: every limit is 1 minute to 365 days, and a more urgent level never allows more
/// time for a step than a less urgent one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sla {
    pub normal: StepMinutes,
    pub urgent: StepMinutes,
    pub emergency: StepMinutes,
}

const MAX_MINUTES: u32 = 365 * 24 * 60;

impl Sla {
    pub fn parse(sla: Sla) -> Result<Self, CategoryError> {
        let levels = [sla.normal, sla.urgent, sla.emergency];
        let in_range = |m: u32| (1..=MAX_MINUTES).contains(&m);
        if !levels.iter().all(|l| in_range(l.dispatch) && in_range(l.accept) && in_range(l.complete)) {
            return Err(CategoryError::MinutesOutOfRange);
        }
        let ordered = levels
            .windows(2)
            .all(|w| w[1].dispatch <= w[0].dispatch && w[1].accept <= w[0].accept && w[1].complete <= w[0].complete);
        if !ordered {
            return Err(CategoryError::UrgencyOrder);
        }
        Ok(sla)
    }

    pub fn for_urgency(&self, urgency: Urgency) -> StepMinutes {
        match urgency {
            Urgency::Normal => self.normal,
            Urgency::Urgent => self.urgent,
            Urgency::Emergency => self.emergency,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(m: u32) -> StepMinutes {
        StepMinutes { dispatch: m, accept: m, complete: m * 10 }
    }

    #[test]
    fn codes_are_lowercase_words() {
        assert!(CategoryCode::parse("legal_advice").is_ok());
        assert!(CategoryCode::parse("home-repair2").is_ok());
        for bad in ["", "a", "Legal", "1legal", "法律", "legal advice", &"a".repeat(33)] {
            assert_eq!(CategoryCode::parse(bad), Err(CategoryError::BadCode), "{bad}");
        }
    }

    #[test]
    fn more_urgent_levels_may_not_allow_more_time() {
        assert!(Sla::parse(Sla { normal: step(60), urgent: step(30), emergency: step(10) }).is_ok());
        assert_eq!(
            Sla::parse(Sla { normal: step(30), urgent: step(60), emergency: step(10) }),
            Err(CategoryError::UrgencyOrder)
        );
        assert_eq!(
            Sla::parse(Sla { normal: step(60), urgent: step(30), emergency: step(0) }),
            Err(CategoryError::MinutesOutOfRange)
        );
    }
}
