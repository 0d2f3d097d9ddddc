#!/usr/bin/env bash
# Benchmark (not a test): a full scan of ROWS mock transactions through the extension, against
# the ceiling of the simplest possible client reading the same pages (GET loop + JSON parsing).
#
#   bash scripts/bench-scan.sh                 # 100,000 rows
#   ROWS=1000000 bash scripts/bench-scan.sh    # the memory check: peak RSS must not grow with ROWS
#
# Prints one line per measurement; the README records the figures.
set -euo pipefail

ROWS=${ROWS:-100000}
RUNS=${RUNS:-3}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin
cd "$REPO"

bash .ci/install >/dev/null
cargo build --release -q -p partnerstack-mock
cargo build --release -q -p partnerstack-api --example ceiling
cargo pgrx install --release --pg-config "$PGBIN/pg_config" >/dev/null 2>&1

WORK=$(mktemp -d /tmp/partnerstack-bench.XXXXXX)
chmod 755 "$WORK"
chown postgres "$WORK"
MOCK_PID=
cleanup() {
  if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; fi
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The mock, with no rate limit: 100,000 rows are 400 requests, a million 4,000 (the default limit).
"$REPO/target/release/partnerstack-mock" --port 0 --rate-limit 0 --size "transactions=$ROWS" \
  >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK_PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/mock.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$WORK/mock.out")
API="http://127.0.0.1:$PORT/api/v2"

PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/data" -A trust >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/pg.log" -w \
  -o "-p $PGPORT -k $WORK -c listen_addresses=''" start >/dev/null
psql_() { psql -X -h "$WORK" -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
psql_ -q <<SQL
CREATE EXTENSION partnerstack;
-- No client-side rate limit: this measures the extension, not PartnerStack's 4,000 requests/minute.
CREATE SERVER partnerstack_server FOREIGN DATA WRAPPER partnerstack
  OPTIONS (api_url '$API', max_requests_per_minute '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER partnerstack_server
  OPTIONS (public_key 'pk_test_mock', private_key 'sk_test_mock');
CREATE SCHEMA partnerstack;
IMPORT FOREIGN SCHEMA partnerstack FROM SERVER partnerstack_server INTO partnerstack;
SQL

mock_requests() { curl -s "http://127.0.0.1:$PORT/__mock/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
clear_requests() { curl -s -X DELETE "http://127.0.0.1:$PORT/__mock/requests" >/dev/null; }

echo "rows=$ROWS runs=$RUNS cpus=$(nproc) postgres=$("$PGBIN/postgres" --version | awk '{print $3}')"

best_ceiling=0
for run in $(seq "$RUNS"); do
  line=$("$REPO/target/release/examples/ceiling" "$API" /transactions pk_test_mock sk_test_mock)
  echo "ceiling run=$run $line"
  rate=${line##*items_per_second=}
  [ "$rate" -gt "$best_ceiling" ] && best_ceiling=$rate
done

# One fresh backend per run, so its peak RSS (VmHWM) belongs to that scan alone.
measure() {
  local label=$1 sql=$2
  for run in $(seq "$RUNS"); do
    clear_requests
    out=$(psql_ -At <<SQL
\\timing on
$sql
SELECT split_part(split_part(pg_read_file('/proc/self/status'), 'VmHWM:', 2), 'kB', 1)::int;
SQL
)
    ms=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | head -1)
    hwm=$(echo "$out" | grep -E '^ *[0-9]+$' | tail -1 | tr -d ' ')
    requests=$(mock_requests)
    rate=$(python3 -c "print(round($ROWS / ($ms / 1000)))")
    ratio=$(python3 -c "print(round($rate / $best_ceiling, 2))")
    echo "fdw $label run=$run seconds=$(python3 -c "print(round($ms/1000,3))") rows_per_second=$rate ratio_to_best_ceiling=$ratio requests=$requests backend_peak_rss_kb=$hwm"
  done
}

measure "count(*)" "SELECT count(*) FROM partnerstack.transactions;"
measure "typed-columns" "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) SELECT key, amount, amount_usd, approved, category_key, product_key, currency, customer_key, customer, extension, metadata, test, created_at, updated_at FROM partnerstack.transactions;"
measure "select-star" "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) SELECT * FROM partnerstack.transactions;"
