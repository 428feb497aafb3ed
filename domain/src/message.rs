//! Texts people read, in the two languages the service speaks: zh-CN (the default) and
//! English. A refusal carries both; the HTTP layer picks one per request.

use std::borrow::Cow;
use std::fmt;

/// One text in zh-CN and in English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub zh: Cow<'static, str>,
    pub en: Cow<'static, str>,
}

impl Message {
    pub fn new(zh: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Self { zh: zh.into(), en: en.into() }
    }

    /// The text in English (`true`) or zh-CN (`false`).
    pub fn text(&self, english: bool) -> &str {
        if english { &self.en } else { &self.zh }
    }
}

/// The English text, for logs and tests.
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}

impl From<(&'static str, &'static str)> for Message {
    fn from((zh, en): (&'static str, &'static str)) -> Self {
        Self::new(zh, en)
    }
}

impl From<(String, String)> for Message {
    fn from((zh, en): (String, String)) -> Self {
        Self::new(zh, en)
    }
}

/// A refusal that can say itself in both languages; its `Display` is the English text.
pub trait Bilingual: fmt::Display {
    fn zh(&self) -> Cow<'static, str>;

    fn message(&self) -> Message {
        Message { zh: self.zh(), en: self.to_string().into() }
    }
}

impl<E: Bilingual> From<E> for Message {
    fn from(err: E) -> Self {
        err.message()
    }
}

/// Implements [`Bilingual`] for a fieldless error enum, from each variant's zh-CN text; the
/// English is its `Display`. Each error module states its texts beside its variants.
macro_rules! zh_texts {
    ($ty:ty { $($variant:ident => $zh:expr),+ $(,)? }) => {
        impl $crate::message::Bilingual for $ty {
            fn zh(&self) -> ::std::borrow::Cow<'static, str> {
                match self {
                    $(<$ty>::$variant => ::std::borrow::Cow::Borrowed($zh)),+
                }
            }
        }
    };
}
pub(crate) use zh_texts;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every refused (state, action) of partners, volunteers, contracts and invitations is a
    /// sentence in both languages, never the bare "cannot <action> while <state>".
    #[test]
    fn every_refusal_outside_orders_reads_as_a_sentence() {
        use crate::contract::{ContractAction, ContractStatus};
        use crate::invitation::{InvitationAction, InvitationStatus};
        use crate::partner::{ProviderAction, ProviderStatus};
        let mut refusals = Vec::new();
        for from in
            [ProviderStatus::Pending, ProviderStatus::Approved, ProviderStatus::Rejected, ProviderStatus::Suspended]
        {
            for action in
                [ProviderAction::Approve, ProviderAction::Reject, ProviderAction::Suspend, ProviderAction::Reinstate]
            {
                refusals.extend(from.apply(action).err());
            }
        }
        for from in [
            ContractStatus::Draft,
            ContractStatus::Signed,
            ContractStatus::Active,
            ContractStatus::Suspended,
            ContractStatus::Terminated,
            ContractStatus::Expired,
        ] {
            for action in
                [ContractAction::Sign, ContractAction::Activate, ContractAction::Suspend, ContractAction::Terminate]
            {
                refusals.extend(from.apply(action).err());
            }
        }
        for from in [
            InvitationStatus::Accepted,
            InvitationStatus::Declined,
            InvitationStatus::Revoked,
            InvitationStatus::Expired,
        ] {
            for action in [InvitationAction::Accept, InvitationAction::Decline, InvitationAction::Revoke] {
                refusals.extend(from.apply(action).err());
            }
        }
        assert!(refusals.len() > 30);
        for refusal in refusals {
            let Message { zh, en } = &refusal.message;
            assert!(!zh.is_empty() && !en.is_empty(), "{refusal:?}");
            assert!(!en.starts_with("cannot ") && !en.contains(" while "), "{en}");
            assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{zh}");
        }
    }

    #[test]
    fn a_domain_error_says_itself_in_both_languages() {
        let message = Message::from(crate::phone::PhoneError::Invalid);
        assert!(message.zh.contains("手机号"));
        assert!(message.en.contains("11 digits"));
        assert_eq!(message.text(true), message.en);
    }
}
