//! `citycore bench notices`: one notice to every generated resident of the demo street.
//!
//! The run registers `--residents` residents (sealed phone and identity numbers, three
//! per household) over the demo street's grids on a fresh database, then times:
//! - the fan-out of a notice to every inbox, as `POST /api/v1/resident-notices` does it:
//!   the notice row, one recipient row per resident, one transaction;
//! - the same with the webhook channel on, which adds one delivery row per recipient;
//! - the webhook deliveries of that notice to a gateway on loopback that accepts every
//!   request, with the configured concurrency, in deliveries per second.

use std::time::Instant;

use axum::{Router, http::StatusCode, routing::post};
use chrono::Utc;
use clap::Args;
use sqlx::QueryBuilder;

use super::ingest::TempDir;
use crate::{
    accounts::{
        Role,
        service::{AccountInput, create_account},
    },
    areas::{AreaStore, Level},
    audit::Actor,
    config::Settings,
    demo::demo_areas,
    http::AppState,
    residents::{
        crypto::Field,
        identity::{mask_identity, mask_phone},
        notices::{
            Channels, Priority,
            audience::Audience,
            delivery::deliver_due,
            store::{NewNotice, insert_notice},
            webhook::WebhookTransport,
        },
    },
    with_pool,
};

#[derive(Debug, Args)]
pub struct NoticeBenchArgs {
    /// Residents to register and notify.
    #[arg(long, default_value_t = 100_000)]
    pub residents: usize,
    /// Requests in flight to the gateway at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

/// Residents per `INSERT`, a multiple of three (residents per household); 14 parameters
/// each stays under SQLite's parameter limit.
const ROWS_PER_STATEMENT: usize = 999;

/// Runs the benchmark and prints its figures.
///
/// # Errors
/// Fails when the database, the gateway or a step fails.
pub async fn run_notices(mut settings: Settings, args: NoticeBenchArgs) -> anyhow::Result<()> {
    let _temp_dir = TempDir::unless_configured(&mut settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    settings.notices.webhook_url = format!("http://{}/sms", listener.local_addr()?);
    settings.notices.webhook_concurrency = args.concurrency.max(1);
    let gateway = Router::new().route("/sms", post(|| async { StatusCode::ACCEPTED }));
    let gateway = tokio::spawn(async move { axum::serve(listener, gateway).await });

    let db = crate::cli::open_database(&settings).await?;
    if db.list_areas().await?.is_empty() {
        db.insert_areas(&demo_areas()).await?;
    }
    let state = AppState::new(settings.clone(), db.clone()).await?;
    let index = state.locator.snapshot();
    let grids: Vec<i64> = index
        .areas()
        .iter()
        .filter(|area| area.level == Level::Grid)
        .map(|area| area.area_id)
        .collect();
    anyhow::ensure!(!grids.is_empty(), "the demo street has no grid");
    let started = Instant::now();
    register(&state, &grids, args.residents).await?;
    println!("registered {} residents in {:.1} s", args.residents, started.elapsed().as_secs_f64());

    let audience =
        Audience { area_ids: Vec::new(), grid_ids: grids, tags: Vec::new(), tags_match_all: false };
    let notice = NewNotice {
        title: "压测通知 bench notice".to_owned(),
        body: "全体居民：明日 9:00 至 17:00 停水。".to_owned(),
        priority: Priority::Urgent,
        audience,
        send_at: Utc::now(),
        follow_up_hours: 24,
        created_by: bench_user(&state).await?,
        attachment_ids: Vec::new(),
    };
    for webhook in [false, true] {
        let started = Instant::now();
        let channels = Channels { webhook, email: false };
        let (_, recipients) = insert_notice(&db, &notice, Utc::now(), channels).await?;
        println!(
            "backend {:?}: fan-out to {recipients} inboxes{} in {:.3} s",
            db.backend(),
            if webhook { " with webhook delivery rows" } else { "" },
            started.elapsed().as_secs_f64()
        );
    }

    let transport = WebhookTransport::new(&settings.notices)?;
    let started = Instant::now();
    let mut delivered = 0;
    loop {
        let report = deliver_due(&db, &state.residents, &transport, Utc::now()).await?;
        anyhow::ensure!(
            report.failed == 0 && report.retried == 0,
            "the gateway refused: {report:?}"
        );
        if report.total() == 0 {
            break;
        }
        delivered += report.sent;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "webhook: {delivered} deliveries in {seconds:.1} s ({:.0}/s, {} in flight)",
        delivered as f64 / seconds,
        settings.notices.webhook_concurrency
    );
    gateway.abort();
    Ok(())
}

/// Creates the account that sends the notice.
async fn bench_user(state: &AppState) -> anyhow::Result<i64> {
    let input = AccountInput {
        username: format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        display_name: "压测管理员 bench administrator".to_owned(),
        role: Role::Administrator,
        area_codes: Vec::new(),
        locale: None,
        password: None,
        department_code: None,
    };
    let index = state.locator.snapshot();
    Ok(create_account(&state.db, &index, input, &Actor::cli()).await?.user_id)
}

/// Registers `count` residents, three per household, spread over `grids`.
async fn register(state: &AppState, grids: &[i64], count: usize) -> anyhow::Result<()> {
    let keys = &state.residents;
    let now = Utc::now();
    for first in (0..count).step_by(ROWS_PER_STATEMENT) {
        let numbers: Vec<usize> = (first..(first + ROWS_PER_STATEMENT).min(count)).collect();
        let households: Vec<(i64, String)> = numbers
            .iter()
            .filter(|n| *n % 3 == 0)
            .map(|n| (grids[n / 3 % grids.len()], format!("压测小区{}号楼{}室", n / 300, n % 300)))
            .collect();
        with_pool!(&state.db, |pool| {
            let mut insert = QueryBuilder::new(
                "INSERT INTO household (grid_id, address, created_at, updated_at) ",
            );
            insert.push_values(&households, |mut row, (grid, address)| {
                row.push_bind(*grid).push_bind(address.as_str()).push_bind(now).push_bind(now);
            });
            insert.push(" RETURNING household_id");
            let ids: Vec<i64> = insert.build_query_scalar().fetch_all(pool).await?;
            let mut insert = QueryBuilder::new(
                "INSERT INTO resident (household_id, grid_id, name, gender, birth_date, \
                 relation, identity_sealed, identity_hash, identity_masked, phone_sealed, \
                 phone_hash, phone_masked, created_at, updated_at) ",
            );
            insert.push_values(&numbers, |mut row, n| {
                let slot = (n - first) / 3;
                let identity = format!("110105198001{:06}", n % 1_000_000);
                let phone = format!("139{n:08}");
                row.push_bind(ids[slot])
                    .push_bind(households[slot].0)
                    .push_bind(format!("居民{n}"))
                    .push_bind(if n % 2 == 0 { "female" } else { "male" })
                    .push_bind(chrono::NaiveDate::from_ymd_opt(1980, 1, 1))
                    .push_bind(if n % 3 == 0 { "head" } else { "child" })
                    .push_bind(keys.seal(Field::IdentityNumber, &identity))
                    .push_bind(keys.lookup_hash(Field::IdentityNumber, &identity))
                    .push_bind(mask_identity(&identity))
                    .push_bind(keys.seal(Field::Phone, &phone))
                    .push_bind(keys.lookup_hash(Field::Phone, &phone))
                    .push_bind(mask_phone(&phone))
                    .push_bind(now)
                    .push_bind(now);
            });
            insert.build().execute(pool).await.map(drop)
        })?;
    }
    Ok(())
}
