//! The working calendar kept in memory between requests.
//!
//! Every intake and transition needs the calendar for its deadline, and reading it
//! takes two queries although it changes a few times a year. The calendar is kept in a
//! [`Snapshots`]. Changes through this process drop it at once, and a change by another
//! node or process shows within [`crate::db::snapshot::MAX_AGE`].

use std::sync::Arc;

use super::{
    WorkingCalendar,
    store::{CalendarStore, StoreError},
};
use crate::db::{Db, snapshot::Snapshots};

static CALENDARS: Snapshots<WorkingCalendar> = Snapshots::new();

/// Returns the calendar of `db`, from memory when the snapshot is recent.
///
/// # Errors
/// Fails when the calendar has to be read and the database fails or contains an invalid one.
pub async fn current_calendar(db: &Db) -> Result<Arc<WorkingCalendar>, StoreError> {
    CALENDARS.get_or_load(db, db.load_calendar()).await
}

/// Drops the snapshot of `db` after a change of its calendar.
pub fn forget_calendar(db: &Db) {
    CALENDARS.forget(db);
}
