//! The password policy: long enough, not absurdly long, not on the list everyone tries first.

use std::fmt;

use crate::message::zh_texts;

/// A password that meets the policy. Never printed: `Debug` shows a placeholder.
///
/// Invariant: 8 to 128 characters (characters, not bytes, so Chinese passwords count
/// fairly), not only whitespace, and not one of the commonly used passwords below.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least {MIN_CHARS} characters")]
    TooShort,
    #[error("must be at most {MAX_CHARS} characters")]
    TooLong,
    #[error("is too common; choose one that others would not guess")]
    TooCommon,
}

zh_texts!(PasswordError {
    TooShort => "密码至少 8 个字符",
    TooLong => "密码最多 128 个字符",
    TooCommon => "密码过于常见，请换一个别人猜不到的",
});

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// The passwords tried first in every credential-stuffing list, with the Chinese favourites
/// (lucky numbers, keyboard runs, "woaini"). Compared case-insensitively.
const COMMON: &[&str] = &[
    "12345678",
    "123456789",
    "1234567890",
    "0123456789",
    "87654321",
    "11111111",
    "00000000",
    "88888888",
    "66666666",
    "99999999",
    "12341234",
    "11223344",
    "123123123",
    "12344321",
    "147258369",
    "123456789a",
    "a12345678",
    "a123456789",
    "abc12345",
    "abcd1234",
    "abc123456",
    "aa123456",
    "qq123456",
    "1qaz2wsx",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "qwertyui",
    "qwerty123",
    "qwer1234",
    "asdfghjk",
    "zxcvbnm1",
    "password",
    "password1",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "iloveyou",
    "woaini1314",
    "woaini520",
    "5201314520",
    "1314520520",
    "admin123",
    "admin1234",
    "administrator",
    "letmein1",
    "welcome1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "dragon123",
    "monkey123",
    "shenbian",
    "shenbian123",
    "changeme",
    "trustno1",
    "superman",
    "iloveyou1",
    "zhang123",
    "wang1234",
    "li123456",
    "12qwaszx",
    "q1w2e3r4",
];

impl Password {
    /// Checks a candidate password against the policy.
    pub fn parse(input: &str) -> Result<Self, PasswordError> {
        let chars = input.chars().count();
        if chars < MIN_CHARS || input.trim().is_empty() {
            return Err(PasswordError::TooShort);
        }
        if chars > MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        let lower = input.to_lowercase();
        let repeated_one_char = input.chars().all(|c| input.starts_with(c));
        if repeated_one_char || COMMON.contains(&lower.as_str()) {
            return Err(PasswordError::TooCommon);
        }
        Ok(Self(input.to_owned()))
    }

    /// The secret itself, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refuses_short_long_and_common_passwords() {
        assert_eq!(Password::parse("short"), Err(PasswordError::TooShort));
        assert_eq!(Password::parse("        "), Err(PasswordError::TooShort));
        assert_eq!(Password::parse(&"x".repeat(129)), Err(PasswordError::TooLong));
        assert_eq!(Password::parse("PassWord123"), Err(PasswordError::TooCommon));
        assert_eq!(Password::parse("zzzzzzzzzz"), Err(PasswordError::TooCommon));
        assert_eq!(Password::parse("woaini1314"), Err(PasswordError::TooCommon));
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(Password::parse("社区服务很好用哦").is_ok());
        assert_eq!(Password::parse("社区服务好"), Err(PasswordError::TooShort));
    }

    #[test]
    fn never_shows_itself_in_debug() {
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    proptest! {
        #[test]
        fn any_uncommon_password_of_fair_length_is_accepted(s in "[a-z]{4}[0-9]{4}[A-Z#]{2,20}") {
            prop_assert!(Password::parse(&s).is_ok());
        }
    }
}
