//! The analysis and simulation results as console text and CSV; JSON is their serde form.

use chrono_tz::Tz;
use serde::Serialize;

use super::{
    ParkingError,
    align::{AlignOptions, align},
    analysis::{Analysis, LotStats, analyze},
    landuse::MixDemand,
    series::{ProblemKind, Problems, Series},
};
use crate::i18n::{Locale, arg};

/// The occupancy part of a report: input description, problems and measures.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesReport {
    pub path: String,
    pub rows: u64,
    pub columns_used: Vec<String>,
    pub input_zone: String,
    pub report_zone: String,
    pub alignment: AlignOptions,
    pub problems: Problems,
    pub analysis: Analysis,
}

/// Everything `parking analyze` prints: a series, a land-use mix, or both.
#[derive(Debug, Clone, Serialize)]
pub struct AnalysisReport {
    pub series: Option<SeriesReport>,
    pub mix: Option<MixDemand>,
}

/// Formats `value` with `decimals` digits after the point.
pub fn fixed(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}

impl SeriesReport {
    /// Aligns the readings of `series` on one grid and analyses them; the steps of
    /// `citycore parking analyze` and of the console's analysis page.
    ///
    /// # Errors
    /// [`ParkingError::NoValidReadings`] when no reading of `source` is usable.
    pub fn build(
        source: &str,
        mut series: Series,
        alignment: AlignOptions,
        input_zone: Tz,
        report_zone: Tz,
    ) -> Result<SeriesReport, ParkingError> {
        if series.readings.is_empty() {
            return Err(ParkingError::NoValidReadings { path: source.to_owned() });
        }
        let aligned = align(&series.readings, alignment, &mut series.problems);
        let analysis = analyze(&aligned, report_zone);
        tracing::info!(
            parking.rows = series.rows,
            parking.lots = analysis.lots.len(),
            parking.gain_spaces = analysis.gain.gain_spaces,
            "parking series analyzed"
        );
        Ok(SeriesReport {
            path: source.to_owned(),
            rows: series.rows,
            columns_used: series.columns_used,
            input_zone: input_zone.to_string(),
            report_zone: report_zone.to_string(),
            alignment,
            problems: series.problems,
            analysis,
        })
    }

    /// Formats the sentence that states how readings were aligned.
    pub fn alignment_text(&self, locale: Locale) -> String {
        locale.t_args(
            "parking-alignment",
            &[
                ("step", arg(self.alignment.step_minutes.to_string())),
                ("gap", arg(self.alignment.max_gap_minutes.to_string())),
                ("input_zone", arg(self.input_zone.clone())),
                ("report_zone", arg(self.report_zone.clone())),
            ],
        )
    }

    pub fn source_text(&self, locale: Locale) -> String {
        locale.t_args(
            "parking-source",
            &[
                ("path", arg(self.path.clone())),
                ("rows", arg(self.rows.to_string())),
                ("columns", arg(self.columns_used.join(", "))),
            ],
        )
    }

    /// Formats the capacity-gain sentence, or the single-lot notice.
    pub fn gain_text(&self, locale: Locale) -> String {
        let gain = &self.analysis.gain;
        if gain.lots < 2 {
            return locale.t("parking-gain-single");
        }
        locale.t_args(
            "parking-gain",
            &[
                ("lots", arg(gain.lots.to_string())),
                ("sum", arg(fixed(gain.sum_of_peaks, 1))),
                ("combined", arg(fixed(gain.combined_peak, 1))),
                ("gain", arg(fixed(gain.gain_spaces, 1))),
                ("percent", arg(fixed(gain.gain_percent, 1))),
                ("points", arg(gain.common_points.to_string())),
            ],
        )
    }

    /// Explains a missing turnover, or returns `None` when every lot has one.
    pub fn turnover_note(&self, locale: Locale) -> Option<String> {
        let missing = self.analysis.lots.iter().any(|lot| lot.turnover.is_none());
        missing.then(|| locale.t("parking-turnover-note"))
    }

