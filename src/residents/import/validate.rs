//! Checks every row of a sheet and groups the good ones into households.
//!
//! Each row gets every problem it has, not only the first, so that one dry run lists
//! all fixes. Rows with the same address and grid form one household; a household of
//! the registry with that address and grid already gets the new residents.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{
    columns::{ColumnMap, Field, parse_relation},
    job::Progress,
    read::SheetRow,
};
use crate::{
    accounts::CurrentUser,
    areas::Level,
    http::UserMessage,
    locate::AreaIndex,
    residents::{
        Gender, Relation, ResidentError,
        crypto::{Field as SealedField, Keyring},
        identity::{EmailAddress, IdentityNumber, PhoneNumber},
        tags::{TagAssignment, TagDefinition, check_assignments},
    },
};

/// Maximum address length, in characters, as in the migration.
const MAX_ADDRESS_CHARS: usize = 200;
/// Maximum resident name length, in characters, as in the migration.
const MAX_NAME_CHARS: usize = 50;
/// Identity number of the template's example row, which an import skips.
pub const EXAMPLE_IDENTITY: &str = "11010519491231002X";

/// One problem of one row.
#[derive(Debug, Clone)]
pub struct RowProblem {
    pub row: u32,
    pub field: Field,
    pub message: UserMessage,
}

/// A resident ready to store, numbers still clear until the apply step seals them.
#[derive(Debug, Clone)]
pub struct PlannedResident {
    pub row: u32,
    pub name: String,
    pub gender: Gender,
    pub birth_date: NaiveDate,
    pub relation: Relation,
    pub identity: IdentityNumber,
    pub identity_hash: String,
    pub phone: Option<PhoneNumber>,
    pub email: Option<EmailAddress>,
    pub tags: Vec<(i64, TagAssignment)>,
}

/// A household of the file: new, or an existing one of the registry to join.
#[derive(Debug, Clone)]
pub struct PlannedHousehold {
    pub address: String,
    pub grid_id: i64,
    pub existing_id: Option<i64>,
    pub residents: Vec<PlannedResident>,
}

/// The outcome of checking a sheet: households to write and every problem found.
#[derive(Debug, Default)]
pub struct Plan {
    pub households: Vec<PlannedHousehold>,
    pub problems: Vec<RowProblem>,
    /// Rows equal to the template's example, left out.
    pub skipped_rows: Vec<u32>,
}

impl Plan {
    pub fn resident_count(&self) -> usize {
        self.households.iter().map(|h| h.residents.len()).sum()
    }
}

/// The inputs of row checks besides the row: areas, the user's scope, tags and the lookup key.
pub struct Checker<'a> {
    pub index: &'a AreaIndex,
    pub user: &'a CurrentUser,
    pub tags: &'a [TagDefinition],
    pub keys: &'a Keyring,
    pub columns: &'a ColumnMap,
    /// Grid ids by name, for sheets that name grids instead of coding them.
    grids_by_name: HashMap<&'a str, Vec<i64>>,
}

