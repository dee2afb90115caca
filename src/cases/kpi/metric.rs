//! The metrics, their SQL conditions, and the dimensions a query groups by.
//!
//! Each metric is two SQL conditions over `service_case c` joined with the first
//! dispatch time `d.dispatched_at`: the denominator and the numerator (which always
//! implies the denominator). The aggregate counts both, and the drill-down lists the
//! cases that meet or miss the numerator, so both read the same text.

use serde::Serialize;

/// Stages from dispatch on: the case reached a department.
const DISPATCHED: &str =
    "c.stage IN ('dispatched', 'handling', 'extension_requested', 'feedback', 'closed', 'rated')";
/// Stages after the department reported the work done.
const DONE: &str = "c.stage IN ('feedback', 'closed', 'rated')";
const CLOSED: &str = "c.stage IN ('closed', 'rated')";

/// One KPI rate. The formulas are in the module doc of [`crate::cases::kpi`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Response,
    Resolution,
    Satisfaction,
    Closure,
    OnTimeClosure,
    Rework,
    Extension,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::Response,
        Metric::Resolution,
        Metric::Satisfaction,
        Metric::Closure,
        Metric::OnTimeClosure,
        Metric::Rework,
        Metric::Extension,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Response => "response",
            Metric::Resolution => "resolution",
            Metric::Satisfaction => "satisfaction",
            Metric::Closure => "closure",
            Metric::OnTimeClosure => "on_time_closure",
            Metric::Rework => "rework",
            Metric::Extension => "extension",
        }
    }

    pub fn parse(text: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|metric| metric.as_str() == text)
    }

    /// Fluent id of the metric's name; `-formula` appended names its formula.
    pub fn message_id(self) -> String {
        format!("kpi-metric-{}", self.as_str().replace('_', "-"))
    }

    /// SQL condition of the cases in the denominator. `$now` is replaced by the
    /// placeholder of the query's current instant.
    pub fn denominator_sql(self) -> String {
        match self {
            Metric::Response => "(c.dispatch_due_at IS NOT NULL \
                 AND (d.dispatched_at IS NOT NULL OR c.dispatch_due_at < $now))"
                .to_owned(),
            Metric::Resolution | Metric::Extension => DISPATCHED.to_owned(),
            Metric::Satisfaction => "c.rating IS NOT NULL".to_owned(),
            Metric::Closure => "1 = 1".to_owned(),
            Metric::OnTimeClosure => format!("({CLOSED} AND c.handling_due_at IS NOT NULL)"),
            Metric::Rework => format!("({DONE} OR c.rework_count > 0)"),
        }
    }

    /// SQL condition of the cases in the numerator, given that they are in the
    /// denominator.
    pub fn numerator_sql(self) -> &'static str {
        match self {
            Metric::Response => "d.dispatched_at <= c.dispatch_due_at",
            Metric::Resolution => DONE,
            Metric::Satisfaction => "c.rating >= 4",
            Metric::Closure => CLOSED,
            Metric::OnTimeClosure => "c.closed_at <= c.handling_due_at",
            Metric::Rework => "c.rework_count > 0",
            Metric::Extension => "c.extension_count > 0",
        }
    }
}

/// Which side of a figure a drill-down lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// In the numerator: responded in time, closed on time, rated 4–5 and so on.
    Met,
    /// In the denominator but not the numerator: late, unresolved, reworked-free.
    Missed,
}

impl Outcome {
    /// Parses `met` or `missed`; `late` is accepted for `missed`, as in
    /// `metric=on_time_closure&outcome=late`.
    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "met" => Some(Outcome::Met),
            "missed" | "late" => Some(Outcome::Missed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Met => "met",
            Outcome::Missed => "missed",
        }
    }
}

/// The dimension that splits the cohort into groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Community,
    Grid,
    Department,
    Category,
}

impl GroupBy {
    pub const ALL: [GroupBy; 4] =
        [GroupBy::Community, GroupBy::Grid, GroupBy::Department, GroupBy::Category];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Community => "community",
            GroupBy::Grid => "grid",
            GroupBy::Department => "department",
            GroupBy::Category => "category",
        }
    }

    pub fn parse(text: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|group_by| group_by.as_str() == text)
    }

    /// The grouping column as text, so that area ids and codes share one type. Cases in
    /// no area group under the empty string.
    pub fn key_sql(self) -> &'static str {
        match self {
            GroupBy::Community => "COALESCE(CAST(c.community_id AS TEXT), '')",
            GroupBy::Grid => "COALESCE(CAST(c.grid_id AS TEXT), '')",
            GroupBy::Department => "c.department_code",
            GroupBy::Category => "c.category_code",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_round_trip() {
        for metric in Metric::ALL {
            assert_eq!(Metric::parse(metric.as_str()), Some(metric), "{metric:?}");
        }
        assert_eq!(Metric::parse("speed"), None);
    }

    #[test]
    fn outcome_accepts_late_for_missed() {
        assert_eq!(Outcome::parse("late"), Some(Outcome::Missed));
        assert_eq!(Outcome::parse("met"), Some(Outcome::Met));
        assert_eq!(Outcome::parse("early"), None);
    }
}