    /// Formats the problems note, saying whether flat runs were used.
    pub fn problems_note(&self, locale: Locale) -> String {
        let flat = if self.alignment.drop_flat_runs {
            "parking-flat-runs-dropped"
        } else {
            "parking-flat-runs-kept"
        };
        format!("{} {}", locale.t("parking-problems-note"), locale.t(flat))
    }

    /// Lists each kind of problem with its count and its examples.
    pub fn problem_lines(&self, locale: Locale) -> Vec<(String, Vec<String>)> {
        let hours = self.alignment.flat_run_hours.to_string();
        let kind_text =
            |kind: ProblemKind| locale.t_args(kind.message_id(), &[("hours", arg(hours.clone()))]);
        self.problems
            .0
            .iter()
            .map(|(kind, tally)| {
                let title = locale.t_args(
                    "parking-problem-count",
                    &[("kind", arg(kind_text(*kind))), ("count", arg(tally.count.to_string()))],
                );
                (title, tally.examples.clone())
            })
            .collect()
    }

    /// Formats the lot rows, then the pooled row when there is more than one lot.
    pub fn table_rows(&self, locale: Locale) -> Vec<Vec<String>> {
        let lots = &self.analysis.lots;
        let zone = self.report_zone.parse().unwrap_or(chrono_tz::UTC);
        let mut rows: Vec<Vec<String>> =
            lots.iter().map(|stats| lot_cells(stats, stats.lot.clone(), zone, locale)).collect();
        if let (true, Some(pooled)) = (lots.len() > 1, &self.analysis.pooled) {
            rows.push(lot_cells(pooled, locale.t("parking-pooled"), zone, locale));
        }
        rows
    }
}

/// Formats the cells of one lot row, labelled `label`, with the peak time in `zone`.
fn lot_cells(stats: &LotStats, label: String, zone: Tz, locale: Locale) -> Vec<String> {
    let peak_time =
        stats.peak_time.map(|time| time.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z"));
    vec![
        label,
        fixed(stats.capacity, 0),
        fixed(stats.covered_hours, 1),
        fixed(stats.peak_occupied, 1),
        peak_time.map(|time| time.to_string()).unwrap_or_default(),
        fixed(stats.mean_occupied, 1),
        format!("{}%", fixed(stats.utilisation * 100.0, 1)),
        stats
            .turnover
            .map_or_else(|| locale.t("parking-turnover-unknown"), |value| fixed(value, 2)),
    ]
}

/// Returns the column headers of the lot table, in the order of its cells.
pub fn lot_headers(locale: Locale) -> Vec<String> {
    [
        "parking-col-lot",
        "parking-col-capacity",
        "parking-col-hours",
        "parking-col-peak",
        "parking-col-peak-time",
        "parking-col-mean",
        "parking-col-utilisation",
        "parking-col-turnover",
    ]
    .iter()
    .map(|id| locale.t(id))
    .collect()
}

/// Text of the mix table rows and its summary sentence.
pub fn mix_summary(mix: &MixDemand, locale: Locale) -> String {
    locale.t_args(
        "parking-mix-summary",
        &[
            ("sum", arg(fixed(mix.sum_of_peaks, 1))),
            ("design", arg(fixed(mix.design_demand, 1))),
            ("month", arg(mix.design_month.to_string())),
            ("hour", arg(format!("{:02}", mix.design_hour))),
            ("saving", arg(fixed(mix.saving_spaces, 1))),
            ("percent", arg(fixed(mix.saving_percent, 1))),
        ],
    )
}

/// Formats an analysis report for the console.
pub fn analysis_text(report: &AnalysisReport, locale: Locale) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    if let Some(series) = &report.series {
        line(format!("# {}", locale.t("parking-report-title")));
        line(series.source_text(locale));
        line(series.alignment_text(locale));
        line(String::new());
        line(format!("## {}", locale.t("parking-lots-heading")));
        line(lot_headers(locale).join(" | "));
        for row in series.table_rows(locale) {
            line(row.join(" | "));
        }
        if let Some(note) = series.turnover_note(locale) {
            line(note);
        }
        line(String::new());
        line(format!("## {}", locale.t("parking-gain-heading")));
        line(series.gain_text(locale));
        line(String::new());
        line(format!("## {}", locale.t("parking-profile-heading")));
        profile_lines(series, locale).into_iter().for_each(&mut line);
        line(String::new());
        line(format!("## {}", locale.t("parking-problems-heading")));
        let problems = series.problem_lines(locale);
        if problems.is_empty() {
            line(locale.t("parking-problems-none"));
        }
        for (title, examples) in problems {
            line(title);
            examples.into_iter().for_each(|example| line(format!("  {example}")));
        }
        line(series.problems_note(locale));
    }
    if let Some(mix) = &report.mix {
        line(format!("## {}", locale.t("parking-mix-heading")));
        line(locale.t("parking-mix-note"));
        for use_demand in &mix.uses {
            line(format!(
                "{} | {} | {} | {}",
                use_demand.land_use.name(),
                fixed(use_demand.size, 0),
                use_demand.base_ratio,
                fixed(use_demand.peak_spaces, 1)
            ));
        }
        line(mix_summary(mix, locale));
    }
    out
}

