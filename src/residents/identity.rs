//! Identity numbers (GB 11643, 公民身份号码), phone numbers and e-mail addresses:
//! parsing, normalizing and masking.

use chrono::{Datelike, NaiveDate, Utc};

use crate::http::UserMessage;

/// Weights of the first 17 digits in the GB 11643 check (2^(17-i) mod 11).
const CHECK_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder of the weighted sum modulo 11.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
/// The earliest birth year accepted; older dates are typing errors.
const MIN_BIRTH_YEAR: i32 = 1900;

/// A validated 18-character identity number with an upper-case check `X`.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityNumber(String);

impl std::fmt::Debug for IdentityNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdentityNumber({})", self.masked())
    }
}

impl IdentityNumber {
    /// Parses an identity number, ignoring spaces and accepting a lower-case `x`.
    ///
    /// # Errors
    /// A message for the field `identity_number` saying whether the length, the birth
    /// date or the check digit is wrong.
    pub fn parse(text: &str) -> Result<IdentityNumber, UserMessage> {
        let value: String =
            text.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
        let error = |code| UserMessage::new(code).field("identity_number");
        let well_formed = value.len() == 18
            && value[..17].bytes().all(|b| b.is_ascii_digit())
            && value[17..].bytes().all(|b| b.is_ascii_digit() || b == b'X');
        if !well_formed {
            return Err(error("identity_number_format"));
        }
        let birth = NaiveDate::parse_from_str(&value[6..14], "%Y%m%d")
            .ok()
            .filter(|date| date.year() >= MIN_BIRTH_YEAR && *date <= Utc::now().date_naive());
        if birth.is_none() {
            return Err(error("identity_number_birth_date").arg("digits", &value[6..14]));
        }
        if value.as_bytes()[17] as char != check_char(&value[..17]) {
            return Err(error("identity_number_check_digit"));
        }
        Ok(IdentityNumber(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the birth date in digits 7 to 14, which `parse` checked is a real date.
    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").unwrap_or_default()
    }

    /// Returns the gender coded by digit 17: odd for men, even for women.
    pub fn gender(&self) -> super::Gender {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            super::Gender::Male
        } else {
            super::Gender::Female
        }
    }

    /// Returns the form shown on screen: the region code and the last four characters.
    pub fn masked(&self) -> String {
        mask_identity(&self.0)
    }
}

/// Computes the GB 11643 check character of 17 digits.
fn check_char(digits: &str) -> char {
    let sum: u32 = digits
        .bytes()
        .zip(CHECK_WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

/// Masks an identity number as `110105********1234`.
pub fn mask_identity(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

/// A phone number reduced to its digits: a mobile number or a landline with area code.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl PhoneNumber {
    /// Parses a phone number, dropping spaces, hyphens and a `+86` prefix, so that the
    /// same number typed two ways has one lookup hash.
    ///
    /// # Errors
    /// A message for the field `phone` when 7 to 12 digits do not remain.
    pub fn parse(text: &str) -> Result<PhoneNumber, UserMessage> {
        let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = compact.strip_prefix("+86").unwrap_or(&compact);
        if !(7..=12).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UserMessage::new("phone_invalid").field("phone"));
        }
        Ok(PhoneNumber(digits.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the form shown on screen: `138****5678` for a mobile, only the last
    /// four digits of other numbers.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Masks a phone number; see [`PhoneNumber::masked`].
pub fn mask_phone(value: &str) -> String {
    let length = value.chars().count();
    if length == 11 && value.starts_with('1') {
        return format!("{}****{}", &value[..3], &value[7..]);
    }
    let tail: String = value.chars().skip(length.saturating_sub(4)).collect();
    format!("{}{tail}", "*".repeat(length.saturating_sub(4)))
}

/// Maximum length of an e-mail address, in bytes: the 254 that fit in an SMTP path.
const MAX_EMAIL_BYTES: usize = 254;
/// Maximum length of the part before `@`, in bytes (RFC 5321).
const MAX_EMAIL_LOCAL_BYTES: usize = 64;

/// An e-mail address in the plain `local@domain` form, lower-cased.
///
/// Only the forms residents give are accepted: ASCII, no quoted local part, no comment
/// or display name, and a domain name with a dot. Mail servers in practice ignore the
/// case of the local part too, so lower-casing all of it gives one lookup hash per
/// mailbox.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl std::fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmailAddress({})", self.masked())
    }
}

impl EmailAddress {
    /// Parses an e-mail address, ignoring surrounding spaces.
    ///
    /// # Errors
    /// A message for the field `email` when the text is not one `local@domain.tld`
    /// address.
    pub fn parse(text: &str) -> Result<EmailAddress, UserMessage> {
        let value = text.trim().to_ascii_lowercase();
        let invalid = || UserMessage::new("email_invalid").field("email");
        let Some((local, domain)) = value.split_once('@') else {
            return Err(invalid());
        };
        let local_ok = (1..=MAX_EMAIL_LOCAL_BYTES).contains(&local.len())
            && local.bytes().all(is_local_byte)
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if value.len() > MAX_EMAIL_BYTES || !local_ok || !is_domain(domain) {
            return Err(invalid());
        }
        Ok(EmailAddress(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the form shown on screen: the first character of the local part and the
    /// whole domain, such as `z***@example.com`.
    pub fn masked(&self) -> String {
        mask_email(&self.0)
    }
}

/// Reports whether `byte` may appear in an unquoted local part: RFC 5322 `atext` or a
/// dot, except `*`, so that a masked address copied from an export (`z***@example.com`)
/// is rejected instead of stored as if it were real.
fn is_local_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'+-/=?^_`{|}~.".contains(&byte)
}

/// Reports whether `domain` is a host name of two or more labels with a letter TLD.
fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let top = labels.last().copied().unwrap_or_default();
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && top.len() >= 2
        && top.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Masks an e-mail address; see [`EmailAddress::masked`].
pub fn mask_email(value: &str) -> String {
    match value.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::residents::Gender;

    #[test]
    fn parse_valid_identity_numbers() {
        let cases = [
            ("standard example with X check", "11010519491231002x", "1949-12-31", Gender::Female),
            ("spaces inside", "110105 19900307 451x", "1990-03-07", Gender::Male),
        ];
        for (description, text, birth, gender) in cases {
            let number = IdentityNumber::parse(text)
                .unwrap_or_else(|error| panic!("{description}: {error:?}"));
            assert_eq!(number.birth_date().to_string(), birth, "{description}");
            assert_eq!(number.gender(), gender, "{description}");
        }
        assert_eq!(
            IdentityNumber::parse("11010519491231002x").unwrap().as_str(),
            "11010519491231002X"
        );
    }

    #[test]
    fn parse_names_what_is_wrong() {
        let cases = [
            ("17 digits", "11010519491231002", "identity_number_format"),
            ("letter inside", "1101051949123100AX", "identity_number_format"),
            ("February 30th", "110105199002301234", "identity_number_birth_date"),
            ("born in the future", "110105299001011234", "identity_number_birth_date"),
            ("wrong check digit", "110105194912310021", "identity_number_check_digit"),
        ];
        for (description, text, code) in cases {
            let error = IdentityNumber::parse(text).expect_err(description);
            assert_eq!(error.code, code, "{description}");
            assert_eq!(error.field.as_deref(), Some("identity_number"), "{description}");
        }
    }

    #[test]
    fn masks_hide_the_middle() {
        assert_eq!(mask_identity("11010519491231002X"), "110105********002X");
        assert_eq!(mask_phone("13800138000"), "138****8000");
        assert_eq!(mask_phone("01065529988"), "*******9988");
    }

    #[test]
    fn phone_parse_normalizes_and_refuses_junk() {
        assert_eq!(PhoneNumber::parse("+86 138-0013-8000").unwrap().as_str(), "13800138000");
        assert_eq!(PhoneNumber::parse("010-6552 9988").unwrap().as_str(), "01065529988");
        for text in ["12345", "138001380001234", "phone"] {
            assert_eq!(PhoneNumber::parse(text).unwrap_err().code, "phone_invalid", "{text}");
        }
    }

    #[test]
    fn email_parse_normalizes_valid_addresses() {
        let cases = [
            ("plain", "zhang.san@example.com", "zhang.san@example.com"),
            ("spaces and capitals", "  Li.Si@Mail.Example.CN ", "li.si@mail.example.cn"),
            ("plus tag", "wang+notices@example.org", "wang+notices@example.org"),
        ];
        for (description, text, expected) in cases {
            let address = EmailAddress::parse(text)
                .unwrap_or_else(|error| panic!("{description}: {error:?}"));
            assert_eq!(address.as_str(), expected, "{description}");
        }
    }

    #[test]
    fn email_parse_rejects_malformed_addresses() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let cases = [
            ("no at sign", "zhang.example.com"),
            ("two at signs", "zhang@san@example.com"),
            ("empty local part", "@example.com"),
            ("no dot in domain", "zhang@localhost"),
            ("numeric top-level domain", "zhang@10.0.0.1"),
            ("space inside", "zhang san@example.com"),
            ("display name", "张三 <zhang@example.com>"),
            ("two addresses", "a@example.com,b@example.com"),
            ("double dot", "zhang..san@example.com"),
            ("masked form from an export", "z***@example.com"),
            ("label starts with hyphen", "zhang@-example.com"),
            ("local part over 64 bytes", long_local.as_str()),
            ("empty", ""),
        ];
        for (description, text) in cases {
            let error = EmailAddress::parse(text).expect_err(description);
            assert_eq!(error.code, "email_invalid", "{description}");
            assert_eq!(error.field.as_deref(), Some("email"), "{description}");
        }
    }

    #[test]
    fn email_mask_keeps_first_character_and_domain() {
        assert_eq!(mask_email("zhang@example.com"), "z***@example.com");
        assert_eq!(EmailAddress::parse("Z@example.com").unwrap().masked(), "z***@example.com");
        assert!(
            !format!("{:?}", EmailAddress::parse("zhang@example.com").unwrap()).contains("zhang")
        );
    }
}
