//! The console pages of shared parking: the owner publishes a window and the driver
//! books through plain forms, in Chinese by default and in English.

use citycore::{accounts::Role, with_pool};

use crate::helpers::spawn_app;

#[tokio::test]
async fn owner_publishes_and_driver_books_through_forms() {
    let app = spawn_app().await;
    let owner = app.login_as(Role::Merchant, &[]).await;
    let now = chrono::Utc::now();
    with_pool!(&app.db, |pool| async {
        let lot_id: i64 = sqlx::query_scalar(
            "INSERT INTO parking_lot (lot_ref, name, owner_type, owner_user_id, capacity, \
             longitude, latitude, created_at, updated_at) \
             VALUES ('PAGE', 'PAGE', 'office', $1, 1, 116.47, 39.99, $2, $2) RETURNING lot_id",
        )
        .bind(owner.user_id)
        .bind(now)
        .fetch_one(pool)
        .await?;
        sqlx::query(
            "INSERT INTO parking_space (lot_id, space_ref, shared, created_at, updated_at) \
             VALUES ($1, 'PAGE-1', TRUE, $2, $2)",
        )
        .bind(lot_id)
        .bind(now)
        .execute(pool)
        .await?;
        Ok::<(), sqlx::Error>(())
    }
    .await)
    .unwrap();

    let page = owner.get("/parking/lots/PAGE/sharing").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("尚未发布共享时段"), "Chinese by default");
    let days: Vec<(&str, &str)> =
        ["1", "2", "3", "4", "5", "6", "7"].iter().map(|day| ("weekday", *day)).collect();
    let mut fields = days.clone();
    fields.extend([("start_time", "00:00"), ("end_time", "00:00"), ("audience", "any")]);
    let published = owner.post_form("/parking/lots/PAGE/windows", &fields).await;
    assert_eq!(published.status(), 303);
    let page = owner.get("/parking/lots/PAGE/sharing").await.text().await.unwrap();
    assert!(page.contains("00:00–00:00"), "the window is listed");

    let no_days = owner
        .post_form("/parking/lots/PAGE/windows", &[("start_time", "08:00"), ("end_time", "18:00")])
        .await;
    assert_eq!(no_days.status(), 422);
    assert!(
        no_days.text().await.unwrap().contains("href=\"#weekdays\""),
        "summary links the field"
    );

    let driver = app.login_as(Role::Resident, &[]).await;
    let stay = [
        ("lot_ref", "PAGE"),
        ("plate", "京F33333"),
        ("driver_kind", "visitor"),
        ("starts_at", "2027-03-01T20:00"),
        ("ends_at", "2027-03-01T22:00"),
    ];
    let booked = driver.post_form("/parking/bookings", &stay).await;
    assert_eq!(booked.status(), 303);
    let list = driver.get("/parking/bookings").await.text().await.unwrap();
    assert!(list.contains("PAGE-1"), "the booking shows its space");
    assert!(list.contains("2027-03-01 20:00"), "times are shown in local time");
    let taken = driver.post_form("/parking/bookings", &stay).await;
    assert_eq!(taken.status(), 422, "the form comes back with the conflict");
    assert!(taken.text().await.unwrap().contains("没有空闲的共享车位"));

    let english = driver
        .client
        .get(driver.url("/parking/bookings"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("My bookings"));

    let owner_view = owner.get("/parking/lots/PAGE/sharing").await.text().await.unwrap();
    assert!(owner_view.contains("京F33333"), "the owner sees the lot's bookings");
    let stranger = app.login_as(Role::Merchant, &[]).await;
    assert_eq!(stranger.get("/parking/lots/PAGE/sharing").await.status(), 403);
}
