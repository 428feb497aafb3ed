//! Characters that people cannot see: what names and CSV cells are checked for.

/// Characters that print as nothing or turn the text around them: zero-width spaces and
/// joiners, the byte-order mark, the soft hyphen, fillers that render blank, and the
/// bidirectional controls (`U+202E` makes `abc` display as `cba`). A name made of them looks
/// empty or impersonates another; a CSV cell starting with them hides a formula.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_direction_characters_are_recognised() {
        for c in ['\u{200B}', '\u{FEFF}', '\u{202E}', '\u{2066}', '\u{00AD}', '\u{3164}'] {
            assert!(is_invisible(c), "{:X}", c as u32);
        }
        for c in ['张', 'a', ' ', '·', '＝'] {
            assert!(!is_invisible(c), "{c}");
        }
    }
}
