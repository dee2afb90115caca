//! Layered configuration: code defaults, then a TOML file, then `CITYCORE_…`
//! environment variables, then command-line flags (applied by the CLI).
//!
//! Environment variables nest with a double underscore, so `CITYCORE_DATABASE__URL`
//! sets `database.url` and `CITYCORE_SERVER__BIND` sets `server.bind`.
//! `citycore config example` prints `example.toml`, which documents every key; a unit
//! test keeps that file equal to the defaults below.

mod booking;
mod mqtt;
mod notices;
mod pricing;

use std::{net::SocketAddr, path::PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

pub use booking::BookingSettings;
pub use mqtt::{BrokerAddress, MqttSettings};
pub use notices::{NoticeSettings, SmtpTls};
pub use pricing::PricingSettings;

/// The commented example configuration printed by `citycore config example`.
pub const EXAMPLE_TOML: &str = include_str!("example.toml");

/// All settings of one citycore node.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Folder for the SQLite file and uploaded files; created when missing.
    pub data_dir: PathBuf,
    pub database: DatabaseSettings,
    pub server: ServerSettings,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub ui: UiSettings,
    pub map: MapSettings,
    pub locate: LocateSettings,
    pub cases: CaseSettings,
    pub sensors: SensorSettings,
    pub mqtt: MqttSettings,
    pub residents: ResidentSettings,
    pub notices: NoticeSettings,
    pub booking: BookingSettings,
    pub pricing: PricingSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://…`; empty means `sqlite://<data_dir>/citycore.db`.
    pub url: String,
    /// Upper bound of the connection pool.
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address and port the HTTP server listens on.
    pub bind: SocketAddr,
    /// Mark cookies `Secure`; turn on when citycore is served over HTTPS.
    pub secure_cookies: bool,
    /// How long a graceful shutdown waits for in-flight requests, in seconds.
    pub shutdown_grace_seconds: u64,
    /// Requests that take longer fail with 408 Request Timeout, in seconds.
    pub request_timeout_seconds: u64,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `citycore=debug,sqlx=warn`; `RUST_LOG` wins.
    pub filter: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// A session unused for this long expires, in minutes.
    pub session_idle_minutes: i64,
    /// A session expires this long after login however active it is, in hours.
    pub session_max_hours: i64,
    /// Consecutive failed logins that lock an account.
    pub max_failed_logins: i32,
    /// How long a locked account stays locked, in minutes.
    pub lockout_minutes: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UiSettings {
    /// Language of visitors who send no usable `Accept-Language`: `zh-CN` or `en`.
    pub default_locale: String,
    /// IANA time zone used to show times; storage is always UTC.
    pub time_zone: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MapSettings {
    /// Tile URL template such as `https://tiles.example/{z}/{x}/{y}.png`; empty shows
    /// area polygons on a plain background, so no page contacts another host.
    pub tile_url: String,
    /// Attribution text the tile provider requires.
    pub tile_attribution: String,
    /// Whether the tiles use GCJ-02 (Amap, Tencent) and polygons must be shifted to match.
    pub tiles_gcj02: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LocateSettings {
    /// A point outside every grid takes the nearest grid within this distance, in metres.
    pub max_outside_distance_m: f64,
    /// A point this close to a grid edge is flagged `on_boundary`, in metres.
    pub boundary_tolerance_m: f64,
    /// How often a node checks the database for area changes made by other nodes, in seconds.
    pub refresh_seconds: u64,
}

/// Device readings: accepted times, retention, rollup time zone and batch limits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SensorSettings {
    /// IANA time zone whose local midnight cuts the day rollups (and local hours the hour ones).
    pub time_zone: String,
    /// A reading measured more than this far ahead of the server clock is rejected, in seconds.
    pub max_future_skew_seconds: i64,
    /// A reading measured longer ago than this is rejected, in days; at most
    /// `raw_retention_days`, so that a purged reading cannot come back and count twice.
    pub max_past_age_days: i64,
    /// Raw readings older than this are deleted by `citycore devices purge`, in days.
    pub raw_retention_days: i64,
    /// Largest reading batch body as sent (compressed or not), in bytes.
    pub max_batch_bytes: usize,
    /// Largest batch body after gzip decompression, in bytes.
    pub max_decompressed_bytes: usize,
    /// Maximum number of readings in one batch.
    pub max_batch_items: usize,
    /// Limit of waiting readings in the reading queue. Once it is reached, queued batches
    /// get 429 until the queue worker has written some. Each reading takes 26 bytes.
    pub max_queued_readings: i64,
    /// A parking space sensor's new status counts only once it has held this long, in
    /// seconds, so that a flapping sensor does not flip the lot's free count.
    pub parking_status_hold_seconds: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("citycore-data"),
            database: DatabaseSettings::default(),
            server: ServerSettings::default(),
            log: LogSettings::default(),
            auth: AuthSettings::default(),
            ui: UiSettings::default(),
            map: MapSettings::default(),
            locate: LocateSettings::default(),
            cases: CaseSettings::default(),
            sensors: SensorSettings::default(),
            mqtt: MqttSettings::default(),
            residents: ResidentSettings::default(),
            notices: NoticeSettings::default(),
            booking: BookingSettings::default(),
            pricing: PricingSettings::default(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: String::new(), max_connections: 16 }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            secure_cookies: false,
            shutdown_grace_seconds: 30,
            request_timeout_seconds: 60,
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Text, filter: "info,sqlx=warn".to_owned() }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
            session_max_hours: 12,
            max_failed_logins: 5,
            lockout_minutes: 15,
        }
    }
}

