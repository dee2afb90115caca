//! The live dashboard of the smart street core (智慧之芯), per street or community. It
//! shows a map and a table of devices with their state, and charts of the quantities
//! devices report over a chosen period. It lists the open alarms with acknowledge and
//! clear, and updates all of these live.
//!
//! This context only reads. It owns no tables: devices, latest values and rollups come
//! from [`crate::sensors`], alarms and their actions from [`crate::alarms`], and areas
//! from the area index.
//!
//! Main types: [`period::Period`] (a range cut into rollup buckets), [`series::Group`]
//! (one chart and how devices combine in it), [`status::DeviceStatus`] (one device on
//! the map), and the event stream in [`live`].
//!
//! Invariants:
//! - A user sees only areas in their scope, and within an area only the devices placed
//!   in its grids. A device outside every grid appears on no dashboard.
//! - Chart values come from the stored rollups only, so they equal what the device
//!   series API returns for the same buckets.
//! - Live updates poll the database, so they work with any number of nodes.

mod form;
mod http;
pub mod live;
mod page;
pub mod period;
pub mod scope;
pub mod series;
pub mod service;
pub mod status;
pub mod store;

use axum::{Router, routing::get};

use crate::http::AppState;

/// Builds the page, the alarm list fragment, the series API and the event stream.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/smart-core", get(page::get_smart_core))
        .route("/smart-core/alarms", get(page::get_alarm_list))
        .merge(http::router())
}
