//! Settings of shared-space bookings (`[booking]`).

use serde::{Deserialize, Serialize};

/// Rules of shared-space bookings: buffer, cancellation, no-show, overstay and price.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BookingSettings {
    /// Zone of sharing windows published without one, and of tariff bands.
    pub time_zone: String,
    /// Minutes after each booking's end in which the space stays taken, so the driver
    /// can leave and the next one finds it free.
    pub buffer_minutes: i64,
    /// Maximum stay one booking may request, in hours.
    pub max_stay_hours: i64,
    /// A cancellation at least this many minutes before the start is free.
    pub free_cancel_minutes: i64,
    /// Fee of a later cancellation, in fen.
    pub cancel_fee_fen: i64,
    /// Minutes after the start after which a driver who has not checked in is a no-show
    /// and the space is released.
    pub no_show_hold_minutes: i64,
    /// Minutes before the owner's return (the window's end) at which an overstaying
    /// driver gets a warning.
    pub overstay_warning_minutes: i64,
    /// Rate of the minutes past the booking's end, in fen per hour.
    pub overstay_fen_per_hour: i64,
    /// Local time (HH:MM) at which the day rate starts. This and the three fields below
    /// seed the `default` tariff when the database has none; stored tariffs win after.
    pub day_starts: String,
    /// Local time (HH:MM) at which the day rate ends and the night rate starts.
    pub day_ends: String,
    /// Rate of the booked stay by day, in fen per hour.
    pub day_fen_per_hour: u32,
    /// Rate of the booked stay by night, in fen per hour.
    pub night_fen_per_hour: u32,
    /// Minutes between two scheduled batch allocations of a lot's pending requests;
    /// 0 turns the schedule off (batches then run only on request).
    pub batch_every_minutes: i64,
    /// A pending request is placed at the latest this many minutes before its start,
    /// even between two scheduled runs.
    pub batch_cutoff_minutes: i64,
}

impl Default for BookingSettings {
    fn default() -> Self {
        Self {
            time_zone: "Asia/Shanghai".to_owned(),
            buffer_minutes: 15,
            max_stay_hours: 72,
            free_cancel_minutes: 60,
            cancel_fee_fen: 500,
            no_show_hold_minutes: 30,
            overstay_warning_minutes: 15,
            overstay_fen_per_hour: 2000,
            day_starts: "08:00".to_owned(),
            day_ends: "20:00".to_owned(),
            day_fen_per_hour: 600,
            night_fen_per_hour: 200,
            batch_every_minutes: 15,
            batch_cutoff_minutes: 60,
        }
    }
}
