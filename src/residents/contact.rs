//! Changes to a registered resident's contact details: phone number and e-mail address.
//!
//! Identity number, name and household are fixed at registration. A phone number or
//! e-mail address changes often, and a notice channel needs the current one.

use chrono::Utc;
use serde::Deserialize;

use super::{
    Resident, ResidentError,
    crypto::{Field, Keyring},
    identity::{EmailAddress, PhoneNumber},
    service::get_resident,
    store::{self, ProtectedValue},
};
use crate::{
    accounts::CurrentUser,
    audit::{self, Actor, AuditAction, NewAuditEntry},
    db::Db,
    http::UserMessage,
    locate::AreaIndex,
    with_pool,
};

/// The contact details to change. A missing or `null` key keeps the stored value, and
/// an empty string removes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A change of one column group: `None` keeps it, `Some(None)` clears it.
type Change = Option<Option<ProtectedValue>>;

/// Validates and stores new contact details of a resident of the user's scope, in one
/// transaction, and audits which fields changed (never their values).
///
/// # Errors
/// 400 for a malformed phone number or e-mail address, 422 when neither is given, 404
/// for a resident outside the scope.
pub async fn update_contact(
    db: &Db,
    keys: &Keyring,
    index: &AreaIndex,
    user: &CurrentUser,
    actor: &Actor,
    resident_id: i64,
    input: ContactInput,
) -> Result<Resident, ResidentError> {
    if input.phone.is_none() && input.email.is_none() {
        let message = UserMessage::new("resident_contact_empty").field("email");
        return Err(ResidentError::Invalid(message));
    }
    let phone: Change = match input.phone.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(text) => {
            let phone = PhoneNumber::parse(text).map_err(ResidentError::Malformed)?;
            Some(Some(protect(keys, Field::Phone, phone.as_str(), phone.masked())))
        }
    };
    let email: Change = match input.email.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(text) => {
            let email = EmailAddress::parse(text).map_err(ResidentError::Malformed)?;
            Some(Some(protect(keys, Field::Email, email.as_str(), email.masked())))
        }
    };
    get_resident(db, index, user, resident_id).await?;
    store_contact(db, resident_id, &phone, &email).await?;

    let changed: Vec<&str> = [("phone", phone.is_some()), ("email", email.is_some())]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect();
    let entry = NewAuditEntry {
        actor,
        action: AuditAction::ResidentContactUpdated,
        target: Some(format!("resident:{resident_id}")),
        detail: Some(format!("fields={}", changed.join(","))),
    };
    audit::record(db, entry).await;
    tracing::info!(resident.id = resident_id, fields = changed.join(","), "contact updated");
    store::resident_by_id(db, resident_id)
        .await?
        .ok_or_else(|| ResidentError::not_found("resident", resident_id))
}

fn protect(keys: &Keyring, field: Field, clear: &str, masked: String) -> ProtectedValue {
    ProtectedValue { sealed: keys.seal(field, clear), hash: keys.lookup_hash(field, clear), masked }
}

/// Writes the changed column groups of a resident in one transaction.
async fn store_contact(
    db: &Db,
    resident_id: i64,
    phone: &Change,
    email: &Change,
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let _turn = db.write_turn().await;
    // Column prefixes are constants of this function, never request text.
    let changes = [("phone", phone), ("email", email)];
    with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        for (prefix, change) in changes {
            let Some(value) = change else { continue };
            let sql = format!(
                "UPDATE resident SET {prefix}_sealed = $1, {prefix}_hash = $2, \
                 {prefix}_masked = $3, updated_at = $4 WHERE resident_id = $5"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(value.as_ref().map(|v| &v.sealed))
                .bind(value.as_ref().map(|v| &v.hash))
                .bind(value.as_ref().map(|v| &v.masked))
                .bind(now)
                .bind(resident_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    })
}
