//! Account administration: create, edit, reset a password, unlock. Each operation
//! validates its input, writes, and appends an audit entry naming the actor.

use crate::{
    audit::{self, Actor, AuditAction, NewAuditEntry},
    cases::routing::RoutingStore,
    db::Db,
    i18n::Locale,
    locate::AreaIndex,
};

use super::{
    AccountError, AccountStore, Role, SessionStore,
    domain::{parse_display_name, parse_username, resolve_scope},
    password::{Password, hash_password},
    store::{NewUser, UserChanges},
};

/// An account as an administrator or the CLI enters it, before validation.
#[derive(Clone)]
pub struct AccountInput {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub area_codes: Vec<String>,
    pub locale: Option<Locale>,
    /// A handler's department code. `None` scopes the handler by area alone.
    pub department_code: Option<String>,
    /// `None` generates a password that the caller shows once.
    pub password: Option<String>,
}

impl std::fmt::Debug for AccountInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountInput")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("area_codes", &self.area_codes)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// A created account and the generated password, if one was generated.
#[derive(Debug)]
pub struct CreatedAccount {
    pub user_id: i64,
    pub generated_password: Option<Password>,
}

/// Validates and stores a new account, then audits it.
///
/// # Errors
/// Invalid username, display name, password or area scope, or a taken username.
#[tracing::instrument(skip_all, fields(user.id = tracing::field::Empty, user.role = input.role.as_str()))]
pub async fn create_account(
    db: &Db,
    index: &AreaIndex,
    input: AccountInput,
    actor: &Actor,
) -> Result<CreatedAccount, AccountError> {
    let username = parse_username(&input.username)?;
    let display_name = parse_display_name(&input.display_name)?;
    let area_ids = resolve_scope(input.role, &input.area_codes, index)?;
    let department_code = check_department(db, input.role, input.department_code).await?;
    let (password, generated) = match input.password {
        Some(text) => (Password::parse_new(text)?, false),
        None => (Password::generate(), true),
    };
    let password_hash = hash_password(&password).await?;
    let user = NewUser {
        username: username.clone(),
        display_name,
        role: input.role,
        password_hash,
        locale: input.locale,
        area_ids,
        department_code: department_code.clone(),
    };
    let user_id = db.insert_user(&user).await?;
    tracing::Span::current().record("user.id", user_id);
    tracing::info!(user.id = user_id, "account created");
    let detail = format!(
        "username={username} role={} areas={} department={}",
        input.role.as_str(),
        input.area_codes.join(","),
        department_code.unwrap_or_default()
    );
    audit::record(db, entry(actor, AuditAction::UserCreated, user_id, Some(detail))).await;
    Ok(CreatedAccount { user_id, generated_password: generated.then_some(password) })
}

/// The fields of the edit form, before validation.
#[derive(Debug, Clone)]
pub struct AccountEdit {
    pub display_name: String,
    pub role: Role,
    pub area_codes: Vec<String>,
    pub active: bool,
    pub department_code: Option<String>,
}

/// Applies an administrator's edit. Deactivating an account ends its sessions.
///
/// # Errors
/// Invalid fields, an unknown user, or an administrator demoting or deactivating
/// their own account (which could leave the street without an administrator).
#[tracing::instrument(skip_all, fields(user.id = user_id))]
pub async fn update_account(
    db: &Db,
    index: &AreaIndex,
    user_id: i64,
    edit: AccountEdit,
    actor: &Actor,
) -> Result<(), AccountError> {
    let display_name = parse_display_name(&edit.display_name)?;
    let area_ids = resolve_scope(edit.role, &edit.area_codes, index)?;
    if actor.user_id == Some(user_id) && (edit.role != Role::Administrator || !edit.active) {
        return Err(AccountError::CannotDemoteSelf);
    }
    let department_code = check_department(db, edit.role, edit.department_code).await?;
    let changes = UserChanges {
        display_name,
        role: edit.role,
        area_ids,
        active: edit.active,
        department_code: department_code.clone(),
    };
    if !db.update_user(user_id, &changes).await? {
        return Err(AccountError::UserNotFound(user_id));
    }
    if !edit.active {
        db.delete_user_sessions(user_id).await?;
    }
    let detail = format!(
        "role={} areas={} active={} department={}",
        edit.role.as_str(),
        edit.area_codes.join(","),
        edit.active,
        department_code.unwrap_or_default()
    );
    audit::record(db, entry(actor, AuditAction::UserUpdated, user_id, Some(detail))).await;
    Ok(())
}

/// Replaces a user's password with a generated one, ends their sessions and returns
/// the new password to show once.
///
/// # Errors
/// An unknown user or a database failure.
#[tracing::instrument(skip_all, fields(user.id = user_id))]
pub async fn reset_password(
    db: &Db,
    user_id: i64,
    actor: &Actor,
) -> Result<Password, AccountError> {
    if db.user_by_id(user_id).await?.is_none() {
        return Err(AccountError::UserNotFound(user_id));
    }
    let password = Password::generate();
    db.set_password_hash(user_id, &hash_password(&password).await?).await?;
    db.delete_user_sessions(user_id).await?;
    audit::record(db, entry(actor, AuditAction::PasswordReset, user_id, None)).await;
    Ok(password)
}

/// Lifts a login lock and clears the failure count.
///
/// # Errors
/// An unknown user or a database failure.
#[tracing::instrument(skip_all, fields(user.id = user_id))]
pub async fn unlock_account(db: &Db, user_id: i64, actor: &Actor) -> Result<(), AccountError> {
    if db.user_by_id(user_id).await?.is_none() {
        return Err(AccountError::UserNotFound(user_id));
    }
    db.unlock_user(user_id).await?;
    audit::record(db, entry(actor, AuditAction::UserUnlocked, user_id, None)).await;
    Ok(())
}

/// Checks a department given to an account: only handlers hold one, and it must exist.
/// An empty code means none.
///
/// # Errors
/// [`AccountError::DepartmentNotAllowed`] for another role and
/// [`AccountError::UnknownDepartment`] for a code no department has.
async fn check_department(
    db: &Db,
    role: Role,
    code: Option<String>,
) -> Result<Option<String>, AccountError> {
    let Some(code) = code.map(|code| code.trim().to_owned()).filter(|code| !code.is_empty()) else {
        return Ok(None);
    };
    if role != Role::Handler {
        return Err(AccountError::DepartmentNotAllowed);
    }
    let known = db.department_codes().await.map_err(anyhow::Error::new)?;
    if known.contains(&code) { Ok(Some(code)) } else { Err(AccountError::UnknownDepartment(code)) }
}

fn entry(
    actor: &Actor,
    action: AuditAction,
    user_id: i64,
    detail: Option<String>,
) -> NewAuditEntry<'_> {
    NewAuditEntry { actor, action, target: Some(format!("user:{user_id}")), detail }
}
