#!/usr/bin/env bash
# Benchmark (not a test): the backend's peak memory (VmHWM) over an INSERT ... SELECT of ROWS
# transactions, for each batch_size in BATCH_SIZES (the default first), in a fresh backend each,
# with the mock answering at once. Rows are held at most batch_size at a time, so the peak must
# not grow with ROWS.
#
#   bash scripts/bench-write-memory.sh                     # 100,000 rows
#   ROWS=10000 BATCH_SIZES="1000 10" bash scripts/bench-write-memory.sh
set -euo pipefail

ROWS=${ROWS:-100000}
BATCH_SIZES=${BATCH_SIZES:-"1000 100 10000"}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

# shellcheck source=scripts/lib/bench-env.sh
. "$REPO/scripts/lib/bench-env.sh"
bench_build
bench_env --rate-limit 0 --latency-ms 0

CUSTOMER=$(psql_ -At -c "SELECT key FROM partnerstack.customers LIMIT 1")
for batch in $BATCH_SIZES; do
  psql_ -q -c "ALTER FOREIGN TABLE partnerstack.transactions OPTIONS (ADD batch_size '$batch')"
  clear_requests
  out=$(psql_ -At <<SQL
\\timing on
INSERT INTO partnerstack.transactions (key, amount, currency, customer_key)
SELECT 'mem-$batch-' || i, 100 * i, 'USD', '$CUSTOMER' FROM generate_series(1, $ROWS) i;
\\timing off
SELECT split_part(split_part(pg_read_file('/proc/self/status'), 'VmHWM:', 2), 'kB', 1)::int;
SQL
)
  ms=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | head -1)
  hwm=$(echo "$out" | tail -1 | tr -d ' ')
  posts=$(mock_requests_json | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"]=="POST" and r["status"]==200))')
  echo "insert rows=$ROWS batch_size=$batch seconds=$(python3 -c "print(f'{$ms/1000:.1f}')") posts_accepted=$posts backend_peak_rss_kb=$hwm"
  psql_ -q -c "ALTER FOREIGN TABLE partnerstack.transactions OPTIONS (DROP batch_size)"
done
