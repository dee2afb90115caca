//! Export of a filtered resident list as `.xlsx` or CSV.
//!
//! The file contains what the list endpoint shows: identity and phone numbers and e-mail
//! addresses only in their masked form (the sealed values are never read here), and only residents of grids
//! under the user's areas. Every export is written to the audit log with its filter and
//! row count before the file is sent; when that write fails, no file is sent.

use std::collections::HashMap;

use axum::{Router, extract::State, http::HeaderMap, response::Response, routing::get};
use serde::Deserialize;

use super::{
    Resident,
    import::{
        columns::{Field, relation_label},
        http::{CSV_TYPE, XLSX_TYPE, attachment, file_locale},
    },
    service::scope_grids,
    store::{self, ResidentFilter},
    tags,
};
use crate::{
    accounts::{ClientIp, CurrentUser, Permission, domain::area_in_scope},
    areas::Level,
    audit::{AuditAction, AuditStore, NewAuditEntry},
    db::Db,
    http::{AppError, AppState, Query, UserMessage},
    i18n::Locale,
    locate::AreaIndex,
    with_pool,
};

/// Most rows in one export, as in an import; a larger street exports grid by grid.
const MAX_EXPORT_ROWS: usize = 100_000;
/// Residents read per query while building the file.
const PAGE_ROWS: i64 = 1_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/residents/export", get(get_export))
}

/// Filters of an export: those of the resident list, less the number searches, whose
/// values would otherwise land in the audit log.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExportQuery {
    /// `xlsx` (the default) or `csv`.
    pub format: Option<String>,
    pub tag: Option<String>,
    /// Code of a grid, community or street; residents of the grids under it.
    pub area: Option<String>,
    pub household_id: Option<i64>,
    pub locale: Option<String>,
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn get_export(
    State(state): State<AppState>,
    user: CurrentUser,
    client_ip: ClientIp,
    headers: HeaderMap,
    Query(query): Query<ExportQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::ViewResidents)?;
    let locale = file_locale(&state, &user, &headers, query.locale.as_deref());
    let index = state.locator.snapshot();
    let format = query.format.as_deref().unwrap_or("xlsx");
    if !matches!(format, "xlsx" | "csv") {
        return Err(AppError::BadRequest(UserMessage::new("resident_file_format").field("format")));
    }
    let filter = export_filter(&state.db, &index, &user, &query).await?;
    let residents = load_residents(&state.db, filter).await?;
    let table = build_table(&state.db, &index, &residents, locale).await?;
    let detail = format!(
        "format={format}; tag={}; area={}; household_id={}; rows={}",
        query.tag.as_deref().unwrap_or("-"),
        query.area.as_deref().unwrap_or("-"),
        query.household_id.map_or("-".to_owned(), |id| id.to_string()),
        residents.len()
    );
    let actor = user.actor(&client_ip);
    let target = Some("residents".to_owned());
    let entry = NewAuditEntry {
        actor: &actor,
        action: AuditAction::ResidentsExported,
        target,
        detail: Some(detail),
    };
    // Like a reveal, an export of personal data is sent only once the log contains it.
    state.db.append_audit(entry).await?;
    tracing::info!(export.rows = residents.len(), export.format = format, "residents exported");
    let stamp = chrono::Utc::now().format("%Y%m%d");
    if format == "csv" {
        let body = to_csv(&table).map_err(|error| AppError::Internal(error.into()))?;
        return Ok(attachment(CSV_TYPE, &format!("residents-{stamp}.csv"), body));
    }
    let body = to_xlsx(&table).map_err(|error| AppError::Internal(error.into()))?;
    Ok(attachment(XLSX_TYPE, &format!("residents-{stamp}.xlsx"), body))
}

fn invalid(code: &'static str, field: &str) -> AppError {
    AppError::Invalid(UserMessage::new(code).field(field))
}

/// Turns the query into a list filter limited to the user's grids.
pub(crate) async fn export_filter(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
    query: &ExportQuery,
) -> Result<ResidentFilter, AppError> {
    let tag_id = match query.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(code) => {
            let definitions = tags::list_tags(db).await?;
            let tag = definitions.iter().find(|tag| tag.code == code);
            Some(tag.ok_or_else(|| invalid("resident_tag_filter_unknown", "tag"))?.tag_id)
        }
    };
    let mut grid_ids = scope_grids(index, user);
    if let Some(code) = query.area.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        let area = index.by_code(code).ok_or_else(|| {
            AppError::Invalid(
                UserMessage::new("resident_export_area_unknown").arg("code", code).field("area"),
            )
        })?;
        let under_area = index
            .areas()
            .iter()
            .filter(|grid| grid.level == Level::Grid)
            .filter(|grid| area_in_scope(index, &[area.area_id], grid.area_id))
            .map(|grid| grid.area_id);
        let under_area: Vec<i64> = match &grid_ids {
            None => under_area.collect(),
            Some(scope) => under_area.filter(|id| scope.contains(id)).collect(),
        };
        grid_ids = Some(under_area);
    }
    Ok(ResidentFilter {
        grid_ids,
        household_id: query.household_id,
        tag_id,
        limit: PAGE_ROWS,
        ..ResidentFilter::default()
    })
}