/// Hour, weekday and weekend mean occupancy of the pooled series (or the only lot).
fn profile_lines(series: &SeriesReport, locale: Locale) -> Vec<String> {
    let Some(stats) = series.analysis.pooled.as_ref().or(series.analysis.lots.first()) else {
        return Vec::new();
    };
    let percent =
        |value: Option<f64>| value.map_or("-".to_owned(), |v| format!("{}%", fixed(v * 100.0, 1)));
    let mut lines = vec![format!(
        "h | {} | {}",
        locale.t("parking-profile-weekday"),
        locale.t("parking-profile-weekend")
    )];
    for hour in 0..24 {
        lines.push(format!(
            "{hour:02} | {} | {}",
            percent(stats.profile.weekday[hour]),
            percent(stats.profile.weekend[hour])
        ));
    }
    lines
}

/// Writes the analysis as long-format CSV: `section,key,measure,value`.
///
/// # Errors
/// Fails only if the CSV writer fails.
pub fn analysis_csv(report: &AnalysisReport) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["section", "key", "measure", "value"])?;
    if let Some(series) = &report.series {
        for stats in series.analysis.lots.iter().chain(series.analysis.pooled.as_ref()) {
            let peak_time = stats.peak_time.map(|t| t.to_rfc3339()).unwrap_or_default();
            for (measure, value) in [
                ("capacity", stats.capacity.to_string()),
                ("covered_hours", stats.covered_hours.to_string()),
                ("peak_occupied", stats.peak_occupied.to_string()),
                ("peak_time", peak_time),
                ("mean_occupied", stats.mean_occupied.to_string()),
                ("utilisation", stats.utilisation.to_string()),
                (
                    "turnover",
                    stats.turnover.map_or("not computable from occupancy alone".to_owned(), |v| {
                        v.to_string()
                    }),
                ),
            ] {
                writer.write_record(["lot", &stats.lot, measure, &value])?;
            }
        }
        let gain = &series.analysis.gain;
        for (measure, value) in [
            ("sum_of_peaks", gain.sum_of_peaks),
            ("combined_peak", gain.combined_peak),
            ("gain_spaces", gain.gain_spaces),
            ("gain_percent", gain.gain_percent),
        ] {
            writer.write_record(["gain", "all", measure, &value.to_string()])?;
        }
        for (kind, tally) in &series.problems.0 {
            writer.write_record([
                "problem",
                &serde_name(kind),
                "count",
                &tally.count.to_string(),
            ])?;
        }
    }
    if let Some(mix) = &report.mix {
        for use_demand in &mix.uses {
            let peak = use_demand.peak_spaces.to_string();
            writer.write_record(["mix", use_demand.land_use.name(), "peak_spaces", &peak])?;
        }
        writer.write_record(["mix", "all", "design_demand", &mix.design_demand.to_string()])?;
        writer.write_record(["mix", "all", "saving_spaces", &mix.saving_spaces.to_string()])?;
    }
    let bytes = writer.into_inner().map_err(|error| error.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Returns the serde name of a unit enum variant, such as `weekday` or `raise`.
pub(super) fn serde_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}
