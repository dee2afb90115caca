//! Account rules: valid usernames and display names, which areas a role may be scoped
//! to, and the errors these rules raise.

use crate::{
    areas::{Area, Level},
    http::{AppError, UserMessage},
    locate::AreaIndex,
};

use super::Role;

/// Why an account operation was rejected.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("username must be 3 to 64 letters, digits, '.', '_' or '-'")]
    UsernameInvalid,
    #[error("username {0} is taken")]
    UsernameTaken(String),
    #[error("display name must be 1 to 100 characters")]
    DisplayNameInvalid,
    #[error("password is shorter than the minimum")]
    PasswordTooShort,
    #[error("password is longer than the maximum")]
    PasswordTooLong,
    #[error("unknown area code {0}")]
    UnknownArea(String),
    #[error("role {role} must be scoped to at least one area")]
    AreasRequired { role: &'static str },
    #[error("role {role} cannot be scoped to area {code}, which is a {level}")]
    AreaLevelNotAllowed { role: &'static str, code: String, level: &'static str },
    #[error("administrators cannot remove their own administrator role or deactivate themselves")]
    CannotDemoteSelf,
    #[error("user {0} not found")]
    UserNotFound(i64),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<AccountError> for AppError {
    fn from(error: AccountError) -> Self {
        use AccountError::*;
        let min = super::password::MIN_PASSWORD_CHARS;
        let max = super::password::MAX_PASSWORD_CHARS;
        match error {
            UsernameInvalid => {
                AppError::Invalid(UserMessage::new("username_invalid").field("username"))
            }
            UsernameTaken(name) => AppError::Conflict(
                UserMessage::new("username_taken").arg("username", name).field("username"),
            ),
            DisplayNameInvalid => {
                AppError::Invalid(UserMessage::new("display_name_invalid").field("display_name"))
            }
            PasswordTooShort => AppError::Invalid(
                UserMessage::new("password_too_short").arg("min", min).field("password"),
            ),
            PasswordTooLong => AppError::Invalid(
                UserMessage::new("password_too_long").arg("max", max).field("password"),
            ),
            UnknownArea(code) => {
                AppError::Invalid(UserMessage::new("unknown_area").arg("code", code).field("areas"))
            }
            AreasRequired { .. } => {
                AppError::Invalid(UserMessage::new("areas_required").field("areas"))
            }
            AreaLevelNotAllowed { code, .. } => AppError::Invalid(
                UserMessage::new("area_level_not_allowed").arg("code", code).field("areas"),
            ),
            CannotDemoteSelf => {
                AppError::Invalid(UserMessage::new("cannot_demote_self").field("role"))
            }
            UserNotFound(id) => {
                AppError::NotFound(UserMessage::new("user_not_found").arg("id", id))
            }
            Database(error) => AppError::Internal(error.into()),
            Internal(error) => AppError::Internal(error),
        }
    }
}

/// Normalises a login name to lower case and checks its characters.
///
/// # Errors
/// [`AccountError::UsernameInvalid`] unless it is 3–64 ASCII letters, digits, `.`, `_`
/// or `-`.
pub fn parse_username(text: &str) -> Result<String, AccountError> {
    let name = text.trim().to_ascii_lowercase();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if (3..=64).contains(&name.len()) && name.chars().all(allowed) {
        Ok(name)
    } else {
        Err(AccountError::UsernameInvalid)
    }
}

/// Trims a display name and checks it is 1–100 characters without control characters.
///
/// # Errors
/// [`AccountError::DisplayNameInvalid`].
pub fn parse_display_name(text: &str) -> Result<String, AccountError> {
    let name = text.trim();
    let chars = name.chars().count();
    if (1..=100).contains(&chars) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(AccountError::DisplayNameInvalid)
    }
}

/// Resolves area codes to areas and checks them against the role's scope rule.
///
/// Grid workers are scoped to grids and community workers to communities; dispatchers
/// and handlers to any area below the city; residents and merchants may have none.
/// Administrators are never scoped, so their list must be empty.
///
/// # Errors
/// An unknown code, a missing scope, or an area of a level the role cannot hold.
pub fn resolve_scope(
    role: Role,
    codes: &[String],
    index: &AreaIndex,
) -> Result<Vec<i64>, AccountError> {
    let mut areas: Vec<&Area> = Vec::new();
    for code in codes {
        let area = index
            .areas()
            .iter()
            .find(|area| area.code == *code)
            .ok_or_else(|| AccountError::UnknownArea(code.clone()))?;
        if !areas.iter().any(|known| known.area_id == area.area_id) {
            areas.push(area);
        }
    }
    let needs_area = !matches!(role, Role::Administrator | Role::Resident | Role::Merchant);
    if needs_area && areas.is_empty() {
        return Err(AccountError::AreasRequired { role: role.as_str() });
    }
    for area in &areas {
        if !role_may_hold(role, area.level) {
            return Err(AccountError::AreaLevelNotAllowed {
                role: role.as_str(),
                code: area.code.clone(),
                level: area.level.as_str(),
            });
        }
    }
    Ok(areas.iter().map(|area| area.area_id).collect())
}

fn role_may_hold(role: Role, level: Level) -> bool {
    match role {
        Role::Administrator => false,
        Role::GridWorker => level == Level::Grid,
        Role::CommunityWorker => level == Level::Community,
        Role::Dispatcher | Role::Handler | Role::Resident | Role::Merchant => level != Level::City,
    }
}

/// Whether `area_id` is one of `scope` or lies under one of them, walking parent links.
///
/// An empty scope grants nothing; callers give administrators access before asking.
pub fn area_in_scope(index: &AreaIndex, scope: &[i64], area_id: i64) -> bool {
    let mut current = Some(area_id);
    // The hierarchy has five levels; the bound stops a corrupt parent cycle.
    for _ in 0..16 {
        let Some(id) = current else { return false };
        if scope.contains(&id) {
            return true;
        }
        current = index.areas().iter().find(|area| area.area_id == id).and_then(|a| a.parent_id);
    }
    false
}
