//! The PostGIS side of `bench locate`: the same polygons in a table with a GiST index.

use std::time::Instant;

use sqlx::{Connection, PgConnection};

use super::{LocateBenchArgs, grids::GeneratedGrids, random_points};

pub struct PostgisFigures {
    pub version: String,
    /// One prepared `ST_Contains` query per point, as an API handler would run it.
    pub single: Rate,
    /// One `JOIN … ON ST_Contains` over a table of points.
    pub join: Rate,
}

/// Points per second of wall-clock time and of the server process's CPU time.
pub struct Rate {
    pub per_second: f64,
    /// `None` when the server's `/proc` entry is unreadable (a server on another host).
    pub per_cpu_second: Option<f64>,
}

/// Reads the CPU time of the server process behind the connection, in nanoseconds.
fn server_cpu(pid: i32) -> Option<u64> {
    super::cpu_nanoseconds(&format!("/proc/{pid}/schedstat"))
}

fn rate(points: usize, started: Instant, cpu_before: Option<u64>, cpu_after: Option<u64>) -> Rate {
    let cpu_seconds = cpu_before.zip(cpu_after).map(|(a, b)| b.saturating_sub(a) as f64 / 1e9);
    Rate {
        per_second: points as f64 / started.elapsed().as_secs_f64(),
        per_cpu_second: cpu_seconds.filter(|s| *s > 0.0).map(|s| points as f64 / s),
    }
}

/// Rows per INSERT while loading the polygons.
const INSERT_BATCH: usize = 2_000;

fn polygon_wkt(polygon: &geo::Polygon<f64>) -> String {
    let ring = |ring: &geo::LineString<f64>| {
        let positions: Vec<String> = ring.coords().map(|c| format!("{} {}", c.x, c.y)).collect();
        format!("({})", positions.join(","))
    };
    let rings: Vec<String> =
        std::iter::once(polygon.exterior()).chain(polygon.interiors()).map(ring).collect();
    format!("POLYGON({})", rings.join(","))
}

/// Loads the grids into `bench_grid` and times single-point and set-based lookups.
///
/// # Errors
/// Fails when the database is unreachable or has no PostGIS extension.
pub async fn measure(
    url: &str,
    grids: &GeneratedGrids,
    args: &LocateBenchArgs,
) -> anyhow::Result<PostgisFigures> {
    let mut connection = PgConnection::connect(url).await.map_err(|error| {
        anyhow::anyhow!("cannot connect to {}: {error}", crate::config::redact_url(url))
    })?;
    let version: String = sqlx::query_scalar("SELECT postgis_full_version()")
        .fetch_one(&mut connection)
        .await
        .map_err(|error| anyhow::anyhow!("PostGIS is not installed in that database: {error}"))?;
    // One core on each side: no parallel workers, whose CPU time would go uncounted.
    sqlx::query("SET max_parallel_workers_per_gather = 0").execute(&mut connection).await?;
    load_grids(&mut connection, grids).await?;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut connection).await?;

    let points = random_points(grids.extent, args.postgis_lookups, args.seed + 1);
    let cpu_before = server_cpu(pid);
    let started = Instant::now();
    for [lon, lat] in &points {
        let _grid: Option<i32> = sqlx::query_scalar(
            "SELECT grid_id FROM bench_grid \
             WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)) \
             ORDER BY grid_id LIMIT 1",
        )
        .bind(lon)
        .bind(lat)
        .fetch_optional(&mut connection)
        .await?;
    }
    let single = rate(points.len(), started, cpu_before, server_cpu(pid));

    let join_points = random_points(grids.extent, args.postgis_join_points, args.seed + 2);
    load_points(&mut connection, &join_points).await?;
    let cpu_before = server_cpu(pid);
    let started = Instant::now();
    let _matched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bench_point p JOIN bench_grid g ON ST_Contains(g.geom, p.geom)",
    )
    .fetch_one(&mut connection)
    .await?;
    let join = rate(join_points.len(), started, cpu_before, server_cpu(pid));
    Ok(PostgisFigures { version, single, join })
}

async fn load_grids(connection: &mut PgConnection, grids: &GeneratedGrids) -> anyhow::Result<()> {
    sqlx::query("DROP TABLE IF EXISTS bench_grid").execute(&mut *connection).await?;
    sqlx::query(
        "CREATE TABLE bench_grid (grid_id integer PRIMARY KEY, geom geometry(Polygon, 4326) NOT NULL)",
    )
    .execute(&mut *connection)
    .await?;
    let polygons: Vec<(i32, String)> = grids
        .areas
        .iter()
        .enumerate()
        .filter_map(|(n, area)| {
            let polygon = area.geometry.as_ref()?.0.first()?;
            Some((i32::try_from(n).ok()?, polygon_wkt(polygon)))
        })
        .collect();
    for batch in polygons.chunks(INSERT_BATCH) {
        let ids: Vec<i32> = batch.iter().map(|(id, _)| *id).collect();
        let wkt: Vec<&str> = batch.iter().map(|(_, text)| text.as_str()).collect();
        sqlx::query(
            "INSERT INTO bench_grid (grid_id, geom) \
             SELECT id, ST_GeomFromText(wkt, 4326) FROM UNNEST($1::integer[], $2::text[]) AS t(id, wkt)",
        )
        .bind(&ids)
        .bind(&wkt)
        .execute(&mut *connection)
        .await?;
    }
    sqlx::query("CREATE INDEX bench_grid_geom_idx ON bench_grid USING gist (geom)")
        .execute(&mut *connection)
        .await?;
    sqlx::query("ANALYZE bench_grid").execute(&mut *connection).await?;
    Ok(())
}

async fn load_points(connection: &mut PgConnection, points: &[[f64; 2]]) -> anyhow::Result<()> {
    sqlx::query("DROP TABLE IF EXISTS bench_point").execute(&mut *connection).await?;
    sqlx::query(
        "CREATE TABLE bench_point (point_id serial PRIMARY KEY, geom geometry(Point, 4326))",
    )
    .execute(&mut *connection)
    .await?;
    let lons: Vec<f64> = points.iter().map(|p| p[0]).collect();
    let lats: Vec<f64> = points.iter().map(|p| p[1]).collect();
    sqlx::query(
        "INSERT INTO bench_point (geom) \
         SELECT ST_SetSRID(ST_MakePoint(x, y), 4326) FROM UNNEST($1::float8[], $2::float8[]) AS t(x, y)",
    )
    .bind(&lons)
    .bind(&lats)
    .execute(&mut *connection)
    .await?;
    sqlx::query("ANALYZE bench_point").execute(&mut *connection).await?;
    Ok(())
}
