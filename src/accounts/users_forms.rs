//! Page data and form parsing of the user pages.

use askama::Template;

use super::{
    Role,
    service::{AccountEdit, AccountInput},
    store::User,
};
use crate::{
    areas::Level,
    http::{AppError, UserMessage, pages::PageContext},
    i18n::Locale,
    locate::AreaIndex,
};

/// A message about one form field, shown next to it and in the summary.
#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The raw values of the new-user and edit-user forms, kept to re-render on error.
/// `Debug` is not derived because the values include the typed password.
#[derive(Clone, Default)]
pub struct UserFormValues {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub area_codes: Vec<String>,
    pub locale: String,
    pub password: String,
    pub active: bool,
    /// A handler's department code, or empty for none.
    pub department_code: String,
}

impl UserFormValues {
    /// Collects the fields of a URL-encoded form; `areas` may repeat.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut values = UserFormValues::default();
        for (name, value) in pairs {
            match name.as_str() {
                "username" => values.username = value,
                "display_name" => values.display_name = value,
                "role" => values.role = value,
                "areas" => values.area_codes.push(value),
                "locale" => values.locale = value,
                "password" => values.password = value,
                "active" => values.active = true,
                "department_code" => values.department_code = value,
                _ => {}
            }
        }
        values
    }

    /// Fills the edit form from a stored account.
    pub fn from_user(user: &User, index: &AreaIndex) -> Self {
        UserFormValues {
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            role: user.role.as_str().to_owned(),
            area_codes: area_codes(index, &user.area_ids),
            locale: user.locale.map(|l| l.tag().to_owned()).unwrap_or_default(),
            password: String::new(),
            active: user.active,
            department_code: user.department_code.clone().unwrap_or_default(),
        }
    }

    fn parse_role(&self) -> Result<Role, AppError> {
        Role::parse(&self.role)
            .ok_or_else(|| AppError::Invalid(UserMessage::new("role_invalid").field("role")))
    }

    /// Builds the new-account input; an empty password requests a generated one.
    ///
    /// # Errors
    /// An unknown role or language.
    pub fn to_input(&self) -> Result<AccountInput, AppError> {
        let locale = match self.locale.as_str() {
            "" => None,
            tag => Some(Locale::parse(tag).ok_or_else(|| {
                AppError::Invalid(
                    UserMessage::new("locale_invalid").arg("locale", tag).field("locale"),
                )
            })?),
        };
        Ok(AccountInput {
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.parse_role()?,
            area_codes: self.area_codes.clone(),
            locale,
            department_code: self.department(),
            password: (!self.password.is_empty()).then(|| self.password.clone()),
        })
    }

    /// Builds the edit of an existing account.
    ///
    /// # Errors
    /// An unknown role.
    pub fn to_edit(&self) -> Result<AccountEdit, AppError> {
        Ok(AccountEdit {
            display_name: self.display_name.clone(),
            role: self.parse_role()?,
            area_codes: self.area_codes.clone(),
            active: self.active,
            department_code: self.department(),
        })
    }

    fn department(&self) -> Option<String> {
        let code = self.department_code.trim();
        (!code.is_empty()).then(|| code.to_owned())
    }
}

/// Looks up the codes of the given area ids, in index order.
pub fn area_codes(index: &AreaIndex, area_ids: &[i64]) -> Vec<String> {
    index.areas().iter().filter(|a| area_ids.contains(&a.area_id)).map(|a| a.code.clone()).collect()
}

/// Turns a validation error into a field error for the form; other errors pass through.
///
/// # Errors
/// Any error that is not about the input.
pub fn field_error(error: AppError, locale: Locale) -> Result<FieldError, AppError> {
    match error {
        AppError::Invalid(message) | AppError::Conflict(message) => Ok(FieldError {
            field: message.field.clone().unwrap_or_default(),
            message: message.render(locale),
        }),
        other => Err(other),
    }
}

/// One checkbox of the area list.
#[derive(Debug, Clone)]
pub struct AreaOption {
    pub code: String,
    pub name: String,
    pub level_label: String,
    pub checked: bool,
}

/// One option of the role select.
#[derive(Debug, Clone)]
pub struct RoleOption {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

/// The new-user form (`user_id` `None`) or the edit form of one account.
#[derive(Template)]
#[template(path = "accounts/user_form.html")]
pub struct UserFormPage {
    pub ctx: PageContext,
    pub user_id: Option<i64>,
    pub values: UserFormValues,
    pub errors: Vec<FieldError>,
    pub roles: Vec<RoleOption>,
    pub areas: Vec<AreaOption>,
    /// Whether the edited account is locked, which shows the unlock form.
    pub locked: bool,
}

impl UserFormPage {
    pub fn new(
        ctx: PageContext,
        index: &AreaIndex,
        user_id: Option<i64>,
        values: UserFormValues,
        errors: Vec<FieldError>,
    ) -> Self {
        let locale = ctx.locale;
        let roles = Role::ALL
            .into_iter()
            .map(|role| RoleOption {
                value: role.as_str(),
                label: locale.t(&role.message_id()),
                selected: values.role == role.as_str(),
            })
            .collect();
        let areas = index
            .areas()
            .iter()
            .filter(|area| matches!(area.level, Level::Street | Level::Community | Level::Grid))
            .map(|area| AreaOption {
                code: area.code.clone(),
                name: area.name.clone(),
                level_label: locale.t(&format!("users-level-{}", area.level.as_str())),
                checked: values.area_codes.contains(&area.code),
            })
            .collect();
        UserFormPage { ctx, user_id, values, errors, roles, areas, locked: false }
    }

    /// Returns the message about `field`, if any.
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.error_for(field).is_some()
    }

    /// `aria-describedby` ids of a field: its hint (if any) and its error.
    pub fn described_by(&self, field: &str, hint: bool) -> String {
        let mut ids = Vec::new();
        if hint {
            ids.push(format!("{field}-hint"));
        }
        if self.has_error(field) {
            ids.push(format!("{field}-error"));
        }
        ids.join(" ")
    }

    pub fn title(&self) -> String {
        match self.user_id {
            Some(_) => self.ctx.t1("users-edit-title", "username", &self.values.username),
            None => self.ctx.t("users-new"),
        }
    }

    /// Returns the path the form posts to.
    pub fn action(&self) -> String {
        match self.user_id {
            Some(id) => format!("/users/{id}"),
            None => "/users/new".to_owned(),
        }
    }
}

/// One row of the users table.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role_label: String,
    /// `name (code)` of each area.
    pub areas: Vec<String>,
    pub active: bool,
    pub locked: bool,
}

#[derive(Template)]
#[template(path = "accounts/users.html")]
pub struct UsersPage {
    pub ctx: PageContext,
    pub users: Vec<UserRow>,
}

/// Shows a generated password once, after creating an account or resetting it.
#[derive(Template)]
#[template(path = "accounts/password.html")]
pub struct PasswordPage {
    pub ctx: PageContext,
    pub user_id: i64,
    pub username: String,
    pub password: String,
}
