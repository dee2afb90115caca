//! Message catalogs and language negotiation.
//!
//! Every user-visible text lives in Fluent files under `locales/<lang>/*.ftl`, one file
//! per context, embedded at build time. Simplified Chinese is the default and the
//! fallback; English is the alternative. A unit test keeps both catalogs' ids equal.

use std::{borrow::Cow, collections::HashMap};

use fluent_templates::{Loader, static_loader};
use unic_langid::{LanguageIdentifier, langid};

pub use fluent_templates::fluent_bundle::FluentValue;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "zh-CN",
        // Unicode isolation marks would show up inside HTML attributes and CSV cells.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static ZH_CN: LanguageIdentifier = langid!("zh-CN");
static EN: LanguageIdentifier = langid!("en");

/// A language the console is translated into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Locale {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

/// Name of the cookie that remembers a visitor's language choice.
pub const LOCALE_COOKIE: &str = "citycore_lang";

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::ZhCn, Locale::En];

    /// Returns the BCP 47 tag, also used in `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    /// Parses `zh-CN`/`zh`/`en` and their common variants; anything else is `None`.
    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Locale::ZhCn),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// Picks the best supported language of an `Accept-Language` header by its q-values.
    pub fn negotiate(accept_language: &str) -> Option<Locale> {
        let mut best: Option<(f32, Locale)> = None;
        for part in accept_language.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or_default();
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(locale) = Locale::parse(tag)
                && quality > 0.0
                && best.is_none_or(|(q, _)| quality > q)
            {
                best = Some((quality, locale));
            }
        }
        best.map(|(_, locale)| locale)
    }

    fn langid(self) -> &'static LanguageIdentifier {
        match self {
            Locale::ZhCn => &ZH_CN,
            Locale::En => &EN,
        }
    }

    /// Looks up the message `id`, returning the id itself when the catalog lacks it.
    pub fn t(self, id: &str) -> String {
        LOCALES.try_lookup(self.langid(), id).unwrap_or_else(|| id.to_owned())
    }

    /// Looks up the message `id` and formats it with Fluent arguments.
    pub fn t_args(self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .map(|(key, value)| (Cow::Owned((*key).to_owned()), value.clone()))
            .collect();
        LOCALES.try_lookup_with_args(self.langid(), id, &map).unwrap_or_else(|| id.to_owned())
    }
}

/// Builds a Fluent string argument.
pub fn arg<'a>(value: impl Into<Cow<'a, str>>) -> FluentValue<'a> {
    FluentValue::String(value.into())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn message_ids(locale: &str) -> BTreeSet<String> {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales").join(locale);
        let mut ids = BTreeSet::new();
        for entry in std::fs::read_dir(folder).expect("locale folder exists") {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text.lines() {
                let starts_id = line.starts_with(|c: char| c.is_ascii_lowercase());
                if let (true, Some((id, _))) = (starts_id, line.split_once(" =")) {
                    // Fluent rejects a bundle whose files define one id twice, at run time.
                    assert!(ids.insert(id.trim().to_owned()), "{locale}: {id} defined twice");
                }
            }
        }
        ids
    }

    #[test]
    fn catalogs_define_same_message_ids() {
        let chinese = message_ids("zh-CN");
        let english = message_ids("en");
        let only_chinese: Vec<_> = chinese.difference(&english).collect();
        let only_english: Vec<_> = english.difference(&chinese).collect();
        assert!(only_chinese.is_empty(), "missing in en: {only_chinese:?}");
        assert!(only_english.is_empty(), "missing in zh-CN: {only_english:?}");
    }

    #[test]
    fn negotiate_prefers_highest_quality() {
        assert_eq!(Locale::negotiate("en-US,en;q=0.9,zh-CN;q=0.8"), Some(Locale::En));
        assert_eq!(Locale::negotiate("fr;q=1, zh-TW;q=0.5, en;q=0.4"), Some(Locale::ZhCn));
        assert_eq!(Locale::negotiate("fr, de"), None);
        assert_eq!(Locale::negotiate("en;q=0"), None);
    }

    #[test]
    fn lookup_falls_back_to_id() {
        assert_eq!(Locale::En.t("no-such-message"), "no-such-message");
        assert_eq!(Locale::ZhCn.t("app-tagline"), "街道数字治理平台");
        assert_eq!(Locale::En.t("app-tagline"), "Digital governance for a city street");
    }
}
