//! Accounts, roles, area scopes, sessions and login.

pub mod cli;

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::http::AppState;

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

pub fn router() -> Router<AppState> {
    Router::new()
}