impl<'a> Checker<'a> {
    pub fn new(
        index: &'a AreaIndex,
        user: &'a CurrentUser,
        tags: &'a [TagDefinition],
        keys: &'a Keyring,
        columns: &'a ColumnMap,
    ) -> Checker<'a> {
        let mut grids_by_name: HashMap<&str, Vec<i64>> = HashMap::new();
        for area in index.areas().iter().filter(|area| area.level == Level::Grid) {
            grids_by_name.entry(area.name.as_str()).or_default().push(area.area_id);
        }
        Checker { index, user, tags, keys, columns, grids_by_name }
    }

    /// Checks every row and groups the good ones, counting checked rows in `progress`.
    /// Duplicates within the file are found here, those already registered by
    /// [`super::apply::mark_registered`].
    pub fn check_rows(&self, rows: &[SheetRow], progress: &Progress) -> Plan {
        let mut plan = Plan::default();
        let mut first_row_of: HashMap<String, u32> = HashMap::new();
        let mut household_at: HashMap<(String, i64), usize> = HashMap::new();
        for (checked, row) in rows.iter().enumerate() {
            progress.set_rows_checked(checked);
            if checked > 0 && checked.is_multiple_of(10_000) {
                tracing::info!(import.rows_checked = checked, "resident import progress");
            }
            if self.columns.value(&row.cells, Field::IdentityNumber) == EXAMPLE_IDENTITY {
                plan.skipped_rows.push(row.number);
                continue;
            }
            let mut problems = Vec::new();
            let checked_row = self.check_row(row, &mut problems);
            if let Some((address, grid_id, resident)) = checked_row {
                match first_row_of.get(&resident.identity_hash) {
                    Some(first) => problems.push(problem(
                        row.number,
                        Field::IdentityNumber,
                        UserMessage::new("resident_import_duplicate_in_file").arg("row", first),
                    )),
                    None => {
                        first_row_of.insert(resident.identity_hash.clone(), row.number);
                        let key = (address.clone(), grid_id);
                        let at = *household_at.entry(key).or_insert_with(|| {
                            plan.households.push(PlannedHousehold {
                                address,
                                grid_id,
                                existing_id: None,
                                residents: Vec::new(),
                            });
                            plan.households.len() - 1
                        });
                        if problems.is_empty() {
                            plan.households[at].residents.push(resident);
                        }
                    }
                }
            }
            plan.problems.extend(problems);
        }
        progress.set_rows_checked(rows.len());
        plan.households.retain(|household| !household.residents.is_empty());
        plan
    }

    /// Checks one row, pushing each problem; returns the household key and the resident
    /// when every field is valid.
    fn check_row(
        &self,
        row: &SheetRow,
        problems: &mut Vec<RowProblem>,
    ) -> Option<(String, i64, PlannedResident)> {
        let before = problems.len();
        let mut report = |field: Field, message: UserMessage| {
            problems.push(problem(row.number, field, message));
        };
        let value = |field: Field| self.columns.value(&row.cells, field);
        for field in Field::ALL.into_iter().filter(|field| field.is_required()) {
            if value(field).is_empty() {
                let message = UserMessage::new("resident_import_value_missing")
                    .arg("column", self.columns.column_label(field));
                report(field, message);
            }
        }
        let address = value(Field::Address);
        if address.chars().count() > MAX_ADDRESS_CHARS {
            let message =
                UserMessage::new("resident_address_invalid").arg("max", MAX_ADDRESS_CHARS);
            report(Field::Address, message);
        }
        let name = value(Field::Name);
        if name.chars().count() > MAX_NAME_CHARS {
            report(
                Field::Name,
                UserMessage::new("resident_name_invalid").arg("max", MAX_NAME_CHARS),
            );
        }
        let grid_id = self.check_grid(value(Field::Grid)).map_err(|m| report(Field::Grid, m)).ok();
        let identity = self.check_identity(row, value(Field::IdentityNumber));
        let identity = identity.map_err(|m| report(Field::IdentityNumber, m)).ok();
        let relation_text = value(Field::Relation);
        let relation = parse_relation(relation_text);
        if relation.is_none() && !relation_text.is_empty() {
            let message =
                UserMessage::new("resident_import_relation_unknown").arg("value", relation_text);
            report(Field::Relation, message);
        }
        let phone_text = value(Field::Phone);
        let phone = (!phone_text.is_empty()).then(|| PhoneNumber::parse(phone_text));
        let phone = phone.transpose().map_err(|m| report(Field::Phone, m.field("phone"))).ok();
        let email_text = value(Field::Email);
        let email = (!email_text.is_empty()).then(|| EmailAddress::parse(email_text));
        let email = email.transpose().map_err(|m| report(Field::Email, m)).ok();
        let tags = self.check_tags(value(Field::Tags)).map_err(|m| report(Field::Tags, m)).ok();
        if problems.len() > before || address.is_empty() || name.is_empty() {
            return None;
        }
        let (grid_id, identity, relation) = (grid_id??, identity??, relation?);
        let identity_hash = self.keys.lookup_hash(SealedField::IdentityNumber, identity.as_str());
        let resident = PlannedResident {
            row: row.number,
            name: name.to_owned(),
            gender: identity.gender(),
            birth_date: identity.birth_date(),
            relation,
            identity_hash,
            identity,
            phone: phone.flatten(),
            email: email.flatten(),
            tags: tags?,
        };
        Some((address.to_owned(), grid_id, resident))
    }

    /// Finds a grid of the user's scope by code, else by its unique name.
    fn check_grid(&self, text: &str) -> Result<Option<i64>, UserMessage> {
        if text.is_empty() {
            return Ok(None);
        }
        let by_code = self.index.by_code(text).filter(|area| area.level == Level::Grid);
        let grid_id = match by_code {
            Some(area) => area.area_id,
            None => match self.grids_by_name.get(text).map(Vec::as_slice) {
                Some([only]) => *only,
                Some(_) => {
                    return Err(
                        UserMessage::new("resident_import_grid_ambiguous").arg("value", text)
                    );
                }
                None => {
                    return Err(UserMessage::new("resident_import_grid_unknown").arg("value", text));
                }
            },
        };
        if !self.user.can_access_area(self.index, grid_id) {
            return Err(UserMessage::new("resident_import_grid_out_of_scope").arg("value", text));
        }
        Ok(Some(grid_id))
    }

    fn check_identity(
        &self,
        row: &SheetRow,
        text: &str,
    ) -> Result<Option<IdentityNumber>, UserMessage> {
        let inexact = self
            .columns
            .position(Field::IdentityNumber)
            .is_some_and(|position| row.inexact.contains(&position));
        if inexact {
            return Err(UserMessage::new("resident_import_identity_number_as_number"));
        }
        if text.is_empty() {
            return Ok(None);
        }
        IdentityNumber::parse(text).map(Some)
    }

    /// Reads a tags cell: items separated by `、`, `;`, `；`, `,` or `，`, each a tag code
    /// or Chinese name, with the attributes of disability and returned tags after colons
    /// (`disabled:physical:2`, `returned:湖北省武汉市:2026-01-15`).
    fn check_tags(&self, text: &str) -> Result<Vec<(i64, TagAssignment)>, UserMessage> {
        let mut assignments = Vec::new();
        let items = text.split(['、', ';', '；', ',', '，']).map(str::trim);
        for item in items.filter(|item| !item.is_empty()) {
            let mut parts = item.split([':', '：']).map(str::trim);
            let name = parts.next().unwrap_or_default();
            let definition = self.tags.iter().find(|t| t.code == name || t.name_zh == name);
            let code = definition.map_or(name, |definition| definition.code.as_str());
            let (first, second) = (parts.next(), parts.next());
            let mut assignment = TagAssignment {
                code: code.to_owned(),
                disability_category: None,
                disability_grade: None,
                from_area: None,
                since: None,
            };
            match definition.map(|d| d.kind) {
                Some(crate::residents::tags::TagKind::Disability) => {
                    assignment.disability_category = first.map(str::to_owned);
                    assignment.disability_grade = second.and_then(|g| g.parse().ok());
                }
                Some(crate::residents::tags::TagKind::Returned) => {
                    assignment.from_area = first.map(str::to_owned);
                    assignment.since = second.and_then(|d| d.parse().ok());
                }
                _ => {}
            }
            assignments.push(assignment);
        }
        let ids = check_assignments(self.tags, &assignments).map_err(|error| match error {
            ResidentError::Invalid(message) => message,
            other => UserMessage::new("resident_import_tags_invalid").arg("reason", other),
        })?;
        Ok(ids.into_iter().zip(assignments).collect())
    }
}

fn problem(row: u32, field: Field, message: UserMessage) -> RowProblem {
    RowProblem { row, field, message }
}
