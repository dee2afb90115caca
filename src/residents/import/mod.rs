//! Import of households and their residents from `.xlsx` and `.csv` files.
//!
//! One row per resident; rows with the same address and grid form one household. An
//! import runs in steps: [`read`] the file into rows, map the [`columns`], [`validate`]
//! each row, and look up numbers and households registered already. When the request
//! applies the file and no row has a problem, [`apply`] writes it in one transaction. A dry
//! run, the default, stops before the last step and writes nothing.
//!
//! An import runs within its request, or as a background [`job`] whose progress the
//! caller polls. Each import gets an id that its log lines, its report, its job and its
//! audit entry carry. Progress also goes to the log every 10,000 rows.
//! The [`template`] module builds the downloadable template.

pub mod apply;
pub mod columns;
pub mod http;
pub mod job;
pub mod read;
pub mod template;
pub mod validate;

use std::collections::HashMap;

use serde::Serialize;

use self::{
    columns::ColumnMap,
    job::{JobState, Progress},
    read::Sheet,
    validate::Checker,
};
use crate::{
    accounts::CurrentUser,
    audit::{self, Actor, AuditAction, NewAuditEntry},
    db::Db,
    http::{AppError, UserMessage},
    i18n::Locale,
    locate::AreaIndex,
    residents::{Keyring, tags},
};

pub use http::router;

/// Largest upload, in bytes. A 100,000-row roster saved as `.xlsx` is about 8 MB and
/// as CSV about 12 MB, so 20 MiB leaves room without holding huge bodies in memory.
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;
/// Most data rows in one file: the residents of a large street, about 100,000 people.
pub const MAX_ROWS: usize = 100_000;
/// Most problems listed in a report; `problem_count` still counts them all.
const MAX_PROBLEMS_LISTED: usize = 1_000;

/// Whether an import only checks the file or also writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    DryRun,
    Apply,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text.trim() {
            "" | "dry_run" => Some(Mode::DryRun),
            "apply" => Some(Mode::Apply),
            _ => None,
        }
    }
}

/// An uploaded file and the request's options.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// Header text to field name, for headers the import does not recognise.
    pub mapping: HashMap<String, String>,
    /// The workbook sheet to read; see [`read`] for the default.
    pub sheet: Option<String>,
    pub mode: Mode,
}

/// One row problem as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemView {
    /// The row number the spreadsheet shows; the header is usually row 1.
    pub row: u32,
    /// Column letter and header, such as `D (公民身份号码)`.
    pub column: String,
    pub field: &'static str,
    pub code: &'static str,
    /// The problem and its fix, in the request's language.
    pub message: String,
}

/// The outcome of an import, for a dry run and an apply alike.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub import_id: String,
    pub mode: Mode,
    /// Whether the file was written; only an apply without problems writes.
    pub applied: bool,
    pub file_name: String,
    pub format: read::Format,
    pub encoding: Option<&'static str>,
    /// The workbook sheet read, and the other sheets, which were ignored.
    pub sheet: Option<String>,
    pub other_sheets: Vec<String>,
    /// Headers that fill no field.
    pub ignored_columns: Vec<String>,
    /// Data rows read, blank rows not counted.
    pub rows: usize,
    /// Rows equal to the template's example row, left out.
    pub skipped_rows: Vec<u32>,
    /// Counts of the rows without problems.
    pub households_to_create: usize,
    pub households_to_join: usize,
    pub residents_to_create: usize,
    pub problem_count: usize,
    /// The first 1,000 problems, by row.
    pub problems: Vec<ProblemView>,
}

/// Failures of an import.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A problem with the file as a whole, such as merged cells; 422 naming `file`.
    #[error("unusable file: {0:?}")]
    File(UserMessage),
    /// A file over [`MAX_FILE_BYTES`]; 413.
    #[error("file too large")]
    TooLarge,
    /// An apply whose rows have problems; the handler returns the report with 422.
    #[error("rows have problems")]
    Rejected(Box<ImportReport>),
    /// A person registered by someone else between check and write; 409.
    #[error("registered meanwhile")]
    Conflict,
    /// The blocking reader thread panicked; 500.
    #[error("file reader failed")]
    Reader(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl From<ImportError> for AppError {
    /// Maps every failure except [`ImportError::Rejected`], which carries a report
    /// rather than a message and is turned into a response by the handler.
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::File(message) => AppError::Invalid(message),
            ImportError::TooLarge => AppError::PayloadTooLarge,
            ImportError::Conflict => {
                AppError::Conflict(UserMessage::new("resident_import_conflict").field("file"))
            }
            ImportError::Rejected(report) => AppError::Invalid(
                UserMessage::new("resident_import_rejected")
                    .arg("problems", report.problem_count)
                    .field("file"),
            ),
            ImportError::Reader(error) => AppError::Internal(error.into()),
            ImportError::Store(error) => AppError::Internal(error.into()),
        }
    }
}

/// The importing user and what the import needs from the application.
pub struct ImportContext<'a> {
    pub db: &'a Db,
    pub keys: &'a Keyring,
    pub index: &'a AreaIndex,
    pub user: &'a CurrentUser,
    pub actor: &'a Actor,
    pub locale: Locale,
}

