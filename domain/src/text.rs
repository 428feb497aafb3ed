//! Free text as people type it: the phone numbers and names that residents write into
//! titles, descriptions and summaries.

use std::borrow::Cow;

use crate::name::mask_name;

/// A decimal digit, ASCII or full-width (as Chinese input methods often type them).
fn digit(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '\u{FF10}'..='\u{FF19}' => Some((c as u32 - 0xFF10) as u8),
        _ => None,
    }
}

/// Masks every mainland mobile number in `text` (`13812345678`, `138 1234 5678`,
/// `138-1234-5678`, full-width digits) to `138****5678`, as [`crate::phone::mask_phone`]
/// masks a stored one. Longer digit runs (ids, account numbers) are left alone: they are not
/// phones. Text without such a number is returned as it is, without copying.
pub fn mask_phones(text: &str) -> Cow<'_, str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out: Option<String> = None;
    let mut copied_to = 0;
    let mut i = 0;
    while i < chars.len() {
        match may_start(&chars, i).then(|| mobile_at(&chars, i)).flatten() {
            Some((digits, end)) => {
                let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                out.push_str(&text[copied_to..chars[i].0]);
                let shown = |range: std::ops::Range<usize>| digits[range].iter().map(|d| char::from(b'0' + d));
                out.extend(shown(0..3));
                out.push_str("****");
                out.extend(shown(7..11));
                copied_to = chars.get(end).map_or(text.len(), |(at, _)| *at);
                i = end;
            }
            None => i += 1,
        }
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[copied_to..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(text),
    }
}

/// Whether a number may start at `i`: not in the middle of a digit run, except right after
/// the country code `86` (`+8613812345678`).
fn may_start(chars: &[(usize, char)], i: usize) -> bool {
    let is_digit = |j: usize| digit(chars[j].1).is_some();
    match i {
        0 => true,
        _ if !is_digit(i - 1) => true,
        1 => false,
        _ => digit(chars[i - 2].1) == Some(8) && digit(chars[i - 1].1) == Some(6) && (i == 2 || !is_digit(i - 3)),
    }
}

/// A mobile number starting at `start`: its eleven digits and the index after it. Digits may
/// be split by single spaces or hyphens; the number must not run on into more digits.
fn mobile_at(chars: &[(usize, char)], start: usize) -> Option<([u8; 11], usize)> {
    let mut digits = [0u8; 11];
    let mut n = 0;
    let mut i = start;
    while n < 11 {
        let d = digit(chars.get(i)?.1);
        match d {
            Some(d) => {
                digits[n] = d;
                n += 1;
                i += 1;
            }
            None if n > 0
                && matches!(chars[i].1, ' ' | '-')
                && chars.get(i + 1).is_some_and(|c| digit(c.1).is_some()) =>
            {
                i += 1
            }
            None => return None,
        }
    }
    let runs_on = chars.get(i).is_some_and(|c| digit(c.1).is_some());
    (digits[0] == 1 && (3..=9).contains(&digits[1]) && !runs_on).then_some((digits, i))
}

/// Masks the phones in `text` and every mention of `name` (a person's display name of two
/// characters or more) as `张*`, for readers who see that person masked.
pub fn mask_personal(text: &str, name: &str) -> String {
    let masked = mask_phones(text);
    let name = name.trim();
    if name.chars().count() >= 2 && masked.contains(name) {
        masked.replace(name, &mask_name(name))
    } else {
        masked.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones_in_text_are_masked_in_every_common_spelling() {
        assert_eq!(mask_phones("请联系13812345678，谢谢"), "请联系138****5678，谢谢");
        assert_eq!(mask_phones("电话 138 1234 5678 或 139-0000-1111"), "电话 138****5678 或 139****1111");
        assert_eq!(mask_phones("１３８１２３４５６７８"), "138****5678");
        assert_eq!(mask_phones("+8613812345678"), "+86138****5678");
    }

    #[test]
    fn other_numbers_are_left_alone() {
        for text in ["订单 123456789012345", "门牌 301", "12812345678", "313812345678", "1381234567", "水管漏水"]
        {
            assert_eq!(mask_phones(text), text);
            assert!(matches!(mask_phones(text), Cow::Borrowed(_)), "{text} is not copied");
        }
    }

    #[test]
    fn a_named_person_is_masked_in_text() {
        assert_eq!(mask_personal("我是张三丰，电话13812345678", "张三丰"), "我是张*，电话138****5678");
        assert_eq!(mask_personal("张先生家", "张"), "张先生家", "a one-character name would mask everything");
    }

    proptest! {
        #[test]
        fn masked_text_holds_no_eleven_digit_mobile_number(prefix in "\\PC{0,20}", phone in "1[3-9][0-9]{9}", suffix in "[^0-9]{0,20}") {
            let text = format!("{prefix} {phone}{suffix}");
            let masked = mask_phones(&text);
            prop_assert!(!masked.contains(&phone));
        }
    }
}
