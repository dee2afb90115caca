//! `citycore bench intake`: cases per second through `POST /api/v1/cases` on loopback,
//! with the whole intake path of a real report: validation, grid lookup, routing,
//! deadline from the working calendar, the case row, its intake log entry and the KPI
//! rollup, all in the request.
//!
//! The run starts the real router in process on 127.0.0.1 over a fresh database (a
//! SQLite file in a new temporary folder unless `--database-url` is given), creates the
//! demo street's areas and a dispatcher account with a session, and posts `--cases`
//! reports from `--clients` keep-alive connections. It prints cases per second and the
//! latency of single requests.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Args;
use rand::{Rng, SeedableRng, rngs::StdRng};
use tokio::net::TcpStream;

use super::{
    ingest::{TempDir, post},
    kpis::percentile,
};
use crate::{
    accounts::{
        Role,
        service::{AccountInput, create_account},
        session,
    },
    areas::AreaStore,
    audit::Actor,
    config::Settings,
    demo::demo_areas,
    http::AppState,
    with_pool,
};

#[derive(Debug, Args)]
pub struct IntakeBenchArgs {
    /// Cases to post.
    #[arg(long, default_value_t = 100_000)]
    pub cases: usize,
    /// Concurrent clients, each on its own keep-alive connection.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
}

/// The demo street's extent as west, south, east, north; about 2 % of the points fall
/// outside it, as reports near a street's edge do.
const EXTENT: [f64; 4] = [116.451, 39.981, 116.488, 39.999];

/// Runs the benchmark and prints its figures.
///
/// # Errors
/// Fails when the database or the server fails, or a report is not accepted.
pub async fn run_intake(mut settings: Settings, args: IntakeBenchArgs) -> anyhow::Result<()> {
    let _temp_dir = TempDir::unless_configured(&mut settings);
    let db = crate::cli::open_database(&settings).await?;
    if db.list_areas().await?.is_empty() {
        db.insert_areas(&demo_areas()).await?;
    }
    let state = AppState::new(settings.clone(), db.clone()).await?;
    let cookie = dispatcher_session(&state).await?;
    let bodies = report_bodies(&state, args.cases).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = crate::http::router(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients.max(1) {
        let (queue, cookie) = (queue.clone(), cookie.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(address).await?;
            stream.set_nodelay(true)?;
            let mut latencies = Vec::new();
            loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let Some(body) = next else { return anyhow::Ok(latencies) };
                let sent = Instant::now();
                let status =
                    post(&mut stream, &address.to_string(), "/api/v1/cases", &cookie, &body)
                        .await?;
                latencies.push(sent.elapsed());
                anyhow::ensure!(status == 201, "a report returned status {status}; expected 201");
            }
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(args.cases);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    server.abort();
    latencies.sort();
    let stored: (i64,) = with_pool!(&db, |pool| {
        sqlx::query_as("SELECT CAST(SUM(closure_den) AS BIGINT) FROM case_kpi_rollup")
            .fetch_one(pool)
            .await
    })?;
    anyhow::ensure!(stored.0 == args.cases as i64, "the rollup counts {} cases", stored.0);
    println!(
        "backend {:?}, {} cases, {} clients: {:.0} cases/s ({seconds:.2} s), latency p50 {:.1} ms, p95 {:.1} ms",
        db.backend(),
        args.cases,
        args.clients,
        args.cases as f64 / seconds,
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.95).as_secs_f64() * 1000.0,
    );
    Ok(())
}

/// Creates a dispatcher of the demo street with a session, and returns the cookie and
/// CSRF header lines that authenticate its requests.
async fn dispatcher_session(state: &AppState) -> anyhow::Result<String> {
    let street = demo_areas()
        .into_iter()
        .find(|area| area.parent_code.as_deref() == Some("110105"))
        .map(|area| area.code)
        .unwrap_or_default();
    let input = AccountInput {
        username: format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        display_name: "压测调度员 bench dispatcher".to_owned(),
        role: Role::Dispatcher,
        area_codes: vec![street],
        locale: None,
        password: None,
        department_code: None,
    };
    let index = state.locator.snapshot();
    let account = create_account(&state.db, &index, input, &Actor::cli()).await?;
    let auth = &state.settings.auth;
    let token = session::start_session(&state.db, auth, account.user_id).await?;
    let user = session::load_user(&state.db, auth, &token)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the new session did not load"))?;
    Ok(format!(
        "cookie: {}={token}\r\n{}: {}\r\n",
        session::SESSION_COOKIE,
        crate::accounts::csrf::CSRF_HEADER,
        user.csrf_token
    ))
}

/// Builds `count` JSON reports over the shipped categories and the street's extent.
async fn report_bodies(state: &AppState, count: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    let categories: Vec<(String,)> = with_pool!(&state.db, |pool| {
        sqlx::query_as("SELECT category_code FROM category ORDER BY category_code")
            .fetch_all(pool)
            .await
    })?;
    anyhow::ensure!(!categories.is_empty(), "the catalogue has no category");
    let mut rng = StdRng::seed_from_u64(12_345);
    (0..count)
        .map(|n| {
            let body = serde_json::json!({
                "title": format!("压测案件 {n}"),
                "description": "路灯不亮，夜间通行不便。Street light out.",
                "category_code": categories[n % categories.len()].0,
                "longitude": rng.random_range(EXTENT[0]..EXTENT[2]),
                "latitude": rng.random_range(EXTENT[1]..EXTENT[3]),
                "channel": "hotline",
            });
            Ok(serde_json::to_vec(&body)?)
        })
        .collect()
}
