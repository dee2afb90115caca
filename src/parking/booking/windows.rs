//! Sharing windows: their input, and the concrete spans in which they are open.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{BookingError, DriverKind, invalid};

/// A half-open span of time `[start, end)`.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

/// The drivers a window is open to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Any,
    Resident,
    Commuter,
    Visitor,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Any => "any",
            Audience::Resident => "resident",
            Audience::Commuter => "commuter",
            Audience::Visitor => "visitor",
        }
    }

    pub fn parse(text: &str) -> Option<Audience> {
        [Audience::Any, Audience::Resident, Audience::Commuter, Audience::Visitor]
            .into_iter()
            .find(|audience| audience.as_str() == text)
    }

    /// Reports whether a driver of `kind` may book in a window for this audience.
    pub fn admits(self, kind: DriverKind) -> bool {
        self == Audience::Any || self.as_str() == kind.as_str()
    }
}

/// When a window is open.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// Opens on each weekday of `weekday_mask` (bit 0 Monday) at `start_minute` local
    /// time and closes at `end_minute`, on the next day when that is not after the start.
    Weekly {
        weekday_mask: u8,
        start_minute: u16,
        end_minute: u16,
        time_zone: String,
        valid_from: Option<NaiveDate>,
        valid_until: Option<NaiveDate>,
    },
    /// Open once over `[starts_at, ends_at)`.
    Once { starts_at: DateTime<Utc>, ends_at: DateTime<Utc> },
}

/// A stored window.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub window_id: i64,
    pub lot_id: i64,
    /// `None` when the window applies to every shared space of the lot.
    pub space_id: Option<i64>,
    pub space_ref: Option<String>,
    pub audience: Audience,
    #[serde(flatten)]
    pub schedule: Schedule,
}

/// A window as an owner sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct WindowInput {
    /// `weekly` or `once`.
    pub kind: String,
    /// ISO weekdays, 1 Monday to 7 Sunday, for a weekly window.
    #[serde(default)]
    pub weekdays: Vec<u8>,
    /// Local opening and closing times `HH:MM` of a weekly window.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub time_zone: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    /// Opening and closing instants of a one-off window, with offsets.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// A single space of the lot; absent for every shared space.
    pub space_ref: Option<String>,
    pub audience: Option<String>,
}

/// A validated new window, before storage resolves the space reference.
#[derive(Debug, Clone)]
pub struct NewWindow {
    pub space_ref: Option<String>,
    pub audience: Audience,
    pub schedule: Schedule,
}

/// Parses `HH:MM` into minutes after midnight; `24:00` is the end of the day.
fn parse_minutes(text: &str) -> Option<u16> {
    if text == "24:00" {
        return Some(1440);
    }
    let time = NaiveTime::parse_from_str(text, "%H:%M").ok()?;
    let minutes = (time - NaiveTime::MIN).num_minutes();
    u16::try_from(minutes).ok()
}

impl WindowInput {
    /// Validates the input; `default_zone` applies when it names no zone.
    ///
    /// # Errors
    /// [`BookingError::Invalid`] naming the first field to fix.
    pub fn parse(self, default_zone: &str) -> Result<NewWindow, BookingError> {
        let audience = match self.audience.as_deref() {
            None => Audience::Any,
            Some(text) => Audience::parse(text).ok_or(invalid("parking_audience", "audience"))?,
        };
        let schedule = match self.kind.as_str() {
            "weekly" => self.parse_weekly(default_zone)?,
            "once" => {
                let starts_at =
                    self.starts_at.ok_or(invalid("parking_window_once", "starts_at"))?;
                let ends_at = self.ends_at.ok_or(invalid("parking_window_once", "ends_at"))?;
                if ends_at <= starts_at {
                    return Err(invalid("parking_window_once", "ends_at"));
                }
                Schedule::Once { starts_at, ends_at }
            }
            _ => return Err(invalid("parking_window_kind", "kind")),
        };
        Ok(NewWindow { space_ref: self.space_ref, audience, schedule })
    }

