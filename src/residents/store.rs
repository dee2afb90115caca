//! Storage of households, residents and tag assignments on SQLite and PostgreSQL.
//!
//! Rows carry only sealed, hashed and masked forms of identity and phone numbers and of
//! e-mail addresses; the functions here never see a clear value.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;

use super::{Gender, Household, Relation, Resident, tags::TagAssignment};
use crate::{db::Db, with_pool};

/// A sensitive value in the three forms the database keeps.
#[derive(Debug, Clone)]
pub struct ProtectedValue {
    pub sealed: String,
    pub hash: String,
    pub masked: String,
}

/// A resident to insert, already validated and protected.
#[derive(Debug, Clone)]
pub struct NewResident {
    pub household_id: i64,
    pub grid_id: i64,
    pub name: String,
    pub gender: Gender,
    pub birth_date: NaiveDate,
    pub relation: Relation,
    pub identity: ProtectedValue,
    pub phone: Option<ProtectedValue>,
    pub email: Option<ProtectedValue>,
    /// Tag ids with their assignments, in the same order.
    pub tags: Vec<(i64, TagAssignment)>,
}

/// The filter of a resident list. `grid_ids` of `None` means every grid (an
/// administrator); an empty list means none.
#[derive(Debug, Clone, Default)]
pub struct ResidentFilter {
    pub grid_ids: Option<Vec<i64>>,
    pub household_id: Option<i64>,
    pub tag_id: Option<i64>,
    pub identity_hash: Option<String>,
    pub phone_hash: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(FromRow)]
struct ResidentRow {
    resident_id: i64,
    household_id: i64,
    grid_id: i64,
    name: String,
    gender: String,
    birth_date: NaiveDate,
    relation: String,
    identity_masked: String,
    phone_masked: Option<String>,
    email_masked: Option<String>,
    created_at: DateTime<Utc>,
}

impl ResidentRow {
    fn into_resident(self, tags: Vec<TagAssignment>) -> Resident {
        Resident {
            resident_id: self.resident_id,
            household_id: self.household_id,
            grid_id: self.grid_id,
            name: self.name,
            gender: Gender::parse(&self.gender).unwrap_or(Gender::Female),
            birth_date: self.birth_date,
            relation: Relation::parse(&self.relation).unwrap_or(Relation::Other),
            identity_number: self.identity_masked,
            phone: self.phone_masked,
            email: self.email_masked,
            tags,
            created_at: self.created_at,
        }
    }
}

#[derive(FromRow)]
struct AssignmentRow {
    resident_id: i64,
    code: String,
    disability_category: Option<String>,
    disability_grade: Option<i32>,
    from_area: Option<String>,
    since: Option<NaiveDate>,
}

const RESIDENT_COLUMNS: &str = "r.resident_id, r.household_id, r.grid_id, r.name, r.gender, \
     r.birth_date, r.relation, r.identity_masked, r.phone_masked, r.email_masked, r.created_at";

/// Inserts a household and returns it.
pub async fn insert_household(
    db: &Db,
    address: &str,
    grid_id: i64,
) -> Result<Household, sqlx::Error> {
    let now = Utc::now();
    let household_id: i64 = with_pool!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO household (address, grid_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $3) RETURNING household_id",
        )
        .bind(address)
        .bind(grid_id)
        .bind(now)
        .fetch_one(pool)
        .await
    })?;
    Ok(Household { household_id, address: address.to_owned(), grid_id, created_at: now })
}

/// Finds a household by id.
pub async fn household_by_id(db: &Db, household_id: i64) -> Result<Option<Household>, sqlx::Error> {
    let row: Option<(i64, String, i64, DateTime<Utc>)> = with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT household_id, address, grid_id, created_at FROM household \
             WHERE household_id = $1",
        )
        .bind(household_id)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(|(household_id, address, grid_id, created_at)| Household {
        household_id,
        address,
        grid_id,
        created_at,
    }))
}