impl Default for UiSettings {
    fn default() -> Self {
        Self { default_locale: "zh-CN".to_owned(), time_zone: "Asia/Shanghai".to_owned() }
    }
}

impl Default for LocateSettings {
    fn default() -> Self {
        Self { max_outside_distance_m: 200.0, boundary_tolerance_m: 0.1, refresh_seconds: 5 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CaseSettings {
    /// Calendar days after closing during which the reporter or a dispatcher may
    /// reopen a case (重开); later the problem is a new case.
    pub reopen_window_days: u32,
    /// Directory of case photos; `<data_dir>/attachments` when unset.
    pub attachments_dir: Option<PathBuf>,
    /// Largest accepted photo, in bytes. 10 MiB fits a full-resolution phone photo.
    pub max_photo_bytes: usize,
    /// Most photos one form submission may carry.
    pub max_photos_per_upload: usize,
}

impl Default for CaseSettings {
    fn default() -> Self {
        Self {
            reopen_window_days: 7,
            attachments_dir: None,
            max_photo_bytes: 10 * 1024 * 1024,
            max_photos_per_upload: 4,
        }
    }
}

impl Settings {
    /// Returns the directory of case photos.
    pub fn attachments_dir(&self) -> PathBuf {
        self.cases.attachments_dir.clone().unwrap_or_else(|| self.data_dir.join("attachments"))
    }
}

/// Keys of the resident registry (居民档案).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ResidentSettings {
    /// Base64 of the 32-byte key that encrypts identity and phone numbers. When empty,
    /// `CITYCORE_DATA_KEY` is used, and without it a key generated into
    /// `<data_dir>/data-key` on first start.
    pub data_key: Secret,
    /// Keys replaced by `citycore residents rotate-key`, still accepted for reading
    /// values a rotation has not reached yet.
    pub previous_data_keys: Vec<Secret>,
}

impl ResidentSettings {
    /// Returns a copy with every key replaced by `***`, for `citycore config show`.
    pub fn redacted(&self) -> Self {
        let hide =
            |key: &Secret| Secret(if key.0.is_empty() { String::new() } else { "***".into() });
        Self {
            data_key: hide(&self.data_key),
            previous_data_keys: self.previous_data_keys.iter().map(hide).collect(),
        }
    }
}

/// A configuration value that must never reach a log line: `Debug` prints a placeholder.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "Secret(empty)" } else { "Secret(***)" })
    }
}

impl Default for SensorSettings {
    fn default() -> Self {
        Self {
            time_zone: "Asia/Shanghai".to_owned(),
            max_future_skew_seconds: 300,
            max_past_age_days: 30,
            raw_retention_days: 90,
            max_batch_bytes: 16 * 1024 * 1024,
            max_decompressed_bytes: 64 * 1024 * 1024,
            max_batch_items: 100_000,
            max_queued_readings: 10_000_000,
            parking_status_hold_seconds: 60,
        }
    }
}

