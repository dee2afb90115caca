//! Area codes: National Bureau of Statistics (NBS) division codes, the Beijing
//! 15-digit unit-grid code and free-form custom codes.
//!
//! NBS codes nest by prefix: province `11`, city `110000` (a municipality) or `110100`,
//! district `110105`, street `110105026`, community `110105026001`. The Beijing unit-grid
//! code appends a 3-digit sequence to the community code. Custom codes (such as
//! `DEMO-G01`) carry no hierarchy, so their level and parent must be given explicitly.

use std::fmt;

use super::Level;

/// Longest accepted custom code, in characters.
pub const MAX_CUSTOM_CODE_CHARS: usize = 32;

/// A validated area code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AreaCode(String);

/// The reason a text is not an area code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("code is empty")]
    Empty,
    #[error("numeric code has {0} digits; NBS codes have 2, 6, 9 or 12 digits, grid codes 15")]
    DigitCount(usize),
    #[error("code is longer than {MAX_CUSTOM_CODE_CHARS} characters")]
    TooLong,
    #[error("code contains {0:?}; use letters, digits, '-' and '_' only")]
    Character(char),
}

impl AreaCode {
    /// Parses a code, trimming surrounding whitespace.
    ///
    /// # Errors
    /// An all-digit code must have 2, 6, 9, 12 or 15 digits. Any other code must be
    /// ASCII letters, digits, `-` or `_`, at most [`MAX_CUSTOM_CODE_CHARS`] long.
    pub fn parse(text: &str) -> Result<AreaCode, CodeError> {
        let code = text.trim();
        if code.is_empty() {
            return Err(CodeError::Empty);
        }
        if code.bytes().all(|b| b.is_ascii_digit()) {
            return match code.len() {
                2 | 6 | 9 | 12 | 15 => Ok(AreaCode(code.to_owned())),
                digits => Err(CodeError::DigitCount(digits)),
            };
        }
        if code.chars().count() > MAX_CUSTOM_CODE_CHARS {
            return Err(CodeError::TooLong);
        }
        if let Some(bad) =
            code.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(CodeError::Character(bad));
        }
        Ok(AreaCode(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Tells whether this is an NBS or Beijing grid code, whose digits encode the hierarchy.
    pub fn is_numeric(&self) -> bool {
        self.0.bytes().all(|b| b.is_ascii_digit())
    }

    /// Returns the level the digits encode, or `None` for custom codes.
    ///
    /// A 6-digit code ending in `00` is a city (`110000` Beijing, `130100` Shijiazhuang).
    /// A 2-digit province code is a city too, because the hierarchy starts at the city.
    pub fn implied_level(&self) -> Option<Level> {
        if !self.is_numeric() {
            return None;
        }
        match self.0.len() {
            2 => Some(Level::City),
            6 if self.0.ends_with("00") => Some(Level::City),
            6 => Some(Level::District),
            9 => Some(Level::Street),
            12 => Some(Level::Community),
            15 => Some(Level::Grid),
            _ => None,
        }
    }

    /// Codes of the possible parents, nearest first; empty for custom and top codes.
    ///
    /// A district `110105` may sit under the prefecture `110100` or directly under the
    /// municipality `110000`, and a prefecture `130100` under the province `130000`.
    pub fn parent_candidates(&self) -> Vec<String> {
        if !self.is_numeric() {
            return Vec::new();
        }
        let code = self.0.as_str();
        match code.len() {
            6 if code.ends_with("0000") => Vec::new(),
            6 if code.ends_with("00") => vec![format!("{}0000", &code[..2])],
            6 => vec![format!("{}00", &code[..4]), format!("{}0000", &code[..2])],
            9 => vec![code[..6].to_owned()],
            12 => vec![code[..9].to_owned()],
            15 => vec![code[..12].to_owned()],
            _ => Vec::new(),
        }
    }

    /// Returns the digits every descendant code starts with: `11` for `110000` and
    /// `11`, `1101` for `110100`, and the whole code below the city.
    pub fn descendant_prefix(&self) -> &str {
        let code = self.0.as_str();
        if code.len() == 6 && code.ends_with("0000") {
            &code[..2]
        } else if code.len() == 6 && code.ends_with("00") {
            &code[..4]
        } else {
            code
        }
    }

    /// Checks that a numeric child code starts with its numeric parent's prefix.
    ///
    /// Custom codes on either side pass, because they encode no hierarchy.
    pub fn fits_under(&self, parent: &AreaCode) -> bool {
        if !self.is_numeric() || !parent.is_numeric() {
            return true;
        }
        self.0 != parent.0
            && self.0.len() >= parent.0.len()
            && self.0.starts_with(parent.descendant_prefix())
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> AreaCode {
        AreaCode::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn numeric_codes_imply_their_level() {
        let cases = [
            ("11", Level::City),
            ("110000", Level::City),
            ("110100", Level::City),
            ("110105", Level::District),
            ("110105026", Level::Street),
            ("110105026001", Level::Community),
            ("110105026001007", Level::Grid),
        ];
        for (text, level) in cases {
            assert_eq!(code(text).implied_level(), Some(level), "code {text}");
        }
    }

    #[test]
    fn custom_codes_are_accepted_without_level() {
        let custom = code("DEMO-G01");
        assert!(!custom.is_numeric());
        assert_eq!(custom.implied_level(), None);
        assert!(custom.parent_candidates().is_empty());
        assert_eq!(code(" grid_7 ").as_str(), "grid_7");
    }

    #[test]
    fn malformed_codes_are_rejected() {
        assert_eq!(AreaCode::parse(""), Err(CodeError::Empty));
        assert_eq!(AreaCode::parse("1101050"), Err(CodeError::DigitCount(7)));
        assert_eq!(AreaCode::parse("A B"), Err(CodeError::Character(' ')));
        assert_eq!(AreaCode::parse("网格1"), Err(CodeError::Character('网')));
        assert_eq!(AreaCode::parse(&"X".repeat(33)), Err(CodeError::TooLong));
    }

    #[test]
    fn parent_candidates_follow_the_prefix() {
        assert_eq!(code("110105").parent_candidates(), ["110100", "110000"]);
        assert_eq!(code("110100").parent_candidates(), ["110000"]);
        assert!(code("110000").parent_candidates().is_empty());
        assert_eq!(code("110105026").parent_candidates(), ["110105"]);
        assert_eq!(code("110105026001").parent_candidates(), ["110105026"]);
        assert_eq!(code("110105026001007").parent_candidates(), ["110105026001"]);
    }

    #[test]
    fn child_must_start_with_parent_prefix() {
        assert!(code("110105").fits_under(&code("110000")));
        assert!(code("110105").fits_under(&code("11")));
        assert!(code("110105026").fits_under(&code("110105")));
        assert!(!code("110108026").fits_under(&code("110105")));
        assert!(!code("120101").fits_under(&code("110000")));
        assert!(code("DEMO-G01").fits_under(&code("110105026001")));
        assert!(code("110105026001001").fits_under(&code("DEMO-C1")));
    }
}
