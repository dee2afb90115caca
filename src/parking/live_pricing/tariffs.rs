//! Tariffs as data: validation of the input, storage, and the seeded `default` tariff.

use super::{DEFAULT_TARIFF, PricingError, RuleView, StoredTariff, invalid};
use crate::{
    config::BookingSettings,
    db::Db,
    http::UserMessage,
    parking::{
        pricing::PricingRule,
        tariff::{Band, DayType, MINUTES_PER_DAY, Tariff, TariffError},
    },
    with_pool,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};

/// Maximum length of a tariff code, the key that lots and imports refer to, in characters.
const MAX_CODE_CHARS: usize = 32;
/// Maximum length of a tariff name, in characters.
const MAX_NAME_CHARS: usize = 100;

/// A tariff as sent to the API or built from the console form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TariffInput {
    /// Letters, digits, `-` and `_`; the path gives it on `PUT`.
    pub code: Option<String>,
    pub name: Option<String>,
    pub bands: Option<Vec<BandInput>>,
    /// Missing fields take the SFpark defaults of [`PricingRule::default`].
    pub rule: Option<RuleInput>,
}

/// One band as sent; minutes count from local midnight.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BandInput {
    /// `weekday`, `weekend` or `holiday`.
    pub day_type: Option<String>,
    pub start_minute: Option<i64>,
    pub end_minute: Option<i64>,
    pub rate_fen_per_hour: Option<i64>,
}

/// The demand-responsive rule as sent; every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuleInput {
    pub enabled: Option<bool>,
    pub raise_at: Option<f64>,
    pub lower_below: Option<f64>,
    pub step_fen: Option<u32>,
    pub min_fen: Option<u32>,
    pub max_fen: Option<u32>,
    pub period_days: Option<u32>,
    pub notice_days: Option<u32>,
}

impl TariffInput {
    /// Validates the tariff: code and name, each band, the coverage of every day type,
    /// and the rule with every base rate inside its bounds.
    ///
    /// # Errors
    /// [`PricingError::Invalid`] naming the first field to fix, such as
    /// `bands[2].end_minute`, `bands` for a gap or overlap, or `rule.notice_days`.
    pub fn parse(self) -> Result<StoredTariff, PricingError> {
        let code = self.code.unwrap_or_default().trim().to_owned();
        let code_ok = !code.is_empty()
            && code.chars().count() <= MAX_CODE_CHARS
            && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !code_ok {
            return Err(invalid("parking_tariff_code", "code"));
        }
        let name = self.name.unwrap_or_default().trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(PricingError::Invalid(
                UserMessage::new("parking_tariff_name").arg("max", MAX_NAME_CHARS).field("name"),
            ));
        }
        let bands = self
            .bands
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(index, band)| band.parse(index))
            .collect::<Result<Vec<_>, _>>()?;
        let tariff = Tariff::new(bands).map_err(coverage_error)?;
        let (rule_enabled, rule) = self.rule.unwrap_or_default().parse()?;
        if rule_enabled {
            check_rates_in_bounds(&tariff, &rule)?;
        }
        Ok(StoredTariff { code, name, tariff, rule_enabled, rule })
    }
}

impl BandInput {
    fn parse(self, index: usize) -> Result<Band, PricingError> {
        let field = |name: &str| format!("bands[{index}].{name}");
        let day_type = self
            .day_type
            .as_deref()
            .and_then(DayType::parse)
            .ok_or_else(|| invalid("parking_band_day_type", field("day_type")))?;
        let minute = |value: Option<i64>, name: &str, range: std::ops::RangeInclusive<i64>| {
            value
                .filter(|minute| range.contains(minute))
                .map(|minute| minute as u16)
                .ok_or_else(|| invalid("parking_band_minute", field(name)))
        };
        let start_minute = minute(self.start_minute, "start_minute", 0..=1439)?;
        let end_minute = minute(self.end_minute, "end_minute", 1..=i64::from(MINUTES_PER_DAY))?;
        if end_minute <= start_minute {
            return Err(invalid("parking_band_minute", field("end_minute")));
        }
        let rate_fen_per_hour = self
            .rate_fen_per_hour
            .and_then(|rate| u32::try_from(rate).ok())
            .ok_or_else(|| invalid("parking_band_rate", field("rate_fen_per_hour")))?;
        Ok(Band { day_type, start_minute, end_minute, rate_fen_per_hour })
    }
}

impl RuleInput {
    fn parse(self) -> Result<(bool, PricingRule), PricingError> {
        let defaults = PricingRule::default();
        let rule = PricingRule {
            raise_at: self.raise_at.unwrap_or(defaults.raise_at),
            lower_below: self.lower_below.unwrap_or(defaults.lower_below),
            step_fen: self.step_fen.unwrap_or(defaults.step_fen),
            min_fen: self.min_fen.unwrap_or(defaults.min_fen),
            max_fen: self.max_fen.unwrap_or(defaults.max_fen),
            period_days: self.period_days.unwrap_or(defaults.period_days),
            notice_days: self.notice_days.unwrap_or(defaults.notice_days),
        };
        if !(0.0 < rule.lower_below && rule.lower_below < rule.raise_at && rule.raise_at <= 1.0) {
            return Err(invalid("parking_rule_thresholds", "rule.raise_at"));
        }
        if rule.step_fen == 0 {
            return Err(invalid("parking_rule_positive", "rule.step_fen"));
        }
        if rule.period_days == 0 || rule.period_days > 366 {
            return Err(invalid("parking_rule_period", "rule.period_days"));
        }
        // A notice as long as the period would start the next review from a price that
        // is announced but not yet charged.
        if rule.notice_days >= rule.period_days {
            return Err(invalid("parking_rule_notice", "rule.notice_days"));
        }
        if rule.min_fen > rule.max_fen || i32::try_from(rule.max_fen).is_err() {
            return Err(invalid("parking_rule_bounds", "rule.min_fen"));
        }
        Ok((self.enabled.unwrap_or(true), rule))
    }
}

/// Turns a coverage failure into a message naming the day type and the local time.
fn coverage_error(error: TariffError) -> PricingError {
    match error {
        TariffError::Coverage { day_type, minute } => PricingError::Invalid(
            UserMessage::new("parking_tariff_coverage")
                .arg("day_type", day_type.as_str())
                .arg("time", format!("{:02}:{:02}", minute / 60, minute % 60))
                .field("bands"),
        ),
        _ => invalid("parking_band_minute", "bands"),
    }
}

/// Rejects a base rate the rule could never reach, because the first review would jump
/// it into the bounds by more than one step.
fn check_rates_in_bounds(tariff: &Tariff, rule: &PricingRule) -> Result<(), PricingError> {
    let outside = tariff
        .bands()
        .iter()
        .position(|band| !(rule.min_fen..=rule.max_fen).contains(&band.rate_fen_per_hour));
    match outside {
        Some(index) => Err(PricingError::Invalid(
            UserMessage::new("parking_band_rate_outside_bounds")
                .arg("min", rule.min_fen)
                .arg("max", rule.max_fen)
                .field(format!("bands[{index}].rate_fen_per_hour")),
        )),
        None => Ok(()),
    }
}

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
