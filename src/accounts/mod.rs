//! Accounts, roles, area scopes, sessions and login.
//!
//! Owns the `app_user`, `user_area` and `user_session` tables, password hashing,
//! the session cookie, the CSRF middleware, the login, logout and language routes,
//! the administrator's user pages and `GET /api/v1/me`. [`CurrentUser`] is the
//! extractor every other context uses to identify the caller. [`Role::allows`] decides
//! what a role may do, and [`CurrentUser::can_access_area`] decides where.

pub mod auth;
pub mod cli;
pub mod csrf;
pub mod domain;
mod login;
pub mod password;
pub mod service;
pub mod session;
pub mod session_store;
pub mod store;
mod users;
mod users_forms;

use std::net::SocketAddr;

use axum::{
    Router,
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
    routing::{get, post},
};
use serde::{Deserialize, Serialize};

use crate::{
    http::{AppError, AppState},
    locate::AreaIndex,
};

pub use domain::AccountError;
pub(crate) use login::render_page;
pub use session_store::SessionStore;
pub use store::AccountStore;

/// A person's function in citycore. Each role is scoped to areas (see `user_area`).
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
    /// Report a case; every logged-in person may, residents included.
    ReportCases,
    /// Read and list the cases in the user's area scope; reporters read their own
    /// cases without it.
    ViewCases,
    /// Read devices, their latest values, rollups and conflicts.
    ViewDevices,
    /// Register devices and create gateway keys.
    ManageDevices,
    /// Read the KPIs of the cases in the user's area scope and the cases behind them.
    ViewKpis,
    /// Read households and residents of the user's area scope, numbers masked.
    ViewResidents,
    /// Register households and residents in the user's area scope.
    ManageResidents,
    /// See an identity or phone number in clear, each time audited.
    RevealResidentNumbers,
    /// Define the tags residents can carry.
    ManageResidentTags,
    /// Compose and send notices to the residents of the user's area scope.
    SendNotices,
    /// Read the parking operator report and run the occupancy analysis in the console.
    ViewParkingOperations,
    /// Create, edit and delete the rules that raise alarms on device readings.
    ManageSensorRules,
    /// Acknowledge and clear the alarms of devices in the user's area scope.
    HandleAlarms,
}

impl Role {
    /// Reports whether this role may do `permission` at all. Area scope is checked separately.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match permission {
            ViewAreas | ViewCatalogue | ViewCases | ViewDevices => {
                !matches!(self, Role::Resident | Role::Merchant)
            }
            ReportCases => true,
            ViewKpis => matches!(
                self,
                Role::Administrator | Role::Dispatcher | Role::GridWorker | Role::CommunityWorker
            ),
            ViewResidents | ManageResidents => {
                matches!(self, Role::Administrator | Role::GridWorker | Role::CommunityWorker)
            }
            ViewParkingOperations => matches!(self, Role::Administrator | Role::Dispatcher),
            HandleAlarms => matches!(
                self,
                Role::Administrator | Role::Dispatcher | Role::GridWorker | Role::CommunityWorker
            ),
            RevealResidentNumbers | SendNotices => {
                matches!(self, Role::Administrator | Role::CommunityWorker)
            }
            ManageAreas | ManageUsers | ViewAudit | ManageCatalogue | ManageDevices
            | ManageResidentTags | ManageSensorRules => self == Role::Administrator,
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
    /// A handler's department: they read and act only on cases dispatched to it.
    pub department_code: Option<String>,
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

    /// Checks whether the user may act in `area_id`: administrators everywhere, everyone else
    /// in their own areas and the areas under them.
    pub fn can_access_area(&self, index: &AreaIndex, area_id: i64) -> bool {
        self.role == Role::Administrator || domain::area_in_scope(index, &self.area_ids, area_id)
    }

    /// Builds the audit actor for this user.
    pub fn actor(&self, client_ip: &ClientIp) -> crate::audit::Actor {
        crate::audit::Actor {
            user_id: Some(self.user_id),
            name: self.username.clone(),
            client_ip: client_ip.0.clone(),
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    /// Uses the session the CSRF middleware loaded, or loads it when the middleware did
    /// not run (router tests without the full stack).
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let loaded = match parts.extensions.get::<csrf::LoadedSession>() {
            Some(loaded) => loaded.0.clone(),
            None => {
                let user = match session::session_token(&parts.headers) {
                    Some(token) => {
                        session::load_user(&state.db, &state.settings.auth, &token).await?
                    }
                    None => None,
                };
                parts.extensions.insert(csrf::LoadedSession(user.clone()));
                user
            }
        };
        loaded.ok_or(AppError::Unauthenticated)
    }
}

/// The client's IP address from the socket, for audit entries; `None` when the server
/// was started without connect info.
///
/// NOTE: behind a reverse proxy this is the proxy's address, because forwarded headers
/// are not trusted until an operator setting names the proxies.
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let address =
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_string());
        Ok(ClientIp(address))
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

/// Login, logout, language, the users pages, the audit page and `/api/v1/me`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::get_login).post(login::post_login))
        .route("/logout", post(login::post_logout))
        .route("/locale", post(login::post_locale))
        .route("/api/v1/me", get(login::get_me))
        .route("/users", get(users::get_users))
        .route("/users/new", get(users::get_new_user).post(users::post_new_user))
        .route("/users/{user_id}", get(users::get_user).post(users::post_user))
        .route("/users/{user_id}/password", post(users::post_password_reset))
        .route("/users/{user_id}/unlock", post(users::post_unlock))
        .merge(crate::audit::router())
}
