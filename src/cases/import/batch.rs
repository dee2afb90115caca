//! Backend-specific statements of the bulk import: one batch of case rows and their
//! intake log entries per statement.
//!
//! SQLite gets multi-row `VALUES` inserts sized to its parameter limit. PostgreSQL gets
//! one array per column and `unnest`, so a batch of any size is one statement with a
//! fixed text that the server plans once per connection.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, SqliteConnection};

use super::parse::ImportedCase;

/// Rows per SQLite `INSERT`: 23 columns each keeps a batch at 11,500 parameters, under
/// SQLite's default limit of 32,766.
const SQLITE_BATCH_ROWS: usize = 500;
/// SQLite page cache of a bulk import's connection, in KiB. 256 MiB is an estimate of
/// the secondary indexes with random keys (tracking token, duplicate lookup) at two
/// million cases. With the default 2 MiB cache most such inserts read their leaf page
/// back from the operating system.
const SQLITE_BULK_CACHE_KIB: i64 = 256 * 1024;
/// Longest stored case type, in characters, so that a long foreign title still fits
/// the description limit.
const MAX_TITLE_CHARS: usize = 200;

/// One imported case as it is stored: the parsed row with its place in the grids and
/// the values the import derives for it.
pub struct CaseRow<'a> {
    pub case: &'a ImportedCase,
    /// Grid and community, `None` outside every grid.
    pub place: Option<(i64, Option<i64>)>,
    pub tracking_token: String,
    /// The source's case type cut to `MAX_TITLE_CHARS`; also the description.
    pub title: String,
    pub category_code: &'a str,
    pub stage: &'static str,
}

impl<'a> CaseRow<'a> {
    pub fn new(
        case: &'a ImportedCase,
        place: Option<(i64, Option<i64>)>,
        category_code: &'a str,
        stage: &'static str,
    ) -> Self {
        CaseRow {
            case,
            place,
            tracking_token: crate::cases::case::tracking::new_tracking_token(chrono::Utc::now()),
            title: case.category.chars().take(MAX_TITLE_CHARS).collect(),
            category_code,
            stage,
        }
    }

    /// Returns the current deadline: the source's target time while the case is open.
    fn due_at(&self) -> Option<DateTime<Utc>> {
        if self.case.closed_at.is_some() { None } else { self.case.target_at }
    }

    /// Returns the rating, which counts only for a closed case.
    fn rating(&self) -> Option<i32> {
        self.case.rating.filter(|_| self.case.closed_at.is_some())
    }
}

/// The id a stored case got, with its source id to match it to its row.
pub type StoredId = (i64, String);

