//! The working-time calendar: seeded holidays, CSV import and the deadline routes.

use chrono::{NaiveDate, Weekday};
use chrono_tz::Asia::Shanghai;
use citycore::cases::calendar::{
    CalendarStore, DayKind,
    import::default_days,
    service::{
        CalendarError, DeadlineInput, compute_deadline, import_calendar, set_weekday_hours,
        year_view,
    },
};

use crate::helpers::spawn_app;

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

#[tokio::test]
async fn fresh_database_has_shipped_holidays() {
    let app = spawn_app().await;
    let view = year_view(&app.db, Shanghai, 2026).await.unwrap();
    let shipped: Vec<_> =
        default_days().into_iter().filter(|day| day.date >= date("2026-01-01")).collect();
    assert_eq!(view.days, shipped);
    assert_eq!(view.weekly_hours[0].periods.len(), 2);
    assert!(view.weekly_hours[6].periods.is_empty());
}

#[tokio::test]
async fn calendar_import_replaces_the_years_in_the_file() {
    let app = spawn_app().await;
    let first = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-06,workday,春节调休\n";
    assert_eq!(import_calendar(&app.db, first.as_bytes()).await.unwrap(), 2);
    let corrected = "# 2027 corrected\ndate,kind,name\n2027-01-01,holiday,元旦\n";
    import_calendar(&app.db, corrected.as_bytes()).await.unwrap();

    let view = year_view(&app.db, Shanghai, 2027).await.unwrap();
    let dates: Vec<_> = view.days.iter().map(|day| (day.date, day.kind)).collect();
    assert_eq!(dates, vec![(date("2027-01-01"), DayKind::Holiday)]);
    let untouched = year_view(&app.db, Shanghai, 2026).await.unwrap();
    assert!(!untouched.days.is_empty(), "2026 must stay");
}

#[tokio::test]
async fn bad_calendar_file_writes_nothing() {
    let app = spawn_app().await;
    let before = app.db.load_calendar().await.unwrap();
    let file = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-30,holiday,春节\n";
    let result = import_calendar(&app.db, file.as_bytes()).await;
    let Err(CalendarError::Import(errors)) = result else { panic!("{result:?}") };
    assert_eq!(errors.0[0].line, 3);
    assert_eq!(errors.0[0].column.as_deref(), Some("date"));
    assert_eq!(app.db.load_calendar().await.unwrap(), before);
}

#[tokio::test]
async fn deadline_uses_stored_national_day_holiday() {
    let app = spawn_app().await;
    let input = DeadlineInput {
        start: "2026-09-30T09:00:00Z".to_owned(),
        amount: 2,
        unit: "working_hours".to_owned(),
    };
    let deadline = compute_deadline(&app.db, Shanghai, input).await.unwrap();
    let json = serde_json::to_value(&deadline).unwrap();
    assert_eq!(json["start"], "2026-09-30T17:00:00+08:00");
    assert_eq!(json["deadline"], "2026-10-08T10:00:00+08:00");
    assert_eq!(json["unit"], "working_hours");
    assert_eq!(json["years_without_holidays"], serde_json::json!([]));
}

#[tokio::test]
async fn deadline_flags_years_without_holidays() {
    let app = spawn_app().await;
    let input = DeadlineInput {
        start: "2027-03-01T09:00:00+08:00".to_owned(),
        amount: 1,
        unit: "working_days".to_owned(),
    };
    let deadline = compute_deadline(&app.db, Shanghai, input).await.unwrap();
    assert_eq!(deadline.years_without_holidays, vec![2027]);
}

#[tokio::test]
async fn weekday_hours_change_deadlines() {
    let app = spawn_app().await;
    let periods = set_weekday_hours(&app.db, Weekday::Sat, "10:00-12:00").await.unwrap();
    assert_eq!(periods.len(), 1);
    let input = DeadlineInput {
        start: "2026-12-04T17:00:00+08:00".to_owned(),
        amount: 2,
        unit: "working_hours".to_owned(),
    };
    let deadline = compute_deadline(&app.db, Shanghai, input).await.unwrap();
    assert_eq!(deadline.deadline.to_rfc3339(), "2026-12-05T11:00:00+08:00");

    let overlapping = set_weekday_hours(&app.db, Weekday::Sat, "09:00-12:00,11:00-13:00").await;
    let Err(CalendarError::Invalid(message)) = overlapping else { panic!("{overlapping:?}") };
    assert_eq!(message.code, "overlapping_working_periods");
    let view = year_view(&app.db, Shanghai, 2026).await.unwrap();
    assert_eq!(view.weekly_hours[5].periods.len(), 1, "Saturday keeps its valid hours");
}

#[tokio::test]
async fn deadline_rejects_start_without_offset() {
    let app = spawn_app().await;
    let input = DeadlineInput {
        start: "2026-09-30T09:00:00".to_owned(),
        amount: 2,
        unit: "working_hours".to_owned(),
    };
    let Err(CalendarError::Invalid(message)) = compute_deadline(&app.db, Shanghai, input).await
    else {
        panic!("expected an invalid start");
    };
    assert_eq!(message.code, "invalid_timestamp");
    assert_eq!(message.field.as_deref(), Some("start"));
}

#[tokio::test]
async fn calendar_routes_require_login() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/calendar/2026").await.status(), 401);
    let response = app
        .client
        .post(app.url("/api/v1/calendar/deadline"))
        .json(&serde_json::json!({"start": "2026-09-30T17:00:00+08:00", "amount": 2, "unit": "working_hours"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn calendar_snapshot_follows_a_change_at_once() {
    use citycore::cases::calendar::{WorkPeriod, snapshot::current_calendar};

    let app = spawn_app().await;
    let before = current_calendar(&app.db).await.unwrap();
    assert!(!before.weekly()[6].iter().any(|period| period.start.to_string() == "08:00:00"));

    let period = WorkPeriod::new("08:00".parse().unwrap(), "12:00".parse().unwrap()).unwrap();
    app.db.replace_weekday_periods(Weekday::Sun, &[period]).await.unwrap();
    let after = current_calendar(&app.db).await.unwrap();
    assert_eq!(after.weekly()[6], vec![period], "the snapshot was not dropped on change");
    assert_eq!(*after, app.db.load_calendar().await.unwrap());
}
