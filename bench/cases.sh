#!/usr/bin/env bash
# Case benchmarks on SQLite and PostgreSQL, for BENCHMARKS.md:
#   1. intake: cases/s through POST /api/v1/cases with full bookkeeping;
#   2. import: a year of generated cases through the bulk import path;
#   3. the KPI dashboard queries over the imported cases (printed by the import run).
#
# Usage: bench/cases.sh [INTAKE_CASES] [IMPORT_CASES]
#   defaults 200000 and 11000000 (one year of Beijing 12345). SQLite files go to a
#   new folder under /tmp, removed afterwards. PostgreSQL runs on 127.0.0.1:5432 (user
#   postgres, trust authentication) in fresh databases that are dropped afterwards.
#   Run it on a quiet machine: the full import takes tens of minutes and about
#   15 GB of disk on each backend.
set -euo pipefail

INTAKE_CASES=${1:-200000}
IMPORT_CASES=${2:-11000000}
CLIENTS=${CLIENTS:-8}
export PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres
# One log line per case would cost the intake run more than the work it measures.
export RUST_LOG=${RUST_LOG:-warn}

cd "$(dirname "$0")/.."
cargo build --release
BIN=target/release/citycore

fresh_pg() {
    psql -d postgres -qc "DROP DATABASE IF EXISTS $1" && psql -d postgres -qc "CREATE DATABASE $1"
    echo "postgres://postgres@127.0.0.1:5432/$1"
}

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), $(nproc) cores"
echo "== SQLite"
$BIN bench intake --cases "$INTAKE_CASES" --clients "$CLIENTS"
$BIN bench import --cases "$IMPORT_CASES"
echo "== PostgreSQL"
url=$(fresh_pg citycore_bench_intake)
$BIN --database-url "$url" bench intake --cases "$INTAKE_CASES" --clients "$CLIENTS"
psql -d postgres -qc "DROP DATABASE citycore_bench_intake"
url=$(fresh_pg citycore_bench_import)
$BIN --database-url "$url" bench import --cases "$IMPORT_CASES"
psql -d postgres -qc "DROP DATABASE citycore_bench_import"
