//! Read access to cases.
//!
//! Administrators read every case. Staff with [`Permission::ViewCases`] read cases whose
//! grid or community lies in their area scope. Dispatchers and handlers also read cases
//! located in no grid, because dispatchers place them and handlers must be able to work
//! on them once dispatched. Every reporter reads their own cases whatever their role.
//!
//! A handler with a department reads, within that scope, only the cases dispatched to
//! their department: from dispatch on, and not while a case waits for (re-)dispatch. A
//! handler without a department reads every case of their area scope. Since every
//! action first checks [`can_read`], a handler cannot act on a case they cannot read.

use crate::{
    accounts::{CurrentUser, Permission, Role},
    locate::AreaIndex,
};

use super::{record::Case, stage::Stage, store::CaseFilter};

/// Stages of a case that has not been dispatched (or was returned) and so belongs to
/// no department yet.
pub const UNDISPATCHED_STAGES: [Stage; 4] =
    [Stage::Intake, Stage::Filed, Stage::Voided, Stage::Merged];

/// Checks that `user` may read `case`.
pub fn can_read(user: &CurrentUser, index: &AreaIndex, case: &Case) -> bool {
    if user.role == Role::Administrator || case.reporter_user_id == Some(user.user_id) {
        return true;
    }
    if !user.role.allows(Permission::ViewCases) {
        return false;
    }
    if let Some(department_code) = department_scope(user) {
        let dispatched_here =
            case.department_code == department_code && !UNDISPATCHED_STAGES.contains(&case.stage);
        if !dispatched_here {
            return false;
        }
    }
    if case.outside_grids {
        return reads_outside_grids(user.role);
    }
    let areas = [case.grid_id, case.community_id];
    areas.into_iter().flatten().any(|area_id| user.can_access_area(index, area_id))
}

/// Narrows `filter` to the cases `user` may list: every case for administrators, and
/// otherwise the grids and communities in the user's scope, and for a handler with a
/// department the cases dispatched to it.
pub fn restrict_to_scope(user: &CurrentUser, index: &AreaIndex, filter: &mut CaseFilter) {
    if user.role == Role::Administrator {
        filter.area_ids = None;
        filter.include_outside_grids = true;
        return;
    }
    let area_ids = index
        .areas()
        .iter()
        .map(|area| area.area_id)
        .filter(|area_id| user.can_access_area(index, *area_id))
        .collect();
    filter.area_ids = Some(area_ids);
    filter.include_outside_grids = reads_outside_grids(user.role);
    filter.dispatched_to = department_scope(user).map(str::to_owned);
}

/// Returns the department a user's case access is limited to: a handler's own.
fn department_scope(user: &CurrentUser) -> Option<&str> {
    match user.role {
        Role::Handler => user.department_code.as_deref(),
        _ => None,
    }
}

fn reads_outside_grids(role: Role) -> bool {
    matches!(role, Role::Dispatcher | Role::Handler)
}
