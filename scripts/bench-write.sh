#!/usr/bin/env bash
# Benchmark (not a test): INSERT of ROWS transactions through the extension with the mock
# answering every request after LATENCY_MS, against the API's documented ceiling of 4,000
# requests per minute.
#
#   bash scripts/bench-write.sh                        # 2,000 rows, 50 ms per request
#   ROWS=500 LATENCY_MS=0 bash scripts/bench-write.sh
set -euo pipefail

ROWS=${ROWS:-2000}
LATENCY_MS=${LATENCY_MS:-50}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin
cd "$REPO"

bash .ci/install >/dev/null
cargo build --release -q -p partnerstack-mock
cargo pgrx install --release --pg-config "$PGBIN/pg_config" >/dev/null 2>&1

WORK=$(mktemp -d /tmp/partnerstack-bench-write.XXXXXX)
chmod 755 "$WORK"
chown postgres "$WORK"
MOCK_PID=
cleanup() {
  if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; fi
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$REPO/target/release/partnerstack-mock" --port 0 --rate-limit 0 --latency-ms "$LATENCY_MS" \
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
CREATE SERVER partnerstack_server FOREIGN DATA WRAPPER partnerstack OPTIONS (api_url '$API');
CREATE USER MAPPING FOR CURRENT_USER SERVER partnerstack_server
  OPTIONS (public_key 'pk_test_mock', private_key 'sk_test_mock');
CREATE SCHEMA partnerstack;
IMPORT FOREIGN SCHEMA partnerstack LIMIT TO (customers, transactions) FROM SERVER partnerstack_server INTO partnerstack;
SQL
CUSTOMER=$(psql_ -At -c "SELECT key FROM partnerstack.customers LIMIT 1")
curl -s -X DELETE "http://127.0.0.1:$PORT/__mock/requests" >/dev/null

out=$(psql_ -At <<SQL
\\timing on
INSERT INTO partnerstack.transactions (key, amount, currency, customer_key)
SELECT 'bench-' || i, 100 * i, 'USD', '$CUSTOMER' FROM generate_series(1, $ROWS) i;
SQL
)
ms=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | head -1)
posts=$(curl -s "http://127.0.0.1:$PORT/__mock/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"]=="POST" and r["status"]==200))')
python3 - "$ROWS" "$ms" "$posts" "$LATENCY_MS" <<'PY'
import sys
rows, ms, posts, latency = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rate = rows / (ms / 1000)
print(f"insert rows={rows} latency_ms={latency} seconds={ms/1000:.2f} rows_per_second={rate:.1f} "
      f"requests_per_minute={rate*60:.0f} ratio_to_4000_per_minute={rate*60/4000:.2f} posts_accepted={posts}")
PY
