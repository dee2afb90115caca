//! Read access to cases.
//!
//! Administrators read every case. Staff with [`Permission::ViewCases`] read cases whose
//! grid or community lies in their area scope. Dispatchers and handlers also read cases
//! located in no grid, because dispatchers place them and handlers must be able to work
//! on them once dispatched. Every reporter reads their own cases whatever their role.
//!
//! NOTE: handlers are scoped by area only, because accounts do not record a department
//! yet. A handler may therefore act on any case in their area, whichever department it
//! was dispatched to.

use crate::{
    accounts::{CurrentUser, Permission, Role},
    locate::AreaIndex,
};

use super::{record::Case, store::CaseFilter};

/// Checks that `user` may read `case`.
pub fn can_read(user: &CurrentUser, index: &AreaIndex, case: &Case) -> bool {
    if user.role == Role::Administrator || case.reporter_user_id == Some(user.user_id) {
        return true;
    }
    if !user.role.allows(Permission::ViewCases) {
        return false;
    }
    if case.outside_grids {
        return reads_outside_grids(user.role);
    }
    let areas = [case.grid_id, case.community_id];
    areas.into_iter().flatten().any(|area_id| user.can_access_area(index, area_id))
}

/// Narrows `filter` to the cases `user` may list: every case for administrators, and
/// otherwise the grids and communities in the user's scope.
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
}

fn reads_outside_grids(role: Role) -> bool {
    matches!(role, Role::Dispatcher | Role::Handler)
}
