//! `citycore devices import|token|key|purge`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{
    devices::{self, DeviceError},
    hash_token, new_token,
    store::{SensorStore, StoreError},
};
use crate::{config::Settings, db::Db, i18n::Locale, locate::Locator};

#[derive(Debug, Args)]
pub struct ImportDevicesArgs {
    /// CSV with a header row (id,kind,name,longitude,latitude,crs,owner,capacity,
    /// parking_space,merchant,resident) or a JSON array of such objects (`.json`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct RotateTokenArgs {
    /// The device id.
    #[arg(value_name = "DEVICE")]
    pub device: String,
}

#[derive(Debug, Args)]
pub struct CreateKeyArgs {
    /// A unique name for the gateway that will use the key.
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// Imports devices; nothing is written when any record is invalid. Prints each new
/// device's token, which is not shown again, as `id,token` lines.
///
/// # Errors
/// Fails with one line per invalid field, naming its record, or when a device id is taken.
pub async fn import_devices(
    db: &Db,
    settings: &Settings,
    args: ImportDevicesArgs,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let is_json = args.file.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let locator = Locator::new(settings.locate.clone());
    locator.reload(db).await?;
    let result = match devices::read_device_file(&bytes, is_json) {
        Ok(inputs) => devices::register_devices(db, &locator.snapshot(), inputs).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(issued) => {
            println!("id,token");
            for token in &issued {
                println!("{},{}", token.id, token.token);
            }
            eprintln!("imported {} devices from {}", issued.len(), args.file.display());
            Ok(())
        }
        Err(DeviceError::Invalid(errors)) => {
            let locale = Locale::parse(&settings.ui.default_locale).unwrap_or_default();
            eprint!("{}", devices::render_errors(&errors, locale));
            anyhow::bail!("{} invalid fields; nothing was imported", errors.len())
        }
        Err(other) => Err(other.into()),
    }
}

/// Replaces a device's token and prints the new one; the old token stops working at once.
///
/// # Errors
/// Fails when the device is not registered.
pub async fn rotate_token(db: &Db, args: RotateTokenArgs) -> anyhow::Result<()> {
    let token = new_token();
    if !db.set_device_token(&args.device, &hash_token(&token)).await? {
        anyhow::bail!("device {} is not registered; check the id", args.device);
    }
    println!("{token}");
    Ok(())
}

/// Creates a gateway key and returns its token.
///
/// # Errors
/// [`DeviceError::Store`] when the name is taken or the database fails.
pub async fn create_ingest_key(db: &Db, name: &str) -> Result<String, DeviceError> {
    let token = new_token();
    db.insert_ingest_key(name, &hash_token(&token)).await.map_err(|error| match error {
        StoreError::DuplicateDevice(_) => DeviceError::Invalid(vec![devices::RecordError {
            record: 1,
            message: crate::http::UserMessage::new("ingest_key_name_taken")
                .arg("name", name)
                .field("name"),
        }]),
        other => DeviceError::Store(other),
    })?;
    Ok(token)
}

/// Prints a new gateway key.
///
/// # Errors
/// Fails when the name is taken.
pub async fn create_key(db: &Db, args: CreateKeyArgs) -> anyhow::Result<()> {
    match create_ingest_key(db, &args.name).await {
        Ok(token) => {
            println!("{token}");
            Ok(())
        }
        Err(DeviceError::Invalid(_)) => {
            anyhow::bail!("a key named {} exists; choose another name", args.name)
        }
        Err(other) => Err(other.into()),
    }
}

/// Deletes raw readings older than `sensors.raw_retention_days`; rollups stay.
///
/// # Errors
/// Fails when the database fails.
pub async fn purge(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    let days = settings.sensors.raw_retention_days;
    let before_ms = chrono::Utc::now().timestamp_millis() - days * 86_400_000;
    let deleted = db.purge_readings(before_ms).await?;
    tracing::info!(readings.deleted = deleted, retention.days = days, "raw readings purged");
    println!("deleted {deleted} readings older than {days} days");
    Ok(())
}
