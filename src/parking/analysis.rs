//! Occupancy measures per lot and pooled, and the capacity gain from sharing.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;

use super::align::{Aligned, Point};

/// Mean occupied fraction (0–1) by local hour of day, split by day type.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HourProfile {
    /// Monday to Friday; `None` for an hour with no data.
    pub weekday: Vec<Option<f64>>,
    /// Saturday and Sunday.
    pub weekend: Vec<Option<f64>>,
}

/// Occupancy measures of one lot, or of all lots summed (pooled).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LotStats {
    pub lot: String,
    /// Largest capacity seen, in spaces.
    pub capacity: f64,
    /// Hours of the grid for which this lot has a value.
    pub covered_hours: f64,
    /// Available space-hours: capacity summed over the covered hours.
    pub space_hours: f64,
    pub peak_occupied: f64,
    pub peak_time: Option<DateTime<Utc>>,
    /// Mean occupied spaces over the covered hours.
    pub mean_occupied: f64,
    /// Time utilisation (利用率): occupied space-hours / available space-hours.
    pub utilisation: f64,
    /// Turnover (周转率): arrivals per space per day over the covered hours. It is `None`
    /// without an arrivals column, because occupancy alone cannot count arrivals.
    pub turnover: Option<f64>,
    pub profile: HourProfile,
}

/// The capacity gain from sharing, computed on the grid points where every lot has data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SharingGain {
    pub lots: usize,
    pub common_points: usize,
    /// Sum over lots of each lot's own peak, in spaces.
    pub sum_of_peaks: f64,
    /// Peak of the lots' summed occupancy, in spaces.
    pub combined_peak: f64,
    pub gain_spaces: f64,
    /// `gain_spaces / sum_of_peaks × 100`; 0 when the sum is 0.
    pub gain_percent: f64,
}

/// One local day of the pooled series, as occupied fractions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyRow {
    pub date: NaiveDate,
    pub mean_fraction: f64,
    pub peak_fraction: f64,
}

/// The full analysis of an aligned series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    pub lots: Vec<LotStats>,
    /// Measures of the summed occupancy over the grid points where every lot has data.
    pub pooled: Option<LotStats>,
    pub gain: SharingGain,
    pub daily: Vec<DailyRow>,
}

/// Computes every measure; `zone` decides local hours, weekdays and day boundaries.
pub fn analyze(aligned: &Aligned, zone: Tz) -> Analysis {
    let lots: Vec<LotStats> = aligned
        .lots
        .iter()
        .map(|lot| lot_stats(aligned, &lot.lot, &lot.points, lot.arrivals, zone))
        .collect();
    let pooled_points = pooled_points(aligned);
    let common_points = pooled_points.iter().flatten().count();
    let pooled = (common_points > 0).then(|| {
        let mut pooled = lot_stats(aligned, "pooled", &pooled_points, None, zone);
        pooled.turnover = pooled_turnover(aligned, &lots);
        pooled
    });
    let gain = sharing_gain(aligned, &pooled_points, common_points);
    let daily = daily_rows(aligned, &pooled_points, zone);
    Analysis { lots, pooled, gain, daily }
}

/// Sums all lots at each grid point, or `None` where any lot is missing.
fn pooled_points(aligned: &Aligned) -> Vec<Option<Point>> {
    (0..aligned.len())
        .map(|index| {
            aligned.lots.iter().try_fold(Point { occupied: 0.0, capacity: 0.0 }, |sum, lot| {
                lot.points[index].map(|p| Point {
                    occupied: sum.occupied + p.occupied,
                    capacity: sum.capacity + p.capacity,
                })
            })
        })
        .collect()
}

/// Turnover of all lots together: all arrivals over all lots' own space-days, so a lot's
/// arrivals are not dropped where another lot lacks data.
fn pooled_turnover(aligned: &Aligned, lots: &[LotStats]) -> Option<f64> {
    let arrivals: Option<f64> = aligned.lots.iter().map(|lot| lot.arrivals).sum();
    let space_days: f64 = lots.iter().map(|lot| lot.space_hours / 24.0).sum();
    arrivals.filter(|_| space_days > 0.0).map(|count| count / space_days)
}