/// Inserting import batches through one connection, inside the import's transaction.
pub trait ImportBatch {
    /// Tunes a connection that the caller closes after the import, before its
    /// transaction begins.
    fn prepare_bulk_write(&mut self) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Inserts `rows` from `source` and returns each new case id with its source id,
    /// in no particular order.
    fn insert_case_rows(
        &mut self,
        source: &str,
        rows: &[CaseRow<'_>],
    ) -> impl Future<Output = Result<Vec<StoredId>, sqlx::Error>> + Send;

    /// Inserts the intake log entry of each stored case: its id, stage and report time.
    fn insert_intake_events(
        &mut self,
        events: &[(i64, &'static str, DateTime<Utc>)],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

const CASE_COLUMNS: &str = "tracking_token, title, description, category_code, channel, \
     longitude, latitude, grid_id, community_id, outside_grids, department_code, stage, \
     due_at, handling_due_at, closed_at, version, created_at, updated_at, external_source, \
     external_id, external_category, default_location, rating";

impl ImportBatch for SqliteConnection {
    async fn prepare_bulk_write(&mut self) -> Result<(), sqlx::Error> {
        let pragma = format!("PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}");
        sqlx::query(sqlx::AssertSqlSafe(pragma)).execute(&mut *self).await?;
        Ok(())
    }

    async fn insert_case_rows(
        &mut self,
        source: &str,
        rows: &[CaseRow<'_>],
    ) -> Result<Vec<StoredId>, sqlx::Error> {
        let mut stored = Vec::with_capacity(rows.len());
        for batch in rows.chunks(SQLITE_BATCH_ROWS) {
            let mut insert =
                sqlx::QueryBuilder::new(format!("INSERT INTO service_case ({CASE_COLUMNS}) "));
            insert.push_values(batch, |mut values, row| {
                let case = row.case;
                values
                    .push_bind(row.tracking_token.as_str())
                    .push_bind(row.title.as_str())
                    .push_bind(row.title.as_str())
                    .push_bind(row.category_code)
                    .push_bind("api")
                    .push_bind(case.longitude)
                    .push_bind(case.latitude)
                    .push_bind(row.place.map(|(grid_id, _)| grid_id))
                    .push_bind(row.place.and_then(|(_, community_id)| community_id))
                    .push_bind(row.place.is_none())
                    .push_bind(case.agency.as_str())
                    .push_bind(row.stage)
                    .push_bind(row.due_at())
                    .push_bind(case.target_at)
                    .push_bind(case.closed_at)
                    .push_bind(1_i64)
                    .push_bind(case.opened_at)
                    .push_bind(case.closed_at.unwrap_or(case.opened_at))
                    .push_bind(source)
                    .push_bind(case.external_id.as_str())
                    .push_bind(case.category.as_str())
                    .push_bind(case.default_location)
                    .push_bind(row.rating());
            });
            insert.push(" RETURNING case_id, external_id");
            stored.extend(insert.build_query_as::<StoredId>().fetch_all(&mut *self).await?);
        }
        Ok(stored)
    }

    async fn insert_intake_events(
        &mut self,
        events: &[(i64, &'static str, DateTime<Utc>)],
    ) -> Result<(), sqlx::Error> {
        // Three parameters per row, so a batch of four times the case rows also stays
        // under the parameter limit.
        for batch in events.chunks(SQLITE_BATCH_ROWS * 4) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO case_event (case_id, action, from_stage, to_stage, comment, \
                 attachment_ids, details, occurred_at) ",
            );
            insert.push_values(batch, |mut values, (case_id, stage, occurred_at)| {
                values
                    .push_bind(*case_id)
                    .push_unseparated(", 'intake', NULL")
                    .push_bind(*stage)
                    .push_unseparated(", '', '[]', '{}'")
                    .push_bind(*occurred_at);
            });
            insert.build().execute(&mut *self).await?;
        }
        Ok(())
    }
}

impl ImportBatch for PgConnection {
    async fn prepare_bulk_write(&mut self) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn insert_case_rows(
        &mut self,
        source: &str,
        rows: &[CaseRow<'_>],
    ) -> Result<Vec<StoredId>, sqlx::Error> {
        let column = |value: fn(&CaseRow<'_>) -> String| rows.iter().map(value).collect();
        let tokens: Vec<String> = column(|row| row.tracking_token.clone());
        let titles: Vec<String> = column(|row| row.title.clone());
        let categories: Vec<String> = column(|row| row.category_code.to_owned());
        let departments: Vec<String> = column(|row| row.case.agency.clone());
        let stages: Vec<String> = column(|row| row.stage.to_owned());
        let external_ids: Vec<String> = column(|row| row.case.external_id.clone());
        let external_categories: Vec<String> = column(|row| row.case.category.clone());
        let longitudes: Vec<f64> = rows.iter().map(|row| row.case.longitude).collect();
        let latitudes: Vec<f64> = rows.iter().map(|row| row.case.latitude).collect();
        let grids: Vec<Option<i64>> =
            rows.iter().map(|row| row.place.map(|(grid_id, _)| grid_id)).collect();
        let communities: Vec<Option<i64>> =
            rows.iter().map(|row| row.place.and_then(|(_, community_id)| community_id)).collect();
        let due: Vec<Option<DateTime<Utc>>> = rows.iter().map(CaseRow::due_at).collect();
        let targets: Vec<Option<DateTime<Utc>>> =
            rows.iter().map(|row| row.case.target_at).collect();
        let closed: Vec<Option<DateTime<Utc>>> =
            rows.iter().map(|row| row.case.closed_at).collect();
        let opened: Vec<DateTime<Utc>> = rows.iter().map(|row| row.case.opened_at).collect();
        let defaults: Vec<bool> = rows.iter().map(|row| row.case.default_location).collect();
        let ratings: Vec<Option<i32>> = rows.iter().map(CaseRow::rating).collect();

        // The outside_grids flag and updated_at follow from other columns, so the
        // statement derives them rather than sending two more arrays.
        sqlx::query_as(
            "INSERT INTO service_case (tracking_token, title, description, category_code, \
             channel, longitude, latitude, grid_id, community_id, outside_grids, \
             department_code, stage, due_at, handling_due_at, closed_at, version, \
             created_at, updated_at, external_source, external_id, external_category, \
             default_location, rating) \
             SELECT tracking_token, title, title, category_code, 'api', longitude, latitude, \
             grid_id, community_id, grid_id IS NULL, department_code, stage, due_at, \
             handling_due_at, closed_at, 1, created_at, COALESCE(closed_at, created_at), \
             $1, external_id, external_category, default_location, rating \
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::text[], $8::text[], $9::float8[], $10::float8[], $11::int8[], $12::int8[], \
             $13::timestamptz[], $14::timestamptz[], $15::timestamptz[], \
             $16::timestamptz[], $17::bool[], $18::int4[]) \
             AS row (tracking_token, title, category_code, department_code, stage, \
             external_id, external_category, longitude, latitude, grid_id, community_id, \
             due_at, handling_due_at, closed_at, created_at, default_location, rating) \
             RETURNING case_id, external_id",
        )
        .bind(source)
        .bind(tokens)
        .bind(titles)
        .bind(categories)
        .bind(departments)
        .bind(stages)
        .bind(external_ids)
        .bind(external_categories)
        .bind(longitudes)
        .bind(latitudes)
        .bind(grids)
        .bind(communities)
        .bind(due)
        .bind(targets)
        .bind(closed)
        .bind(opened)
        .bind(defaults)
        .bind(ratings)
        .fetch_all(self)
        .await
    }

    async fn insert_intake_events(
        &mut self,
        events: &[(i64, &'static str, DateTime<Utc>)],
    ) -> Result<(), sqlx::Error> {
        let case_ids: Vec<i64> = events.iter().map(|(case_id, _, _)| *case_id).collect();
        let stages: Vec<&str> = events.iter().map(|(_, stage, _)| *stage).collect();
        let times: Vec<DateTime<Utc>> = events.iter().map(|(_, _, at)| *at).collect();
        sqlx::query(
            "INSERT INTO case_event (case_id, action, from_stage, to_stage, comment, \
             attachment_ids, details, occurred_at) \
             SELECT case_id, 'intake', NULL, stage, '', '[]', '{}', occurred_at \
             FROM unnest($1::int8[], $2::text[], $3::timestamptz[]) \
             AS row (case_id, stage, occurred_at)",
        )
        .bind(case_ids)
        .bind(stages)
        .bind(times)
        .execute(self)
        .await?;
        Ok(())
    }
}
