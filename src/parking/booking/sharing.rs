//! Publishing and removing sharing windows.

use chrono::{DateTime, Utc};

use super::{
    BookingError, invalid,
    lifecycle::Actor,
    store::{self, Lot},
    windows::{NewWindow, Window},
};
use crate::db::Db;

/// Loads lot `lot_ref` and checks that `actor` owns it or is an administrator.
async fn owned_lot(db: &Db, actor: Actor, lot_ref: &str) -> Result<Lot, BookingError> {
    let lot = store::lot_by_ref(db, lot_ref)
        .await?
        .ok_or_else(|| BookingError::NotFound { what: "parking lot", id: lot_ref.to_owned() })?;
    if actor.is_administrator || lot.owner_user_id == Some(actor.user_id) {
        Ok(lot)
    } else {
        Err(BookingError::Forbidden)
    }
}

/// Returns the windows of lot `lot_ref`; every logged-in user may read them.
///
/// # Errors
/// [`BookingError::NotFound`] for an unknown lot.
pub async fn list_windows(db: &Db, lot_ref: &str) -> Result<Vec<Window>, BookingError> {
    let lot = store::lot_by_ref(db, lot_ref)
        .await?
        .ok_or_else(|| BookingError::NotFound { what: "parking lot", id: lot_ref.to_owned() })?;
    Ok(store::windows_of_lots(db, &[lot.lot_id]).await?)
}

/// Publishes `window` on lot `lot_ref` and returns it as stored.
///
/// # Errors
/// [`BookingError::Forbidden`] unless the actor owns the lot or is an administrator;
/// [`BookingError::Invalid`] for a space that is not in the lot.
#[tracing::instrument(skip_all, fields(user.id = actor.user_id, lot.reference = lot_ref, window.id))]
pub async fn publish_window(
    db: &Db,
    actor: Actor,
    lot_ref: &str,
    window: &NewWindow,
    now: DateTime<Utc>,
) -> Result<Window, BookingError> {
    let lot = owned_lot(db, actor, lot_ref).await?;
    let space_id = match &window.space_ref {
        None => None,
        Some(space_ref) => Some(
            store::space_of_lot(db, lot.lot_id, space_ref)
                .await?
                .ok_or(invalid("parking_space_not_in_lot", "space_ref"))?
                .space_id,
        ),
    };
    let window_id = {
        let _turn = db.write_turn().await;
        store::insert_window(db, lot.lot_id, space_id, window, actor.user_id, now).await?
    };
    tracing::Span::current().record("window.id", window_id);
    tracing::info!("sharing window published");
    store::window_by_id(db, window_id)
        .await?
        .ok_or(BookingError::NotFound { what: "window", id: window_id.to_string() })
}

/// Removes window `window_id` unless an active booking lies in one of its openings.
///
/// # Errors
/// [`BookingError::WindowInUse`] listing those bookings, so the owner can cancel them
/// first; [`BookingError::Forbidden`] unless the actor owns the lot.
// NOTE: a booking overlapping an opening counts as dependent even if another window
// also covers it. The check and the delete are not one transaction, so a booking made
// between them on PostgreSQL can outlive its window.
#[tracing::instrument(skip_all, fields(user.id = actor.user_id, window.id = window_id))]
pub async fn remove_window(
    db: &Db,
    actor: Actor,
    window_id: i64,
    now: DateTime<Utc>,
) -> Result<(), BookingError> {
    let window = store::window_by_id(db, window_id)
        .await?
        .ok_or(BookingError::NotFound { what: "window", id: window_id.to_string() })?;
    let lot = store::lot_by_id(db, window.lot_id)
        .await?
        .ok_or(BookingError::NotFound { what: "parking lot", id: window.lot_id.to_string() })?;
    owned_lot(db, actor, &lot.lot_ref).await?;
    let spaces: Vec<i64> = match window.space_id {
        Some(space_id) => vec![space_id],
        None => {
            let shared = store::shared_spaces(db, &[lot.lot_id]).await?;
            shared.iter().map(|space| space.space_id).collect()
        }
    };
    let mut dependent: Vec<i64> = store::taken_spans(db, &spaces, now)
        .await?
        .into_iter()
        .filter(|span| !window.schedule.occurrences(span.starts_at, span.occupied_until).is_empty())
        .map(|span| span.booking_id)
        .collect();
    if !dependent.is_empty() {
        dependent.sort_unstable();
        return Err(BookingError::WindowInUse { window_id, bookings: dependent });
    }
    let _turn = db.write_turn().await;
    store::delete_window(db, window_id).await?;
    tracing::info!("sharing window removed");
    Ok(())
}
