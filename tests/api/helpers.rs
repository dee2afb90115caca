//! Test helpers: start the app on port 0 with a fresh, migrated database.

use std::path::PathBuf;

use citycore::{config::Settings, db::Db, http::AppState};

/// A running app and a client that keeps cookies and does not follow redirects.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub state: AppState,
    pub settings: Settings,
    _data_dir: tempfile::TempDir,
}

/// Which backend this test run uses.
pub fn backend_is_postgres() -> bool {
    std::env::var("CITYCORE_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// A URL of a new, empty database on the chosen backend.
async fn fresh_database_url(data_dir: &std::path::Path) -> String {
    if !backend_is_postgres() {
        return format!("sqlite://{}", data_dir.join("test.db").display());
    }
    let admin_url = std::env::var("CITYCORE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("citycore_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&admin_url).await.expect("PostgreSQL is reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create db");
    admin.close().await;
    let (base, _) = admin_url.rsplit_once('/').expect("URL has a database name");
    format!("{base}/{name}")
}

/// Starts the app with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app after `configure` adjusts the settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings { data_dir: data_dir.path().to_owned(), ..Settings::default() };
    settings.database.url = fresh_database_url(data_dir.path()).await;
    settings.database.max_connections = 5;
    configure(&mut settings);
    let db = Db::connect(&settings.database_url(), settings.database.max_connections)
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    let state = AppState::new(settings.clone(), db.clone()).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(citycore::http::serve(state.clone(), listener));
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp { address, client, db, state, settings, _data_dir: data_dir }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }

    /// A fresh client for a second person, without this client's cookies.
    pub fn new_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }
}

/// The folder of the shared real datasets, or `None` (with a message) outside CI.
///
/// # Panics
/// Panics under CI (`CI` set) when the folder is missing, because CI must run the
/// real-data tests.
pub fn shared_data(dataset: &str) -> Option<PathBuf> {
    let root = std::env::var("CITYCORE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let folder = root.join(dataset);
    if folder.is_dir() {
        return Some(folder);
    }
    assert!(std::env::var_os("CI").is_none(), "dataset {} missing under CI", folder.display());
    eprintln!("skipping: dataset {} not found (set CITYCORE_SHARED_DATA)", folder.display());
    None
}
