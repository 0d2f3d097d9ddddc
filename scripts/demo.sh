#!/usr/bin/env bash
# The demo: bash scripts/demo.sh          (set up, run a few queries, print how to connect)
#           bash scripts/demo.sh stop     (stop the demo server and the mock)
#
# On a fresh Debian 12 machine, as root: installs what is needed (.ci/install), builds the local
# mock of the PartnerStack API and installs the extension into the system PostgreSQL 15, starts
# (or reuses) a demo cluster in <repo>/.demo/pgdata on port 5433 (socket in <repo>/.demo, trust
# authentication), starts the mock on 127.0.0.1:8787, recreates the database partnerstack_demo
# with the documented setup, and shows query results. Never waits for input.
#
# Real account instead of the mock: set PARTNERSTACK_PUBLIC_KEY and PARTNERSTACK_PRIVATE_KEY
# (and optionally PARTNERSTACK_API_URL; default https://api.partnerstack.com/api/v2).
# PARTNERSTACK_DEMO_SKIP_BUILD=1 skips the install and build steps (already done).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO=$REPO/.demo
PGDATA_DIR=$DEMO/pgdata
PG_LOG=$DEMO/postgres.log
MOCK_PID_FILE=$DEMO/mock.pid
MOCK_LOG=$DEMO/mock.log

PG_MAJOR=15
PG_BINDIR=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BINDIR/pg_config
PG_PORT=5433
MOCK_PORT=8787
DB=partnerstack_demo
TABLES=(customers partnerships groups deals leads transactions rewards actions webhooks links)

# The mock's default key pair.
MOCK_PUBLIC_KEY=pk_test_mock
MOCK_PRIVATE_KEY=sk_test_mock

header() { printf '\n==> %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

as_postgres() { runuser -u postgres -- "$@"; }

pg_running() {
  [ -f "$PGDATA_DIR/PG_VERSION" ] && as_postgres "$PG_BINDIR/pg_ctl" status -D "$PGDATA_DIR" >/dev/null 2>&1
}

# The mock recorded in the pid file, if that process is still a partnerstack-mock.
mock_pid() {
  local pid
  [ -f "$MOCK_PID_FILE" ] || return 1
  pid=$(cat "$MOCK_PID_FILE")
  [ -n "$pid" ] && grep -q partnerstack-mock "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

stop_mock() {
  local pid
  if pid=$(mock_pid); then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    echo "stopped the mock (pid $pid)"
  fi
  rm -f "$MOCK_PID_FILE"
}

stop_all() {
  stop_mock
  if pg_running; then
    as_postgres "$PG_BINDIR/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w
  else
    echo "the demo server is not running"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

psql_demo() {
  # -X: no ~/.psqlrc; libpq variables of the caller must not redirect the session.
  env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGOPTIONS -u PGSERVICE \
    "$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -P pager=off -h "$DEMO" -p "$PG_PORT" -U postgres "$@"
}

# postgres must reach <repo>/.demo (data directory, socket): give the directories above it the
# search (x) bit for others if they lack it, e.g. a checkout under /root.
ensure_traversable() {
  local path=$1 partial=""
  local IFS=/
  local part
  for part in $path; do
    [ -n "$part" ] || continue
    partial="$partial/$part"
    if ! as_postgres test -x "$partial"; then
      chmod o+x "$partial"
      echo "demo: gave others search permission on $partial so the postgres user can reach $DEMO"
    fi
  done
}

case "${1:-start}" in
  stop)
    stop_all
    exit 0
    ;;
  start) ;;
  *) die "usage: bash scripts/demo.sh [start|stop]" ;;
esac

