//! Durability of acknowledged readings when the server is killed with SIGKILL during
//! sustained ingest.
//!
//! Each round starts `citycore serve`, posts batches from two clients that record
//! which batches got a 2xx response, kills the server at a random moment, and starts
//! it again. After each restart every acknowledged reading of every round so far must
//! be stored, and the day rollups must count exactly the stored raw readings. The
//! queued variant acknowledges batches once they are in the reading queue and checks
//! after the restarted server has written the queue.
//! `scripts/kill-ingest.sh` runs the long version and prints the counts.

use std::{
    collections::HashSet,
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use citycore::{
    db::Db,
    sensors::{Attribute, SensorStore, rollup::Step},
};
use rand::Rng;

use super::{Server, citycore, free_port, stdout_of, wait_ready};

const DEVICE: &str = "kill-counter-1";
const BATCH_READINGS: i64 = 200;
const CLIENTS: usize = 2;

/// The counts after one restart.
#[derive(Debug)]
struct RoundCount {
    round: usize,
    /// Requests sent and still without a response just before the kill.
    in_flight_at_kill: usize,
    acknowledged_batches: usize,
    acknowledged_readings: usize,
    missing: usize,
    stored: usize,
    rolled_up: i64,
}

/// Creates a fresh database for the run: a SQLite file in `dir`, or a new PostgreSQL
/// database when `CITYCORE_TEST_BACKEND=postgres`.
fn database_url(dir: &std::path::Path, runtime: &tokio::runtime::Runtime) -> String {
    if std::env::var("CITYCORE_TEST_BACKEND").is_ok_and(|b| b == "postgres") {
        let admin_url = std::env::var("CITYCORE_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("citycore_kill_{}", uuid::Uuid::new_v4().simple());
        runtime.block_on(async {
            let admin = sqlx::PgPool::connect(&admin_url).await.expect("PostgreSQL is reachable");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .expect("create database");
        });
        let (base, _) = admin_url.rsplit_once('/').expect("URL has a database name");
        return format!("{base}/{name}");
    }
    format!("sqlite://{}", dir.join("kill.db").display())
}

/// Where and how a client posts: the server's port, the gateway key, the time of
/// sequence number 0, and whether batches go to the reading queue.
#[derive(Clone)]
struct Sender {
    port: u16,
    token: String,
    base_ms: i64,
    queued: bool,
}

/// Posts batches of consecutive sequence numbers until `stop` is set or a request fails,
/// and records each acknowledged batch as `(first sequence number, readings)`.
/// `in_flight` counts the requests sent and still without a response.
async fn post_until_stopped(
    sender: Sender,
    next_seq: Arc<AtomicI64>,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<(i64, i64)>>>,
    in_flight: Arc<AtomicUsize>,
) {
    let Sender { port, token, base_ms, queued } = sender;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/v1/readings");
    while !stop.load(Ordering::SeqCst) {
        let first = next_seq.fetch_add(BATCH_READINGS, Ordering::SeqCst);
        let readings: Vec<serde_json::Value> = (first..first + BATCH_READINGS)
            .map(|seq| {
                serde_json::json!({"device": DEVICE, "attribute": "peopleCount",
                    "value": seq % 1000, "observed_at_ms": base_ms + seq})
            })
            .collect();
        let body = serde_json::json!({ "readings": readings });
        in_flight.fetch_add(1, Ordering::SeqCst);
        let mut request = client.post(&url).bearer_auth(&token).json(&body);
        if queued {
            request = request.header("prefer", "respond-async");
        }
        let sent = request.send().await;
        in_flight.fetch_sub(1, Ordering::SeqCst);
        let expected = if queued { 202 } else { 200 };
        match sent {
            Ok(response) if response.status().as_u16() == expected => {
                acknowledged.lock().unwrap().push((first, BATCH_READINGS));
            }
            _ => return,
        }
    }
}

/// Reads the stored sequence numbers and the day-rollup count of the test device, once
/// the restarted server's queue worker has written every queued batch.
async fn stored_state(url: &str, base_ms: i64) -> (HashSet<i64>, i64) {
    let db = Db::connect(url, 2).await.expect("database opens");
    let queue = citycore::sensors::queue::QueueStore::open(&db).await.expect("queue opens");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while queue.depth().await.expect("queue depth").batches > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the queue was not written in 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let device = db.device(DEVICE).await.unwrap().expect("device registered");
    let times: Vec<i64> = match &db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar("SELECT observed_at_ms FROM sensor_reading WHERE device_id = $1")
                .bind(device.device_id)
                .fetch_all(pool)
                .await
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT observed_at_ms FROM sensor_reading WHERE device_id = $1")
                .bind(device.device_id)
                .fetch_all(pool)
                .await
        }
    }
    .expect("readings query");
    let days = db
        .rollups(device.device_id, Attribute::PeopleCount, Step::Day, 0, i64::MAX)
        .await
        .expect("rollups");
    (times.into_iter().map(|t| t - base_ms).collect(), days.iter().map(|(_, a)| a.count).sum())
}