/// Errors met while assembling the settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error("configuration file {0} does not exist; check --config or CITYCORE_CONFIG")]
    MissingFile(PathBuf),
    #[error("invalid setting {key}: {reason}")]
    Value { key: &'static str, reason: String },
}

impl Settings {
    /// Loads defaults, the optional TOML file and `CITYCORE_…` environment variables.
    ///
    /// # Errors
    /// Fails when the file is missing or malformed, a key is unknown, or a value has the
    /// wrong type; the message names the key.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.to_owned()));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("CITYCORE_").split("__").ignore(&[
            "config",
            "test_backend",
            "test_database_url",
            "shared_data",
            // Read by the resident registry itself, as the short name of residents.data_key.
            "data_key",
            // The token of `citycore replay --to`, read by that command's flag.
            "replay_token",
        ]));
        let settings: Settings = figment.extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that parse but cannot work.
    ///
    /// # Errors
    /// Names the first key whose value is out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, reason: &str| Err(ConfigError::Value { key, reason: reason.to_owned() });
        if self.ui.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return bad("ui.time_zone", "not an IANA time zone name such as Asia/Shanghai");
        }
        if !matches!(self.ui.default_locale.as_str(), "zh-CN" | "en") {
            return bad("ui.default_locale", "must be zh-CN or en");
        }
        if self.auth.session_idle_minutes < 1 || self.auth.session_max_hours < 1 {
            return bad("auth.session_idle_minutes", "session lifetimes must be at least 1");
        }
        if self.auth.max_failed_logins < 1 {
            return bad("auth.max_failed_logins", "must be at least 1");
        }
        if !(self.locate.max_outside_distance_m >= 0.0 && self.locate.boundary_tolerance_m >= 0.0) {
            return bad("locate.max_outside_distance_m", "distances must be 0 or more metres");
        }
        if self.sensors.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return bad("sensors.time_zone", "not an IANA time zone name such as Asia/Shanghai");
        }
        if self.sensors.max_future_skew_seconds < 0 || self.sensors.max_past_age_days < 1 {
            return bad("sensors.max_past_age_days", "must be at least 1, and the skew 0 or more");
        }
        if self.sensors.max_past_age_days > self.sensors.raw_retention_days {
            return bad("sensors.max_past_age_days", "must not exceed sensors.raw_retention_days");
        }
        if self.sensors.parking_status_hold_seconds < 0 {
            return bad("sensors.parking_status_hold_seconds", "must be 0 or more seconds");
        }
        if self.sensors.max_queued_readings < 1 {
            return bad("sensors.max_queued_readings", "the queue limit must be at least 1");
        }
        if self.sensors.max_batch_items == 0 || self.sensors.max_batch_bytes == 0 {
            return bad("sensors.max_batch_items", "batch limits must be at least 1");
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections", "must be at least 1");
        }
        self.pricing.validate().or_else(|(key, reason)| bad(key, reason))?;
        self.mqtt.validate().or_else(|(key, reason)| bad(key, reason))?;
        self.notices.validate().or_else(|(key, reason)| bad(key, reason))
    }

    /// Returns the database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("citycore.db").display())
        } else {
            self.database.url.clone()
        }
    }

    /// Returns the rollup time zone; `validate` guarantees that it parses.
    pub fn sensor_time_zone(&self) -> chrono_tz::Tz {
        self.sensors.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// Returns the display time zone; `validate` guarantees that it parses.
    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.ui.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

/// Hides the password of a database URL so that it can be logged.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((credentials, host)) = rest.rsplit_once('@') else { return url.to_owned() };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_equals_defaults() {
        let parsed: Settings = toml::from_str(EXAMPLE_TOML).expect("example.toml parses");
        assert_eq!(parsed, Settings::default());
    }

    #[test]
    fn redact_url_hides_password() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/x"), "postgres://app:***@db:5432/x");
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
        assert_eq!(redact_url("sqlite://a.db"), "sqlite://a.db");
    }

    #[test]
    fn validate_rejects_unknown_time_zone() {
        let mut settings = Settings::default();
        settings.ui.time_zone = "Mars/Olympus".into();
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("ui.time_zone"), "{message}");
    }
}