/// Inserts a resident and its tags in one transaction and returns its id.
///
/// # Errors
/// A unique violation on `identity_hash` for a duplicate; nothing is written then.
pub async fn insert_resident(db: &Db, resident: &NewResident) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    let _turn = db.write_turn().await;
    let phone = resident.phone.as_ref();
    let email = resident.email.as_ref();
    with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        let resident_id: i64 = sqlx::query_scalar(
            "INSERT INTO resident (household_id, grid_id, name, gender, birth_date, relation, \
             identity_sealed, identity_hash, identity_masked, phone_sealed, phone_hash, \
             phone_masked, email_sealed, email_hash, email_masked, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
             $16, $16) \
             RETURNING resident_id",
        )
        .bind(resident.household_id)
        .bind(resident.grid_id)
        .bind(&resident.name)
        .bind(resident.gender.as_str())
        .bind(resident.birth_date)
        .bind(resident.relation.as_str())
        .bind(&resident.identity.sealed)
        .bind(&resident.identity.hash)
        .bind(&resident.identity.masked)
        .bind(phone.map(|p| &p.sealed))
        .bind(phone.map(|p| &p.hash))
        .bind(phone.map(|p| &p.masked))
        .bind(email.map(|e| &e.sealed))
        .bind(email.map(|e| &e.hash))
        .bind(email.map(|e| &e.masked))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for (tag_id, tag) in &resident.tags {
            sqlx::query(
                "INSERT INTO resident_tag_assignment (resident_id, tag_id, disability_category, \
                 disability_grade, from_area, since, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(resident_id)
            .bind(tag_id)
            .bind(&tag.disability_category)
            .bind(tag.disability_grade)
            .bind(&tag.from_area)
            .bind(tag.since)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(resident_id)
    })
}

/// Lists residents matching `filter`, by id, with their tags.
pub async fn list_residents(
    db: &Db,
    filter: &ResidentFilter,
) -> Result<Vec<Resident>, sqlx::Error> {
    let scope = match &filter.grid_ids {
        None => String::new(),
        Some(ids) if ids.is_empty() => return Ok(Vec::new()),
        // Ids come from the area index, never from the request, and are integers.
        Some(ids) => format!(" AND r.grid_id IN ({})", join_ids(ids)),
    };
    let sql = format!(
        "SELECT {RESIDENT_COLUMNS} FROM resident r \
         WHERE ($1 IS NULL OR r.household_id = $1) \
         AND ($2 IS NULL OR EXISTS (SELECT 1 FROM resident_tag_assignment a \
             WHERE a.resident_id = r.resident_id AND a.tag_id = $2)) \
         AND ($3 IS NULL OR r.identity_hash = $3) \
         AND ($4 IS NULL OR r.phone_hash = $4){scope} \
         ORDER BY r.resident_id LIMIT $5 OFFSET $6"
    );
    let rows: Vec<ResidentRow> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(filter.household_id)
            .bind(filter.tag_id)
            .bind(&filter.identity_hash)
            .bind(&filter.phone_hash)
            .bind(filter.limit)
            .bind(filter.offset)
            .fetch_all(pool)
            .await
    })?;
    with_tags(db, rows).await
}

/// Finds a resident by id, with tags.
pub async fn resident_by_id(db: &Db, resident_id: i64) -> Result<Option<Resident>, sqlx::Error> {
    let sql = format!("SELECT {RESIDENT_COLUMNS} FROM resident r WHERE r.resident_id = $1");
    let row: Option<ResidentRow> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(resident_id)
            .fetch_optional(pool)
            .await
    })?;
    Ok(with_tags(db, row.into_iter().collect()).await?.pop())
}

/// The sealed forms of a resident's identity number, phone number and e-mail address.
#[derive(Debug, Clone, FromRow)]
pub struct SealedValues {
    pub identity_sealed: String,
    pub phone_sealed: Option<String>,
    pub email_sealed: Option<String>,
}

/// Returns the sealed identity number, phone number and e-mail address of a resident.
pub async fn sealed_values(db: &Db, resident_id: i64) -> Result<Option<SealedValues>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT identity_sealed, phone_sealed, email_sealed FROM resident \
             WHERE resident_id = $1",
        )
        .bind(resident_id)
        .fetch_optional(pool)
        .await
    })
}

async fn with_tags(db: &Db, rows: Vec<ResidentRow>) -> Result<Vec<Resident>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.resident_id).collect();
    let sql = format!(
        "SELECT a.resident_id, t.code, a.disability_category, a.disability_grade, a.from_area, \
         a.since FROM resident_tag_assignment a JOIN resident_tag t ON t.tag_id = a.tag_id \
         WHERE a.resident_id IN ({}) ORDER BY t.code",
        join_ids(&ids)
    );
    let assignments: Vec<AssignmentRow> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await
    })?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let tags = assignments
                .iter()
                .filter(|a| a.resident_id == row.resident_id)
                .map(|a| TagAssignment {
                    code: a.code.clone(),
                    disability_category: a.disability_category.clone(),
                    disability_grade: a.disability_grade,
                    from_area: a.from_area.clone(),
                    since: a.since,
                })
                .collect();
            row.into_resident(tags)
        })
        .collect())
}

fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}
