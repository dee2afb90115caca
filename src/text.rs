//! Character folding shared by address lookup and case search.

/// Maps the full-width forms of ASCII (U+FF01 to U+FF5E), common in Chinese input, to
/// ASCII, so that Ａ１ and A1 compare equal. Other characters are returned unchanged.
pub fn fold_full_width(c: char) -> char {
    match u32::from(c) {
        code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::fold_full_width;

    #[test]
    fn full_width_ascii_folds() {
        assert_eq!(fold_full_width('Ａ'), 'A');
        assert_eq!(fold_full_width('１'), '1');
        assert_eq!(fold_full_width('～'), '~');
        assert_eq!(fold_full_width('井'), '井');
    }
}
