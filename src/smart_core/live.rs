//! The dashboard's live updates over server-sent events.
//!
//! Each open stream polls the database, so a stream on one node also reports the
//! readings and alarm changes that another node stored, and no node keeps shared state. The
//! stream remembers what it last sent and emits only the differences:
//!
//! - `device`: a device whose state, latest values or measurement time changed, as a
//!   [`DeviceStatus`];
//! - `alarms`: the open alarms of the area changed (raised, re-triggered, acknowledged
//!   or cleared), with their count; the page then reloads its alarm list.
//!
//! The first poll sends every device and one `alarms` event, so a page that reconnects
//! catches up on what it missed without event ids.

use std::{collections::HashMap, convert::Infallible, time::Duration};

use axum::response::sse::Event;
use futures_util::{Stream, StreamExt};

use super::{
    service::{device_overview, open_alarms_in},
    status::DeviceStatus,
};
use crate::{
    accounts::CurrentUser,
    alarms::record::Alarm,
    http::{AppError, AppState},
    i18n::Locale,
};

/// Time between two polls of one stream: each poll costs three queries, and two
/// seconds keeps a map on a wall screen current without loading the database.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The fields of an open alarm whose change the page shows: id, state, trigger count
/// and last trigger time.
type AlarmKey = (i64, String, i64, i64);

struct Watch {
    state: AppState,
    user: CurrentUser,
    grid_ids: Vec<i64>,
    locale: Locale,
    devices: HashMap<String, DeviceStatus>,
    alarms: Option<Vec<AlarmKey>>,
    polled: bool,
}

impl Watch {
    /// Loads the area's devices and open alarms and returns the events of what changed
    /// since the last poll.
    async fn poll(&mut self) -> Result<Vec<Event>, AppError> {
        let alarms = open_alarms_in(&self.state, &self.user, &self.grid_ids).await?;
        let statuses = device_overview(&self.state, &self.grid_ids, &alarms, self.locale).await?;
        let mut events = Vec::new();
        for status in statuses {
            if self.devices.get(&status.external_id) == Some(&status) {
                continue;
            }
            events.push(event("device", &status)?);
            self.devices.insert(status.external_id.clone(), status);
        }
        let keys: Vec<AlarmKey> = alarms.iter().map(alarm_key).collect();
        if self.alarms.as_ref() != Some(&keys) {
            let active = alarms.iter().filter(|a| a.state == "active").count();
            let body = serde_json::json!({ "open": keys.len(), "active": active });
            events.push(event("alarms", &body)?);
            self.alarms = Some(keys);
        }
        Ok(events)
    }
}

fn alarm_key(alarm: &Alarm) -> AlarmKey {
    (alarm.sensor_alarm_id, alarm.state.clone(), alarm.trigger_count, alarm.last_triggered_at_ms)
}

fn event(name: &str, body: &impl serde::Serialize) -> Result<Event, AppError> {
    Event::default().event(name).json_data(body).map_err(|error| AppError::Internal(error.into()))
}

/// Streams the changes of the devices and open alarms in `grid_ids` as `user` may see
/// them, with texts in `locale`. A failed poll is logged and tried again.
// NOTE: the stream keeps the scope the user had when it opened; a logout or a scope
// change takes effect when the page reconnects.
pub fn stream(
    state: AppState,
    user: CurrentUser,
    grid_ids: Vec<i64>,
    locale: Locale,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let watch = Watch {
        state,
        user,
        grid_ids,
        locale,
        devices: HashMap::new(),
        alarms: None,
        polled: false,
    };
    futures_util::stream::unfold(watch, |mut watch| async move {
        if watch.polled {
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        watch.polled = true;
        let events = match watch.poll().await {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(user.id = watch.user.user_id, %error, "smart core stream poll failed");
                Vec::new()
            }
        };
        Some((futures_util::stream::iter(events.into_iter().map(Ok)), watch))
    })
    .flatten()
}
