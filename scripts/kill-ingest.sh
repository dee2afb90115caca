#!/usr/bin/env bash
# Kill-during-ingest durability check: starts `citycore serve`, posts reading batches
# from two clients, kills the server with SIGKILL at a random moment, restarts it and
# checks that every acknowledged reading is stored. Prints one line of counts per round.
#
# Usage: scripts/kill-ingest.sh [ROUNDS] [sqlite|postgres] [direct|queued]
#   ROUNDS    kill-and-restart rounds (default 20)
#   postgres  uses a new database on CITYCORE_TEST_DATABASE_URL
#             (default postgres://postgres@127.0.0.1:5432/postgres)
#   queued    sends `Prefer: respond-async`: a batch is acknowledged once it is in the
#             reading queue, and the check waits until the restarted server wrote it
set -euo pipefail

rounds="${1:-20}"
backend="${2:-sqlite}"
mode="${3:-direct}"
case "$mode" in
  direct) queued=0 ;;
  queued) queued=1 ;;
  *) echo "unknown mode: $mode; use direct or queued" >&2; exit 2 ;;
esac
case "$backend" in
  sqlite | postgres) ;;
  *) echo "unknown backend: $backend; use sqlite or postgres" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
KILL_INGEST_ROUNDS="$rounds" KILL_INGEST_QUEUED="$queued" CITYCORE_TEST_BACKEND="$backend" \
  cargo test --test cli kill_during_ingest_many_rounds -- --ignored --nocapture
