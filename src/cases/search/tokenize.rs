//! Turning case text and search queries into index terms.
//!
//! Chinese has no spaces between words, so CJK text is indexed as overlapping character
//! bigrams: 井盖丢失 becomes 井盖, 盖丢 and 丢失, and a two-character word such as 噪音
//! is one term. Each CJK run also ends with its last character as a term of its own,
//! so that a one-character run is indexed and so that a one-character query can find
//! every position of a character (see [`QueryGroup::Prefix`]). Latin letters and
//! digits form words, lowercased, with full-width forms (Ａ１) folded to ASCII first.
//! Every other character separates terms.

use crate::text::fold_full_width;

/// Maximum indexed word length, in characters. Longer words are cut to this length on
/// both the index and the query side, so they still match. The cut keeps words under
/// PostgreSQL's lexeme limit of 2,047 bytes.
pub const MAX_WORD_CHARS: usize = 64;

/// One condition of a parsed query. A case matches a query when it matches every group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryGroup {
    /// A Latin or digit word, matched as a whole lowercased word.
    Word(String),
    /// The bigrams of a CJK run of two or more characters, matched as consecutive terms,
    /// so that 井盖丢失 matches only text containing those four characters in order.
    Phrase(Vec<String>),
    /// A single CJK character, matched as a prefix of the indexed terms. Every position
    /// of a character starts a bigram or ends its run, so 井 finds 井盖 as well as 水井.
    Prefix(String),
}

/// Returns the index terms of `text` in order, for the search index.
pub fn index_terms(text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for token in tokens(text) {
        match token {
            Token::Word(word) => terms.push(word),
            Token::Cjk(run) => {
                terms.extend(run.windows(2).map(|pair| pair.iter().collect::<String>()));
                terms.extend(run.last().map(char::to_string));
            }
        }
    }
    terms
}

/// Parses a search query into the groups a case must all match, in query order.
pub fn query_groups(query: &str) -> Vec<QueryGroup> {
    tokens(query)
        .map(|token| match token {
            Token::Word(word) => QueryGroup::Word(word),
            Token::Cjk(run) if run.len() == 1 => QueryGroup::Prefix(run[0].to_string()),
            Token::Cjk(run) => QueryGroup::Phrase(
                run.windows(2).map(|pair| pair.iter().collect::<String>()).collect(),
            ),
        })
        .collect()
}

enum Token {
    Word(String),
    Cjk(Vec<char>),
}

/// Splits `text` into words and CJK runs.
fn tokens(text: &str) -> impl Iterator<Item = Token> + '_ {
    let mut chars = text.chars().map(fold_full_width).peekable();
    std::iter::from_fn(move || {
        while chars.peek().is_some_and(|c| !is_cjk(*c) && !c.is_alphanumeric()) {
            chars.next();
        }
        let first = chars.next()?;
        if is_cjk(first) {
            let mut run = vec![first];
            while let Some(c) = chars.next_if(|c| is_cjk(*c)) {
                run.push(c);
            }
            return Some(Token::Cjk(run));
        }
        let mut word: String = first.to_lowercase().collect();
        let mut length = 1;
        while let Some(c) = chars.next_if(|c| c.is_alphanumeric() && !is_cjk(*c)) {
            if length < MAX_WORD_CHARS {
                word.extend(c.to_lowercase());
                length += 1;
            }
        }
        Some(Token::Word(word))
    })
}

/// Checks whether `c` is written without spaces between words: Han ideographs, Japanese
/// kana and Hangul syllables.
fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x3007                 // 〇, the ideographic zero
        | 0x3040..=0x30FF      // Hiragana and Katakana
        | 0x3400..=0x4DBF      // CJK Unified Ideographs Extension A
        | 0x4E00..=0x9FFF      // CJK Unified Ideographs
        | 0xAC00..=0xD7AF      // Hangul syllables
        | 0xF900..=0xFAFF      // CJK Compatibility Ideographs
        | 0x20000..=0x3134F    // Extensions B to G and the compatibility supplement
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(terms: &[&str]) -> Vec<String> {
        terms.iter().map(|term| (*term).to_owned()).collect()
    }

    #[test]
    fn index_terms_cover_cjk_latin_and_digits() {
        let cases: [(&str, &str, &[&str]); 7] = [
            ("two-character word", "噪音", &["噪音", "音"]),
            ("longer run", "井盖丢失", &["井盖", "盖丢", "丢失", "失"]),
            ("one-character run", "3号", &["3", "号"]),
            (
                "mixed text",
                "夜间施工Noise扰民!",
                &["夜间", "间施", "施工", "工", "noise", "扰民", "民"],
            ),
            ("full-width letters", "Ａ１栋", &["a1", "栋"]),
            ("punctuation separates runs", "井盖，噪音", &["井盖", "盖", "噪音", "音"]),
            ("no terms", " ,.!？ ", &[]),
        ];
        for (description, text, expected) in cases {
            assert_eq!(index_terms(text), strings(expected), "{description}: {text}");
        }
    }

    #[test]
    fn index_terms_cut_long_words() {
        let long_word = "a".repeat(MAX_WORD_CHARS + 10);
        let terms = index_terms(&long_word);
        assert_eq!(terms, vec!["a".repeat(MAX_WORD_CHARS)]);
    }

    #[test]
    fn query_groups_turn_runs_into_phrases_and_prefixes() {
        let groups = query_groups("井盖丢失 噪音 井 Loud");
        let expected = vec![
            QueryGroup::Phrase(strings(&["井盖", "盖丢", "丢失"])),
            QueryGroup::Phrase(strings(&["噪音"])),
            QueryGroup::Prefix("井".to_owned()),
            QueryGroup::Word("loud".to_owned()),
        ];
        assert_eq!(groups, expected);
    }

    #[test]
    fn query_of_punctuation_has_no_groups() {
        assert!(query_groups("!!! ，。").is_empty());
    }

    #[test]
    fn every_position_of_a_character_starts_or_ends_a_term() {
        for text in ["水井", "井盖", "水井盖", "井"] {
            let terms = index_terms(text);
            assert!(terms.iter().any(|term| term.starts_with('井')), "{text}: {terms:?}");
        }
    }
}
