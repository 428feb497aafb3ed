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

macro_rules! zh_texts {
    ($ty:ty { $($variant:ident => $zh:expr),+ $(,)? }) => {
        impl Bilingual for $ty {
            fn zh(&self) -> Cow<'static, str> {
                match self {
                    $(<$ty>::$variant => Cow::Borrowed($zh)),+
                }
            }
        }
    };
}

zh_texts!(crate::rating::RatingError {
    OutOfRange => "须为 1 到 5 的整数",
    CommentTooLong => "评价内容最多 500 个字",
});
zh_texts!(crate::role::RoleSetError {
    Empty => "至少需要一个角色",
    DispatcherWithoutCommunity => "调度员须归属一个社区：请填写 community_id",
});
zh_texts!(crate::credit_code::CreditCodeError {
    WrongLength => "统一社会信用代码为 18 位",
    BadCharacter => "含有统一社会信用代码不会出现的字符",
    BadOrganisationCheck => "组织机构代码的校验位不正确",
    BadCheck => "末位校验码不正确",
});
zh_texts!(crate::phone::PhoneError {
    Invalid => "请填写 11 位大陆手机号，以 13–19 开头",
});
zh_texts!(crate::password::PasswordError {
    TooShort => "密码至少 8 个字符",
    TooLong => "密码最多 128 个字符",
    TooCommon => "密码过于常见，请换一个别人猜不到的",
});
zh_texts!(crate::category::CategoryError {
    BadCode => "须为 2–32 个字符，只含 a-z、0-9、_ 或 -，并以字母开头",
    MinutesOutOfRange => "每个时限须在 1 分钟到 365 天之间",
    UrgencyOrder => "越紧急的级别，时限不能比不紧急的更长",
});
zh_texts!(crate::name::NameError {
    Empty => "不能为空",
    TooLong => "最多 50 个字",
    ControlCharacter => "不能含控制字符",
    InvisibleCharacter => "不能含不可见字符或文字方向控制字符",
});
zh_texts!(crate::contract::PeriodError {
    EndsBeforeStart => "valid_to 不能早于 valid_from",
    TooLong => "合同期限最长十年",
});
zh_texts!(crate::contract::TermsError {
    DiscountPercentRequired => "折扣计价须填写 1 到 99 之间的 discount_percent",
    DiscountPercentNotAllowed => "只有折扣计价才能填写 discount_percent",
    QuotaOutOfRange => "monthly_quota 须在 1 到 100000 之间",
    MaxOpenJobsOutOfRange => "max_open_jobs 须在 1 到 1000 之间",
    AcceptWindowOutOfRange => "accept_within_minutes 须在 1 到 10080 之间",
});

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
