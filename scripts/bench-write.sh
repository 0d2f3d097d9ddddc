#!/usr/bin/env bash
# Benchmark (not a test): INSERT of ROWS transactions through the extension with the mock
# answering every request after LATENCY_MS, against the API's documented ceiling of 4,000
# requests per minute: at max_concurrency 1 (one request at a time, the baseline) and at
# CONCURRENCY (default 8), with the client-side limiter at PER_MINUTE (default 3,000, the
# extension's default) so that the budget is used and never exceeded.
#
#   bash scripts/bench-write.sh                        # 2,000 rows, 50 ms per request
#   ROWS=500 LATENCY_MS=0 bash scripts/bench-write.sh
set -euo pipefail

ROWS=${ROWS:-2000}
LATENCY_MS=${LATENCY_MS:-50}
CONCURRENCY=${CONCURRENCY:-8}
PER_MINUTE=${PER_MINUTE:-3000}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

# shellcheck source=scripts/lib/bench-env.sh
. "$REPO/scripts/lib/bench-env.sh"
bench_build
bench_env --rate-limit 0 --latency-ms "$LATENCY_MS"

CUSTOMER=$(psql_ -At -c "SELECT key FROM partnerstack.customers LIMIT 1")
psql_ -q -c "ALTER SERVER partnerstack_server OPTIONS (SET max_requests_per_minute '$PER_MINUTE', ADD max_concurrency '1')"

for concurrency in 1 "$CONCURRENCY"; do
  psql_ -q -c "ALTER SERVER partnerstack_server OPTIONS (SET max_concurrency '$concurrency')"
  clear_requests
  out=$(psql_ -At <<SQL
\\timing on
INSERT INTO partnerstack.transactions (key, amount, currency, customer_key)
SELECT 'bench-$concurrency-' || i, 100 * i, 'USD', '$CUSTOMER' FROM generate_series(1, $ROWS) i;
SQL
)
  ms=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | head -1)
  posts=$(mock_requests_json | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"]=="POST" and r["status"]==200))')
  busiest=$(mock_busiest_minute)
  python3 - "$ROWS" "$ms" "$posts" "$LATENCY_MS" "$concurrency" "$busiest" <<'PY'
import sys
rows, ms, posts, latency, conc, busiest = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
rate = rows / (ms / 1000)
print(f"insert rows={rows} latency_ms={latency} max_concurrency={conc} seconds={ms/1000:.2f} "
      f"rows_per_second={rate:.1f} requests_per_minute={rate*60:.0f} "
      f"ratio_to_4000_per_minute={rate*60/4000:.2f} busiest_60s={busiest} posts_accepted={posts}")
PY
done
