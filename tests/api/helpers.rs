//! Test helpers: start the app on port 0 with a fresh, migrated database.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use citycore::{
    accounts::{
        Role, SessionStore,
        service::{AccountInput, create_account},
    },
    areas::{AreaStore, Level, store::NewArea},
    audit::Actor,
    config::Settings,
    db::Db,
    http::AppState,
};
use reqwest::cookie::{CookieStore, Jar};

/// A running app and a client that keeps cookies and does not follow redirects.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub state: AppState,
    pub settings: Settings,
    _data_dir: tempfile::TempDir,
}

/// Reports whether this test run uses PostgreSQL.
pub fn backend_is_postgres() -> bool {
    std::env::var("CITYCORE_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// Creates a new, empty database on the chosen backend and returns its URL.
pub async fn fresh_database_url(data_dir: &std::path::Path) -> String {
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

    /// Builds a client for a second person, without this client's cookies.
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

/// Codes of the small street that [`TestApp::ensure_test_areas`] creates: one street
/// with two communities, the first with two grids and the second with one.
pub mod areas {
    pub const DISTRICT: &str = "110105";
    pub const STREET: &str = "110105001";
    pub const COMMUNITY_A: &str = "110105001001";
    pub const COMMUNITY_B: &str = "110105001002";
    pub const GRID_A1: &str = "110105001001001";
    pub const GRID_A2: &str = "110105001001002";
    pub const GRID_B1: &str = "110105001002001";
}

/// Returns the areas an account of `role` gets when a test does not care which: a grid
/// for a grid worker, a community for a community worker, the street for other staff.
pub fn default_areas(role: Role) -> &'static [&'static str] {
    match role {
        Role::GridWorker => &[areas::GRID_A1],
        Role::CommunityWorker => &[areas::COMMUNITY_A],
        Role::Dispatcher | Role::Handler => &[areas::STREET],
        Role::Administrator | Role::Resident | Role::Merchant => &[],
    }
}

/// A logged-in browser: its own cookie jar, the session's CSRF token and the
/// credentials it logged in with.
pub struct Session {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    pub address: String,
    pub user_id: i64,
    pub username: String,
    pub password: String,
    pub csrf_token: String,
}

impl Session {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }

    /// Posts a form with this session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut body: Vec<(&str, &str)> = fields.to_vec();
        body.push(("csrf_token", &self.csrf_token));
        self.client.post(self.url(path)).form(&body).send().await.expect("request sent")
    }

    /// Posts JSON with this session's CSRF token in the `x-csrf-token` header.
    pub async fn post_json(&self, path: &str, json: &serde_json::Value) -> reqwest::Response {
        let request = self.client.post(self.url(path)).header("x-csrf-token", &self.csrf_token);
        request.json(json).send().await.expect("request sent")
    }

    /// Reads the cookie token of this session, or `None` after logout.
    pub fn session_token(&self) -> Option<String> {
        cookie_value(&self.jar, &self.address, "citycore_session")
    }

    /// Computes the stored id of this session: the SHA-256 of the cookie token.
    pub fn session_id(&self) -> String {
        let token = self.session_token().expect("session cookie present");
        citycore::accounts::session::hash_token(&token)
    }
}

