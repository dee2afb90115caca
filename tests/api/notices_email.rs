//! The e-mail channel of notices against a fake SMTP server on loopback: one message
//! per recipient with an address, retries after 451, failure at once after 550, no
//! second copy, and no clear address in the log.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use chrono::Utc;
use citycore::{
    accounts::Role,
    config::SmtpTls,
    residents::notices::{delivery::deliver_due, smtp::EmailTransport},
    with_pool,
};
use serde_json::{Value, json};

use crate::{
    captured_log::capture_warnings,
    fake_smtp::FakeSmtp,
    helpers::{Session, TestApp, areas, spawn_app_with},
    notices::identity,
};

fn address(n: u32) -> String {
    format!("resident{n}@example.org")
}

async fn email_app(smtp: &FakeSmtp) -> TestApp {
    email_app_with_attempts(smtp, 3).await
}

async fn email_app_with_attempts(smtp: &FakeSmtp, attempts: i32) -> TestApp {
    let port = smtp.address.port();
    spawn_app_with(move |settings| {
        settings.notices.smtp_host = "127.0.0.1".to_owned();
        settings.notices.smtp_port = port;
        settings.notices.smtp_tls = SmtpTls::None;
        settings.notices.smtp_from = "春望街道办事处 <notices@example.gov.cn>".to_owned();
        settings.notices.smtp_retry_seconds = 0;
        settings.notices.smtp_max_attempts = attempts;
    })
    .await
}

/// Registers residents 1–5 in grid A1, every one but 5 with an e-mail address, and
/// resident 6 with an address in grid B1. Returns their ids by number.
async fn residents(app: &TestApp, admin: &Session) -> Vec<(u32, i64)> {
    app.ensure_test_areas().await;
    let mut ids = Vec::new();
    for (grid, numbers) in [(areas::GRID_A1, 1..=5), (areas::GRID_B1, 6..=6)] {
        let household = json!({ "address": format!("春望里{grid}号"), "grid_code": grid });
        let response = admin.post_json("/api/v1/households", &household).await;
        let household_id = response.json::<Value>().await.unwrap()["household_id"].clone();
        for n in numbers {
            let mut body = json!({
                "household_id": household_id,
                "name": format!("居民{n}"),
                "identity_number": identity(n),
                "relation": if n == 1 { "head" } else { "child" },
            });
            if n != 5 {
                body["email"] = json!(address(n).to_uppercase());
            }
            let response = admin.post_json("/api/v1/residents", &body).await;
            assert_eq!(response.status(), 201, "resident {n} created");
            let created: Value = response.json().await.unwrap();
            ids.push((n, created["resident_id"].as_i64().unwrap()));
        }
    }
    ids
}

/// Waits until the server's own worker leaves no e-mail delivery pending.
async fn settled_counts(worker: &Session, notice_id: i64) -> Value {
    let path = format!("/api/v1/resident-notices/{notice_id}");
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let view: Value = worker.get(&path).await.json().await.unwrap();
            if view["counts"]["email_pending"] == 0 {
                return view["counts"].clone();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("e-mail deliveries finished within 30 s")
}

/// Returns the header lines of a message, folded lines joined.
fn headers(data: &str) -> Vec<String> {
    let head = data.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => lines.push(line.to_owned()),
        }
    }
    lines
}

fn header(data: &str, name: &str) -> Option<String> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    headers(data).into_iter().find_map(|line| {
        line.to_ascii_lowercase()
            .starts_with(&prefix)
            .then(|| line[prefix.len()..].trim().to_owned())
    })
}

/// Decodes a header of RFC 2047 base64 words, or returns it as it is.
fn decode_words(value: &str) -> String {
    let words: Vec<&str> = value.split_whitespace().collect();
    let encoded = |w: &&str| w.to_ascii_lowercase().starts_with("=?utf-8?b?") && w.ends_with("?=");
    if !words.iter().all(encoded) {
        return value.to_owned();
    }
    let bytes: Vec<u8> =
        words.iter().flat_map(|w| BASE64.decode(&w[10..w.len() - 2]).unwrap()).collect();
    String::from_utf8(bytes).unwrap()
}

