//! Storing imported cases: one transaction, with the case rows, their intake log
//! entries and search index entries written batch by batch, and the KPI rollup of the
//! whole call at the end in a few multi-row statements.
//!
//! Each batch writes only what it inserted, from the values in memory, so the cost of
//! a batch does not grow with the cases a source already has.

use std::collections::HashMap;

use sqlx::Connection;

use super::{
    ImportReport,
    batch::{CaseRow, ImportBatch, StoredId},
    parse::ImportedCase,
};
use crate::{
    cases::{
        case::locate::locate_point,
        kpi::rollup::{KpiFacts, RollupDelta, batch::RollupBatch},
        search::{SearchIndex, index::CaseText},
    },
    db::Db,
    locate::AreaIndex,
    with_pool,
};

/// The catch-all category of imported cases, created with its department by the first
/// import so that the shipped catalogue stays as it is.
pub const IMPORTED_CATEGORY: &str = "E9999";
/// Statements that create the catch-all category, each a no-op when it exists.
const CREATE_IMPORTED_CATEGORY: [&str; 3] = [
    "INSERT INTO department (department_code, name) VALUES ('IMPORT', '导入案件 Imported cases') \
     ON CONFLICT (department_code) DO NOTHING",
    "INSERT INTO category_major (kind, major_code, name_zh, name_en) \
     VALUES ('event', '99', '导入类别', 'Imported') ON CONFLICT (kind, major_code) DO NOTHING",
    "INSERT INTO category (category_code, kind, major_code, minor_code, name_zh, name_en, \
     department_code, filing_criteria, closing_criteria, dispatch_limit, dispatch_unit, \
     handling_limit, handling_unit, verification_limit, verification_unit) \
     VALUES ('E9999', 'event', '99', '99', '外部导入案件', 'Imported case', 'IMPORT', \
     '由外部系统导入', '以外部系统的结案时间为准', 1, 'working_days', 5, 'working_days', \
     1, 'working_days') ON CONFLICT (category_code) DO NOTHING",
];
/// Cases per batch of case rows, intake log entries and search index entries. On
/// PostgreSQL a batch is one statement per table; SQLite splits the case rows further.
const STORE_BATCH_ROWS: usize = 5_000;

/// Returns the stage an imported case is stored in: rated when it has a closed time and
/// a rating, closed with a closed time only, and dispatched otherwise.
fn imported_stage(case: &ImportedCase) -> &'static str {
    match (case.closed_at, case.rating) {
        (Some(_), Some(_)) => "rated",
        (Some(_), None) => "closed",
        (None, _) => "dispatched",
    }
}

fn imported_category(case: &ImportedCase) -> &str {
    case.category_code.as_deref().unwrap_or(IMPORTED_CATEGORY)
}

/// Returns the KPI facts of an imported case as the batch insert stores it.
fn imported_facts(case: &ImportedCase, place: Option<(i64, Option<i64>)>) -> KpiFacts {
    KpiFacts {
        created_at: case.opened_at,
        grid_id: place.map(|(grid_id, _)| grid_id),
        community_id: place.and_then(|(_, community_id)| community_id),
        outside_grids: place.is_none(),
        department_code: case.agency.clone(),
        category_code: imported_category(case).to_owned(),
        stage: imported_stage(case).to_owned(),
        dispatch_due_at: None,
        first_dispatched_at: None,
        handling_due_at: case.target_at,
        closed_at: case.closed_at,
        rating: case.rating.filter(|_| case.closed_at.is_some()),
        rework_count: 0,
        extension_count: 0,
    }
}

/// Pairs each stored case id with its row through the source id, which the unique
/// `(source, id)` index keeps unique within a source.
fn match_stored<'r, 'a>(
    batch: &'r [CaseRow<'a>],
    stored: Vec<StoredId>,
) -> Result<Vec<(i64, &'r CaseRow<'a>)>, sqlx::Error> {
    let by_external_id: HashMap<&str, &CaseRow<'a>> =
        batch.iter().map(|row| (row.case.external_id.as_str(), row)).collect();
    stored
        .into_iter()
        .map(|(case_id, external_id)| {
            by_external_id
                .get(external_id.as_str())
                .map(|row| (case_id, *row))
                .ok_or(sqlx::Error::RowNotFound)
        })
        .collect()
}

