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
cd "$REPO"

bash .ci/install >/dev/null
cargo build --release -q -p partnerstack-mock
cargo build --release -q -p partnerstack-api --example ceiling
cargo pgrx install --release --pg-config /usr/lib/postgresql/15/bin/pg_config >/dev/null 2>&1

# shellcheck source=scripts/lib/bench-env.sh
. "$REPO/scripts/lib/bench-env.sh"
# No mock rate limit either: 100,000 rows are 400 requests, a million 4,000.
bench_env --rate-limit 0 --size "transactions=$ROWS"
mock_requests() { mock_requests_json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

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

# Every row read and counted: the subquery keeps count(*) from being read from the API's total.
measure "count(*)" "SELECT count(*) FROM (SELECT FROM partnerstack.transactions OFFSET 0) AS every_row;"
measure "typed-columns" "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) SELECT key, amount, amount_usd, approved, category_key, product_key, currency, customer_key, customer, extension, metadata, test, created_at, updated_at FROM partnerstack.transactions;"
measure "select-star" "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) SELECT * FROM partnerstack.transactions;"
