//! Invitations to join a partner organisation: its admin invites a phone, and only the
//! person who signs in with that phone accepts or declines. Nobody becomes a member without
//! saying yes.

use serde::{Deserialize, Serialize};

use crate::message::Message;
use crate::transition::WrongState;

/// Where an invitation stands. `Expired` is derived from its expiry and never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    /// Sent; waits for the invitee until it expires.
    Pending,
    /// The invitee joined the partner.
    Accepted,
    /// The invitee said no.
    Declined,
    /// The partner's admin withdrew it before an answer.
    Revoked,
    /// Left unanswered past its expiry.
    Expired,
}

/// What the invitee (accept, decline) or the partner's admin (revoke) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationAction {
    Accept,
    Decline,
    Revoke,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Declined => "declined",
            InvitationStatus::Revoked => "revoked",
            InvitationStatus::Expired => "expired",
        }
    }

    /// The status as it stands when `expired` says whether the expiry has passed: an
    /// unanswered invitation past its expiry is expired; an answered one keeps its answer.
    pub fn seen(self, expired: bool) -> Self {
        if self == InvitationStatus::Pending && expired { InvitationStatus::Expired } else { self }
    }

    /// The state after `action`, or why it is not allowed now. Only a pending invitation
    /// moves, and only once.
    pub fn apply(self, action: InvitationAction) -> Result<Self, WrongState> {
        use InvitationAction::*;
        use InvitationStatus::*;
        match (self, action) {
            (Pending, Accept) => Ok(Accepted),
            (Pending, Decline) => Ok(Declined),
            (Pending, Revoke) => Ok(Revoked),
            _ => Err(WrongState { action: action.as_str(), from: self.as_str(), message: refusal(self, action) }),
        }
    }
}

/// Why `action` is refused from `from`, and what to do instead.
fn refusal(from: InvitationStatus, action: InvitationAction) -> Message {
    let (state_zh, state_en) = match from {
        InvitationStatus::Pending => ("邀请尚待答复", "the invitation is still waiting for an answer"),
        InvitationStatus::Accepted => ("邀请已被接受", "the invitation has already been accepted"),
        InvitationStatus::Declined => ("邀请已被拒绝", "the invitation has already been declined"),
        InvitationStatus::Revoked => ("邀请已被撤回", "the invitation was revoked"),
        InvitationStatus::Expired => ("邀请已过期", "the invitation has expired"),
    };
    let (verb_zh, verb_en) = match action {
        InvitationAction::Accept => ("接受", "accepted"),
        InvitationAction::Decline => ("拒绝", "declined"),
        InvitationAction::Revoke => ("撤回", "revoked"),
    };
    let again =
        matches!(from, InvitationStatus::Revoked | InvitationStatus::Expired) && action == InvitationAction::Accept;
    let (hint_zh, hint_en) = if again {
        ("；如需加入，请合作方重新邀请", "; ask the partner to invite you again")
    } else {
        ("", "")
    };
    Message::new(
        format!("{state_zh}，不能再{verb_zh}{hint_zh}"),
        format!("{state_en}, so it cannot be {verb_en}{hint_en}"),
    )
}

impl InvitationAction {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationAction::Accept => "accept",
            InvitationAction::Decline => "decline",
            InvitationAction::Revoke => "revoke",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InvitationAction::*;
    use InvitationStatus::*;

    #[test]
    fn a_pending_invitation_is_answered_or_revoked_once() {
        assert_eq!(Pending.apply(Accept), Ok(Accepted));
        assert_eq!(Pending.apply(Decline), Ok(Declined));
        assert_eq!(Pending.apply(Revoke), Ok(Revoked));
    }

    #[test]
    fn every_other_move_is_refused() {
        for status in [Accepted, Declined, Revoked, Expired] {
            for action in [Accept, Decline, Revoke] {
                assert!(status.apply(action).is_err(), "{status:?} {action:?}");
            }
        }
    }

    #[test]
    fn only_an_unanswered_invitation_expires() {
        assert_eq!(Pending.seen(true), Expired);
        assert_eq!(Pending.seen(false), Pending);
        for answered in [Accepted, Declined, Revoked] {
            assert_eq!(answered.seen(true), answered);
        }
        let refused = Expired.apply(Accept).unwrap_err();
        assert_eq!(refused.message.zh, "邀请已过期，不能再接受；如需加入，请合作方重新邀请");
        assert_eq!(
            refused.to_string(),
            "the invitation has expired, so it cannot be accepted; ask the partner to invite you again"
        );
    }
}
