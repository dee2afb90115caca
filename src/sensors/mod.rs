//! Smart street core (智慧之芯), first layer: the device registry and the ingestion,
//! storage and rollups of device readings.
//!
//! Owns the `sensor_*` tables, the device kinds and their attributes ([`kinds`]), device
//! and gateway tokens, `POST /api/v1/readings` (JSON or CSV, optionally gzip), the
//! device routes under `/api/v1/devices`, and the `citycore devices` commands.
//!
//! Invariants:
//! - Every stored reading passed its attribute's rule and the time window, and belongs to
//!   a registered device whose kind reports that attribute.
//! - A batch gets a 2xx response only after its transaction committed: the write path's,
//!   or the reading queue's ([`queue`]) for a queued batch and every MQTT message.
//! - The latest value of a device attribute is the one with the newest measurement time.
//! - Each reading key (device, attribute, measurement time) holds one value; an equal
//!   resend has no effect and a different value is kept in the conflict table.
//! - Rollups count each stored reading once, whatever the arrival order.
//! - Tokens are stored only as SHA-256 hashes and never logged.
//!
//! [`mqtt`] subscribes to a broker and queues published readings after the same checks
//! as the HTTP batches; [`queue`]'s worker writes them through the same write path.
//!
//! [`replay`] streams real dataset files through the same checks and write path, in
//! process or to a running server.
//!
//! Both ingest paths hand each committed batch to [`crate::alarms`], which evaluates
//! the alarm rules on it. This context does not draw dashboards.

pub mod cli;
pub mod credentials;
pub mod devices;
mod http;
pub mod ingest;
pub mod json_item;
pub mod kinds;
pub mod mqtt;
pub mod queue;
pub mod reading;
pub mod replay;
pub mod rollup;
pub mod store;
pub mod store_write;

use axum::Router;

use crate::http::AppState;
pub use kinds::{Attribute, DeviceKind};
pub use store::SensorStore;
pub use store_write::ReadingStore;

/// The fields of a device that the ingestion path uses.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRef {
    pub device_id: i64,
    pub external_id: String,
    pub kind: DeviceKind,
    /// Spaces counted by a lot counter; the bound of its free count.
    pub capacity: Option<i64>,
}

/// A validated device, ready to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDevice {
    pub external_id: String,
    pub kind: DeviceKind,
    pub name: String,
    /// WGS-84 degrees.
    pub longitude: f64,
    pub latitude: f64,
    pub grid_area_id: Option<i64>,
    pub owner: String,
    pub capacity: Option<i64>,
    pub parking_space: Option<String>,
    pub merchant: Option<String>,
    pub resident: Option<String>,
}

/// Creates a random token for a device or gateway; only its hash is stored.
pub fn new_token() -> String {
    crate::accounts::session::new_token()
}

/// Hashes a token into its stored form, SHA-256 as hex.
pub fn hash_token(token: &str) -> String {
    crate::accounts::session::hash_token(token)
}

pub fn router() -> Router<AppState> {
    http::router()
}