/// Reads the value of a cookie in `jar` for `address`.
pub fn cookie_value(jar: &Jar, address: &str, name: &str) -> Option<String> {
    let url: reqwest::Url = address.parse().expect("valid address");
    let header = jar.cookies(&url)?;
    let text = header.to_str().ok()?.to_owned();
    text.split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// Extracts the `csrf_token` hidden field of an HTML page.
pub fn csrf_field(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("page has a csrf_token field") + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_owned()
}

static NEXT_USER: AtomicUsize = AtomicUsize::new(1);

impl TestApp {
    /// Registers device `id` of `kind`, named `name`, at the WGS-84 `point`, and returns
    /// its token.
    pub async fn register_device(
        &self,
        id: &str,
        kind: &str,
        name: &str,
        point: (f64, f64),
    ) -> String {
        let input = citycore::sensors::devices::DeviceInput {
            id: id.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            longitude: point.0,
            latitude: point.1,
            crs: None,
            owner: "街道办".to_owned(),
            capacity: None,
            parking_space: None,
            merchant: None,
            resident: None,
        };
        let index = self.state.locator.snapshot();
        let devices = citycore::sensors::devices::register_devices(&self.db, &index, vec![input]);
        let mut issued = devices.await.expect("registered");
        issued.remove(0).token
    }

    /// Waits until the queue worker has written every queued reading batch.
    pub async fn settle_reading_queue(&self) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.state.reading_queue.store.depth().await.expect("queue depth").batches > 0 {
            assert!(tokio::time::Instant::now() < deadline, "reading queue not written in 10 s");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

impl TestApp {
    /// Creates the test street of [`areas`] unless the database already has areas.
    pub async fn ensure_test_areas(&self) {
        if self.state.locator.snapshot().area_count() > 0 {
            return;
        }
        let area = |code: &str, name: &str, level: Level, parent: Option<&str>| NewArea {
            code: code.to_owned(),
            name: name.to_owned(),
            level,
            parent_code: parent.map(str::to_owned),
            geometry: None,
            responsible_unit: None,
        };
        let batch = [
            area(areas::DISTRICT, "朝阳区", Level::District, None),
            area(areas::STREET, "望京街道", Level::Street, Some(areas::DISTRICT)),
            area(areas::COMMUNITY_A, "花家地社区", Level::Community, Some(areas::STREET)),
            area(areas::COMMUNITY_B, "望湖社区", Level::Community, Some(areas::STREET)),
            area(areas::GRID_A1, "花家地第一网格", Level::Grid, Some(areas::COMMUNITY_A)),
            area(areas::GRID_A2, "花家地第二网格", Level::Grid, Some(areas::COMMUNITY_A)),
            area(areas::GRID_B1, "望湖第一网格", Level::Grid, Some(areas::COMMUNITY_B)),
        ];
        self.db.insert_areas(&batch).await.expect("test areas inserted");
        self.state.locator.reload(&self.db).await.expect("area index reloaded");
    }

    /// Creates an account through the library and returns its id and password.
    /// Creates the test street first when `area_codes` is not empty.
    pub async fn create_user(&self, role: Role, area_codes: &[&str]) -> (i64, String, String) {
        if !area_codes.is_empty() {
            self.ensure_test_areas().await;
        }
        let number = NEXT_USER.fetch_add(1, Ordering::Relaxed);
        let username = format!("{}-{number}", role.as_str().replace('_', "-"));
        let password = format!("test-password-{number}");
        let input = AccountInput {
            username: username.clone(),
            display_name: format!("测试用户 {number}"),
            role,
            area_codes: area_codes.iter().map(|code| (*code).to_owned()).collect(),
            locale: None,
            department_code: None,
            password: Some(password.clone()),
        };
        let index = self.state.locator.snapshot();
        let created = create_account(&self.db, &index, input, &Actor::cli())
            .await
            .unwrap_or_else(|error| panic!("cannot create {username}: {error}"));
        (created.user_id, username, password)
    }

    /// Creates an account of `role` scoped to `area_codes` and logs it in over HTTP.
    pub async fn login_as(&self, role: Role, area_codes: &[&str]) -> Session {
        let (user_id, username, password) = self.create_user(role, area_codes).await;
        let session = self.log_in(&username, &password).await;
        assert_eq!(session.user_id, user_id, "logged in as the created user");
        session
    }

    /// Logs in with a username and password through the login form.
    ///
    /// # Panics
    /// When the login does not return 303 with a session cookie.
    pub async fn log_in(&self, username: &str, password: &str) -> Session {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = client.get(self.url("/login")).send().await.unwrap().text().await.unwrap();
        let visitor_token = csrf_field(&page);
        let form = [("username", username), ("password", password), ("csrf_token", &visitor_token)];
        let response = client.post(self.url("/login")).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 303, "login of {username} redirects");
        let token = cookie_value(&jar, &self.address, "citycore_session").expect("session cookie");
        let session_id = citycore::accounts::session::hash_token(&token);
        let stored = self.db.session_by_id(&session_id).await.unwrap().expect("session stored");
        Session {
            client,
            jar,
            address: self.address.clone(),
            user_id: stored.user_id,
            username: username.to_owned(),
            password: password.to_owned(),
            csrf_token: stored.csrf_token,
        }
    }
}
