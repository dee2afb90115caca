//! Where queued batches live: in `sensor_reading_queue` of the database on PostgreSQL,
//! and in a SQLite file of their own beside the database file (`citycore.queue.db`
//! beside `citycore.db`). SQLite has one write lock per file, and the queue worker keeps
//! the main file's lock while it writes. A separate file lets batches be queued meanwhile.

use std::path::{Path, PathBuf};

use sqlx::sqlite::SqlitePoolOptions;

use super::QueueDepth;
use crate::{db::Db, sensors::store::StoreError, with_pool};

/// The same columns as the PostgreSQL migration `sensor_reading_queue`.
const CREATE_SQLITE: &str = "CREATE TABLE IF NOT EXISTS sensor_reading_queue (
    batch_id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at_ms INTEGER NOT NULL,
    item_count INTEGER NOT NULL,
    body BLOB NOT NULL)";

/// Connections of the SQLite queue file. SQLite lets one connection write at a time,
/// and a second writer waits in SQLite's busy handler, which sleeps between retries. A
/// request waiting for the pool's only connection wakes as soon as it is free.
const SQLITE_CONNECTIONS: u32 = 1;

/// The database holding the queue rows.
#[derive(Debug, Clone)]
pub struct QueueStore {
    /// The SQLite queue file's own pool, or the PostgreSQL database's pool.
    pub db: Db,
}

impl QueueStore {
    /// Opens the queue of `db`, creating the SQLite queue file when it is missing.
    ///
    /// # Errors
    /// The queue file cannot be opened or created.
    pub async fn open(db: &Db) -> Result<QueueStore, StoreError> {
        let Db::Sqlite(pool) = db else {
            return Ok(QueueStore { db: db.clone() });
        };
        let main = pool.connect_options();
        let path = queue_path(main.get_filename());
        let options = (*main).clone().filename(&path).create_if_missing(true);
        let queue = SqlitePoolOptions::new()
            .max_connections(SQLITE_CONNECTIONS)
            .connect_with(options)
            .await?;
        sqlx::query(CREATE_SQLITE).execute(&queue).await?;
        tracing::debug!(queue.path = %path.display(), "reading queue file open");
        Ok(QueueStore { db: Db::Sqlite(queue) })
    }

    /// Counts the committed batches and readings in the queue.
    ///
    /// # Errors
    /// A database failure.
    pub async fn depth(&self) -> Result<QueueDepth, StoreError> {
        let (batches, readings): (i64, i64) = with_pool!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT COUNT(*), CAST(COALESCE(SUM(item_count), 0) AS BIGINT) \
                 FROM sensor_reading_queue",
            )
            .fetch_one(pool)
            .await
        })?;
        Ok(QueueDepth { batches, readings })
    }

    /// Commits one queued batch.
    pub(super) async fn insert(
        &self,
        received_at_ms: i64,
        count: i32,
        body: Vec<u8>,
    ) -> Result<(), StoreError> {
        with_pool!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO sensor_reading_queue (received_at_ms, item_count, body) \
                 VALUES ($1, $2, $3)",
            )
            .bind(received_at_ms)
            .bind(count)
            .bind(body)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }
}

/// `citycore.db` → `citycore.queue.db`; a file without extension gets `.queue.db`.
fn queue_path(main: &Path) -> PathBuf {
    let stem = main.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match main.extension() {
        Some(extension) => format!("{stem}.queue.{}", extension.to_string_lossy()),
        None => format!("{stem}.queue.db"),
    };
    main.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_file_sits_beside_the_database() {
        assert_eq!(queue_path(Path::new("/d/citycore.db")), Path::new("/d/citycore.queue.db"));
        assert_eq!(queue_path(Path::new("data/main")), Path::new("data/main.queue.db"));
    }
}
