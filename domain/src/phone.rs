//! Mainland China mobile numbers: the login name of every account.

use std::fmt;

use crate::message::zh_texts;

/// A mainland mobile number, normalised to its 11 digits (`13812345678`).
///
/// Invariant: exactly 11 ASCII digits, the first `1`, the second `3`–`9`. Accepts the
/// usual ways people write one (`+86 138 1234 5678`, `138-1234-5678`) and stores only the
/// digits, so one person is one phone however they typed it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

/// Why a text is not a mainland mobile number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("a mainland mobile number has 11 digits starting with 13–19")]
    Invalid,
}

zh_texts!(PhoneError {
    Invalid => "请填写 11 位大陆手机号，以 13–19 开头",
});

impl Phone {
    /// Parses a number as a person would type it.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let compact: String = input.trim().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = compact
            .strip_prefix("+86")
            .or_else(|| (compact.len() == 13).then(|| compact.strip_prefix("86")).flatten())
            .unwrap_or(&compact);
        let bytes = digits.as_bytes();
        let valid = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1]);
        if valid { Ok(Self(digits.to_owned())) } else { Err(PhoneError::Invalid) }
    }

    /// The 11 digits, for storage and for the people allowed to see them.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form anyone else sees: `138****5678`.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Masks a stored phone for people who may not see it: keeps the first three and the last
/// four digits. Anything that is not 11 characters long is hidden entirely.
pub fn mask_phone(digits: &str) -> String {
    if digits.len() == 11 && digits.is_ascii() {
        format!("{}****{}", &digits[..3], &digits[7..])
    } else {
        "***********".to_owned()
    }
}

/// Never prints the number: a `Debug` of a struct holding a phone must be safe to log.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_usual_spellings_and_keeps_the_digits() {
        for input in ["13812345678", "+86 138 1234 5678", "138-1234-5678", "8613812345678"] {
            assert_eq!(Phone::parse(input).unwrap().as_str(), "13812345678", "{input}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_mobile_number() {
        for input in ["", "1381234567", "138123456789", "12812345678", "23812345678", "1381234567x", "０１３８"] {
            assert_eq!(Phone::parse(input), Err(PhoneError::Invalid), "{input}");
        }
    }

    #[test]
    fn masks_the_middle_four_digits() {
        assert_eq!(Phone::parse("13812345678").unwrap().masked(), "138****5678");
        assert_eq!(format!("{:?}", Phone::parse("13812345678").unwrap()), "Phone(138****5678)");
    }

    proptest! {
        #[test]
        fn every_valid_number_round_trips(second in 3u8..=9, rest in "[0-9]{9}") {
            let raw = format!("1{second}{rest}");
            let phone = Phone::parse(&raw).unwrap();
            prop_assert_eq!(phone.as_str(), raw.as_str());
            prop_assert_eq!(phone.masked(), format!("{}****{}", &raw[..3], &raw[7..]));
        }

        #[test]
        fn parse_never_panics(input in "\\PC{0,20}") {
            let _ = Phone::parse(&input);
        }
    }
}
