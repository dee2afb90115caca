//! `citycore calendar import FILE` and `citycore calendar show --year YEAR`.

use std::{io::Write, path::PathBuf};

use anyhow::Context;
use clap::Args;

use super::service::{self, CalendarError};
use crate::{config::Settings, db::Db, i18n::Locale};

#[derive(Debug, Args)]
pub struct ImportCalendarArgs {
    /// CSV file with the columns `date,kind,name`; kind is `holiday` or `workday`.
    /// Every year in the file replaces the stored days of that year.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ShowCalendarArgs {
    /// Calendar year to print, such as 2026.
    #[arg(long)]
    pub year: i32,
}

#[derive(Debug, Args)]
pub struct SetHoursArgs {
    /// Weekday to change: monday … sunday (or mon … sun).
    #[arg(long)]
    pub weekday: chrono::Weekday,
    /// Local working periods such as `09:00-12:00,13:30-18:00`; `-` for none.
    #[arg(long, allow_hyphen_values = true)]
    pub periods: String,
}

/// Imports one calendar file; nothing is written when any row is invalid.
///
/// # Errors
/// Fails with one line per invalid row, or when the file or the database fails.
pub async fn import_calendar(
    db: &Db,
    settings: &Settings,
    args: ImportCalendarArgs,
) -> anyhow::Result<()> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    match service::import_calendar(db, std::io::BufReader::new(file)).await {
        Ok(count) => {
            println!("imported {count} calendar days from {}", args.file.display());
            Ok(())
        }
        Err(CalendarError::Import(errors)) => {
            eprint!("{}", errors.render(locale(settings)));
            Err(errors.into())
        }
        Err(other) => Err(other.into()),
    }
}

/// Prints the weekly hours and the holidays and make-up working days of a year.
///
/// # Errors
/// Fails on a year outside 1900–9999 or a database failure.
pub async fn show_calendar(
    db: &Db,
    settings: &Settings,
    args: ShowCalendarArgs,
) -> anyhow::Result<()> {
    let view = match service::year_view(db, settings.time_zone(), args.year).await {
        Ok(view) => view,
        Err(CalendarError::Invalid(message)) => anyhow::bail!(message.render(locale(settings))),
        Err(other) => return Err(other.into()),
    };
    let mut text = format!("{} ({})\n", view.year, view.time_zone);
    for weekday in &view.weekly_hours {
        let periods: Vec<String> = weekday
            .periods
            .iter()
            .map(|period| {
                format!("{}–{}", period.start.format("%H:%M"), period.end.format("%H:%M"))
            })
            .collect();
        let periods = if periods.is_empty() { "-".to_owned() } else { periods.join(", ") };
        text.push_str(&format!("{:<10} {periods}\n", weekday.weekday));
    }
    for day in &view.days {
        text.push_str(&format!("{}  {:<8} {}\n", day.date, day.kind.as_str(), day.name));
    }
    // write_all reports a closed pipe (as in `| head`) as an error where println! panics.
    std::io::stdout().write_all(text.as_bytes()).context("cannot write to standard output")?;
    Ok(())
}

/// Replaces the working periods of one weekday.
///
/// # Errors
/// Fails on invalid or overlapping periods, or a database failure.
pub async fn set_hours(db: &Db, settings: &Settings, args: SetHoursArgs) -> anyhow::Result<()> {
    match service::set_weekday_hours(db, args.weekday, &args.periods).await {
        Ok(periods) => {
            println!("{}: {} working periods", args.weekday, periods.len());
            Ok(())
        }
        Err(CalendarError::Invalid(message)) => anyhow::bail!(message.render(locale(settings))),
        Err(other) => Err(other.into()),
    }
}

fn locale(settings: &Settings) -> Locale {
    Locale::parse(&settings.ui.default_locale).unwrap_or_default()
}
