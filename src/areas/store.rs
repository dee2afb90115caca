//! Storage of areas on SQLite and PostgreSQL.

use chrono::Utc;
use sqlx::FromRow;

use super::{Area, Level};
use crate::{db::Db, with_pool};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("stored area {code} is corrupt: {reason}")]
    Corrupt { code: String, reason: String },
}

/// An area to insert; `parent_code` must name a stored area or one earlier in the batch.
#[derive(Debug, Clone)]
pub struct NewArea {
    pub code: String,
    pub name: String,
    pub level: Level,
    pub parent_code: Option<String>,
    pub geometry: Option<geo::MultiPolygon<f64>>,
    pub responsible_unit: Option<String>,
}

#[derive(FromRow)]
struct AreaRow {
    area_id: i64,
    code: String,
    name: String,
    level: String,
    parent_id: Option<i64>,
    geometry: Option<String>,
    responsible_unit: Option<String>,
}

impl TryFrom<AreaRow> for Area {
    type Error = StoreError;
    fn try_from(row: AreaRow) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt { code: row.code.clone(), reason };
        let level =
            Level::parse(&row.level).ok_or_else(|| corrupt(format!("level {}", row.level)))?;
        let geometry = match &row.geometry {
            None => None,
            Some(text) => {
                let geometry: geojson::Geometry =
                    text.parse().map_err(|e: geojson::Error| corrupt(e.to_string()))?;
                let multi: geo::MultiPolygon<f64> =
                    geometry.try_into().map_err(|e: geojson::Error| corrupt(e.to_string()))?;
                Some(multi)
            }
        };
        Ok(Area {
            area_id: row.area_id,
            code: row.code,
            name: row.name,
            level,
            parent_id: row.parent_id,
            geometry,
            responsible_unit: row.responsible_unit,
        })
    }
}

/// New name and boundary for a stored area, applied by `--update-existing`.
#[derive(Debug, Clone)]
pub struct AreaUpdate {
    pub code: String,
    pub name: String,
    pub geometry: Option<geo::MultiPolygon<f64>>,
}

fn geometry_text(geometry: Option<&geo::MultiPolygon<f64>>) -> Option<String> {
    geometry.map(|g| geojson::Geometry::new(geojson::GeometryValue::from(g)).to_string())
}

/// Storage of the area hierarchy.
pub trait AreaStore {
    /// Lists every area, parents before children.
    fn list_areas(&self) -> impl Future<Output = Result<Vec<Area>, StoreError>> + Send;
    /// Returns the counter that every change to areas increments.
    fn area_revision(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// Inserts `areas` in one transaction, parents first; nothing is written on error.
    fn insert_areas(
        &self,
        areas: &[NewArea],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Inserts `inserts` (parents first) and applies `updates` in one transaction, then
    /// bumps the area revision; nothing is written on error.
    fn write_areas(
        &self,
        inserts: &[NewArea],
        updates: &[AreaUpdate],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl AreaStore for Db {
    async fn list_areas(&self) -> Result<Vec<Area>, StoreError> {
        let rows: Vec<AreaRow> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT area_id, code, name, level, parent_id, geometry, responsible_unit \
                 FROM area ORDER BY CASE level WHEN 'city' THEN 0 WHEN 'district' THEN 1 \
                 WHEN 'street' THEN 2 WHEN 'community' THEN 3 ELSE 4 END, code",
            )
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter().map(Area::try_from).collect()
    }

    async fn area_revision(&self) -> Result<i64, StoreError> {
        let revision: i64 = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT revision FROM area_revision WHERE singleton = 1")
                .fetch_one(pool)
                .await
        })?;
        Ok(revision)
    }

    async fn insert_areas(&self, areas: &[NewArea]) -> Result<usize, StoreError> {
        self.write_areas(areas, &[]).await?;
        Ok(areas.len())
    }

    async fn write_areas(
        &self,
        inserts: &[NewArea],
        updates: &[AreaUpdate],
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for area in inserts {
                let parent_id: Option<i64> = match &area.parent_code {
                    Some(code) => {
                        sqlx::query_scalar("SELECT area_id FROM area WHERE code = $1")
                            .bind(code)
                            .fetch_optional(&mut *tx)
                            .await?
                    }
                    None => None,
                };
                sqlx::query(
                    "INSERT INTO area (code, name, level, parent_id, geometry, responsible_unit, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(&area.code)
                .bind(&area.name)
                .bind(area.level.as_str())
                .bind(parent_id)
                .bind(geometry_text(area.geometry.as_ref()))
                .bind(&area.responsible_unit)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            for area in updates {
                sqlx::query(
                    "UPDATE area SET name = $1, geometry = $2, updated_at = $3 WHERE code = $4",
                )
                .bind(&area.name)
                .bind(geometry_text(area.geometry.as_ref()))
                .bind(now)
                .bind(&area.code)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE area_revision SET revision = revision + 1 WHERE singleton = 1")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
