//! The unified social credit code (统一社会信用代码, GB 32100-2015) that identifies every
//! organisation in China: 18 characters with two check characters, both verified.

use std::fmt;

use crate::message::zh_texts;

/// The 31 characters a credit code may use (no I, O, Z, S, V), in value order.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1–17 for the final check character (GB 32100).
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
/// Weights of the eight body characters of the embedded organisation code (GB 11714).
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// A valid unified social credit code, upper-case.
///
/// Invariant: 18 characters from the code alphabet; characters 3–8 are digits (the region);
/// character 17 is the check character of the organisation code in 9–16; character 18 is the
/// check character of the whole code.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("a unified social credit code has 18 characters")]
    WrongLength,
    #[error("contains a character a credit code cannot have")]
    BadCharacter,
    #[error("the organisation code's check character is wrong")]
    BadOrganisationCheck,
    #[error("the final check character is wrong")]
    BadCheck,
}

zh_texts!(CreditCodeError {
    WrongLength => "统一社会信用代码为 18 位",
    BadCharacter => "含有统一社会信用代码不会出现的字符",
    BadOrganisationCheck => "组织机构代码的校验位不正确",
    BadCheck => "末位校验码不正确",
});

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|v| v as u32)
}

/// The GB 11714 value of a character: digits 0–9, letters A=10 … Z=35.
fn org_value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        _ => u32::from(c - b'A') + 10,
    }
}

/// The organisation-code check character for eight body characters.
fn org_check(body: &[u8]) -> u8 {
    let sum: u32 = body.iter().zip(ORG_WEIGHTS).map(|(&c, w)| org_value(c) * w).sum();
    match 11 - sum % 11 {
        11 => b'0',
        10 => b'X',
        n => b'0' + n as u8,
    }
}

/// The final check character for the first 17 characters.
fn final_check(first17: &[u8]) -> u8 {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(&c, w)| value(c).unwrap_or(0) * w).sum();
    ALPHABET[((31 - sum % 31) % 31) as usize]
}

impl CreditCode {
    pub fn parse(input: &str) -> Result<Self, CreditCodeError> {
        let code = input.trim().to_ascii_uppercase();
        let bytes = code.as_bytes();
        if bytes.len() != 18 || !code.is_ascii() {
            return Err(CreditCodeError::WrongLength);
        }
        if bytes.iter().any(|&c| value(c).is_none()) || !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(CreditCodeError::BadCharacter);
        }
        if org_check(&bytes[8..16]) != bytes[16] {
            return Err(CreditCodeError::BadOrganisationCheck);
        }
        if final_check(&bytes[..17]) != bytes[17] {
            return Err(CreditCodeError::BadCheck);
        }
        Ok(Self(code))
    }

    /// Completes 16 characters (authority, type, region, organisation body) into a valid
    /// code, or `None` when they cannot start one. For demo data and tests.
    pub fn complete(first16: &str) -> Option<Self> {
        let mut bytes = first16.to_ascii_uppercase().into_bytes();
        if bytes.len() != 16 {
            return None;
        }
        let check = org_check(&bytes[8..16]);
        bytes.push(check);
        bytes.push(final_check(&bytes));
        Self::parse(std::str::from_utf8(&bytes).ok()?).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CreditCode({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_published_codes() {
        // Codes printed on real business licences.
        for code in ["91350100M000100Y43", "91110000802100433B", "91440300708461136T"] {
            assert!(CreditCode::parse(code).is_ok(), "{code}");
        }
        assert_eq!(CreditCode::parse(" 91350100m000100y43 ").unwrap().as_str(), "91350100M000100Y43");
    }

    #[test]
    fn refuses_wrong_length_characters_and_check_characters() {
        assert_eq!(CreditCode::parse("91350100M000100Y4"), Err(CreditCodeError::WrongLength));
        assert_eq!(CreditCode::parse("91350100M000100Y433"), Err(CreditCodeError::WrongLength));
        assert_eq!(CreditCode::parse("91350100M00010OY43"), Err(CreditCodeError::BadCharacter));
        assert_eq!(CreditCode::parse("913501A0M000100Y43"), Err(CreditCodeError::BadCharacter));
        assert_eq!(CreditCode::parse("91350100M000100Y44"), Err(CreditCodeError::BadCheck));
        assert_eq!(CreditCode::parse("91350100M000100X43"), Err(CreditCodeError::BadOrganisationCheck));
    }

    proptest! {
        #[test]
        fn completed_codes_parse_and_any_single_change_is_caught(
            head in "[1-9A-Y][1-9]", region in "[0-9]{6}", org in "[0-9A-HJ-NP-RT-UW-Y]{8}", pos in 0usize..18, replacement in 0usize..31,
        ) {
            let Some(code) = CreditCode::complete(&format!("{head}{region}{org}")) else { return Ok(()) };
            prop_assert!(CreditCode::parse(code.as_str()).is_ok());
            let mut bytes = code.as_str().as_bytes().to_vec();
            let new = ALPHABET[replacement];
            prop_assume!(bytes[pos] != new);
            bytes[pos] = new;
            prop_assert!(CreditCode::parse(std::str::from_utf8(&bytes).unwrap()).is_err());
        }
    }
}
