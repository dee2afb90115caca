//! The registry's rules: validation, area scope, protection of numbers and reveals.
//!
//! Reads and writes check the viewer's area scope here, so every caller (HTTP now,
//! pages and imports later) gets the same limits. A household or resident outside the
//! scope is reported as missing, so that ids cannot be probed.

use chrono::NaiveDate;
use serde::Deserialize;

use super::{
    Gender, Household, Relation, Resident, ResidentError,
    crypto::{Field, Keyring},
    identity::{EmailAddress, IdentityNumber, PhoneNumber},
    store::{self, NewResident, ProtectedValue, ResidentFilter},
    tags::{self, TagAssignment, is_unique_violation},
};
use crate::{
    accounts::{CurrentUser, Role},
    areas::Level,
    audit::{self, Actor, AuditAction, AuditStore, NewAuditEntry},
    db::Db,
    http::UserMessage,
    locate::AreaIndex,
};

/// Maximum address length, in characters: a full street address with building and room.
const MAX_ADDRESS_CHARS: usize = 200;
/// Maximum resident name length, in characters, as in the migration.
const MAX_NAME_CHARS: usize = 50;
/// Maximum length of a reveal's reason, in characters.
const MAX_REASON_CHARS: usize = 200;

/// A household as the API receives it.
#[derive(Debug, Clone, Deserialize)]
pub struct HouseholdInput {
    pub address: String,
    /// Code of the grid the household belongs to, such as `110105001001001`.
    pub grid_code: String,
}

/// A resident as the API receives it; gender and birth date default to what the
/// identity number encodes and must agree with it when given.
#[derive(Debug, Clone, Deserialize)]
pub struct ResidentInput {
    pub household_id: i64,
    pub name: String,
    pub identity_number: String,
    pub phone: Option<String>,
    /// An e-mail address for notices; empty or missing for none.
    pub email: Option<String>,
    pub relation: String,
    pub gender: Option<String>,
    pub birth_date: Option<NaiveDate>,
    #[serde(default)]
    pub tags: Vec<TagAssignment>,
}

/// Returns the grids the user may read: `None` for every grid (administrators).
pub fn scope_grids(index: &AreaIndex, user: &CurrentUser) -> Option<Vec<i64>> {
    if user.role == Role::Administrator {
        return None;
    }
    // NOTE: one scope check per grid scans the area list; fine for a street's few hundred grids.
    let grids = index.areas().iter().filter(|area| area.level == Level::Grid);
    Some(grids.filter(|a| user.can_access_area(index, a.area_id)).map(|a| a.area_id).collect())
}

fn invalid(code: &'static str, field: &str) -> ResidentError {
    ResidentError::Invalid(UserMessage::new(code).field(field))
}

/// Creates a household in a grid of the user's scope.
///
/// # Errors
/// 422 for an empty address or an unknown grid, 403 for a grid outside the scope.
pub async fn create_household(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
    input: HouseholdInput,
) -> Result<Household, ResidentError> {
    let address = input.address.trim();
    if !(1..=MAX_ADDRESS_CHARS).contains(&address.chars().count()) {
        let message = UserMessage::new("resident_address_invalid").arg("max", MAX_ADDRESS_CHARS);
        return Err(ResidentError::Invalid(message.field("address")));
    }
    let code = input.grid_code.trim();
    let grid = index.by_code(code).filter(|area| area.level == Level::Grid).ok_or_else(|| {
        let message = UserMessage::new("resident_grid_unknown").arg("code", code);
        ResidentError::Invalid(message.field("grid_code"))
    })?;
    if !user.can_access_area(index, grid.area_id) {
        return Err(ResidentError::Forbidden);
    }
    Ok(store::insert_household(db, address, grid.area_id).await?)
}

/// Returns a household of the user's scope and its residents.
///
/// # Errors
/// 404 when it does not exist or lies outside the scope.
pub async fn household_with_residents(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
    household_id: i64,
) -> Result<(Household, Vec<Resident>), ResidentError> {
    let household = household_in_scope(db, index, user, household_id).await?;
    let filter =
        ResidentFilter { household_id: Some(household_id), limit: 500, ..Default::default() };
    Ok((household, store::list_residents(db, &filter).await?))
}

