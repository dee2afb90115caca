#!/usr/bin/env bash
# Compare citycore's in-memory point-to-grid lookup with PostGIS on this machine.
#
# Installs Debian's PostGIS package for the running PostgreSQL major version when
# missing, creates the citycore_bench database with the extension on 127.0.0.1:5432
# (user postgres, trust authentication), builds the release binary and runs
# `citycore bench locate --postgis`. Extra arguments go to the benchmark, such as
# `--grids 60000 --lookups 5000000`.
set -euo pipefail

PGHOST=127.0.0.1
PGPORT=5432
PGUSER=postgres
DATABASE=citycore_bench
BENCH_URL="postgres://${PGUSER}@${PGHOST}:${PGPORT}/${DATABASE}"
export PGHOST PGPORT PGUSER

cd "$(dirname "$0")/.."

major=$(psql -d postgres -Atc "SHOW server_version_num" | cut -c1-2)
package="postgresql-${major}-postgis-3"
if ! psql -d postgres -Atc "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'" | grep -q 1; then
    if ! apt-cache show "$package" >/dev/null 2>&1; then
        echo "no Debian package $package for PostgreSQL $major; install PostGIS by hand" >&2
        exit 1
    fi
    echo "installing $package"
    apt-get install -y "$package"
fi

if ! psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '${DATABASE}'" | grep -q 1; then
    psql -d postgres -c "CREATE DATABASE ${DATABASE}"
fi
psql -d "$DATABASE" -c "CREATE EXTENSION IF NOT EXISTS postgis"

cargo build --release
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "command: target/release/citycore bench locate --postgis ${BENCH_URL} $*"
target/release/citycore bench locate --postgis "$BENCH_URL" "$@"
