//! Finding places by address text.
//!
//! The rules, in order, on the normalised text (see [`super::normalize`]):
//!
//! 1. exact: the text, with or without the administrative prefix, is a place's name
//!    or one of its aliases;
//! 2. longest contained: the longest name or alias inside the text (without the prefix)
//!    wins, so `春望里3号楼东侧` finds `春望里3号楼` before `春望里`;
//! 3. otherwise nothing matches.
//!
//! Two places tied by a rule make the text ambiguous: nothing matches and both are
//! offered. Candidates also include places whose names contain the text, which is what
//! a person typing the start of a name wants suggested.

use std::cmp::Reverse;

use super::{
    Place, PlaceError,
    normalize::{normalize, strip_admin_prefix},
    store::list_places,
};
use crate::{areas::Level, db::Db, http::UserMessage, locate::AreaIndex};

/// Shortest name or alias, in characters, that rule 2 looks for inside a text: a single
/// character such as `院` would be found in far too many addresses.
const MIN_CONTAINED_CHARS: usize = 2;
/// Candidates named in an error message on the report form.
const SUGGESTIONS_IN_ERROR: usize = 5;

/// Result of one lookup.
#[derive(Debug, Clone, Default)]
pub struct Lookup<'a> {
    /// The one place the text names, if the rules found exactly one.
    pub matched: Option<&'a Place>,
    /// True when a rule found several places and none was chosen.
    pub ambiguous: bool,
    /// The match (if any) first, then other likely places, at most the limit asked for.
    pub candidates: Vec<&'a Place>,
}

/// Applies the rules to `query` over `places`; `prefixes` are the normalised names
/// of the city, district and street that may lead an address.
pub fn find<'a>(places: &'a [Place], query: &str, prefixes: &[String], limit: usize) -> Lookup<'a> {
    let full = normalize(query);
    if full.is_empty() || limit == 0 {
        return Lookup::default();
    }
    let bare = strip_admin_prefix(&full, prefixes);
    let keyed: Vec<(usize, Vec<String>)> = places.iter().map(keys).enumerate().collect();

    let mut found: Vec<usize> = Vec::new();
    for text in [full.as_str(), bare] {
        found = keyed
            .iter()
            .filter(|(_, keys)| keys.iter().any(|key| key == text))
            .map(|(index, _)| *index)
            .collect();
        if !found.is_empty() {
            break;
        }
    }
    let mut contained: Vec<(usize, usize)> = keyed
        .iter()
        .filter_map(|(index, keys)| {
            let longest = keys
                .iter()
                .map(|key| key.chars().count())
                .zip(keys)
                .filter(|(length, key)| *length >= MIN_CONTAINED_CHARS && bare.contains(*key))
                .map(|(length, _)| length)
                .max()?;
            Some((*index, longest))
        })
        .collect();
    contained.sort_by_key(|(index, length)| (Reverse(*length), *index));
    if found.is_empty()
        && let Some(&(_, longest)) = contained.first()
    {
        found = contained.iter().take_while(|(_, l)| *l == longest).map(|(i, _)| *i).collect();
    }

    let mut containing: Vec<(usize, usize)> = keyed
        .iter()
        .filter_map(|(index, keys)| {
            let shortest =
                keys.iter().filter(|key| key.contains(bare)).map(|k| k.chars().count()).min()?;
            Some((*index, shortest))
        })
        .collect();
    containing.sort_by_key(|(index, length)| (*length, *index));

    let mut order: Vec<usize> = found.clone();
    order.extend(contained.iter().map(|(index, _)| *index));
    order.extend(containing.iter().map(|(index, _)| *index));
    let mut candidates: Vec<&Place> = Vec::new();
    for index in order {
        if candidates.len() == limit {
            break;
        }
        if !candidates.iter().any(|place| std::ptr::eq(*place, &places[index])) {
            candidates.push(&places[index]);
        }
    }
    Lookup {
        matched: (found.len() == 1).then(|| &places[found[0]]),
        ambiguous: found.len() > 1,
        candidates,
    }
}

/// Returns the normalised name and aliases of a place.
fn keys(place: &Place) -> Vec<String> {
    std::iter::once(&place.name)
        .chain(&place.aliases)
        .map(|text| normalize(text))
        .filter(|key| !key.is_empty())
        .collect()
}

/// Collects the normalised names that may lead an address in this street. These are
/// the city, district and street names, and the city's name without `市` (`北京`).
pub fn admin_prefixes(index: &AreaIndex) -> Vec<String> {
    let mut prefixes = Vec::new();
    for area in index.areas() {
        if !matches!(area.level, Level::City | Level::District | Level::Street) {
            continue;
        }
        let name = normalize(&area.name);
        if area.level == Level::City
            && let Some(short) = name.strip_suffix('市').filter(|short| !short.is_empty())
        {
            prefixes.push(short.to_owned());
        }
        prefixes.push(name);
    }
    prefixes
}

