//! The database steps of an import: finding numbers and households registered already,
//! and writing a checked plan in one transaction.

use std::collections::HashMap;

use chrono::Utc;

use super::{
    columns::Field,
    job::Progress,
    validate::{Plan, RowProblem},
};
use crate::{
    db::Db,
    http::UserMessage,
    residents::crypto::{Field as SealedField, Keyring},
    with_pool,
};

/// Identity hashes per query: well under the bind limits of SQLite (32,766) and PostgreSQL.
const HASHES_PER_QUERY: usize = 500;
/// Residents written between two progress log lines.
const PROGRESS_EVERY_ROWS: usize = 10_000;

/// Adds a problem for every planned resident whose identity number is registered
/// already, and drops that resident from the plan.
///
/// # Errors
/// The database error of a failed query.
pub async fn mark_registered(db: &Db, plan: &mut Plan) -> Result<(), sqlx::Error> {
    let hashes: Vec<String> = plan
        .households
        .iter()
        .flat_map(|household| household.residents.iter().map(|r| r.identity_hash.clone()))
        .collect();
    let mut registered = std::collections::HashSet::new();
    for chunk in hashes.chunks(HASHES_PER_QUERY) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT identity_hash FROM resident WHERE identity_hash IN ({})",
            placeholders.join(",")
        );
        let found: Vec<String> = with_pool!(db, |pool| {
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()));
            for hash in chunk {
                query = query.bind(hash);
            }
            query.fetch_all(pool).await
        })?;
        registered.extend(found);
    }
    for household in &mut plan.households {
        household.residents.retain(|resident| {
            let known = registered.contains(&resident.identity_hash);
            if known {
                // Says nothing about where the person lives: they may be outside the scope.
                let message = UserMessage::new("resident_import_duplicate_registered");
                let field = Field::IdentityNumber;
                plan.problems.push(RowProblem { row: resident.row, field, message });
            }
            !known
        });
    }
    plan.households.retain(|household| !household.residents.is_empty());
    Ok(())
}

/// Points each planned household at a registered household with the same address in
/// the same grid, so that new members join it instead of a copy.
///
/// # Errors
/// The database error of a failed query.
pub async fn match_households(db: &Db, plan: &mut Plan) -> Result<(), sqlx::Error> {
    let mut grid_ids: Vec<i64> = plan.households.iter().map(|h| h.grid_id).collect();
    grid_ids.sort_unstable();
    grid_ids.dedup();
    if grid_ids.is_empty() {
        return Ok(());
    }
    // Ids come from the area index, never from the file, and are integers.
    let ids: Vec<String> = grid_ids.iter().map(i64::to_string).collect();
    let sql = format!(
        "SELECT household_id, address, grid_id FROM household WHERE grid_id IN ({}) \
         ORDER BY household_id",
        ids.join(",")
    );
    let rows: Vec<(i64, String, i64)> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await
    })?;
    // NOTE: when the registry has two households at one address, the older one is joined.
    let mut existing: HashMap<(String, i64), i64> = HashMap::new();
    for (household_id, address, grid_id) in rows {
        existing.entry((address, grid_id)).or_insert(household_id);
    }
    for household in &mut plan.households {
        household.existing_id =
            existing.get(&(household.address.clone(), household.grid_id)).copied();
    }
    Ok(())
}

/// Writes every household and resident of a plan without problems in one transaction,
/// counting written residents in `progress`.
///
/// # Errors
/// The database error; a unique violation means a person was registered after the
/// check, and nothing is written then.
pub async fn write_plan(
    db: &Db,
    keys: &Keyring,
    plan: &Plan,
    progress: &Progress,
) -> Result<(), sqlx::Error> {
    let import_id = progress.import_id();
    let now = Utc::now();
    let _turn = db.write_turn().await;
    let mut written = 0usize;
    with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        for household in &plan.households {
            let household_id: i64 = match household.existing_id {
                Some(id) => id,
                None => {
                    sqlx::query_scalar(
                        "INSERT INTO household (address, grid_id, created_at, updated_at) \
                         VALUES ($1, $2, $3, $3) RETURNING household_id",
                    )
                    .bind(&household.address)
                    .bind(household.grid_id)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                }
            };
            for resident in &household.residents {
                let identity = resident.identity.as_str();
                let phone = resident.phone.as_ref();
                let email = resident.email.as_ref();
                let resident_id: i64 = sqlx::query_scalar(
                    "INSERT INTO resident (household_id, grid_id, name, gender, birth_date, \
                     relation, identity_sealed, identity_hash, identity_masked, phone_sealed, \
                     phone_hash, phone_masked, email_sealed, email_hash, email_masked, \
                     created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                     $15, $16, $16) \
                     RETURNING resident_id",
                )
                .bind(household_id)
                .bind(household.grid_id)
                .bind(&resident.name)
                .bind(resident.gender.as_str())
                .bind(resident.birth_date)
                .bind(resident.relation.as_str())
                .bind(keys.seal(SealedField::IdentityNumber, identity))
                .bind(&resident.identity_hash)
                .bind(resident.identity.masked())
                .bind(phone.map(|p| keys.seal(SealedField::Phone, p.as_str())))
                .bind(phone.map(|p| keys.lookup_hash(SealedField::Phone, p.as_str())))
                .bind(phone.map(|p| p.masked()))
                .bind(email.map(|e| keys.seal(SealedField::Email, e.as_str())))
                .bind(email.map(|e| keys.lookup_hash(SealedField::Email, e.as_str())))
                .bind(email.map(|e| e.masked()))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                for (tag_id, tag) in &resident.tags {
                    sqlx::query(
                        "INSERT INTO resident_tag_assignment (resident_id, tag_id, \
                         disability_category, disability_grade, from_area, since, created_at) \
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
                written += 1;
                progress.set_rows_written(written).await;
                if written.is_multiple_of(PROGRESS_EVERY_ROWS) {
                    tracing::info!(
                        import.id = import_id,
                        import.residents_written = written,
                        "resident import progress"
                    );
                }
            }
        }
        tx.commit().await
    })
}
