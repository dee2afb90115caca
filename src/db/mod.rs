//! Database connection for both supported backends.
//!
//! SQLite (the embedded default: one file, WAL, foreign keys on) and PostgreSQL (many
//! stateless nodes on one server) sit behind [`Db`]. Each context's storage trait is
//! implemented once for `Db`; where the SQL text is the same on both backends the
//! [`with_pool!`](crate::with_pool) macro expands one body for each pool type, and where
//! it differs the context matches on the variant. Queries use `$1` placeholders, which
//! both drivers accept.

pub mod snapshot;

use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

/// The queue of [`Db::write_turn`]. One for the process rather than per pool, so two
/// SQLite databases in one process (as in the tests) also wait for each other, which
/// costs time but never correctness.
static SQLITE_WRITER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A pool on one of the supported backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The backend a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL scheme in {0}; use sqlite://PATH or postgres://HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Query(#[from] sqlx::Error),
}

/// Runs `$body` with `$pool` bound to the concrete pool of `$db`.
///
/// The body is compiled once per backend, so it may only use SQL both accept.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Connections of the pool [`Db::relaxed`] opens on PostgreSQL.
pub const RELAXED_CONNECTIONS: u32 = 4;

impl Db {
    /// Connects to `url`, creating the SQLite file and its folder when missing.
    ///
    /// # Errors
    /// Fails on an unsupported scheme or when the server cannot be reached.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        let redacted = crate::config::redact_url(url);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(|source| DbError::Connect { url: redacted, source })?;
            return Ok(Db::Postgres(pool));
        }
        let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))
        else {
            return Err(DbError::UnsupportedUrl(redacted));
        };
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|error| DbError::Connect {
                url: redacted.clone(),
                source: sqlx::Error::Io(error),
            })?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(|source| DbError::Connect { url: redacted.clone(), source })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // A connection to a local file cannot go stale, and a test before each acquire
        // costs one more round trip to the connection's worker thread per query.
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .test_before_acquire(false)
            .after_connect(|connection, _| {
                Box::pin(async move {
                    let mut handle = connection.lock_handle().await?;
                    crate::cases::kpi::hours::register_sqlite_sum(&mut handle)
                        .map_err(|error| sqlx::Error::Configuration(error.into()))
                })
            })
            .connect_with(options)
            .await
            .map_err(|source| DbError::Connect { url: redacted, source })?;
        Ok(Db::Sqlite(pool))
    }

    /// Waits for this process's turn to write on SQLite, and returns at once on
    /// PostgreSQL, whose writers lock rows rather than the whole database.
    ///
    /// SQLite lets one transaction write at a time. A second writer waits in SQLite's
    /// busy handler, which sleeps in steps of up to 100 ms, so under concurrent intake
    /// most of a request's time went to sleeping. Queuing the case writers here keeps
    /// each wait as short as the transaction before it. Writers in other processes
    /// still meet the busy handler.
    pub async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'static, ()>> {
        match self {
            Db::Sqlite(_) => Some(SQLITE_WRITER.lock().await),
            Db::Postgres(_) => None,
        }
    }

    /// Names the database this pool reaches, for caches kept per database: the file on
    /// SQLite, host, port and database name on PostgreSQL.
    pub fn cache_key(&self) -> String {
        match self {
            Db::Sqlite(pool) => {
                format!("sqlite:{}", pool.connect_options().get_filename().display())
            }
            Db::Postgres(pool) => {
                let options = pool.connect_options();
                let database = options.get_database().unwrap_or_default();
                format!("postgres:{}:{}/{database}", options.get_host(), options.get_port())
            }
        }
    }

    /// Returns a handle on the same database for writes that can be rebuilt from rows
    /// already committed, such as an alarm raised by stored readings and its case.
    ///
    /// On PostgreSQL its connections set `synchronous_commit = off`, so a commit
    /// returns without waiting for the WAL flush. A server crash can lose the last
    /// fraction of a second of such commits, but never a durable reading: its pending
    /// row brings the evaluation back (see [`crate::alarms::pending`]). The pool opens at most
    /// [`RELAXED_CONNECTIONS`] connections, each when first needed. SQLite commits
    /// without a flush in WAL mode already (`synchronous = NORMAL`), so there it is the
    /// same pool.
    pub fn relaxed(&self) -> Db {
        match self {
            Db::Sqlite(pool) => Db::Sqlite(pool.clone()),
            Db::Postgres(pool) => {
                let options =
                    (*pool.connect_options()).clone().options([("synchronous_commit", "off")]);
                let pool = PgPoolOptions::new()
                    .max_connections(RELAXED_CONNECTIONS)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_lazy_with(options);
                Db::Postgres(pool)
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations embedded for this backend that have not run yet, then
    /// the data steps SQL cannot do, such as indexing existing cases for search.
    ///
    /// # Errors
    /// Fails when a migration fails or an applied one was edited.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        crate::cases::search::backfill(self).await?;
        crate::cases::kpi::rollup::upgrade::fold_old_hours(self).await?;
        crate::cases::kpi::rollup::fill::fill_new_levels(self).await?;
        Ok(())
    }

    /// Checks that the database responds to a trivial query.
    ///
    /// # Errors
    /// Returns the driver error when it does not.
    pub async fn ping(&self) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Closes every pooled connection; used by graceful shutdown.
    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await);
    }
}