async fn household_in_scope(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
    household_id: i64,
) -> Result<Household, ResidentError> {
    store::household_by_id(db, household_id)
        .await?
        .filter(|household| user.can_access_area(index, household.grid_id))
        .ok_or_else(|| ResidentError::not_found("household", household_id))
}

/// Validates and stores a resident with its tags, all or nothing, and audits it.
///
/// # Errors
/// 400 for a malformed identity or phone number or e-mail address, 422 for other
/// invalid fields or an unknown tag, 404 for a household outside the scope, 409 for a
/// registered number.
pub async fn create_resident(
    db: &Db,
    keys: &Keyring,
    index: &AreaIndex,
    user: &CurrentUser,
    actor: &Actor,
    input: ResidentInput,
) -> Result<Resident, ResidentError> {
    let household =
        household_in_scope(db, index, user, input.household_id).await.map_err(|_| {
            let message =
                UserMessage::new("resident_household_unknown").arg("id", input.household_id);
            ResidentError::Invalid(message.field("household_id"))
        })?;
    let identity =
        IdentityNumber::parse(&input.identity_number).map_err(ResidentError::Malformed)?;
    let phone = input.phone.as_deref().filter(|p| !p.trim().is_empty());
    let phone = phone.map(PhoneNumber::parse).transpose().map_err(ResidentError::Malformed)?;
    let email = input.email.as_deref().filter(|e| !e.trim().is_empty());
    let email = email.map(EmailAddress::parse).transpose().map_err(ResidentError::Malformed)?;
    let (name, gender, relation) = check_person(&input, &identity)?;
    let definitions = tags::list_tags(db).await?;
    let tag_ids = tags::check_assignments(&definitions, &input.tags)?;
    let new = NewResident {
        household_id: household.household_id,
        grid_id: household.grid_id,
        name,
        gender,
        birth_date: identity.birth_date(),
        relation,
        identity: protect(keys, Field::IdentityNumber, identity.as_str(), identity.masked()),
        phone: phone.map(|p| protect(keys, Field::Phone, p.as_str(), p.masked())),
        email: email.map(|e| protect(keys, Field::Email, e.as_str(), e.masked())),
        tags: tag_ids.into_iter().zip(input.tags).collect(),
    };
    let resident_id = store::insert_resident(db, &new).await.map_err(|error| {
        if is_unique_violation(&error) {
            let message = UserMessage::new("resident_duplicate").field("identity_number");
            ResidentError::Duplicate(message)
        } else {
            error.into()
        }
    })?;
    let target = format!("resident:{resident_id}");
    let entry = NewAuditEntry {
        actor,
        action: AuditAction::ResidentCreated,
        target: Some(target),
        detail: None,
    };
    audit::record(db, entry).await;
    store::resident_by_id(db, resident_id)
        .await?
        .ok_or_else(|| ResidentError::not_found("resident", resident_id))
}

/// Checks the name and relation, and that a given gender or birth date agrees with
/// the identity number.
fn check_person(
    input: &ResidentInput,
    identity: &IdentityNumber,
) -> Result<(String, Gender, Relation), ResidentError> {
    let name = input.name.trim();
    if !(1..=MAX_NAME_CHARS).contains(&name.chars().count()) {
        let message = UserMessage::new("resident_name_invalid").arg("max", MAX_NAME_CHARS);
        return Err(ResidentError::Invalid(message.field("name")));
    }
    let relation = Relation::parse(input.relation.trim())
        .ok_or_else(|| invalid("resident_relation_invalid", "relation"))?;
    let gender = identity.gender();
    if let Some(given) = input.gender.as_deref()
        && Gender::parse(given.trim()) != Some(gender)
    {
        return Err(invalid("resident_gender_mismatch", "gender"));
    }
    if input.birth_date.is_some_and(|date| date != identity.birth_date()) {
        return Err(invalid("resident_birth_date_mismatch", "birth_date"));
    }
    Ok((name.to_owned(), gender, relation))
}

fn protect(keys: &Keyring, field: Field, clear: &str, masked: String) -> ProtectedValue {
    ProtectedValue { sealed: keys.seal(field, clear), hash: keys.lookup_hash(field, clear), masked }
}

/// Returns a resident of the user's scope.
///
/// # Errors
/// 404 when it does not exist or lies outside the scope.
pub async fn get_resident(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
    resident_id: i64,
) -> Result<Resident, ResidentError> {
    store::resident_by_id(db, resident_id)
        .await?
        .filter(|resident| user.can_access_area(index, resident.grid_id))
        .ok_or_else(|| ResidentError::not_found("resident", resident_id))
}

