//! The pricing simulation as console text and as a CSV price path.

use super::{
    report::{fixed, serde_name},
    simulate::{LotSimulation, Simulation},
    tariff::DayType,
};
use crate::i18n::{Locale, arg};

fn yuan(fen: u32) -> String {
    fixed(f64::from(fen) / 100.0, 2)
}

fn day_type_text(day_type: DayType, locale: Locale) -> String {
    locale.t(match day_type {
        DayType::Weekday => "parking-day-weekday",
        DayType::Weekend => "parking-day-weekend",
        DayType::Holiday => "parking-day-holiday",
    })
}

/// Formats a pricing simulation for the console.
pub fn simulation_text(simulation: &Simulation, locale: Locale) -> String {
    let options = &simulation.options;
    let rule = &options.rule;
    let mut lines = vec![
        format!("# {}", locale.t("parking-simulation-title")),
        locale.t_args(
            "parking-simulation-assumption",
            &[
                ("elasticity", arg(options.elasticity.to_string())),
                ("start", arg(yuan(options.start_fen))),
                ("period", arg(rule.period_days.to_string())),
                ("notice", arg(rule.notice_days.to_string())),
                ("raise", arg(fixed(rule.raise_at * 100.0, 0))),
                ("lower", arg(fixed(rule.lower_below * 100.0, 0))),
                ("step", arg(yuan(rule.step_fen))),
                ("min", arg(yuan(rule.min_fen))),
                ("max", arg(yuan(rule.max_fen))),
            ],
        ),
    ];
    for lot in &simulation.lots {
        lines.extend(lot_simulation_lines(lot, locale));
    }
    lines.push(locale.t_args(
        "parking-simulation-total",
        &[
            ("before", arg(fixed(simulation.before.in_target_percent(), 1))),
            ("after", arg(fixed(simulation.after.in_target_percent(), 1))),
        ],
    ));
    lines.join("\n") + "\n"
}

fn lot_simulation_lines(lot: &LotSimulation, locale: Locale) -> Vec<String> {
    let changed = lot.changes.iter().filter(|c| c.old_fen != c.new_fen).count();
    let mut lines = vec![
        locale.t_args(
            "parking-simulation-share",
            &[
                ("lot", arg(lot.lot.clone())),
                ("before", arg(fixed(lot.before.in_target_percent(), 1))),
                ("after", arg(fixed(lot.after.in_target_percent(), 1))),
                ("hours", arg(lot.before.total().to_string())),
            ],
        ),
        locale.t_args(
            "parking-simulation-path",
            &[("count", arg(lot.changes.len().to_string())), ("changed", arg(changed.to_string()))],
        ),
    ];
    for change in lot.changes.iter().filter(|c| c.old_fen != c.new_fen) {
        lines.push(format!(
            "  {}",
            locale.t_args(
                "parking-simulation-change",
                &[
                    ("announced", arg(change.announced.to_string())),
                    ("effective", arg(change.effective.to_string())),
                    ("day_type", arg(day_type_text(change.band.day_type, locale))),
                    (
                        "band",
                        arg(format!("{:02}–{:02}", change.band.start_hour, change.band.end_hour))
                    ),
                    ("occupancy", arg(fixed(change.mean_occupancy * 100.0, 1))),
                    ("old", arg(yuan(change.old_fen))),
                    ("new", arg(yuan(change.new_fen))),
                ]
            )
        ));
    }
    lines
}

/// Writes the price path as CSV, one row per evaluation of each band.
///
/// # Errors
/// Fails only if the CSV writer fails.
pub fn simulation_csv(simulation: &Simulation) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "lot",
        "day_type",
        "start_hour",
        "end_hour",
        "announced",
        "effective",
        "mean_occupancy",
        "decision",
        "old_fen_per_hour",
        "new_fen_per_hour",
    ])?;
    for lot in &simulation.lots {
        for change in &lot.changes {
            writer.write_record([
                lot.lot.clone(),
                serde_name(&change.band.day_type),
                change.band.start_hour.to_string(),
                change.band.end_hour.to_string(),
                change.announced.to_string(),
                change.effective.to_string(),
                change.mean_occupancy.to_string(),
                serde_name(&change.decision),
                change.old_fen.to_string(),
                change.new_fen.to_string(),
            ])?;
        }
    }
    let bytes = writer.into_inner().map_err(|error| error.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