/// Checks an uploaded file and, for [`Mode::Apply`] without problems, writes it, under
/// the id of `progress` and keeping its state and counts current.
///
/// # Errors
/// [`ImportError::File`] for an unusable file, [`ImportError::Rejected`] with the
/// report for an apply with row problems, [`ImportError::Conflict`] when a person was
/// registered during the import, and database errors.
#[tracing::instrument(skip_all, fields(import.id, import.mode = ?upload.mode, user.id = ctx.user.user_id))]
pub async fn run_import(
    ctx: ImportContext<'_>,
    upload: Upload,
    progress: &Progress,
) -> Result<ImportReport, ImportError> {
    let import_id = progress.import_id().to_owned();
    tracing::Span::current().record("import.id", import_id.as_str());
    tracing::info!(import.bytes = upload.bytes.len(), "resident import started");
    let sheet = read_upload(&upload).await?;
    let columns = ColumnMap::resolve(&sheet.headers, &upload.mapping)
        .map_err(|message| ImportError::File(message.field("file")))?;
    tracing::info!(import.rows = sheet.rows.len(), "resident import read");
    progress.set_rows_total(sheet.rows.len());
    progress.set_state(JobState::Checking);
    let tags = tags::list_tags(ctx.db).await?;
    let checker = Checker::new(ctx.index, ctx.user, &tags, ctx.keys, &columns);
    let mut plan = checker.check_rows(&sheet.rows, progress);
    apply::mark_registered(ctx.db, &mut plan).await?;
    apply::match_households(ctx.db, &mut plan).await?;
    let mut report = build_report(&import_id, &upload, &sheet, &columns, &plan, ctx.locale);
    tracing::info!(
        import.problems = report.problem_count,
        import.residents = report.residents_to_create,
        "resident import checked"
    );
    if upload.mode == Mode::DryRun {
        return Ok(report);
    }
    if report.problem_count > 0 {
        return Err(ImportError::Rejected(Box::new(report)));
    }
    progress.set_rows_to_write(report.residents_to_create);
    progress.set_state(JobState::Writing);
    apply::write_plan(ctx.db, ctx.keys, &plan, progress).await.map_err(|error| {
        if crate::residents::tags::is_unique_violation(&error) {
            tracing::warn!("resident import met a number registered meanwhile; nothing written");
            ImportError::Conflict
        } else {
            ImportError::Store(error)
        }
    })?;
    report.applied = true;
    record_audit(&ctx, &report).await;
    tracing::info!(import.residents = report.residents_to_create, "resident import applied");
    Ok(report)
}

/// Reads the file on a blocking thread: unzipping and parsing a large workbook takes
/// seconds of CPU that would otherwise stall other requests.
async fn read_upload(upload: &Upload) -> Result<Sheet, ImportError> {
    let (name, bytes) = (upload.file_name.clone(), upload.bytes.clone());
    let (sheet, mapping) = (upload.sheet.clone(), upload.mapping.clone());
    let read = tokio::task::spawn_blocking(move || {
        read::read_sheet(&name, &bytes, sheet.as_deref(), &mapping)
    });
    read.await?.map_err(ImportError::File)
}

fn build_report(
    import_id: &str,
    upload: &Upload,
    sheet: &Sheet,
    columns: &ColumnMap,
    plan: &validate::Plan,
    locale: Locale,
) -> ImportReport {
    let mut problems: Vec<&validate::RowProblem> = plan.problems.iter().collect();
    problems.sort_by_key(|p| (p.row, columns.position(p.field).unwrap_or(usize::MAX)));
    let listed = problems.iter().take(MAX_PROBLEMS_LISTED).map(|problem| ProblemView {
        row: problem.row,
        column: columns.column_label(problem.field),
        field: problem.field.as_str(),
        code: problem.message.code,
        message: problem.message.render(locale),
    });
    let joined = plan.households.iter().filter(|h| h.existing_id.is_some()).count();
    ImportReport {
        import_id: import_id.to_owned(),
        mode: upload.mode,
        applied: false,
        file_name: upload.file_name.clone(),
        format: sheet.format,
        encoding: sheet.encoding,
        sheet: sheet.name.clone(),
        other_sheets: sheet.other_sheets.clone(),
        ignored_columns: columns.ignored.clone(),
        rows: sheet.rows.len(),
        skipped_rows: plan.skipped_rows.clone(),
        households_to_create: plan.households.len() - joined,
        households_to_join: joined,
        residents_to_create: plan.resident_count(),
        problem_count: problems.len(),
        problems: listed.collect(),
    }
}

async fn record_audit(ctx: &ImportContext<'_>, report: &ImportReport) {
    let detail = format!(
        "file={}; rows={}; households_created={}; households_joined={}; residents={}",
        report.file_name,
        report.rows,
        report.households_to_create,
        report.households_to_join,
        report.residents_to_create
    );
    let entry = NewAuditEntry {
        actor: ctx.actor,
        action: AuditAction::ResidentsImported,
        target: Some(format!("resident_import:{}", report.import_id)),
        detail: Some(detail),
    };
    audit::record(ctx.db, entry).await;
}
