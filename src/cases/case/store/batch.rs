//! Inserting a whole group of new cases with few calls on SQLite.
//!
//! A group commit ([`super::group`]) first tries [`insert_cases`]. Each statement is a
//! message to the driver's worker thread and a wake-up on the way back. Under load that
//! cost more than SQLite's own work, so the group takes two calls. The first is one
//! `INSERT` of all case rows that returns their ids and category names. The second
//! sends several statements: the intake log entries, the search index entries and one
//! counter upsert per rollup level.
//!
//! Any failure leaves the group to the caller. It rolls this attempt back and stores
//! the cases one by one, so that a single bad case cannot fail the others.

use std::collections::HashMap;

use sqlx::{Executor, QueryBuilder, Sqlite, SqliteConnection};

use super::{inserted_facts, rows::INTAKE_ACTION};
use crate::cases::{
    case::{
        record::{Case, CaseEvent},
        stage::{Action, Stage},
    },
    kpi::rollup::{
        RollupDelta,
        batch::{apply_counters_sqlite, push_counter_upserts},
    },
    search::index::{CaseText, push_sqlite_rows},
};

/// Cases per `INSERT`: 20 parameters each keeps a statement at 10,000 parameters, under
/// SQLite's default limit of 32,766.
const ROWS_PER_STATEMENT: usize = 500;

/// Inserts `cases` with their intake log entries, search index entries and KPI rollup
/// change through `conn`, inside the caller's transaction or savepoint, and returns
/// their ids in the order of `cases`.
///
/// # Errors
/// Fails when any statement fails; the caller must then roll back everything written.
pub(super) async fn insert_cases(
    conn: &mut SqliteConnection,
    cases: &[(&Case, &CaseEvent)],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut case_ids = Vec::with_capacity(cases.len());
    let mut rest = QueryBuilder::<Sqlite>::new("");
    for page in cases.chunks(ROWS_PER_STATEMENT) {
        let stored = insert_case_rows(conn, page).await?;
        let page_ids: Vec<i64> = stored.iter().map(|row| row.case_id).collect();
        push_event_rows(&mut rest, page, &page_ids);
        push_sqlite_rows(&mut rest, &stored);
        case_ids.extend(page_ids);
    }
    let mut delta = RollupDelta::default();
    for (case, _) in cases {
        delta.add_change(None, Some(&inserted_facts(case)));
    }
    let counted = push_counter_upserts(&mut rest, &delta);
    conn.execute(rest.build()).await?;
    if !counted {
        apply_counters_sqlite(conn, &delta).await?;
    }
    Ok(case_ids)
}

/// Inserts the case rows of `page` and returns their search texts, with their ids and
/// category names, in the order of `page`.
async fn insert_case_rows(
    conn: &mut SqliteConnection,
    page: &[(&Case, &CaseEvent)],
) -> Result<Vec<CaseText>, sqlx::Error> {
    let mut insert = QueryBuilder::<Sqlite>::new(
        "INSERT INTO service_case (tracking_token, title, description, category_code, \
         channel, reporter_user_id, reporter_contact, longitude, latitude, grid_id, \
         community_id, outside_grids, department_code, stage, due_at, dispatch_due_at, \
         version, created_at, updated_at, address) ",
    );
    insert.push_values(page, |mut row, (case, _)| {
        row.push_bind(case.tracking_token.as_str())
            .push_bind(case.title.as_str())
            .push_bind(case.description.as_str())
            .push_bind(case.category_code.as_str())
            .push_bind(case.channel.as_str())
            .push_bind(case.reporter_user_id)
            .push_bind(case.reporter_contact.as_deref())
            .push_bind(case.longitude)
            .push_bind(case.latitude)
            .push_bind(case.grid_id)
            .push_bind(case.community_id)
            .push_bind(case.outside_grids)
            .push_bind(case.department_code.as_str())
            .push_bind(case.stage.as_str())
            .push_bind(case.due_at)
            .push_bind(case.dispatch_due_at)
            .push_bind(case.version)
            .push_bind(case.created_at)
            .push_bind(case.updated_at)
            .push_bind(case.address.as_deref());
    });
    // Each id is matched to its case by the unique tracking token, so the code does not
    // depend on the order of the returned rows.
    // The category names come back with the ids, read in this transaction, for the
    // search index entries.
    insert.push(
        " RETURNING case_id, tracking_token, \
         (SELECT name_zh FROM category g WHERE g.category_code = service_case.category_code), \
         (SELECT name_en FROM category g WHERE g.category_code = service_case.category_code)",
    );
    let returned: Vec<(i64, String, String, String)> =
        insert.build_query_as().fetch_all(&mut *conn).await?;
    let mut by_token: HashMap<String, (i64, String, String)> = returned
        .into_iter()
        .map(|(id, token, name_zh, name_en)| (token, (id, name_zh, name_en)))
        .collect();
    page.iter()
        .map(|(case, _)| {
            let (case_id, name_zh, name_en) =
                by_token.remove(&case.tracking_token).ok_or_else(|| {
                    sqlx::Error::Protocol(
                        "a new case row was not returned by its insert".to_owned(),
                    )
                })?;
            Ok(CaseText {
                case_id,
                title: case.title.clone(),
                description: case.description.clone(),
                address: case.address.clone(),
                name_zh,
                name_en,
            })
        })
        .collect()
}

/// Appends the statement inserting the intake log entries of `page`, whose cases got
/// `case_ids`, to `insert`.
fn push_event_rows(
    insert: &mut QueryBuilder<Sqlite>,
    page: &[(&Case, &CaseEvent)],
    case_ids: &[i64],
) {
    insert.push(
        "INSERT INTO case_event (case_id, action, from_stage, to_stage, actor_user_id, \
         actor_role, comment, reason, attachment_ids, details, occurred_at) ",
    );
    insert.push_values(page.iter().zip(case_ids), |mut row, ((_, event), case_id)| {
        row.push_bind(*case_id)
            .push_bind(event.action.map_or(INTAKE_ACTION, Action::as_str))
            .push_bind(event.from_stage.map(Stage::as_str))
            .push_bind(event.to_stage.as_str())
            .push_bind(event.actor_user_id)
            .push_bind(event.actor_role.as_deref())
            .push_bind(event.comment.as_str())
            .push_bind(event.reason.as_deref())
            .push_bind(serde_json::Value::from(event.attachment_ids.clone()).to_string())
            .push_bind(event.details.to_string())
            .push_bind(event.occurred_at);
    });
    insert.push(";\n");
}
