//! The aggregate through sqlx on an in-memory database: grouping, NULLs, empty input,
//! errors and panics.

use sqlite_aggregate::{BlobFold, register};
use sqlx::{Connection, Row, SqliteConnection};

/// Adds up the bytes of its values; the byte 0xFF is an error and 0xFE a panic.
#[derive(Default)]
struct ByteSum(u64);

impl BlobFold for ByteSum {
    fn step(&mut self, blob: &[u8]) -> Result<(), String> {
        for byte in blob {
            match byte {
                0xFF => return Err("byte 255 is not allowed".to_owned()),
                0xFE => panic!("byte 254"),
                _ => self.0 += u64::from(*byte),
            }
        }
        Ok(())
    }

    fn finish(self) -> Vec<u8> {
        self.0.to_le_bytes().to_vec()
    }
}

async fn connection() -> SqliteConnection {
    let mut connection = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    let mut handle = connection.lock_handle().await.unwrap();
    register::<ByteSum>(&mut handle, "byte_sum").unwrap();
    drop(handle);
    sqlx::query("CREATE TABLE t (k TEXT, v BLOB)").execute(&mut connection).await.unwrap();
    connection
}

fn sum_of(row: &sqlx::sqlite::SqliteRow, column: usize) -> u64 {
    let bytes: Vec<u8> = row.get(column);
    u64::from_le_bytes(bytes.try_into().unwrap())
}

#[tokio::test]
async fn sums_each_group_and_skips_nulls() {
    let mut connection = connection().await;
    sqlx::query(
        "INSERT INTO t VALUES ('a', x'0102'), ('a', NULL), ('b', x''), ('a', x'03'), ('b', x'0A')",
    )
    .execute(&mut connection)
    .await
    .unwrap();
    let rows = sqlx::query("SELECT k, byte_sum(v) FROM t GROUP BY k ORDER BY k")
        .fetch_all(&mut connection)
        .await
        .unwrap();
    let sums: Vec<(String, u64)> = rows.iter().map(|row| (row.get(0), sum_of(row, 1))).collect();
    assert_eq!(sums, [("a".to_owned(), 6), ("b".to_owned(), 10)]);
}

#[tokio::test]
async fn empty_input_gives_the_default() {
    let mut connection = connection().await;
    let row = sqlx::query("SELECT byte_sum(v) FROM t").fetch_one(&mut connection).await.unwrap();
    assert_eq!(sum_of(&row, 0), 0);
}

#[tokio::test]
async fn fold_errors_fail_the_query() {
    let mut connection = connection().await;
    sqlx::query("INSERT INTO t VALUES ('a', x'01FF')").execute(&mut connection).await.unwrap();
    let error =
        sqlx::query("SELECT byte_sum(v) FROM t").fetch_one(&mut connection).await.unwrap_err();
    assert!(error.to_string().contains("byte 255 is not allowed"), "{error}");

    sqlx::query("DELETE FROM t").execute(&mut connection).await.unwrap();
    sqlx::query("INSERT INTO t VALUES ('a', x'01'), ('a', x'FE')")
        .execute(&mut connection)
        .await
        .unwrap();
    let error =
        sqlx::query("SELECT byte_sum(v) FROM t").fetch_one(&mut connection).await.unwrap_err();
    assert!(error.to_string().contains("panicked"), "{error}");

    // The connection still works after both failures.
    sqlx::query("DELETE FROM t").execute(&mut connection).await.unwrap();
    let row = sqlx::query("SELECT byte_sum(x'05')").fetch_one(&mut connection).await.unwrap();
    assert_eq!(sum_of(&row, 0), 5);
}