    fn parse_weekly(&self, default_zone: &str) -> Result<Schedule, BookingError> {
        if self.weekdays.is_empty() || self.weekdays.iter().any(|day| !(1..=7).contains(day)) {
            return Err(invalid("parking_weekdays", "weekdays"));
        }
        let weekday_mask = self.weekdays.iter().fold(0u8, |mask, day| mask | 1 << (day - 1));
        let minutes = |field: &str, value: &Option<String>| {
            value.as_deref().and_then(parse_minutes).ok_or(invalid("parking_local_time", field))
        };
        let start_minute = minutes("start_time", &self.start_time)?;
        let end_minute = minutes("end_time", &self.end_time)?;
        if start_minute >= 1440 {
            return Err(invalid("parking_local_time", "start_time"));
        }
        let time_zone = self.time_zone.clone().unwrap_or_else(|| default_zone.to_owned());
        if time_zone.parse::<Tz>().is_err() {
            return Err(invalid("parking_time_zone", "time_zone"));
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until)
            && until < from
        {
            return Err(invalid("parking_valid_range", "valid_until"));
        }
        Ok(Schedule::Weekly {
            weekday_mask,
            start_minute,
            end_minute,
            time_zone,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        })
    }
}

/// Returns the instant of `minute` after local midnight of `date` in `zone`, taking the
/// earlier instant of a repeated hour and skipping forward over a missing one.
pub(crate) fn local_instant(zone: Tz, date: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
    let midnight = date.and_time(NaiveTime::MIN);
    let local = midnight + chrono::Duration::minutes(i64::from(minute));
    let resolved = zone.from_local_datetime(&local);
    let instant = resolved
        .earliest()
        .or_else(|| zone.from_local_datetime(&(local + chrono::Duration::hours(1))).earliest())?;
    Some(instant.with_timezone(&Utc))
}

