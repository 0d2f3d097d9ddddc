# shellcheck shell=bash
# Shared by the benchmark scripts: a throw-away PostgreSQL 15 cluster and mock, set up with the
# documented SQL interface. Source it, then call `bench_env MOCK_ARGS...`; it sets WORK, PORT,
# API, PGPORT and psql_, and removes everything on exit.

PGBIN=/usr/lib/postgresql/15/bin

# What every benchmark needs first: the packages, the mock, the extension built and installed.
bench_build() {
  bash "$REPO/.ci/install" >/dev/null
  cargo build --release -q -p partnerstack-mock
  cargo pgrx install --release --pg-config "$PGBIN/pg_config" >/dev/null 2>&1
}

bench_env() {
  WORK=$(mktemp -d /tmp/partnerstack-bench.XXXXXX)
  chmod 755 "$WORK"
  chown postgres "$WORK"
  MOCK_PID=
  trap bench_cleanup EXIT

  "$REPO/target/release/partnerstack-mock" --port 0 "$@" >"$WORK/mock.out" 2>"$WORK/mock.err" &
  MOCK_PID=$!
  for _ in $(seq 100); do grep -q listening "$WORK/mock.out" 2>/dev/null && break; sleep 0.1; done
  PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$WORK/mock.out")
  API="http://127.0.0.1:$PORT/api/v2"

  PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/data" -A trust >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/pg.log" -w \
    -o "-p $PGPORT -k $WORK -c listen_addresses='' -c shared_preload_libraries=partnerstack" start >/dev/null
  psql_ -q <<SQL
CREATE EXTENSION partnerstack;
-- No client-side rate limit: a benchmark measures the extension, not PartnerStack's 4,000/minute.
CREATE SERVER partnerstack_server FOREIGN DATA WRAPPER partnerstack
  OPTIONS (api_url '$API', max_requests_per_minute '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER partnerstack_server
  OPTIONS (public_key 'pk_test_mock', private_key 'sk_test_mock');
CREATE SCHEMA partnerstack;
IMPORT FOREIGN SCHEMA partnerstack FROM SERVER partnerstack_server INTO partnerstack;
SQL
}

psql_() { psql -X -h "$WORK" -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

bench_cleanup() {
  if [ -n "${MOCK_PID:-}" ]; then kill "$MOCK_PID" 2>/dev/null || true; fi
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}

mock_requests_json() { curl -s "http://127.0.0.1:$PORT/__mock/requests"; }
clear_requests() { curl -s -X DELETE "http://127.0.0.1:$PORT/__mock/requests" >/dev/null; }

# Most requests the mock logged in any rolling 60 seconds.
mock_busiest_minute() {
  mock_requests_json | python3 -c '
import json, sys
ts = sorted(r["ts_ms"] for r in json.load(sys.stdin))
j, best = 0, 0
for i, t in enumerate(ts):
    while ts[j] <= t - 60000:
        j += 1
    best = max(best, i - j + 1)
print(best)'
}