fn lot_stats(
    aligned: &Aligned,
    lot: &str,
    points: &[Option<Point>],
    arrivals: Option<f64>,
    zone: Tz,
) -> LotStats {
    let mut covered = 0usize;
    let (mut occupied_sum, mut capacity_sum, mut capacity_max) = (0.0, 0.0, 0.0f64);
    let mut peak: Option<(f64, usize)> = None;
    let mut hours = [[(0.0, 0.0); 24]; 2];
    for (index, point) in points.iter().enumerate() {
        let Some(point) = point else { continue };
        covered += 1;
        occupied_sum += point.occupied;
        capacity_sum += point.capacity;
        capacity_max = capacity_max.max(point.capacity);
        if peak.is_none_or(|(value, _)| point.occupied > value) {
            peak = Some((point.occupied, index));
        }
        let local = aligned.time_at(index).with_timezone(&zone);
        let bucket = &mut hours[usize::from(is_weekend(local.weekday()))][local.hour() as usize];
        bucket.0 += point.occupied;
        bucket.1 += point.capacity;
    }
    let ratio = |(occupied, capacity): (f64, f64)| (capacity > 0.0).then(|| occupied / capacity);
    let space_hours = capacity_sum * aligned.step_hours();
    LotStats {
        lot: lot.to_owned(),
        capacity: capacity_max,
        covered_hours: covered as f64 * aligned.step_hours(),
        space_hours,
        peak_occupied: peak.map_or(0.0, |(value, _)| value),
        peak_time: peak.map(|(_, index)| aligned.time_at(index)),
        mean_occupied: if covered == 0 { 0.0 } else { occupied_sum / covered as f64 },
        // Every point weighs one step, so the step length cancels out of the ratio.
        utilisation: ratio((occupied_sum, capacity_sum)).unwrap_or(0.0),
        turnover: arrivals.filter(|_| space_hours > 0.0).map(|count| count / (space_hours / 24.0)),
        profile: HourProfile {
            weekday: hours[0].iter().copied().map(ratio).collect(),
            weekend: hours[1].iter().copied().map(ratio).collect(),
        },
    }
}

/// Saturday and Sunday; public holidays count as the weekday they fall on.
pub fn is_weekend(weekday: Weekday) -> bool {
    matches!(weekday, Weekday::Sat | Weekday::Sun)
}

fn sharing_gain(aligned: &Aligned, pooled: &[Option<Point>], common_points: usize) -> SharingGain {
    let common = |index: usize| pooled[index].is_some();
    let sum_of_peaks: f64 = aligned
        .lots
        .iter()
        .map(|lot| {
            lot.points
                .iter()
                .enumerate()
                .filter(|(index, _)| common(*index))
                .filter_map(|(_, point)| point.map(|p| p.occupied))
                .fold(0.0, f64::max)
        })
        .sum();
    let combined_peak = pooled.iter().flatten().map(|p| p.occupied).fold(0.0, f64::max);
    let gain_spaces = sum_of_peaks - combined_peak;
    SharingGain {
        lots: aligned.lots.len(),
        common_points,
        sum_of_peaks,
        combined_peak,
        gain_spaces,
        gain_percent: if sum_of_peaks > 0.0 { gain_spaces / sum_of_peaks * 100.0 } else { 0.0 },
    }
}