impl Schedule {
    /// Returns the spans in which the window is open that overlap `[from, to)`, in
    /// order.
    pub fn occurrences(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Span> {
        match self {
            Schedule::Once { starts_at, ends_at } => {
                if *starts_at < to && from < *ends_at {
                    vec![(*starts_at, *ends_at)]
                } else {
                    vec![]
                }
            }
            Schedule::Weekly {
                weekday_mask,
                start_minute,
                end_minute,
                time_zone,
                valid_from,
                valid_until,
            } => {
                let Ok(zone) = time_zone.parse::<Tz>() else { return Vec::new() };
                // A window opening the day before `from` may still be open at `from`.
                let Some(first) =
                    from.with_timezone(&zone).date_naive().checked_sub_days(Days::new(1))
                else {
                    return Vec::new();
                };
                let last = to.with_timezone(&zone).date_naive();
                let mut spans = Vec::new();
                for date in first.iter_days().take_while(|date| *date <= last) {
                    let weekday = date.weekday().num_days_from_monday();
                    let open_on_day = weekday_mask & (1 << weekday) != 0
                        && valid_from.is_none_or(|start| start <= date)
                        && valid_until.is_none_or(|end| date <= end);
                    if !open_on_day {
                        continue;
                    }
                    let end_date =
                        if end_minute <= start_minute { date.succ_opt() } else { Some(date) };
                    let start = local_instant(zone, date, *start_minute);
                    let end =
                        end_date.and_then(|end_date| local_instant(zone, end_date, *end_minute));
                    if let (Some(start), Some(end)) = (start, end)
                        && start < to
                        && from < end
                    {
                        spans.push((start, end));
                    }
                }
                spans
            }
        }
    }
}

/// Sorts `spans` and joins those that overlap or touch, so that a stay may run from
/// one window into the next without a gap (Monday night into Tuesday night).
pub fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// Removes the `taken` spans from the sorted, disjoint `free` spans.
pub fn subtract(free: &[Span], taken: &[Span]) -> Vec<Span> {
    let mut result = Vec::new();
    for &(start, end) in free {
        let mut pieces = vec![(start, end)];
        for &(taken_start, taken_end) in taken {
            pieces = pieces
                .into_iter()
                .flat_map(|(from, to)| {
                    if taken_end <= from || to <= taken_start {
                        return vec![(from, to)];
                    }
                    let mut left = Vec::new();
                    if from < taken_start {
                        left.push((from, taken_start));
                    }
                    if taken_end < to {
                        left.push((taken_end, to));
                    }
                    left
                })
                .collect();
        }
        result.extend(pieces);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn weekly(mask: u8, start: u16, end: u16) -> Schedule {
        Schedule::Weekly {
            weekday_mask: mask,
            start_minute: start,
            end_minute: end,
            time_zone: "Asia/Shanghai".to_owned(),
            valid_from: None,
            valid_until: None,
        }
    }

    #[test]
    fn night_window_closes_next_morning() {
        // Monday 19:00 to Tuesday 08:00 in Beijing time; 2026-12-07 is a Monday.
        let spans = weekly(1, 19 * 60, 8 * 60)
            .occurrences(at("2026-12-07T00:00:00+08:00"), at("2026-12-09T00:00:00+08:00"));
        assert_eq!(spans, [(at("2026-12-07T19:00:00+08:00"), at("2026-12-08T08:00:00+08:00"))]);
    }

    #[test]
    fn window_opened_the_day_before_is_found() {
        let spans = weekly(1, 19 * 60, 8 * 60)
            .occurrences(at("2026-12-08T06:00:00+08:00"), at("2026-12-08T07:00:00+08:00"));
        assert_eq!(spans.len(), 1);
    }

    #[test]
    fn valid_until_stops_the_window() {
        let mut schedule = weekly(0b111_1111, 8 * 60, 18 * 60);
        if let Schedule::Weekly { valid_until, .. } = &mut schedule {
            *valid_until = NaiveDate::from_ymd_opt(2026, 12, 8);
        }
        let spans =
            schedule.occurrences(at("2026-12-07T00:00:00+08:00"), at("2026-12-11T00:00:00+08:00"));
        assert_eq!(spans.len(), 2);
    }

    #[test]
    fn touching_windows_merge_and_bookings_cut_them() {
        let merged = merge(vec![
            (at("2026-12-08T08:00:00Z"), at("2026-12-08T12:00:00Z")),
            (at("2026-12-08T00:00:00Z"), at("2026-12-08T08:00:00Z")),
        ]);
        assert_eq!(merged, [(at("2026-12-08T00:00:00Z"), at("2026-12-08T12:00:00Z"))]);
        let free = subtract(&merged, &[(at("2026-12-08T02:00:00Z"), at("2026-12-08T03:00:00Z"))]);
        assert_eq!(
            free,
            [
                (at("2026-12-08T00:00:00Z"), at("2026-12-08T02:00:00Z")),
                (at("2026-12-08T03:00:00Z"), at("2026-12-08T12:00:00Z")),
            ]
        );
    }

    #[test]
    fn weekly_input_rejects_bad_weekday_and_time() {
        let input = |weekdays: Vec<u8>, start: &str| WindowInput {
            kind: "weekly".to_owned(),
            weekdays,
            start_time: Some(start.to_owned()),
            end_time: Some("08:00".to_owned()),
            time_zone: None,
            valid_from: None,
            valid_until: None,
            starts_at: None,
            ends_at: None,
            space_ref: None,
            audience: None,
        };
        let field = |result: Result<NewWindow, BookingError>| match result {
            Err(BookingError::Invalid(message)) => message.field,
            other => panic!("expected invalid input, got {other:?}"),
        };
        assert_eq!(
            field(input(vec![8], "19:00").parse("Asia/Shanghai")).as_deref(),
            Some("weekdays")
        );
        assert_eq!(
            field(input(vec![1], "25:00").parse("Asia/Shanghai")).as_deref(),
            Some("start_time")
        );
        assert!(input(vec![1, 7], "19:00").parse("Asia/Shanghai").is_ok());
    }
}
