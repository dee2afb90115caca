//! Storing imported cases: one transaction, multi-row inserts in batches, the intake
//! log entries and the KPI rollup of the whole file.

use super::{ImportReport, parse::ImportedCase};
use crate::{
    apply_rollup,
    cases::{
        case::locate::locate_point,
        kpi::rollup::{KpiFacts, RollupDelta},
        search::SearchIndex,
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
/// Rows per `INSERT`: 23 columns each keeps a batch at 11,500 parameters, under
/// SQLite's default limit of 32,766 and PostgreSQL's 65,535.
const BATCH_ROWS: usize = 500;
/// Longest stored case type, in characters, so that a long foreign title still fits
/// the description limit.
const MAX_TITLE_CHARS: usize = 200;

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

/// Inserts `cases` from `source` with their intake log entries, all or nothing.
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
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
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
        let mut first_case_id = i64::MAX;
        for (batch, places) in cases.chunks(BATCH_ROWS).zip(located.chunks(BATCH_ROWS)) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO service_case (tracking_token, title, description, category_code, \
                 channel, longitude, latitude, grid_id, community_id, outside_grids, \
                 department_code, stage, due_at, handling_due_at, closed_at, version, \
                 created_at, updated_at, external_source, external_id, external_category, \
                 default_location, rating) ",
            );
            insert.push_values(batch.iter().zip(places), |mut values, (case, place)| {
                let title: String = case.category.chars().take(MAX_TITLE_CHARS).collect();
                let stage = imported_stage(case);
                let due_at = if case.closed_at.is_some() { None } else { case.target_at };
                values
                    .push_bind(hex::encode(rand::random::<[u8; 16]>()))
                    .push_bind(title.clone())
                    .push_bind(title)
                    .push_bind(imported_category(case).to_owned())
                    .push_bind("api")
                    .push_bind(case.longitude)
                    .push_bind(case.latitude)
                    .push_bind(place.map(|(grid_id, _)| grid_id))
                    .push_bind(place.and_then(|(_, community_id)| community_id))
                    .push_bind(place.is_none())
                    .push_bind(case.agency.clone())
                    .push_bind(stage)
                    .push_bind(due_at)
                    .push_bind(case.target_at)
                    .push_bind(case.closed_at)
                    .push_bind(1_i64)
                    .push_bind(case.opened_at)
                    .push_bind(case.closed_at.unwrap_or(case.opened_at))
                    .push_bind(source.to_owned())
                    .push_bind(case.external_id.clone())
                    .push_bind(case.category.clone())
                    .push_bind(case.default_location)
                    .push_bind(case.rating.filter(|_| case.closed_at.is_some()));
            });
            insert.push(" RETURNING case_id");
            let ids: Vec<(i64,)> = insert.build_query_as().fetch_all(&mut *tx).await?;
            first_case_id = ids.iter().map(|(id,)| *id).fold(first_case_id, i64::min);
        }
        tx.index_imported(source).await?;
        // Every case has an intake log entry, written here in one statement for the
        // whole batch rather than one round trip per case. The id bound keeps the
        // statement to this call's cases when a large import is stored in many calls.
        sqlx::query(
            "INSERT INTO case_event (case_id, action, from_stage, to_stage, comment, \
             attachment_ids, details, occurred_at) \
             SELECT c.case_id, 'intake', NULL, c.stage, '', '[]', '{}', c.created_at \
             FROM service_case c WHERE c.case_id >= $2 AND c.external_source = $1 \
             AND NOT EXISTS (SELECT 1 FROM case_event e WHERE e.case_id = c.case_id)",
        )
        .bind(source)
        .bind(first_case_id)
        .execute(&mut *tx)
        .await?;
        apply_rollup!(tx, &rollup)?;
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
