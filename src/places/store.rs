//! Storage of the gazetteer on SQLite and PostgreSQL.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Place, PlaceKind};
use crate::{db::Db, with_pool};

/// The separator of aliases in the `aliases` column; no alias contains it, because the
/// CSV import splits on it.
pub const ALIAS_SEPARATOR: char = '|';

/// A place to create or replace, already validated, located and in WGS-84.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlace {
    pub name: String,
    pub aliases: Vec<String>,
    pub kind: PlaceKind,
    pub longitude: f64,
    pub latitude: f64,
    pub grid_id: Option<i64>,
    pub community_id: Option<i64>,
}

#[derive(FromRow)]
struct PlaceRow {
    place_id: i64,
    name: String,
    aliases: String,
    kind: String,
    longitude: f64,
    latitude: f64,
    grid_id: Option<i64>,
    community_id: Option<i64>,
    updated_at: DateTime<Utc>,
}

impl PlaceRow {
    /// Converts a row; a kind the CHECK constraint should have refused becomes a
    /// landmark rather than hiding the place from every lookup.
    fn into_place(self) -> Place {
        let aliases = self
            .aliases
            .split(ALIAS_SEPARATOR)
            .filter(|alias| !alias.is_empty())
            .map(str::to_owned)
            .collect();
        Place {
            place_id: self.place_id,
            name: self.name,
            aliases,
            kind: PlaceKind::parse(&self.kind).unwrap_or(PlaceKind::Landmark),
            longitude: self.longitude,
            latitude: self.latitude,
            grid_id: self.grid_id,
            community_id: self.community_id,
            updated_at: self.updated_at,
        }
    }
}

/// Lists every place, by name.
pub async fn list_places(db: &Db) -> Result<Vec<Place>, sqlx::Error> {
    let rows: Vec<PlaceRow> = with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT place_id, name, aliases, kind, longitude, latitude, grid_id, community_id, \
             updated_at FROM place ORDER BY name",
        )
        .fetch_all(pool)
        .await
    })?;
    Ok(rows.into_iter().map(PlaceRow::into_place).collect())
}

/// How many places one save created and how many it replaced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SaveCounts {
    pub created: usize,
    pub updated: usize,
}

/// Creates the places or replaces those of the same name, in one transaction.
///
/// # Errors
/// A database failure; nothing is written then.
pub async fn save_places(db: &Db, places: &[NewPlace]) -> Result<SaveCounts, sqlx::Error> {
    let now = Utc::now();
    with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        let mut counts = SaveCounts::default();
        for place in places {
            let existing: Option<(i64,)> =
                sqlx::query_as("SELECT place_id FROM place WHERE name = $1")
                    .bind(&place.name)
                    .fetch_optional(&mut *tx)
                    .await?;
            if existing.is_some() {
                counts.updated += 1;
            } else {
                counts.created += 1;
            }
            let aliases = place.aliases.join(&ALIAS_SEPARATOR.to_string());
            sqlx::query(
                "INSERT INTO place (name, aliases, kind, longitude, latitude, grid_id, \
                 community_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (name) DO UPDATE SET aliases = excluded.aliases, \
                 kind = excluded.kind, longitude = excluded.longitude, \
                 latitude = excluded.latitude, grid_id = excluded.grid_id, \
                 community_id = excluded.community_id, updated_at = excluded.updated_at",
            )
            .bind(&place.name)
            .bind(aliases)
            .bind(place.kind.as_str())
            .bind(place.longitude)
            .bind(place.latitude)
            .bind(place.grid_id)
            .bind(place.community_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(counts)
    })
}