fn daily_rows(aligned: &Aligned, pooled: &[Option<Point>], zone: Tz) -> Vec<DailyRow> {
    let mut rows: Vec<(NaiveDate, f64, f64, f64)> = Vec::new();
    for (index, point) in pooled.iter().enumerate() {
        let Some(point) = point else { continue };
        let date = aligned.time_at(index).with_timezone(&zone).date_naive();
        let fraction = point.occupied / point.capacity;
        match rows.last_mut() {
            Some(row) if row.0 == date => {
                row.1 += fraction;
                row.2 += 1.0;
                row.3 = row.3.max(fraction);
            }
            _ => rows.push((date, fraction, 1.0, fraction)),
        }
    }
    rows.into_iter()
        .map(|(date, sum, count, peak)| DailyRow {
            date,
            mean_fraction: sum / count,
            peak_fraction: peak,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::parking::align::AlignedLot;

    fn aligned(lots: &[(&str, &[Option<f64>])]) -> Aligned {
        let lots = lots
            .iter()
            .map(|(lot, values)| AlignedLot {
                lot: (*lot).into(),
                points: values
                    .iter()
                    .map(|v| v.map(|o| Point { occupied: o, capacity: 10.0 }))
                    .collect(),
                arrivals: None,
            })
            .collect();
        // 2024-01-01 is a Monday.
        let start = "2024-01-01T08:00:00Z".parse().unwrap();
        Aligned { start, step: Duration::hours(1), lots }
    }

    #[test]
    fn gain_is_sum_of_peaks_minus_combined_peak() {
        // An office lot full by day and a residential lot full by night.
        let office: &[Option<f64>] = &[Some(9.0), Some(8.0), Some(2.0), Some(1.0)];
        let homes: &[Option<f64>] = &[Some(2.0), Some(3.0), Some(7.0), Some(9.0)];
        let analysis = analyze(&aligned(&[("office", office), ("homes", homes)]), chrono_tz::UTC);
        assert_eq!(analysis.gain.sum_of_peaks, 18.0);
        assert_eq!(analysis.gain.combined_peak, 11.0);
        assert_eq!(analysis.gain.gain_spaces, 7.0);
        assert!((analysis.gain.gain_percent - 700.0 / 18.0).abs() < 1e-9);
    }

    #[test]
    fn gain_ignores_points_missing_for_any_lot() {
        let a: &[Option<f64>] = &[Some(9.0), Some(1.0), Some(1.0)];
        let b: &[Option<f64>] = &[None, Some(1.0), Some(5.0)];
        let analysis = analyze(&aligned(&[("a", a), ("b", b)]), chrono_tz::UTC);
        assert_eq!(analysis.gain.common_points, 2);
        assert_eq!(analysis.gain.sum_of_peaks, 6.0, "a's peak of 9 falls where b is missing");
        assert_eq!(analysis.gain.combined_peak, 6.0);
        assert_eq!(analysis.lots[0].peak_occupied, 9.0, "the lot's own peak uses all its data");
    }

    #[test]
    fn lot_stats_skip_missing_points() {
        let values: &[Option<f64>] = &[Some(2.0), None, Some(6.0)];
        let stats = &analyze(&aligned(&[("a", values)]), chrono_tz::UTC).lots[0];
        assert_eq!(stats.covered_hours, 2.0);
        assert_eq!(stats.mean_occupied, 4.0);
        assert!((stats.utilisation - 0.4).abs() < 1e-12);
        assert_eq!(stats.peak_time.unwrap().to_rfc3339(), "2024-01-01T10:00:00+00:00");
        assert_eq!(stats.turnover, None);
    }

    #[test]
    fn turnover_divides_arrivals_by_space_days() {
        let values = vec![Some(5.0); 24];
        let mut series = aligned(&[("a", &values), ("b", &values)]);
        series.lots[0].arrivals = Some(30.0);
        let without_b = analyze(&series, chrono_tz::UTC);
        assert_eq!(without_b.lots[0].turnover, Some(3.0), "30 arrivals over 10 space-days");
        assert_eq!(without_b.lots[1].turnover, None);
        assert_eq!(without_b.pooled.unwrap().turnover, None, "b's arrivals are unknown");

        series.lots[1].arrivals = Some(10.0);
        let pooled = analyze(&series, chrono_tz::UTC).pooled.unwrap();
        assert_eq!(pooled.turnover, Some(2.0), "40 arrivals over 20 space-days");
    }

    #[test]
    fn profile_uses_report_zone_hours() {
        let values: &[Option<f64>] = &[Some(5.0)];
        let zone: Tz = "Asia/Shanghai".parse().unwrap();
        let stats = &analyze(&aligned(&[("a", values)]), zone).lots[0];
        assert_eq!(stats.profile.weekday[16], Some(0.5), "08:00 UTC is 16:00 in Shanghai");
        assert_eq!(stats.profile.weekday[8], None);
    }
}
