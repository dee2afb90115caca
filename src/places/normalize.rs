//! Normalising address text so that the ways people type one place compare equal.

/// Folds full-width forms to half-width, drops every kind of white space and lowercases
/// Latin letters, so that `春望里３号楼`, `春望里 3 号楼` and `春望里3号楼` give one key.
pub fn normalize(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let c = match c {
                // The ideographic space folds like any other space and is dropped below.
                '\u{3000}' => ' ',
                _ => crate::text::fold_full_width(c),
            };
            (!c.is_whitespace()).then(|| c.to_ascii_lowercase())
        })
        .collect()
}

/// Removes leading administrative names, such as `北京市朝阳区春望街道` before
/// `春望里3号楼`, from a normalised text.
///
/// `prefixes` are normalised names of the city, district and street; each may appear
/// once, in any order, and the longest that fits is removed first. A text that is
/// nothing but such names is returned unchanged, so `春望街道` can still name a place.
pub fn strip_admin_prefix<'a>(text: &'a str, prefixes: &[String]) -> &'a str {
    let mut rest = text;
    let mut sorted: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    sorted.sort_by_key(|prefix| std::cmp::Reverse(prefix.chars().count()));
    while let Some(stripped) = sorted
        .iter()
        .filter(|prefix| !prefix.is_empty())
        .find_map(|prefix| rest.strip_prefix(prefix))
    {
        rest = stripped;
    }
    if rest.is_empty() { text } else { rest }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_full_width_and_drops_spaces() {
        let cases = [
            ("full-width digits", "春望里３号楼", "春望里3号楼"),
            ("ideographic space", "春望里\u{3000}3 号楼", "春望里3号楼"),
            ("full-width letters", "Ａ座", "a座"),
            ("tabs and newlines", " 春望路\t8号\n", "春望路8号"),
        ];
        for (description, input, expected) in cases {
            assert_eq!(normalize(input), expected, "{description}");
        }
    }

    #[test]
    fn admin_prefix_is_stripped_only_when_present() {
        let prefixes: Vec<String> =
            ["北京市", "北京", "朝阳区", "春望街道"].iter().map(|p| (*p).to_owned()).collect();
        let cases = [
            ("city, district and street", "北京市朝阳区春望街道春望里3号楼", "春望里3号楼"),
            ("short city name", "北京朝阳区春望里", "春望里"),
            ("street only", "春望街道春望里", "春望里"),
            ("no prefix", "春望里3号楼", "春望里3号楼"),
            ("only the street's name", "春望街道", "春望街道"),
        ];
        for (description, input, expected) in cases {
            assert_eq!(strip_admin_prefix(input, &prefixes), expected, "{description}");
        }
    }
}
