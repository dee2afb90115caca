//! Merchants and property companies (商户/物业) with their contacts and premises.
//!
//! An organisation is visible to a user when one of its premises lies in a grid of
//! the user's scope. Contact phones are sealed, hashed and masked like residents'.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    ResidentError,
    crypto::{Field, Keyring},
    identity::PhoneNumber,
    service::scope_grids,
    tags::is_unique_violation,
};
use crate::{
    accounts::CurrentUser, areas::Level, db::Db, http::UserMessage, locate::AreaIndex, with_pool,
};

/// Maximum organisation name length, in characters, as in the migration.
const MAX_NAME_CHARS: usize = 100;
/// Maximum contacts or premises in one request; a chain store has a handful.
const MAX_ITEMS: usize = 50;

#[derive(Debug, Clone, Deserialize)]
pub struct ContactInput {
    pub name: String,
    pub position: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PremisesInput {
    pub address: String,
    /// Code of the grid the premises lie in.
    pub grid_code: String,
    /// A gazetteer place, when the premises have one.
    pub place_id: Option<i64>,
}

/// An organisation as the API receives it.
#[derive(Debug, Clone, Deserialize)]
pub struct OrganisationInput {
    pub name: String,
    /// `merchant` or `property_company`.
    pub kind: String,
    /// Unified social credit code (统一社会信用代码), 18 characters.
    pub credit_code: Option<String>,
    #[serde(default)]
    pub contacts: Vec<ContactInput>,
    pub premises: Vec<PremisesInput>,
}

/// A contact with the phone masked.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Contact {
    pub contact_id: i64,
    pub name: String,
    pub position: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Premises {
    pub premises_id: i64,
    pub address: String,
    pub grid_id: i64,
    pub place_id: Option<i64>,
}

/// An organisation with its contacts and premises.
#[derive(Debug, Clone, Serialize)]
pub struct Organisation {
    pub organisation_id: i64,
    pub name: String,
    pub kind: String,
    pub credit_code: Option<String>,
    pub contacts: Vec<Contact>,
    pub premises: Vec<Premises>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct OrganisationRow {
    name: String,
    kind: String,
    credit_code: Option<String>,
    created_at: DateTime<Utc>,
}

/// A contact ready to store: the phone already sealed, hashed and masked.
struct NewContact {
    name: String,
    position: Option<String>,
    phone: Option<(String, String, String)>,
}

fn invalid(code: &'static str, field: String) -> ResidentError {
    ResidentError::Invalid(UserMessage::new(code).field(field))
}

/// Checks every field, then stores the organisation with its contacts and premises in
/// one transaction.
///
/// # Errors
/// 400 for a malformed phone, 422 naming the field for other invalid input, 403 for
/// premises outside the user's scope, 409 for a name or credit code in use.
pub async fn create_organisation(
    db: &Db,
    keys: &Keyring,
    index: &AreaIndex,
    user: &CurrentUser,
    input: OrganisationInput,
) -> Result<Organisation, ResidentError> {
    let name = input.name.trim().to_owned();
    if !(1..=MAX_NAME_CHARS).contains(&name.chars().count()) {
        return Err(invalid("organisation_name_invalid", "name".into()));
    }
    if !matches!(input.kind.as_str(), "merchant" | "property_company") {
        return Err(invalid("organisation_kind_invalid", "kind".into()));
    }
    let credit_code = input.credit_code.as_deref().map(str::trim).filter(|c| !c.is_empty());
    if credit_code.is_some_and(|c| c.len() != 18 || !c.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err(invalid("organisation_credit_code_invalid", "credit_code".into()));
    }
    if input.premises.is_empty() || input.premises.len() > MAX_ITEMS {
        return Err(invalid("organisation_premises_missing", "premises".into()));
    }
    if input.contacts.len() > MAX_ITEMS {
        return Err(invalid("organisation_contacts_too_many", "contacts".into()));
    }
    let contacts = check_contacts(keys, &input.contacts)?;
    let premises = check_premises(db, index, user, &input.premises).await?;
    let stored = insert(db, &name, &input.kind, credit_code, &contacts, &premises).await;
    let organisation_id = stored.map_err(|error| match is_unique_violation(&error) {
        true => ResidentError::Duplicate(
            UserMessage::new("organisation_duplicate").arg("name", &name).field("name"),
        ),
        false => error.into(),
    })?;
    organisation_by_id(db, organisation_id)
        .await?
        .ok_or_else(|| ResidentError::not_found("organisation", organisation_id))
}

fn check_contacts(
    keys: &Keyring,
    contacts: &[ContactInput],
) -> Result<Vec<NewContact>, ResidentError> {
    let mut checked = Vec::with_capacity(contacts.len());
    for (position, contact) in contacts.iter().enumerate() {
        let name = contact.name.trim();
        if !(1..=50).contains(&name.chars().count()) {
            return Err(invalid("organisation_contact_name", format!("contacts[{position}].name")));
        }
        let phone = contact.phone.as_deref().filter(|p| !p.trim().is_empty());
        let phone = phone.map(PhoneNumber::parse).transpose().map_err(|message| {
            ResidentError::Malformed(message.field(format!("contacts[{position}].phone")))
        })?;
        checked.push(NewContact {
            name: name.to_owned(),
            position: contact
                .position
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
            phone: phone.map(|p| {
                let sealed = keys.seal(Field::Phone, p.as_str());
                (sealed, keys.lookup_hash(Field::Phone, p.as_str()), p.masked())
            }),
        });
    }
    Ok(checked)
}

/// Resolves each premises' grid and place; returns (address, grid id, place id).
async fn check_premises(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
    premises: &[PremisesInput],
) -> Result<Vec<(String, i64, Option<i64>)>, ResidentError> {
    let mut checked = Vec::with_capacity(premises.len());
    for (position, item) in premises.iter().enumerate() {
        let address = item.address.trim();
        if !(1..=200).contains(&address.chars().count()) {
            let message = UserMessage::new("resident_address_invalid").arg("max", 200);
            return Err(ResidentError::Invalid(
                message.field(format!("premises[{position}].address")),
            ));
        }
        let code = item.grid_code.trim();
        let grid =
            index.by_code(code).filter(|area| area.level == Level::Grid).ok_or_else(|| {
                let message = UserMessage::new("resident_grid_unknown").arg("code", code);
                ResidentError::Invalid(message.field(format!("premises[{position}].grid_code")))
            })?;
        if !user.can_access_area(index, grid.area_id) {
            return Err(ResidentError::Forbidden);
        }
        if let Some(place_id) = item.place_id {
            let found: Option<i64> = with_pool!(db, |pool| {
                sqlx::query_scalar("SELECT place_id FROM place WHERE place_id = $1")
                    .bind(place_id)
                    .fetch_optional(pool)
                    .await
            })?;
            if found.is_none() {
                let message = UserMessage::new("organisation_place_unknown").arg("id", place_id);
                return Err(ResidentError::Invalid(
                    message.field(format!("premises[{position}].place_id")),
                ));
            }
        }
        checked.push((address.to_owned(), grid.area_id, item.place_id));
    }
    Ok(checked)
}

async fn insert(
    db: &Db,
    name: &str,
    kind: &str,
    credit_code: Option<&str>,
    contacts: &[NewContact],
    premises: &[(String, i64, Option<i64>)],
) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        let organisation_id: i64 = sqlx::query_scalar(
            "INSERT INTO organisation (name, kind, credit_code, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING organisation_id",
        )
        .bind(name)
        .bind(kind)
        .bind(credit_code)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for contact in contacts {
            let phone = contact.phone.as_ref();
            sqlx::query(
                "INSERT INTO organisation_contact (organisation_id, name, position, phone_sealed, \
                 phone_hash, phone_masked, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(organisation_id)
            .bind(&contact.name)
            .bind(&contact.position)
            .bind(phone.map(|p| &p.0))
            .bind(phone.map(|p| &p.1))
            .bind(phone.map(|p| &p.2))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for (address, grid_id, place_id) in premises {
            sqlx::query(
                "INSERT INTO organisation_premises (organisation_id, place_id, grid_id, address, \
                 created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(organisation_id)
            .bind(place_id)
            .bind(grid_id)
            .bind(address)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(organisation_id)
    })
}

/// Returns an organisation with at least one premises in the user's scope.
///
/// # Errors
/// 404 when it does not exist or lies wholly outside the scope.
pub async fn get_organisation(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
    organisation_id: i64,
) -> Result<Organisation, ResidentError> {
    organisation_by_id(db, organisation_id)
        .await?
        .filter(|org| org.premises.iter().any(|p| user.can_access_area(index, p.grid_id)))
        .ok_or_else(|| ResidentError::not_found("organisation", organisation_id))
}

/// Lists the organisations with premises in the user's scope, by id.
pub async fn list_organisations(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
) -> Result<Vec<Organisation>, ResidentError> {
    let scope = match scope_grids(index, user) {
        None => String::new(),
        Some(ids) if ids.is_empty() => return Ok(Vec::new()),
        // Ids come from the area index, never from the request.
        Some(ids) => {
            let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            format!(
                " WHERE organisation_id IN (SELECT organisation_id FROM organisation_premises WHERE grid_id IN ({list}))"
            )
        }
    };
    // NOTE: lists at most 500 organisations and reads each one's rows separately; add
    // paging when a street registers more.
    let sql = format!(
        "SELECT organisation_id FROM organisation{scope} ORDER BY organisation_id LIMIT 500"
    );
    let ids: Vec<i64> = with_pool!(db, |pool| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await
    })?;
    let mut organisations = Vec::with_capacity(ids.len());
    for organisation_id in ids {
        organisations.extend(organisation_by_id(db, organisation_id).await?);
    }
    Ok(organisations)
}

async fn organisation_by_id(
    db: &Db,
    organisation_id: i64,
) -> Result<Option<Organisation>, sqlx::Error> {
    with_pool!(db, |pool| {
        let row: Option<OrganisationRow> = sqlx::query_as(
            "SELECT organisation_id, name, kind, credit_code, created_at FROM organisation \
             WHERE organisation_id = $1",
        )
        .bind(organisation_id)
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let contacts: Vec<Contact> = sqlx::query_as(
            "SELECT contact_id, name, position, phone_masked AS phone FROM organisation_contact \
             WHERE organisation_id = $1 ORDER BY contact_id",
        )
        .bind(organisation_id)
        .fetch_all(pool)
        .await?;
        let premises: Vec<Premises> = sqlx::query_as(
            "SELECT premises_id, address, grid_id, place_id FROM organisation_premises \
             WHERE organisation_id = $1 ORDER BY premises_id",
        )
        .bind(organisation_id)
        .fetch_all(pool)
        .await?;
        Ok(Some(Organisation {
            organisation_id,
            name: row.name,
            kind: row.kind,
            credit_code: row.credit_code,
            contacts,
            premises,
            created_at: row.created_at,
        }))
    })
}
