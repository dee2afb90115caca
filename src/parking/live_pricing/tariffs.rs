//! Storage of tariffs and the seeded `default` tariff; [`tariff_input`] validates input.
//!
//! [`tariff_input`]: super::tariff_input

use chrono::Utc;
use serde::Serialize;

pub use super::tariff_input::{BandInput, RuleInput, TariffInput};
use super::{
    DEFAULT_TARIFF, PricingError, RuleView, StoredTariff, invalid,
    tariff_input::check_rates_in_bounds,
};
use crate::{
    config::BookingSettings,
    db::Db,
    parking::{
        pricing::PricingRule,
        tariff::{Band, DayType, Tariff},
    },
    with_pool,
};

/// A tariff as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TariffView {
    pub code: String,
    pub name: String,
    pub bands: Vec<Band>,
    pub rule: RuleView,
}

impl From<&StoredTariff> for TariffView {
    fn from(stored: &StoredTariff) -> Self {
        TariffView {
            code: stored.code.clone(),
            name: stored.name.clone(),
            bands: stored.tariff.bands().to_vec(),
            rule: RuleView { enabled: stored.rule_enabled, rule: stored.rule },
        }
    }
}

const TARIFF_COLUMNS: &str = "code, name, rule_enabled, raise_at, lower_below, step_fen, \
     min_fen, max_fen, period_days, notice_days";

/// Lists every tariff in code order.
///
/// # Errors
/// A database failure, or [`PricingError::Corrupt`] for a stored tariff with a gap.
pub async fn list_tariffs(db: &Db) -> Result<Vec<StoredTariff>, PricingError> {
    let sql = format!("SELECT {TARIFF_COLUMNS} FROM parking_tariff ORDER BY code");
    let heads: Vec<TariffHead> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await?
    });
    let mut tariffs = Vec::with_capacity(heads.len());
    for head in heads {
        tariffs.push(with_bands(db, head).await?);
    }
    Ok(tariffs)
}

/// Loads tariff `code`.
///
/// # Errors
/// [`PricingError::NotFound`], [`PricingError::Corrupt`] or a database failure.
pub async fn tariff_by_code(db: &Db, code: &str) -> Result<StoredTariff, PricingError> {
    let sql = format!("SELECT {TARIFF_COLUMNS} FROM parking_tariff WHERE code = $1");
    let head: Option<TariffHead> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(code).fetch_optional(pool).await?
    });
    let head =
        head.ok_or_else(|| PricingError::NotFound { what: "parking tariff", id: code.to_owned() })?;
    with_bands(db, head).await
}

/// Loads the tariff of a lot whose `tariff_code` column contains `lot_tariff_code`.
///
/// # Errors
/// As [`tariff_by_code`].
pub async fn tariff_of_lot(db: &Db, lot_tariff_code: &str) -> Result<StoredTariff, PricingError> {
    let code = if lot_tariff_code.is_empty() { DEFAULT_TARIFF } else { lot_tariff_code };
    tariff_by_code(db, code).await
}

/// The columns of `parking_tariff`, before its bands are read.
#[derive(sqlx::FromRow)]
struct TariffHead {
    code: String,
    name: String,
    rule_enabled: bool,
    raise_at: f64,
    lower_below: f64,
    step_fen: i32,
    min_fen: i32,
    max_fen: i32,
    period_days: i32,
    notice_days: i32,
}

impl TariffHead {
    fn rule(&self) -> PricingRule {
        let unsigned = |value: i32| value.max(0) as u32;
        PricingRule {
            raise_at: self.raise_at,
            lower_below: self.lower_below,
            step_fen: unsigned(self.step_fen),
            min_fen: unsigned(self.min_fen),
            max_fen: unsigned(self.max_fen),
            period_days: unsigned(self.period_days),
            notice_days: unsigned(self.notice_days),
        }
    }
}

async fn with_bands(db: &Db, head: TariffHead) -> Result<StoredTariff, PricingError> {
    let sql = "SELECT day_type, start_minute, end_minute, rate_fen_per_hour \
               FROM parking_tariff_band WHERE tariff_code = $1 ORDER BY day_type, start_minute";
    let rows: Vec<(String, i32, i32, i32)> =
        with_pool!(db, |pool| { sqlx::query_as(sql).bind(&head.code).fetch_all(pool).await? });
    let corrupt = |reason: String| PricingError::Corrupt { code: head.code.clone(), reason };
    let mut bands = Vec::with_capacity(rows.len());
    for (day_type, start, end, rate) in rows {
        let day_type = DayType::parse(&day_type).ok_or_else(|| corrupt(day_type.clone()))?;
        bands.push(Band {
            day_type,
            start_minute: start as u16,
            end_minute: end as u16,
            rate_fen_per_hour: rate.max(0) as u32,
        });
    }
    bands.sort_by_key(|band| (band.day_type, band.start_minute));
    let tariff = Tariff::new(bands).map_err(|error| corrupt(error.to_string()))?;
    let rule = head.rule();
    Ok(StoredTariff {
        code: head.code,
        name: head.name,
        tariff,
        rule_enabled: head.rule_enabled,
        rule,
    })
}

