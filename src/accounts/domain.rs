//! Account rules: valid usernames and display names, which areas a role may be scoped
//! to, and the errors these rules raise.

use crate::{
    areas::{Area, Level},
    http::{AppError, UserMessage},
    locate::AreaIndex,
};

use super::Role;

/// Reasons an account operation is rejected.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("username must be 3 to 64 letters, digits, '.', '_' or '-'")]
    UsernameInvalid,
    #[error("username {0} is taken; choose another")]
    UsernameTaken(String),
    #[error("display name must be 1 to 100 characters without control characters")]
    DisplayNameInvalid,
    #[error("password is too short: use at least 10 characters")]
    PasswordTooShort,
    #[error("password is too long: use at most 256 characters")]
    PasswordTooLong,
    #[error("unknown area code {0}; check the code or import the areas first")]
    UnknownArea(String),
    #[error("role {role} must be scoped to at least one area")]
    AreasRequired { role: &'static str },
    #[error("role {role} cannot be scoped to area {code}, which is a {level}")]
    AreaLevelNotAllowed { role: &'static str, code: String, level: &'static str },
    #[error("administrators cannot remove their own administrator role or deactivate themselves")]
    CannotDemoteSelf,
    #[error("user {0} not found")]
    UserNotFound(i64),
    #[error("only handlers may have a department")]
    DepartmentNotAllowed,
    #[error("unknown department code {0}; choose a department of the catalogue")]
    UnknownDepartment(String),
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
            DepartmentNotAllowed => AppError::Invalid(
                UserMessage::new("routing_department_handlers_only").field("department_code"),
            ),
            UnknownDepartment(code) => AppError::Invalid(
                UserMessage::new("unknown_department").arg("code", code).field("department_code"),
            ),
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
/// Grid workers are scoped to grids and community workers to communities. Dispatchers,
/// handlers, residents and merchants may hold any area below the city, and the first
/// two need at least one. Administrators are never scoped, so their list must be empty.
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

/// Checks whether `area_id` is one of `scope` or lies under one of them, walking parent links.
///
/// An empty scope grants nothing; callers give administrators access before asking.
pub fn area_in_scope(index: &AreaIndex, scope: &[i64], area_id: i64) -> bool {
    // NOTE: each step scans the area list, so one check costs up to five scans. That
    // suits per-request checks; filtering long lists needs a parent map in the index.
    let mut current = Some(area_id);
    // The hierarchy has five levels, and the bound stops a corrupt parent cycle.
    for _ in 0..16 {
        let Some(id) = current else { return false };
        if scope.contains(&id) {
            return true;
        }
        current = index.areas().iter().find(|area| area.area_id == id).and_then(|a| a.parent_id);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::CurrentUser;

    fn area(area_id: i64, code: &str, level: Level, parent_id: Option<i64>) -> Area {
        Area {
            area_id,
            code: code.to_owned(),
            name: code.to_owned(),
            level,
            parent_id,
            geometry: None,
            responsible_unit: None,
        }
    }

    /// Street 1 with communities 2 and 3; grids 4 and 5 in community 2, grid 6 in 3.
    fn street() -> AreaIndex {
        AreaIndex::build(
            1,
            vec![
                area(1, "S", Level::Street, None),
                area(2, "C2", Level::Community, Some(1)),
                area(3, "C3", Level::Community, Some(1)),
                area(4, "G4", Level::Grid, Some(2)),
                area(5, "G5", Level::Grid, Some(2)),
                area(6, "G6", Level::Grid, Some(3)),
            ],
            &Default::default(),
        )
    }

    fn user(role: Role, area_ids: Vec<i64>) -> CurrentUser {
        CurrentUser {
            user_id: 1,
            username: "u".to_owned(),
            display_name: "u".to_owned(),
            role,
            area_ids,
            department_code: None,
            locale: None,
            csrf_token: String::new(),
        }
    }

    #[test]
    fn can_access_area_follows_parent_links() {
        let index = street();
        let community_worker = user(Role::CommunityWorker, vec![2]);
        let cases = [
            (2, true, "own community"),
            (4, true, "grid under own community"),
            (5, true, "second grid under own community"),
            (3, false, "sibling community"),
            (6, false, "grid of sibling community"),
            (1, false, "parent street"),
            (99, false, "unknown area"),
        ];
        for (area_id, expected, description) in cases {
            assert_eq!(
                community_worker.can_access_area(&index, area_id),
                expected,
                "{description}"
            );
        }
    }

    #[test]
    fn can_access_area_gives_administrator_everything() {
        let index = street();
        assert!(user(Role::Administrator, vec![]).can_access_area(&index, 6));
        assert!(!user(Role::Resident, vec![]).can_access_area(&index, 6), "no scope, no access");
    }

    #[test]
    fn grid_worker_accesses_only_own_grid() {
        let index = street();
        let grid_worker = user(Role::GridWorker, vec![4]);
        assert!(grid_worker.can_access_area(&index, 4));
        assert!(!grid_worker.can_access_area(&index, 5));
        assert!(!grid_worker.can_access_area(&index, 2), "not the community above");
    }

    #[test]
    fn resolve_scope_applies_role_levels() {
        let index = street();
        let codes = |list: &[&str]| list.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        assert_eq!(resolve_scope(Role::GridWorker, &codes(&["G4", "G5"]), &index).unwrap(), [4, 5]);
        assert!(matches!(
            resolve_scope(Role::GridWorker, &codes(&["C2"]), &index),
            Err(AccountError::AreaLevelNotAllowed { .. })
        ));
        assert!(matches!(
            resolve_scope(Role::CommunityWorker, &[], &index),
            Err(AccountError::AreasRequired { .. })
        ));
        assert!(matches!(
            resolve_scope(Role::Administrator, &codes(&["S"]), &index),
            Err(AccountError::AreaLevelNotAllowed { .. })
        ));
        assert!(matches!(
            resolve_scope(Role::Dispatcher, &codes(&["nope"]), &index),
            Err(AccountError::UnknownArea(code)) if code == "nope"
        ));
        assert!(resolve_scope(Role::Resident, &[], &index).unwrap().is_empty());
        assert_eq!(resolve_scope(Role::Dispatcher, &codes(&["S", "S"]), &index).unwrap(), [1]);
    }

    #[test]
    fn parse_username_normalises_case_and_checks_characters() {
        assert_eq!(parse_username(" Wang.Fang_01 ").unwrap(), "wang.fang_01");
        for bad in ["ab", "王芳", "has space", "semi;colon", &"x".repeat(65)] {
            assert!(parse_username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parse_display_name_rejects_blank_and_control_characters() {
        assert_eq!(parse_display_name("  王芳 ").unwrap(), "王芳");
        assert!(parse_display_name("   ").is_err());
        assert!(parse_display_name("a\u{7}b").is_err());
    }
}