async fn load_residents(db: &Db, mut filter: ResidentFilter) -> Result<Vec<Resident>, AppError> {
    let mut residents = Vec::new();
    loop {
        let page = store::list_residents(db, &filter).await?;
        let full = page.len() as i64 == filter.limit;
        residents.extend(page);
        if residents.len() > MAX_EXPORT_ROWS {
            let message = UserMessage::new("resident_export_too_many").arg("max", MAX_EXPORT_ROWS);
            return Err(AppError::Invalid(message));
        }
        if !full {
            return Ok(residents);
        }
        filter.offset += filter.limit;
    }
}

/// Builds the header and one row per resident, in the template's column order with the
/// grid name, gender and birth date added.
async fn build_table(
    db: &Db,
    index: &AreaIndex,
    residents: &[Resident],
    locale: Locale,
) -> Result<Vec<Vec<String>>, AppError> {
    let addresses = household_addresses(db, residents).await?;
    let grids: HashMap<i64, (&str, &str)> = index
        .areas()
        .iter()
        .map(|area| (area.area_id, (area.code.as_str(), area.name.as_str())))
        .collect();
    let header = vec![
        Field::Address.header(locale).to_owned(),
        Field::Grid.header(locale).to_owned(),
        locale.t("resident-export-grid-name"),
        Field::Name.header(locale).to_owned(),
        locale.t("resident-export-gender"),
        locale.t("resident-export-birth-date"),
        Field::IdentityNumber.header(locale).to_owned(),
        Field::Relation.header(locale).to_owned(),
        Field::Phone.header(locale).to_owned(),
        Field::Email.header(locale).to_owned(),
        Field::Tags.header(locale).to_owned(),
    ];
    let mut table = vec![header];
    for resident in residents {
        let (grid_code, grid_name) = grids.get(&resident.grid_id).copied().unwrap_or_default();
        table.push(vec![
            addresses.get(&resident.household_id).cloned().unwrap_or_default(),
            grid_code.to_owned(),
            grid_name.to_owned(),
            resident.name.clone(),
            locale.t(&format!("resident-gender-{}", resident.gender.as_str())),
            resident.birth_date.to_string(),
            resident.identity_number.clone(),
            relation_label(resident.relation, locale).to_owned(),
            resident.phone.clone().unwrap_or_default(),
            resident.email.clone().unwrap_or_default(),
            tags_cell(resident),
        ]);
    }
    Ok(table)
}

/// Writes tags as the import reads them: `code`, or `code:category:grade` and
/// `code:area:since` for tags with attributes, separated by `、`.
pub(crate) fn tags_cell(resident: &Resident) -> String {
    let items = resident.tags.iter().map(|tag| {
        let mut item = tag.code.clone();
        if let (Some(category), Some(grade)) = (&tag.disability_category, tag.disability_grade) {
            item.push_str(&format!(":{category}:{grade}"));
        }
        if let (Some(area), Some(since)) = (&tag.from_area, tag.since) {
            item.push_str(&format!(":{area}:{since}"));
        }
        item
    });
    items.collect::<Vec<_>>().join("、")
}

pub(crate) async fn household_addresses(
    db: &Db,
    residents: &[Resident],
) -> Result<HashMap<i64, String>, AppError> {
    let mut ids: Vec<i64> = residents.iter().map(|r| r.household_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut addresses = HashMap::new();
    for chunk in ids.chunks(1_000) {
        // Ids come from stored rows and are integers.
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        let sql = format!(
            "SELECT household_id, address FROM household WHERE household_id IN ({})",
            list.join(",")
        );
        let rows: Vec<(i64, String)> = with_pool!(db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await
        })?;
        addresses.extend(rows);
    }
    Ok(addresses)
}

/// Writes CSV in UTF-8 with a byte-order mark for Excel. A cell that starts like a
/// formula (`=`, `+`, `-`, `@`) gets a leading `'`, so that opening the file in a
/// spreadsheet never runs a formula that a name or address smuggled in.
fn to_csv(table: &[Vec<String>]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    for row in table {
        writer.write_record(row.iter().map(|cell| neutralise_formula(cell).into_owned()))?;
    }
    writer.into_inner().map_err(|error| csv::Error::from(error.into_error()))
}

fn neutralise_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Writes every cell as a string, so that numbers keep their digits and text is
/// never read as a formula.
fn to_xlsx(table: &[Vec<String>]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (r, row) in table.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, cell)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_that_look_like_formulas_are_quoted() {
        assert_eq!(neutralise_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise_formula("王秀英"), "王秀英");
        assert_eq!(neutralise_formula("110105********002X"), "110105********002X");
    }
}
