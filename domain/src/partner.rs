//! Partner organisations (红色合伙人) and volunteers: what they are, and how an admin or a
//! dispatcher moves them between states.

use serde::{Deserialize, Serialize};

use crate::message::Message;
use crate::transition::WrongState;

/// What a partner organisation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerKind {
    Medical,
    Legal,
    Education,
    Finance,
    ElderlyCare,
    Household,
    Other,
}

/// Where a partner (or a volunteer) stands with the district.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderStatus {
    /// Applied; waits for approval.
    Pending,
    /// May be offered jobs.
    Approved,
    /// Turned down at application.
    Rejected,
    /// Approved once, now stopped: no new offers.
    Suspended,
}

/// What an admin (partners) or a dispatcher (volunteers) does to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderAction {
    Approve,
    Reject,
    Suspend,
    Reinstate,
}

impl ProviderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderStatus::Pending => "pending",
            ProviderStatus::Approved => "approved",
            ProviderStatus::Rejected => "rejected",
            ProviderStatus::Suspended => "suspended",
        }
    }

    /// The state after `action`, or why it is not allowed now.
    pub fn apply(self, action: ProviderAction) -> Result<Self, WrongState> {
        use ProviderAction::*;
        use ProviderStatus::*;
        match (self, action) {
            (Pending, Approve) => Ok(Approved),
            (Pending, Reject) => Ok(Rejected),
            (Approved, Suspend) => Ok(Suspended),
            (Suspended, Reinstate) => Ok(Approved),
            _ => Err(WrongState { action: action.as_str(), from: self.as_str(), message: refusal(self, action) }),
        }
    }
}

/// Why `action` is refused from `from`, and what to do instead.
fn refusal(from: ProviderStatus, action: ProviderAction) -> Message {
    use ProviderAction::*;
    use ProviderStatus::*;
    let (zh, en) = match (from, action) {
        (Approved, Approve) => ("已经批准，无需再次批准", "it is already approved"),
        (Suspended, Approve) => {
            ("已被暂停；如需恢复，请使用恢复（reinstate）", "it is suspended; reinstate it instead")
        }
        (Rejected, _) => (
            "申请已被驳回，不能再处理；如需加入，请重新申请",
            "the application was rejected; a new application is needed",
        ),
        (Approved | Suspended, Reject) => (
            "只有待审核的申请才能驳回；如需停止服务，请暂停",
            "only a pending application can be rejected; suspend it instead",
        ),
        (Pending, Suspend) => {
            ("申请尚待审核，不能暂停；请批准或驳回", "the application is still pending; approve or reject it instead")
        }
        (Suspended, Suspend) => ("已经暂停", "it is already suspended"),
        (Pending, Reinstate) => {
            ("申请尚待审核，不能恢复；请先批准", "the application is still pending; approve it instead")
        }
        (Approved, Reinstate) => ("未被暂停，无需恢复", "it is not suspended, so there is nothing to reinstate"),
        (Pending, Approve | Reject) | (Approved, Suspend) | (Suspended, Reinstate) => {
            ("现在不能这样做", "this is not allowed now")
        }
    };
    Message::new(zh, en)
}

impl ProviderAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderAction::Approve => "approve",
            ProviderAction::Reject => "reject",
            ProviderAction::Suspend => "suspend",
            ProviderAction::Reinstate => "reinstate",
        }
    }
}

/// Open jobs a volunteer may hold at once unless a dispatcher sets otherwise.
pub const VOLUNTEER_DEFAULT_MAX_OPEN_JOBS: u32 = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use ProviderAction::*;
    use ProviderStatus::*;

    #[test]
    fn the_life_of_an_application() {
        assert_eq!(Pending.apply(Approve), Ok(Approved));
        assert_eq!(Approved.apply(Suspend), Ok(Suspended));
        assert_eq!(Suspended.apply(Reinstate), Ok(Approved));
        assert_eq!(Pending.apply(Reject), Ok(Rejected));
    }

    #[test]
    fn every_other_move_is_refused() {
        let allowed = [(Pending, Approve), (Pending, Reject), (Approved, Suspend), (Suspended, Reinstate)];
        for status in [Pending, Approved, Rejected, Suspended] {
            for action in [Approve, Reject, Suspend, Reinstate] {
                let result = status.apply(action);
                assert_eq!(result.is_ok(), allowed.contains(&(status, action)), "{status:?} {action:?}");
            }
        }
    }
}