/// Decodes the body of a single-part message in base64 or plain 7- or 8-bit text.
fn decoded_body(data: &str) -> String {
    let body = data.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    match header(data, "Content-Transfer-Encoding").as_deref() {
        Some("base64") => {
            let joined: String = body.split_whitespace().collect();
            String::from_utf8(BASE64.decode(joined).unwrap()).unwrap()
        }
        _ => body.to_owned(),
    }
}

#[tokio::test]
async fn email_channel_retries_451_and_fails_550() {
    let log = capture_warnings();

    let smtp = FakeSmtp::start(&[&address(2)], &[&address(3)]).await;
    let app = email_app(&smtp).await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let ids = residents(&app, &admin).await;
    let id_of = |n: u32| ids.iter().find(|(m, _)| *m == n).unwrap().1;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let notice = json!({
        "title": "停水通知",
        "body": "明天上午 9 点至 12 点春望里停水，请提前储水。",
        "priority": "urgent",
        "audience": { "area_ids": [], "tags": [] },
    });
    let response = worker.post_json("/api/v1/resident-notices", &notice).await;
    assert_eq!(response.status(), 201, "notice sent");
    let sent: Value = response.json().await.unwrap();
    let notice_id = sent["notice_id"].as_i64().unwrap();
    assert_eq!(sent["recipient_count"], 5, "grid A1 only");
    assert_eq!(sent["counts"]["email_pending"], 4, "one delivery per recipient with an address");

    let counts = settled_counts(&worker, notice_id).await;
    assert_eq!(counts["email_sent"], 3, "{counts}");
    assert_eq!(counts["email_failed"], 1, "{counts}");
    assert_eq!(counts["webhook_pending"], 0, "the webhook channel is off: {counts}");

    let accepted = smtp.accepted();
    for n in [1, 2, 4] {
        let copies = accepted.iter().filter(|m| m.recipients == [address(n)]).count();
        assert_eq!(copies, 1, "resident {n} gets exactly one message");
    }
    assert_eq!(accepted.len(), 3, "no message for 3 (550), 5 (no address) or 6 (grid B1)");
    assert_eq!(smtp.rcpt_attempts(&address(2)), 2, "451 is retried once, then delivered");
    assert_eq!(smtp.rcpt_attempts(&address(3)), 1, "550 is final at once");
    assert_eq!(smtp.rcpt_attempts(&address(6)), 0, "out of the audience");

    for message in &accepted {
        let own = &message.recipients[0];
        assert_eq!(message.recipients.len(), 1, "one envelope recipient");
        let others = (1..=6).map(address).filter(|a| a != own);
        for other in others {
            assert!(!message.data.contains(&other), "no other resident's address in {own}'s");
        }
        assert_eq!(header(&message.data, "To").as_deref(), Some(own.as_str()));
        assert_eq!(header(&message.data, "Cc"), None);
        let n: u32 = own["resident".len()..own.find('@').unwrap()].parse().unwrap();
        let message_id =
            format!("<notice-{notice_id}.resident-{}.citycore@example.gov.cn>", id_of(n));
        assert_eq!(header(&message.data, "Message-ID"), Some(message_id));
        let subject = decode_words(&header(&message.data, "Subject").unwrap());
        assert!(subject.contains("停水通知"), "{subject}");
        assert!(subject.contains("紧急"), "urgent in the subject: {subject}");
        assert_eq!(header(&message.data, "Importance").as_deref(), Some("high"));
        let body = decoded_body(&message.data);
        assert!(body.contains("请提前储水"), "{body}");
        assert!(body.contains("紧急"), "priority in the body: {body}");
    }

    let (status, last_error): (String, String) = with_pool!(&app.db, |pool| {
        sqlx::query_as(
            "SELECT status, last_error FROM notice_delivery WHERE resident_id = $1 \
             AND channel = 'email'",
        )
        .bind(id_of(3))
        .fetch_one(pool)
        .await
        .unwrap()
    });
    assert_eq!(status, "failed");
    assert!(last_error.contains("550"), "the server's reply is kept: {last_error}");
    assert!(last_error.contains("mailbox unavailable"), "{last_error}");
    assert!(!last_error.contains(&address(3)), "the address is masked: {last_error}");

    let written = log.text();
    assert!(written.contains("delivery will be retried"), "the capture works: {written}");
    assert!(written.contains("delivery failed"), "{written}");
    for n in 1..=6 {
        let clear = address(n);
        assert!(!written.to_ascii_lowercase().contains(&clear), "{clear} logged");
    }
}