/// Whether a new tariff's code may already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Insert only; a taken code is [`PricingError::Duplicate`].
    Create,
    /// Replace the stored tariff's name, bands and rule; a missing code is not found.
    Replace,
    /// Insert only when missing and keep a stored one, for the seed.
    InsertMissing,
}

/// Writes `tariff` and its bands in one transaction; returns whether anything changed.
///
/// # Errors
/// [`PricingError::Duplicate`] or [`PricingError::NotFound`] as `mode` selects, or a
/// database failure. Nothing is written on any error.
pub async fn write_tariff(
    db: &Db,
    tariff: &StoredTariff,
    mode: WriteMode,
) -> Result<bool, PricingError> {
    let head_sql = match mode {
        WriteMode::Create | WriteMode::InsertMissing => {
            "INSERT INTO parking_tariff (code, name, rule_enabled, raise_at, lower_below, \
             step_fen, min_fen, max_fen, period_days, notice_days, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (code) DO NOTHING"
        }
        WriteMode::Replace => {
            "UPDATE parking_tariff SET name = $2, rule_enabled = $3, raise_at = $4, \
             lower_below = $5, step_fen = $6, min_fen = $7, max_fen = $8, period_days = $9, \
             notice_days = $10, updated_at_ms = $11 WHERE code = $1"
        }
    };
    let rule = &tariff.rule;
    let fen = |value: u32| i32::try_from(value).unwrap_or(i32::MAX);
    let now_ms = Utc::now().timestamp_millis();
    let _turn = db.write_turn().await;
    let written = with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        let done = sqlx::query(head_sql)
            .bind(&tariff.code)
            .bind(&tariff.name)
            .bind(tariff.rule_enabled)
            .bind(rule.raise_at)
            .bind(rule.lower_below)
            .bind(fen(rule.step_fen))
            .bind(fen(rule.min_fen))
            .bind(fen(rule.max_fen))
            .bind(fen(rule.period_days))
            .bind(fen(rule.notice_days))
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            false
        } else {
            sqlx::query("DELETE FROM parking_tariff_band WHERE tariff_code = $1")
                .bind(&tariff.code)
                .execute(&mut *tx)
                .await?;
            for band in tariff.tariff.bands() {
                sqlx::query(
                    "INSERT INTO parking_tariff_band (tariff_code, day_type, start_minute, \
                     end_minute, rate_fen_per_hour) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&tariff.code)
                .bind(band.day_type.as_str())
                .bind(i32::from(band.start_minute))
                .bind(i32::from(band.end_minute))
                .bind(fen(band.rate_fen_per_hour))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            true
        }
    });
    match (mode, written) {
        (WriteMode::Create, false) => Err(PricingError::Duplicate(tariff.code.clone())),
        (WriteMode::Replace, false) => {
            Err(PricingError::NotFound { what: "parking tariff", id: tariff.code.clone() })
        }
        (_, written) => {
            if written {
                tracing::info!(parking.tariff = %tariff.code, ?mode, "parking tariff written");
            }
            Ok(written)
        }
    }
}

/// Stores the `default` tariff from the `[booking]` day and night rates unless one is
/// stored already, so that lots without a tariff keep today's prices.
///
/// # Errors
/// [`PricingError::Invalid`] for day and night settings that form no tariff, or a
/// database failure.
pub async fn ensure_default_tariff(
    db: &Db,
    settings: &BookingSettings,
) -> Result<(), PricingError> {
    let tariff = crate::parking::booking::lifecycle::stay_tariff(settings)
        .map_err(|_| invalid("parking_tariff_settings", "booking.day_starts"))?;
    let rule = PricingRule::default();
    // The seed keeps the rule off when a configured rate lies outside the SFpark bounds,
    // so that the first review cannot jump the price.
    let in_bounds = check_rates_in_bounds(&tariff, &rule).is_ok();
    let seed = StoredTariff {
        code: DEFAULT_TARIFF.to_owned(),
        name: "Default".to_owned(),
        tariff,
        rule_enabled: in_bounds,
        rule,
    };
    write_tariff(db, &seed, WriteMode::InsertMissing).await?;
    Ok(())
}

/// Lists the codes among `codes` that name no stored tariff; an empty code is fine.
///
/// # Errors
/// A database failure.
pub async fn unknown_codes<'a>(
    db: &Db,
    codes: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, sqlx::Error> {
    let stored: Vec<String> = with_pool!(db, |pool| {
        sqlx::query_scalar("SELECT code FROM parking_tariff").fetch_all(pool).await?
    });
    Ok(codes
        .into_iter()
        .filter(|code| !code.is_empty() && !stored.iter().any(|known| known == code))
        .map(str::to_owned)
        .collect())
}
