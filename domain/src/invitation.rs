//! Invitations to join a partner organisation: its admin invites a phone, and only the
//! person who signs in with that phone accepts or declines. Nobody becomes a member without
//! saying yes.

use serde::{Deserialize, Serialize};

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
            _ => Err(WrongState { action: action.as_str(), from: self.as_str() }),
        }
    }
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
        assert_eq!(Expired.apply(Accept).unwrap_err().to_string(), "cannot accept while expired");
    }
}
