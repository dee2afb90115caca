//! Accounts, roles, area scopes, sessions and login.

pub mod cli;

use axum::{Router, extract::FromRequestParts, http::request::Parts};
use serde::{Deserialize, Serialize};

use crate::http::{AppError, AppState};

/// What a person does in citycore; each role is scoped to areas (see `user_area`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[clap(rename_all = "snake_case")]
pub enum Role {
    /// 街道管理员: sets up areas, users and calendars; sees everything.
    Administrator,
    /// 指挥中心/派遣员: accepts, files and dispatches cases.
    Dispatcher,
    /// 处置部门: handles dispatched cases.
    Handler,
    /// 网格员: patrols grids, reports and verifies.
    GridWorker,
    /// 社区工作者: manages a community's residents and notices.
    CommunityWorker,
    /// 居民.
    Resident,
    /// 商户/物业.
    Merchant,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Administrator,
        Role::Dispatcher,
        Role::Handler,
        Role::GridWorker,
        Role::CommunityWorker,
        Role::Resident,
        Role::Merchant,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Dispatcher => "dispatcher",
            Role::Handler => "handler",
            Role::GridWorker => "grid_worker",
            Role::CommunityWorker => "community_worker",
            Role::Resident => "resident",
            Role::Merchant => "merchant",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }

    /// Catalog id of the role's name, such as `role-grid-worker` (网格员).
    pub fn message_id(self) -> String {
        format!("role-{}", self.as_str().replace('_', "-"))
    }
}

/// Something a role may do; [`Role::allows`] is the one table of who may do what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read areas, grids and the map.
    ViewAreas,
    /// Import, edit and delete areas.
    ManageAreas,
    /// Create and edit accounts.
    ManageUsers,
    /// Read the audit log.
    ViewAudit,
    /// Read case categories and the working-time calendar, and compute deadlines.
    ViewCatalogue,
    /// Create and edit case categories, departments and the working-time calendar.
    ManageCatalogue,
}

impl Role {
    /// Whether this role may do `permission` at all; area scope is checked separately.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match permission {
            ViewAreas | ViewCatalogue => !matches!(self, Role::Resident | Role::Merchant),
            ManageAreas | ManageUsers | ViewAudit | ManageCatalogue => self == Role::Administrator,
        }
    }
}

/// The logged-in user of a request, loaded from the session cookie.
///
/// As an extractor it rejects anonymous requests with [`AppError::Unauthenticated`]
/// (a redirect to the login page for browsers).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The areas the account is scoped to; empty for administrators, who see all.
    pub area_ids: Vec<i64>,
    pub locale: Option<crate::i18n::Locale>,
    /// The session's CSRF token, to embed in forms.
    pub csrf_token: String,
}

impl CurrentUser {
    /// Rejects with 403 unless the role allows `permission`.
    ///
    /// # Errors
    /// [`AppError::Forbidden`] when it does not.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.role.allows(permission) { Ok(()) } else { Err(AppError::Forbidden) }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        _parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // TODO: load the session from its cookie.
        Err(AppError::Unauthenticated)
    }
}

/// The logged-in user if there is one; never rejects.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match CurrentUser::from_request_parts(parts, state).await {
            Ok(user) => Ok(MaybeUser(Some(user))),
            Err(AppError::Unauthenticated) => Ok(MaybeUser(None)),
            Err(other) => Err(other),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
}
