#!/usr/bin/env bash
# Benchmark (not a test): a full scan of ROWS mock transactions through the extension, against
# the ceiling of the simplest possible client reading the same pages (GET loop + JSON parsing,
# one request at a time), each query at max_concurrency 1 (the same one-at-a-time reading) and
# at CONCURRENCY (default 8, the option's default).
#
#   bash scripts/bench-scan.sh                   # 100,000 rows, mock answering at once
#   LATENCY_MS=200 RUNS=1 bash scripts/bench-scan.sh   # each mock answer 200 ms late: the network
#   ROWS=1000000 bash scripts/bench-scan.sh      # the memory check: peak RSS must not grow with ROWS
#   QUERIES="select-star" ...                    # only some of: count typed select-star lookups
#
# Prints one line per measurement; the README records the figures.
set -euo pipefail

ROWS=${ROWS:-100000}
RUNS=${RUNS:-3}
LATENCY_MS=${LATENCY_MS:-0}
CONCURRENCY=${CONCURRENCY:-8}
# The client-side limiter: 0 = off (measures the extension); 3000 is its default.
PER_MINUTE=${PER_MINUTE:-0}
QUERIES=${QUERIES:-count typed select-star lookups}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

# shellcheck source=scripts/lib/bench-env.sh
. "$REPO/scripts/lib/bench-env.sh"
bench_build
cargo build --release -q -p partnerstack-api --example ceiling
# No mock rate limit either: 100,000 rows are 400 requests, a million 4,000.
bench_env --rate-limit 0 --latency-ms "$LATENCY_MS" --size "transactions=$ROWS"
mock_requests() { mock_requests_json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

echo "rows=$ROWS runs=$RUNS latency_ms=$LATENCY_MS max_requests_per_minute=$PER_MINUTE cpus=$(nproc) postgres=$("$PGBIN/postgres" --version | awk '{print $3}')"

best_ceiling=0
for run in $(seq "$RUNS"); do
  line=$("$REPO/target/release/examples/ceiling" "$API" /transactions pk_test_mock sk_test_mock)
  echo "ceiling run=$run $line"
  rate=${line##*items_per_second=}
  [ "$rate" -gt "$best_ceiling" ] && best_ceiling=$rate
done

# One fresh backend per run, so its peak RSS (VmHWM) belongs to that scan alone. Sets BEST to
# the best run's seconds.
measure() {
  local label=$1 concurrency=$2 rows=$3 sql=$4
  psql_ -q -c "ALTER SERVER partnerstack_server OPTIONS (SET max_concurrency '$concurrency')"
  BEST=
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
    seconds=$(python3 -c "print(round($ms/1000,3))")
    rate=$(python3 -c "print(round($rows / ($ms / 1000)))")
    ratio=$(python3 -c "print(round($rate / $best_ceiling, 2))")
    echo "fdw $label max_concurrency=$concurrency run=$run seconds=$seconds rows_per_second=$rate ratio_to_best_ceiling=$ratio requests=$requests busiest_60s=$(mock_busiest_minute) backend_peak_rss_kb=$hwm"
    if [ -z "$BEST" ] || python3 -c "import sys; sys.exit(0 if $seconds < $BEST else 1)"; then BEST=$seconds; fi
  done
}

# Sequential (max_concurrency 1) then concurrent, and the speed-up of the best runs.
compare() {
  local label=$1 rows=$2 sql=$3 sequential
  measure "$label" 1 "$rows" "$sql"
  sequential=$BEST
  measure "$label" "$CONCURRENCY" "$rows" "$sql"
  echo "speedup $label max_concurrency=$CONCURRENCY/1 = $(python3 -c "print(round($sequential / $BEST, 2))")"
}

psql_ -q -c "ALTER SERVER partnerstack_server OPTIONS (ADD max_concurrency '1', SET max_requests_per_minute '$PER_MINUTE')"
for query in $QUERIES; do
  case $query in
    # Every row read and counted: the subquery keeps count(*) from being read from the API's total.
    count) compare count "$ROWS" "SELECT count(*) FROM (SELECT FROM partnerstack.transactions OFFSET 0) AS every_row;" ;;
    typed) compare typed-columns "$ROWS" "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) SELECT key, amount, amount_usd, approved, category_key, product_key, currency, customer_key, customer, extension, metadata, test, created_at, updated_at FROM partnerstack.transactions;" ;;
    select-star) compare select-star "$ROWS" "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) SELECT * FROM partnerstack.transactions;" ;;
    lookups)
      # 40 customers by customer_key: one GET each.
      keys=$(psql_ -At -c "SELECT string_agg(quote_literal(customer_key), ', ') FROM (SELECT customer_key FROM partnerstack.customers WHERE customer_key IS NOT NULL LIMIT 40) c")
      compare lookups-40 40 "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) SELECT * FROM partnerstack.customers WHERE customer_key IN ($keys);" ;;
    *) echo "unknown query $query" >&2; exit 2 ;;
  esac
done