fn start_server(dir: &std::path::Path, url: &str, port: u16) -> Server {
    let child = citycore(dir)
        .args(["--database-url", url, "serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let server = Server(child);
    wait_ready(port);
    server
}

/// Runs `rounds` kill-and-restart rounds and returns the counts after each restart.
/// With `queued` the clients ask for the reading queue (`Prefer: respond-async`).
fn run_kill_rounds(rounds: usize, queued: bool) -> Vec<RoundCount> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path(), &runtime);
    let devices = dir.path().join("devices.csv");
    std::fs::write(
        &devices,
        format!("id,kind,name,longitude,latitude,owner\n{DEVICE},people_counter,客流计数,116.47,39.99,街道办\n"),
    )
    .unwrap();
    stdout_of(
        citycore(dir.path()).args(["--database-url", &url, "devices", "import"]).arg(&devices),
    );
    let token = stdout_of(citycore(dir.path()).args([
        "--database-url",
        &url,
        "devices",
        "key",
        "kill-test",
    ]));
    let token = token.trim().to_owned();
    // Readings are 1 ms apart from a day ago, well inside the accepted time window.
    let base_ms = chrono::Utc::now().timestamp_millis() - 86_400_000;
    let next_seq = Arc::new(AtomicI64::new(0));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut counts = Vec::new();
    let mut rng = rand::rng();
    for round in 1..=rounds {
        let port = free_port();
        let mut server = start_server(dir.path(), &url, port);
        let stop = Arc::new(AtomicBool::new(false));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let sender = Sender { port, token: token.clone(), base_ms, queued };
                runtime.spawn(post_until_stopped(
                    sender,
                    next_seq.clone(),
                    stop.clone(),
                    acknowledged.clone(),
                    in_flight.clone(),
                ))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.random_range(200..1500)));
        let in_flight_at_kill = in_flight.load(Ordering::SeqCst);
        // Child::kill sends SIGKILL on Unix: no shutdown code of the server runs.
        server.0.kill().expect("SIGKILL sent");
        server.0.wait().unwrap();
        stop.store(true, Ordering::SeqCst);
        for client in clients {
            runtime.block_on(client).unwrap();
        }

        let port = free_port();
        let restarted = start_server(dir.path(), &url, port);
        let (stored, rolled_up) = runtime.block_on(stored_state(&url, base_ms));
        drop(restarted);
        let acked = acknowledged.lock().unwrap().clone();
        let missing = acked
            .iter()
            .flat_map(|(first, len)| *first..first + len)
            .filter(|seq| !stored.contains(seq))
            .count();
        counts.push(RoundCount {
            round,
            in_flight_at_kill,
            acknowledged_batches: acked.len(),
            acknowledged_readings: acked.iter().map(|(_, len)| *len as usize).sum(),
            missing,
            stored: stored.len(),
            rolled_up,
        });
    }
    counts
}

fn print_and_check(counts: &[RoundCount]) {
    println!(
        "round  in_flight_at_kill  acked_batches  acked_readings  missing  stored  in_day_rollups"
    );
    for c in counts {
        println!(
            "{:>5}  {:>17}  {:>13}  {:>14}  {:>7}  {:>6}  {:>14}",
            c.round,
            c.in_flight_at_kill,
            c.acknowledged_batches,
            c.acknowledged_readings,
            c.missing,
            c.stored,
            c.rolled_up
        );
    }
    for c in counts {
        assert_eq!(c.missing, 0, "round {}: acknowledged readings lost", c.round);
        assert_eq!(
            c.rolled_up, c.stored as i64,
            "round {}: rollups disagree with raw rows",
            c.round
        );
        assert!(c.stored >= c.acknowledged_readings, "round {}", c.round);
    }
    let last = counts.last().expect("at least one round");
    assert!(last.acknowledged_batches > 0, "no batch was acknowledged in any round");
    let cut: usize = counts.iter().map(|c| c.in_flight_at_kill).sum();
    assert!(cut > 0, "no kill hit a request in flight, so nothing was tested");
}

#[test]
fn kill_during_ingest_loses_no_acknowledged_reading() {
    print_and_check(&run_kill_rounds(3, false));
}

#[test]
fn kill_during_queued_ingest_loses_no_acknowledged_reading() {
    print_and_check(&run_kill_rounds(3, true));
}

/// Runs the long version for `scripts/kill-ingest.sh`; `KILL_INGEST_ROUNDS` sets the
/// rounds, and `KILL_INGEST_QUEUED=1` sends the batches to the reading queue.
#[test]
#[ignore = "takes about a minute; run by scripts/kill-ingest.sh"]
fn kill_during_ingest_many_rounds() {
    let rounds = std::env::var("KILL_INGEST_ROUNDS").ok().and_then(|n| n.parse().ok());
    let queued = std::env::var("KILL_INGEST_QUEUED").is_ok_and(|v| v == "1");
    print_and_check(&run_kill_rounds(rounds.unwrap_or(20), queued));
}