/// Owned result of a lookup in the stored gazetteer, with the fields of [`Lookup`].
#[derive(Debug, Clone, Default)]
pub struct PlaceMatches {
    pub matched: Option<Place>,
    pub ambiguous: bool,
    pub candidates: Vec<Place>,
}

/// Looks `query` up in the stored gazetteer.
///
/// # Errors
/// A database failure.
// NOTE: every lookup reads the whole gazetteer. That suits a street's few thousand
// places, but a city-wide gazetteer would need an index of names in the database.
pub async fn lookup_places(
    db: &Db,
    index: &AreaIndex,
    query: &str,
    limit: usize,
) -> Result<PlaceMatches, PlaceError> {
    let places = list_places(db).await?;
    let found = find(&places, query, &admin_prefixes(index), limit);
    Ok(PlaceMatches {
        matched: found.matched.cloned(),
        ambiguous: found.ambiguous,
        candidates: found.candidates.into_iter().cloned().collect(),
    })
}

/// Resolves the address of a report to exactly one place.
///
/// # Errors
/// [`PlaceError::Invalid`] on the field `address` when no place or several places
/// match. The message names the likely places, so the reporter can pick one or click
/// the map instead. A database failure is returned as it is.
#[tracing::instrument(skip_all, fields(place.id = tracing::field::Empty))]
pub async fn resolve_address(
    db: &Db,
    index: &AreaIndex,
    address: &str,
) -> Result<Place, PlaceError> {
    let found = lookup_places(db, index, address, SUGGESTIONS_IN_ERROR).await?;
    if let Some(place) = found.matched {
        tracing::Span::current().record("place.id", place.place_id);
        return Ok(place);
    }
    let names: Vec<&str> = found.candidates.iter().map(|place| place.name.as_str()).collect();
    let code = match (found.ambiguous, names.is_empty()) {
        (true, _) => "place_address_ambiguous",
        (false, true) => "place_address_unknown",
        (false, false) => "place_address_unknown_suggest",
    };
    tracing::debug!(address.code = code, "address not resolved");
    let message = UserMessage::new(code).arg("address", address).arg("places", names.join("、"));
    Err(PlaceError::Invalid(message.field("address")))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::places::PlaceKind;

    fn place(place_id: i64, name: &str, aliases: &[&str]) -> Place {
        Place {
            place_id,
            name: name.to_owned(),
            aliases: aliases.iter().map(|alias| (*alias).to_owned()).collect(),
            kind: PlaceKind::Residential,
            longitude: 116.45,
            latitude: 39.98,
            grid_id: None,
            community_id: None,
            updated_at: Utc::now(),
        }
    }

    fn gazetteer() -> Vec<Place> {
        vec![
            place(1, "春望里", &["春望小区"]),
            place(2, "春望里3号楼", &[]),
            place(3, "青禾里", &["青禾"]),
            place(4, "明湖东区", &["明湖小区"]),
            place(5, "明湖西区", &["明湖小区"]),
            place(6, "春望街道办事处", &[]),
        ]
    }

    #[test]
    fn find_applies_rules_in_order() {
        let places = gazetteer();
        let prefixes: Vec<String> =
            ["北京市", "北京", "朝阳区", "春望街道"].iter().map(|p| (*p).to_owned()).collect();
        let cases = [
            ("exact name", "春望里", Some(1)),
            ("exact alias", "春望小区", Some(1)),
            ("exact after normalising", "春望里 ３号楼", Some(2)),
            ("longest contained name", "春望里3号楼东侧", Some(2)),
            ("shorter contained name", "春望里南门垃圾桶", Some(1)),
            ("prefix stripped", "北京市朝阳区春望街道春望里3号楼", Some(2)),
            ("exact name that starts like a prefix", "春望街道办事处", Some(6)),
            ("alias of two places", "明湖小区", None),
            ("nothing known", "望京西园", None),
            ("one character", "里", None),
        ];
        for (description, query, expected) in cases {
            let found = find(&places, query, &prefixes, 10);
            assert_eq!(found.matched.map(|p| p.place_id), expected, "{description}");
        }
    }

    #[test]
    fn tied_places_are_ambiguous_and_both_offered() {
        let places = gazetteer();
        let found = find(&places, "明湖小区", &[], 10);
        assert!(found.ambiguous);
        let ids: Vec<i64> = found.candidates.iter().map(|p| p.place_id).collect();
        assert_eq!(ids, vec![4, 5]);
    }

    #[test]
    fn candidates_start_with_match_within_limit() {
        let places = gazetteer();
        let found = find(&places, "春望里", &[], 10);
        let ids: Vec<i64> = found.candidates.iter().map(|p| p.place_id).collect();
        assert_eq!(ids, vec![1, 2], "the match, then names containing the text");
        let typed = find(&places, "春望", &[], 1);
        assert_eq!(typed.matched, None, "a partial name matches nothing");
        assert_eq!(typed.candidates.len(), 1, "limited to one");
    }
}