/// Returns the search text of a stored case: its title, which is also its description,
/// and its category's names.
fn search_text(
    case_id: i64,
    row: &CaseRow<'_>,
    category_names: &HashMap<String, (String, String)>,
) -> Result<CaseText, sqlx::Error> {
    // The category's foreign key has accepted the row, so a missing name means the
    // catalogue changed under this transaction.
    let (name_zh, name_en) =
        category_names.get(row.category_code).ok_or(sqlx::Error::RowNotFound)?;
    Ok(CaseText {
        case_id,
        title: row.title.clone(),
        description: row.title.clone(),
        address: None,
        name_zh: name_zh.clone(),
        name_en: name_en.clone(),
    })
}

/// Inserts one batch of case rows with their intake log entries and search index
/// entries.
async fn store_batch<C: ImportBatch + SearchIndex>(
    connection: &mut C,
    source: &str,
    batch: &[CaseRow<'_>],
    category_names: &HashMap<String, (String, String)>,
) -> Result<(), sqlx::Error> {
    let stored = connection.insert_case_rows(source, batch).await?;
    let stored = match_stored(batch, stored)?;
    let events: Vec<_> =
        stored.iter().map(|(case_id, row)| (*case_id, row.stage, row.case.opened_at)).collect();
    connection.insert_intake_events(&events).await?;
    let texts = stored
        .iter()
        .map(|(case_id, row)| search_text(*case_id, row, category_names))
        .collect::<Result<Vec<_>, _>>()?;
    connection.index_new_cases(&texts).await
}

/// Inserts `cases` from `source` with their intake log entries and search index
/// entries, and adds them to the KPI rollup, all or nothing.
///
/// # Errors
/// A database failure, including the unique `(source, id)` index when a case of the
/// file was imported before; nothing is written then.
#[tracing::instrument(skip_all, fields(import.source = source, import.rows = cases.len()))]
pub async fn insert_cases(
    db: &Db,
    index: &AreaIndex,
    source: &str,
    cases: &[ImportedCase],
) -> Result<ImportReport, sqlx::Error> {
    let mut report = ImportReport { imported: cases.len(), ..ImportReport::default() };
    let mut agencies: Vec<&str> = cases.iter().map(|case| case.agency.as_str()).collect();
    agencies.sort_unstable();
    agencies.dedup();
    let located: Vec<Option<(i64, Option<i64>)>> =
        cases.iter().map(|case| locate_point(index, case.longitude, case.latitude)).collect();
    report.outside_grids = located.iter().filter(|place| place.is_none()).count();
    report.default_location = cases.iter().filter(|case| case.default_location).count();
    let mut rollup = RollupDelta::default();
    for (case, place) in cases.iter().zip(&located) {
        rollup.add_change(None, Some(&imported_facts(case, *place)));
    }
    let rows: Vec<CaseRow<'_>> = cases
        .iter()
        .zip(&located)
        .map(|(case, place)| {
            CaseRow::new(case, *place, imported_category(case), imported_stage(case))
        })
        .collect();
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        // The connection leaves the pool afterwards, so the settings of the bulk write
        // never reach other requests, even when the import fails halfway.
        let mut connection = pool.acquire().await?;
        connection.close_on_drop();
        (*connection).prepare_bulk_write().await?;
        let mut tx = connection.begin().await?;
        for statement in CREATE_IMPORTED_CATEGORY {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        for agency in &agencies {
            sqlx::query(
                "INSERT INTO department (department_code, name) VALUES ($1, $1) \
                 ON CONFLICT (department_code) DO NOTHING",
            )
            .bind(*agency)
            .execute(&mut *tx)
            .await?;
        }
        let category_names: HashMap<String, (String, String)> =
            sqlx::query_as("SELECT category_code, name_zh, name_en FROM category")
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|(code, name_zh, name_en)| (code, (name_zh, name_en)))
                .collect();
        for batch in rows.chunks(STORE_BATCH_ROWS) {
            store_batch(&mut *tx, source, batch, &category_names).await?;
        }
        (*tx).apply_rollup_batch(&rollup).await?;
        tx.commit().await
    })?;
    tracing::info!(
        imported = report.imported,
        default_location = report.default_location,
        outside_grids = report.outside_grids,
        "cases imported"
    );
    Ok(report)
}
