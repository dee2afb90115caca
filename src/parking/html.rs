//! The analysis report as one self-contained HTML page with inline SVG charts.
//!
//! The page loads nothing from the network: styles sit in the page and the charts are
//! SVG polylines computed here, so it can be mailed or opened offline.

use askama::Template;

use super::{
    landuse::MixDemand,
    report::{AnalysisReport, SeriesReport, fixed, lot_headers, mix_summary},
};
use crate::i18n::Locale;

/// Chart size in SVG user units; the page scales it to the column width.
const CHART_WIDTH: f64 = 720.0;
const CHART_HEIGHT: f64 = 240.0;
/// Room for the y-axis labels on the left and the x-axis labels at the bottom.
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 22.0;

/// One line of a chart: its legend text, CSS class and polyline point lists.
pub struct ChartLine {
    pub label: String,
    pub class: &'static str,
    /// One `x,y x,y …` list per unbroken run of values.
    pub runs: Vec<String>,
}

/// A line chart of fractions (0–1) over equally spaced positions.
pub struct Chart {
    pub title: String,
    pub lines: Vec<ChartLine>,
    pub x_labels: Vec<(String, String)>,
    pub y_labels: Vec<(String, String)>,
}

impl Chart {
    fn new(title: String, positions: usize, x_labels: Vec<(usize, String)>) -> Chart {
        let x_labels =
            x_labels.into_iter().map(|(i, text)| (fixed(x_of(i, positions), 1), text)).collect();
        let y_labels = (0..=4)
            .map(|q| {
                let fraction = f64::from(q) / 4.0;
                (fixed(y_of(fraction), 1), format!("{}%", q * 25))
            })
            .collect();
        Chart { title, lines: Vec::new(), x_labels, y_labels }
    }

    fn add_line(&mut self, label: String, class: &'static str, values: &[Option<f64>]) {
        let mut runs = Vec::new();
        let mut current: Vec<String> = Vec::new();
        for (index, value) in values.iter().enumerate() {
            match value {
                Some(value) => current.push(format!(
                    "{},{}",
                    fixed(x_of(index, values.len()), 1),
                    fixed(y_of(*value), 1)
                )),
                None if !current.is_empty() => runs.push(std::mem::take(&mut current).join(" ")),
                None => {}
            }
        }
        if !current.is_empty() {
            runs.push(current.join(" "));
        }
        self.lines.push(ChartLine { label, class, runs });
    }

    pub fn width(&self) -> f64 {
        CHART_WIDTH
    }

    pub fn height(&self) -> f64 {
        CHART_HEIGHT
    }

    /// Returns the x position of the y axis.
    pub fn left(&self) -> f64 {
        LEFT
    }
}

fn x_of(index: usize, positions: usize) -> f64 {
    let span = CHART_WIDTH - LEFT - 8.0;
    LEFT + span * index as f64 / positions.saturating_sub(1).max(1) as f64
}

fn y_of(fraction: f64) -> f64 {
    8.0 + (CHART_HEIGHT - BOTTOM - 8.0) * (1.0 - fraction.clamp(0.0, 1.0))
}

/// Texts and charts of the occupancy part, ready for the template.
pub struct SeriesView {
    pub source: String,
    pub alignment: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub gain: String,
    pub problems: Vec<(String, Vec<String>)>,
    pub problems_note: String,
    pub turnover_note: Option<String>,
    pub charts: Vec<Chart>,
}

/// Texts of the land-use part.
pub struct MixView {
    pub rows: Vec<Vec<String>>,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "parking/report.html")]
pub struct ReportPage {
    pub locale: Locale,
    pub series: Option<SeriesView>,
    pub mix: Option<MixView>,
}

impl ReportPage {
    pub fn t(&self, id: &str) -> String {
        self.locale.t(id)
    }
}

/// Renders the report page in `locale`.
///
/// # Errors
/// Fails only if the template fails to render.
pub fn render_html(report: &AnalysisReport, locale: Locale) -> Result<String, askama::Error> {
    let page = ReportPage {
        locale,
        series: report.series.as_ref().map(|series| series_view(series, locale)),
        mix: report.mix.as_ref().map(|mix| mix_view(mix, locale)),
    };
    page.render()
}

/// Formats the occupancy part for a template.
pub fn series_view(series: &SeriesReport, locale: Locale) -> SeriesView {
    SeriesView {
        source: series.source_text(locale),
        alignment: series.alignment_text(locale),
        headers: lot_headers(locale),
        rows: series.table_rows(locale),
        gain: series.gain_text(locale),
        problems: series.problem_lines(locale),
        problems_note: series.problems_note(locale),
        turnover_note: series.turnover_note(locale),
        charts: charts(series, locale),
    }
}

fn charts(series: &SeriesReport, locale: Locale) -> Vec<Chart> {
    let analysis = &series.analysis;
    let mut charts = Vec::new();
    let profiled = analysis.pooled.as_ref().or(analysis.lots.first());
    if let Some(stats) = profiled {
        let hours = (0..24).step_by(3).map(|h| (h, format!("{h:02}:00"))).collect();
        let mut chart = Chart::new(locale.t("parking-profile-heading"), 24, hours);
        chart.add_line(locale.t("parking-profile-weekday"), "weekday", &stats.profile.weekday);
        chart.add_line(locale.t("parking-profile-weekend"), "weekend", &stats.profile.weekend);
        charts.push(chart);
    }
    if !analysis.daily.is_empty() {
        let days = analysis.daily.len();
        let every = days.div_ceil(6).max(1);
        let labels =
            (0..days).step_by(every).map(|i| (i, analysis.daily[i].date.to_string())).collect();
        let mut chart = Chart::new(locale.t("parking-daily-heading"), days, labels);
        let means: Vec<_> = analysis.daily.iter().map(|d| Some(d.mean_fraction)).collect();
        let peaks: Vec<_> = analysis.daily.iter().map(|d| Some(d.peak_fraction)).collect();
        chart.add_line(locale.t("parking-daily-mean"), "weekday", &means);
        chart.add_line(locale.t("parking-daily-peak"), "weekend", &peaks);
        charts.push(chart);
    }
    charts
}

/// Formats the land-use part for a template.
pub fn mix_view(mix: &MixDemand, locale: Locale) -> MixView {
    MixView {
        rows: mix
            .uses
            .iter()
            .map(|u| {
                vec![
                    u.land_use.name().to_owned(),
                    fixed(u.size, 0),
                    u.base_ratio.to_string(),
                    fixed(u.peak_spaces, 1),
                ]
            })
            .collect(),
        summary: mix_summary(mix, locale),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_breaks_lines_at_missing_values() {
        let mut chart = Chart::new("t".into(), 4, Vec::new());
        chart.add_line("a".into(), "weekday", &[Some(0.0), Some(1.0), None, Some(0.5)]);
        let runs = &chart.lines[0].runs;
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0], "44.0,218.0 266.7,8.0");
    }
}
