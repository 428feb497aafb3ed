//! People's names: shown in full to those who may, masked (`张*`) to everyone else.

use std::fmt;

use crate::invisible::is_invisible;
use crate::message::zh_texts;

/// A display name as a person gives it.
///
/// Invariant: 1 to 50 characters after trimming, no control characters, nothing invisible
/// (zero-width, byte-order mark, text-direction controls): a name is read by people.
#[derive(Clone, PartialEq, Eq)]
pub struct DisplayName(String);

/// Why a name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 50 characters")]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error("must not contain invisible or text-direction characters")]
    InvisibleCharacter,
}

zh_texts!(NameError {
    Empty => "不能为空",
    TooLong => "最多 50 个字",
    ControlCharacter => "不能含控制字符",
    InvisibleCharacter => "不能含不可见字符或文字方向控制字符",
});

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        if trimmed.chars().count() > 50 {
            return Err(NameError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter);
        }
        if trimmed.chars().any(is_invisible) {
            return Err(NameError::InvisibleCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DisplayName({})", mask_name(&self.0))
    }
}

/// The masked form of a name: its first character and one `*` (`张三丰` → `张*`).
/// An empty name stays empty.
pub fn mask_name(name: &str) -> String {
    match name.trim().chars().next() {
        Some(first) => format!("{first}*"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_refuses_empty_long_or_control() {
        assert_eq!(DisplayName::parse("  张三 ").unwrap().as_str(), "张三");
        assert_eq!(DisplayName::parse("   "), Err(NameError::Empty));
        assert_eq!(DisplayName::parse(&"名".repeat(51)), Err(NameError::TooLong));
        assert_eq!(DisplayName::parse("a\u{7}b"), Err(NameError::ControlCharacter));
        for name in ["\u{200B}", "\u{FEFF}\u{200B}", "\u{202E}张三", "张\u{200D}三"] {
            assert_eq!(DisplayName::parse(name), Err(NameError::InvisibleCharacter), "{name:?}");
        }
    }

    #[test]
    fn masks_to_the_first_character() {
        assert_eq!(mask_name("张三丰"), "张*");
        assert_eq!(mask_name("Li Wei"), "L*");
        assert_eq!(mask_name(""), "");
    }

    proptest! {
        #[test]
        fn a_masked_name_reveals_one_character_at_most(name in "\\PC{1,30}") {
            prop_assert!(mask_name(&name).chars().count() <= 2);
        }
    }
}