[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages and the extension into the system PostgreSQL"
cd "$REPO"

REAL_KEYS=0
if [ -n "${PARTNERSTACK_PUBLIC_KEY:-}" ] && [ -n "${PARTNERSTACK_PRIVATE_KEY:-}" ]; then
  REAL_KEYS=1
fi

if [ "${PARTNERSTACK_DEMO_SKIP_BUILD:-0}" != 1 ]; then
  header "Install dependencies (.ci/install)"
  bash .ci/install </dev/null
  command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"

  if [ "$REAL_KEYS" = 0 ]; then
    header "Build the mock of the PartnerStack API"
    cargo build --release -p partnerstack-mock
  fi

  header "Build and install the extension into PostgreSQL $PG_MAJOR"
  PG_CONFIG=$PG_CONFIG bash scripts/install-extension.sh
fi

header "Demo server (PostgreSQL $PG_MAJOR, port $PG_PORT, data in $PGDATA_DIR)"
mkdir -p "$DEMO"
chown postgres:postgres "$DEMO"
chmod 755 "$DEMO"
ensure_traversable "$DEMO"
if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
  rm -rf "$PGDATA_DIR"
  (cd "$DEMO" && as_postgres "$PG_BINDIR/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust \
    -E UTF8 --locale=C --no-instructions >/dev/null)
  as_postgres tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<EOF

# partnerstack demo
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DEMO'
logging_collector = off
timezone = 'UTC'
EOF
  echo "created the cluster"
fi
# The rate limit is one budget for all sessions only with the library preloaded (shared memory is
# reserved at server start), and pg_cron (postgresql-15-cron, from .ci/install) must be preloaded
# to schedule the local copy; a demo cluster made before these settings gets them here.
PRELOAD=partnerstack
CRON=0
if [ -f "$("$PG_CONFIG" --pkglibdir)/pg_cron.so" ]; then
  PRELOAD=partnerstack,pg_cron
  CRON=1
fi
if ! as_postgres grep -q "^shared_preload_libraries = '$PRELOAD'" "$PGDATA_DIR/postgresql.conf"; then
  as_postgres tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<EOF
shared_preload_libraries = '$PRELOAD'
cron.database_name = 'postgres'
cron.use_background_workers = on
EOF
  if pg_running; then
    as_postgres "$PG_BINDIR/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w >/dev/null
  fi
fi
if pg_running; then
  echo "reusing the running server"
else
  if port_in_use "$PG_PORT"; then
    die "port $PG_PORT is taken by another program; stop it or the other server first"
  fi
  if ! (cd "$DEMO" && as_postgres "$PG_BINDIR/pg_ctl" start -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 >/dev/null); then
    tail -n 20 "$PG_LOG" >&2 || true
    die "the demo server did not start (log: $PG_LOG)"
  fi
  echo "started"
fi

if [ "$REAL_KEYS" = 0 ]; then
  header "Mock of the PartnerStack API on 127.0.0.1:$MOCK_PORT"
  stop_mock
  if port_in_use "$MOCK_PORT"; then
    die "port $MOCK_PORT is taken by another program (not the demo's mock); stop it first"
  fi
  MOCK_BIN=$REPO/target/release/partnerstack-mock
  [ -n "${CARGO_TARGET_DIR:-}" ] && MOCK_BIN=$CARGO_TARGET_DIR/release/partnerstack-mock
  # setsid: the mock outlives this script and the terminal.
  # Dated up to today, so that "updated in the last 7 days" finds rows whatever the day.
  setsid "$MOCK_BIN" --port "$MOCK_PORT" --data-until today </dev/null >"$MOCK_LOG" 2>&1 &
  echo $! >"$MOCK_PID_FILE"
  for _ in $(seq 100); do
    grep -q "listening on 127.0.0.1:$MOCK_PORT" "$MOCK_LOG" 2>/dev/null && break
    mock_pid >/dev/null || { cat "$MOCK_LOG" >&2; die "the mock exited (log: $MOCK_LOG)"; }
    sleep 0.1
  done
  grep -q "listening on 127.0.0.1:$MOCK_PORT" "$MOCK_LOG" || die "the mock did not start (log: $MOCK_LOG)"
  echo "started (pid $(cat "$MOCK_PID_FILE"), log $MOCK_LOG)"
  API_URL=http://127.0.0.1:$MOCK_PORT/api/v2
  export PARTNERSTACK_DEMO_PUBLIC_KEY=$MOCK_PUBLIC_KEY PARTNERSTACK_DEMO_PRIVATE_KEY=$MOCK_PRIVATE_KEY
else
  header "Using the real PartnerStack API with the keys from the environment"
  API_URL=${PARTNERSTACK_API_URL:-}
  export PARTNERSTACK_DEMO_PUBLIC_KEY=$PARTNERSTACK_PUBLIC_KEY
  export PARTNERSTACK_DEMO_PRIVATE_KEY=$PARTNERSTACK_PRIVATE_KEY
fi

header "Database $DB"
psql_demo -d postgres -q -c "SET client_min_messages = warning" \
  -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
server_options=""
[ -n "$API_URL" ] && server_options=" OPTIONS (api_url '$API_URL')"
cat <<EOF
CREATE EXTENSION partnerstack;
CREATE SERVER partnerstack_server FOREIGN DATA WRAPPER partnerstack$server_options;
CREATE USER MAPPING FOR CURRENT_USER SERVER partnerstack_server
  OPTIONS (public_key '$PARTNERSTACK_DEMO_PUBLIC_KEY', private_key '********');
CREATE SCHEMA partnerstack;
IMPORT FOREIGN SCHEMA partnerstack FROM SERVER partnerstack_server INTO partnerstack;
EOF
# The keys travel through the environment (\getenv), never on a command line.
API_URL=$API_URL psql_demo -d "$DB" -q <<'EOF'
\getenv api_url API_URL
\getenv public_key PARTNERSTACK_DEMO_PUBLIC_KEY
\getenv private_key PARTNERSTACK_DEMO_PRIVATE_KEY
CREATE EXTENSION partnerstack;
SELECT :'api_url' <> '' AS has_api_url \gset
\if :has_api_url
CREATE SERVER partnerstack_server FOREIGN DATA WRAPPER partnerstack OPTIONS (api_url :'api_url');
\else
CREATE SERVER partnerstack_server FOREIGN DATA WRAPPER partnerstack;
\endif
CREATE USER MAPPING FOR CURRENT_USER SERVER partnerstack_server
  OPTIONS (public_key :'public_key', private_key :'private_key');
CREATE SCHEMA partnerstack;
IMPORT FOREIGN SCHEMA partnerstack FROM SERVER partnerstack_server INTO partnerstack;
EOF
unset PARTNERSTACK_DEMO_PRIVATE_KEY

# The queries below go to the API: a failure is shown and the demo goes on.
FAILURES=0
query() {
  psql_demo -d "$DB" -e || { FAILURES=$((FAILURES + 1)); echo "(the query failed; the error is above)"; }
}

header "The five most recently updated customers"
query <<'EOF'
SELECT key, email, name, partner_key, updated_at
  FROM partnerstack.customers
 ORDER BY updated_at DESC
 LIMIT 5;
EOF

header "Rows per table"
count_rows() {
  local label=$1 sql=$2 out
  if out=$(psql_demo -d "$DB" -A -t -c "$sql" 2>&1); then
    printf '  %-14s %s\n' "$label" "$out"
  else
    FAILURES=$((FAILURES + 1))
    printf '  %-14s %s\n' "$label" "$(echo "$out" | head -n 1)"
  fi
}
for table in "${TABLES[@]}"; do
  [ "$table" = links ] && continue
  count_rows "$table" "SELECT count(*) FROM partnerstack.$table"
done
# Links are read per partnership (the API has no list of all links): count one partnership's.
partnership=$(psql_demo -d "$DB" -A -t -c "SELECT key FROM partnerstack.partnerships ORDER BY key LIMIT 1" 2>/dev/null || true)
if [ -n "$partnership" ]; then
  count_rows "links" "SELECT count(*) || ' (of partnership $partnership)' FROM partnerstack.links WHERE partnership_key = '$partnership'"
fi

header "Transactions per customer (a join across two foreign tables)"
query <<'EOF'
SELECT c.key AS customer, c.email, t.currency,
       count(*) AS transactions, sum(t.amount) AS amount_cents
  FROM partnerstack.customers c
  JOIN partnerstack.transactions t ON t.customer_key = c.key
 GROUP BY c.key, c.email, t.currency
 ORDER BY amount_cents DESC
 LIMIT 5;
EOF

header "What is sent to the API for a filtered query"
query <<'EOF'
EXPLAIN SELECT * FROM partnerstack.customers WHERE updated_at > now() - interval '7 days';
EOF

header "A local copy (partnerstack_sync): first run full, the next one incremental"
query <<'EOF'
CREATE SCHEMA analytics;
SELECT * FROM partnerstack_sync('partnerstack.customers', 'analytics.ps_customers');
SELECT * FROM partnerstack_sync('partnerstack.customers', 'analytics.ps_customers');
SELECT target, mode, high_water_mark, runs, last_run_mode, last_requests FROM partnerstack_sync_state;
EOF
if [ "$CRON" = 1 ]; then
  header "pg_cron refreshes the copy every 5 minutes"
  psql_demo -d postgres -e -v db="$DB" <<'EOF' || { FAILURES=$((FAILURES + 1)); echo "(pg_cron setup failed; the error is above)"; }
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'partnerstack-demo-customers';
SELECT cron.schedule_in_database('partnerstack-demo-customers', '*/5 * * * *',
  $$SELECT partnerstack_sync('partnerstack.customers', 'analytics.ps_customers')$$, :'db');
EOF
  echo "What ran: psql -h $DEMO -p $PG_PORT -U postgres postgres -c 'SELECT * FROM cron.job_run_details ORDER BY start_time DESC LIMIT 5'"
else
  echo "(pg_cron is not installed: apt-get install postgresql-$PG_MAJOR-cron, then run the demo again to schedule the copy)"
fi

header "Ready"
echo "Open a session on the demo database:"
echo "  psql -h $DEMO -p $PG_PORT -U postgres $DB"
echo "Stop the demo server and the mock: bash scripts/demo.sh stop"
if [ "$FAILURES" -gt 0 ]; then
  echo "demo: $FAILURES of the queries above failed" >&2
  exit 1
fi