#[tokio::test]
async fn delivered_recipients_never_get_a_second_copy() {
    let smtp = FakeSmtp::start(&[], &[]).await;
    let app = email_app(&smtp).await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    residents(&app, &admin).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let notice = json!({
        "title": "社区活动",
        "body": "周六上午社区广场有义诊。",
        "audience": { "area_ids": [], "tags": [] },
    });
    let response = worker.post_json("/api/v1/resident-notices", &notice).await;
    let notice_id = response.json::<Value>().await.unwrap()["notice_id"].as_i64().unwrap();
    let counts = settled_counts(&worker, notice_id).await;
    assert_eq!(counts["email_sent"], 4, "{counts}");
    let first = smtp.accepted();
    assert_eq!(first.len(), 4);
    let body = decoded_body(&first[0].data);
    assert!(body.contains("普通"), "normal priority shown: {body}");

    // A node that stopped mid-round leaves expired claims. Sent rows must stay sent.
    with_pool!(&app.db, |pool| {
        sqlx::query("UPDATE notice_delivery SET claimed_until = NULL, next_attempt_at = $1")
            .bind(Utc::now() - chrono::Duration::hours(1))
            .execute(pool)
            .await
            .unwrap();
    });
    let transport = EmailTransport::new(&app.settings.notices).unwrap();
    let report = deliver_due(&app.db, &app.state.residents, &transport, Utc::now()).await.unwrap();
    assert_eq!(report.total(), 0, "nothing is due: {report:?}");
    assert_eq!(smtp.accepted().len(), 4, "no second copy");
}

#[tokio::test]
async fn rejected_login_keeps_deliveries_pending() {
    let smtp = FakeSmtp::start(&[], &[]).await;
    smtp.require_login(true);
    // Enough attempts that the server's own worker cannot use them all up meanwhile.
    let app = email_app_with_attempts(&smtp, 50).await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let ids = residents(&app, &admin).await;
    let first_id = ids[0].1;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let notice = json!({
        "title": "燃气检修",
        "body": "本周四下午燃气检修。",
        "audience": { "area_ids": [], "tags": [] },
    });
    let response = worker.post_json("/api/v1/resident-notices", &notice).await;
    let notice_id = response.json::<Value>().await.unwrap()["notice_id"].as_i64().unwrap();

    // The server's worker tries first; one more round here makes sure a 530 was seen.
    let transport = EmailTransport::new(&app.settings.notices).unwrap();
    deliver_due(&app.db, &app.state.residents, &transport, Utc::now()).await.unwrap();
    let (status, last_error): (String, Option<String>) = with_pool!(&app.db, |pool| {
        sqlx::query_as(
            "SELECT status, last_error FROM notice_delivery WHERE resident_id = $1 \
             AND channel = 'email'",
        )
        .bind(first_id)
        .fetch_one(pool)
        .await
        .unwrap()
    });
    assert_eq!(status, "pending", "a rejected login is not the recipient's failure");
    let last_error = last_error.unwrap_or_default();
    assert!(last_error.contains("smtp_password"), "the fix is named: {last_error}");

    smtp.require_login(false);
    let counts = settled_counts(&worker, notice_id).await;
    assert_eq!(counts["email_sent"], 4, "sent once the login works: {counts}");
    assert_eq!(counts["email_failed"], 0, "{counts}");
}