/// Filters of a resident list as the API receives them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListInput {
    pub tag: Option<String>,
    pub identity_number: Option<String>,
    pub phone: Option<String>,
    pub household_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Lists the residents of the user's scope, by tag or by exact identity or phone number.
///
/// # Errors
/// 400 for a malformed number, 422 for an unknown tag or a limit out of 1–200.
pub async fn list_residents(
    db: &Db,
    keys: &Keyring,
    index: &AreaIndex,
    user: &CurrentUser,
    input: ListInput,
) -> Result<Vec<Resident>, ResidentError> {
    let limit = input.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("resident_limit_invalid", "limit"));
    }
    let offset = input.offset.unwrap_or(0);
    if offset < 0 {
        return Err(invalid("resident_offset_invalid", "offset"));
    }
    let tag_id = match input.tag.as_deref() {
        None => None,
        Some(code) => {
            let definitions = tags::list_tags(db).await?;
            let tag = definitions.iter().find(|tag| tag.code == code.trim());
            Some(tag.ok_or_else(|| invalid("resident_tag_filter_unknown", "tag"))?.tag_id)
        }
    };
    let identity = input.identity_number.as_deref().map(IdentityNumber::parse).transpose();
    let phone = input.phone.as_deref().map(PhoneNumber::parse).transpose();
    let filter = ResidentFilter {
        grid_ids: scope_grids(index, user),
        household_id: input.household_id,
        tag_id,
        identity_hash: identity
            .map_err(ResidentError::Malformed)?
            .map(|n| keys.lookup_hash(Field::IdentityNumber, n.as_str())),
        phone_hash: phone
            .map_err(ResidentError::Malformed)?
            .map(|p| keys.lookup_hash(Field::Phone, p.as_str())),
        limit,
        offset,
    };
    Ok(store::list_residents(db, &filter).await?)
}

/// A request to see one number in clear.
#[derive(Debug, Clone, Deserialize)]
pub struct RevealInput {
    /// `identity_number`, `phone` or `email`.
    pub field: String,
    /// The user's reason for needing the number, kept in the audit log.
    pub reason: String,
}

/// Opens one number or the e-mail address of a resident of the user's scope after auditing who, which and why.
/// The caller checks that the role may reveal.
///
/// # Errors
/// 422 for an unknown field or a missing reason, 404 outside the scope.
pub async fn reveal(
    db: &Db,
    keys: &Keyring,
    index: &AreaIndex,
    user: &CurrentUser,
    actor: &Actor,
    resident_id: i64,
    input: RevealInput,
) -> Result<Option<String>, ResidentError> {
    let field = match input.field.trim() {
        "identity_number" => Field::IdentityNumber,
        "phone" => Field::Phone,
        "email" => Field::Email,
        _ => return Err(invalid("resident_reveal_field", "field")),
    };
    let reason = input.reason.trim();
    if !(1..=MAX_REASON_CHARS).contains(&reason.chars().count()) {
        let message = UserMessage::new("resident_reveal_reason").arg("max", MAX_REASON_CHARS);
        return Err(ResidentError::Invalid(message.field("reason")));
    }
    get_resident(db, index, user, resident_id).await?;
    let stored = store::sealed_values(db, resident_id)
        .await?
        .ok_or_else(|| ResidentError::not_found("resident", resident_id))?;
    let sealed = match field {
        Field::IdentityNumber => Some(stored.identity_sealed),
        Field::Email => stored.email_sealed,
        _ => stored.phone_sealed,
    };
    let clear = sealed.map(|value| keys.open(field, &value)).transpose()?;
    let detail = format!("field={}; reason={reason}", field.as_str());
    let target = Some(format!("resident:{resident_id}"));
    let entry = NewAuditEntry {
        actor,
        action: AuditAction::ResidentRevealed,
        target,
        detail: Some(detail),
    };
    // Unlike other entries, a reveal whose audit entry cannot be written fails: the
    // number is shown only once the audit log contains it.
    db.append_audit(entry).await?;
    tracing::info!(resident.id = resident_id, reveal.field = field.as_str(), "number revealed");
    Ok(clear)
}
