#!/usr/bin/env bash
# The project's test command: bash scripts/test.sh
#
# Runs every gate in order and stops at the first failure:
#   install (.ci/install), format, clippy, unit tests (core + mock), the pgrx in-database tests,
#   the release build of the mock, the Debian package (scripts/test-deb.sh), the extension install,
#   and the end-to-end tests against a real PostgreSQL 15 server. Ends with the line
#   `N passed, N failed` summing every `test result:` line of every cargo test run, and exits
#   non-zero on any failure.
#
# Must run as root (it installs packages and the extension into the system PostgreSQL; the test
# servers themselves run as the `postgres` OS user).
#
# Environment:
#   PARTNERSTACK_SKIP_INSTALL=1   skip .ci/install (already done on this machine)
#   PARTNERSTACK_TEST_LOG=path    where the full output is kept (default: target/test-logs/)
#   E2E_TEST_THREADS=n            parallel end-to-end tests (default 2)
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1

PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
PG_BINDIR=/usr/lib/postgresql/$PG_MAJOR/bin
# pgrx's test cluster lives in <this dir>/15 and its unix socket in this dir: it must be writable
# by the postgres OS user and short (unix socket paths are limited to ~100 bytes).
PGRX_TEST_PGDATA=/tmp/partnerstack-pgrx-test
E2E_TEST_THREADS=${E2E_TEST_THREADS:-2}

LOG_DIR=$REPO/target/test-logs
mkdir -p "$LOG_DIR"
LOG=${PARTNERSTACK_TEST_LOG:-$LOG_DIR/test-$(date +%Y%m%d-%H%M%S).log}
: >"$LOG"

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"

PASSED=0
FAILED=0
IGNORED=0
TIMINGS=()
RUN_START=$SECONDS

# Adds up the `test result:` lines of a step's output.
count_results() {
  local file=$1 line p f i
  STEP_FAILED_TESTS=0
  while IFS= read -r line; do
    if [[ $line =~ test\ result:\ [A-Za-z]+\.\ ([0-9]+)\ passed\;\ ([0-9]+)\ failed\;\ ([0-9]+)\ ignored ]]; then
      p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} i=${BASH_REMATCH[3]}
      PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) IGNORED=$((IGNORED + i))
      STEP_FAILED_TESTS=$((STEP_FAILED_TESTS + f))
    fi
  done <"$file"
}

summary() {
  echo
  echo "==> Summary ($((SECONDS - RUN_START)) s; full log: $LOG)"
  local t
  for t in "${TIMINGS[@]}"; do echo "    $t"; done
  if [ "$IGNORED" -gt 0 ]; then
    echo "$PASSED passed, $FAILED failed, $IGNORED skipped"
  else
    echo "$PASSED passed, $FAILED failed"
  fi
}

# step "title" command...: runs the command with a header, its output shown and logged.
step() {
  local title=$1
  shift
  local out start rc
  out=$(mktemp)
  start=$SECONDS
  printf '\n==> %s\n    $ %s\n' "$title" "$*" | tee -a "$LOG"
  "$@" </dev/null 2>&1 | tee "$out" | tee -a "$LOG"
  rc=${PIPESTATUS[0]}
  count_results "$out"
  rm -f "$out"
  TIMINGS+=("$(printf '%-40s %5d s  %s' "$title" $((SECONDS - start)) "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")")")
  if [ "$rc" -ne 0 ]; then
    # A step that fails without a failing test (a build, lint or setup error) still counts.
    [ "$STEP_FAILED_TESTS" -gt 0 ] || FAILED=$((FAILED + 1))
    echo "==> FAILED: $title (exit $rc)" | tee -a "$LOG"
    summary
    exit 1
  fi
}

# pgrx's test framework runs `initdb` into $PGRX_TEST_PGDATA/15 every time it is asked to run as
# another user, so the directory must start empty; a server left by an interrupted run would hold
# the port.
prepare_pgrx_pgdata() {
  local data=$PGRX_TEST_PGDATA/$PG_MAJOR
  if [ -f "$data/postmaster.pid" ]; then
    runuser -u postgres -- "$PG_BINDIR/pg_ctl" stop -D "$data" -m immediate -w >/dev/null 2>&1 || true
  fi
  rm -rf "$PGRX_TEST_PGDATA"
  mkdir -p "$PGRX_TEST_PGDATA"
  chown postgres:postgres "$PGRX_TEST_PGDATA"
  chmod 700 "$PGRX_TEST_PGDATA"
}

pgrx_tests() {
  prepare_pgrx_pgdata
  # --runas sets CARGO_PGRX_TEST_RUNAS: the framework runs initdb and pg_ctl with
  # `sudo -u postgres` and installs its test build of the extension with sudo (as root);
  # --pgdata sets CARGO_PGRX_TEST_PGDATA.
  cargo pgrx test "pg$PG_MAJOR" -p partnerstack --runas postgres --pgdata "$PGRX_TEST_PGDATA"
  local rc=$?
  # The framework stops its server at exit; make sure, so the next run starts clean.
  if [ -f "$PGRX_TEST_PGDATA/$PG_MAJOR/postmaster.pid" ]; then
    runuser -u postgres -- "$PG_BINDIR/pg_ctl" stop -D "$PGRX_TEST_PGDATA/$PG_MAJOR" -m fast -w >/dev/null 2>&1 || true
  fi
  return $rc
}

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh must run as root (it installs packages and the extension)." >&2
  exit 1
fi

if [ "${PARTNERSTACK_SKIP_INSTALL:-0}" != 1 ]; then
  step "Install build and test dependencies" bash .ci/install
fi
step "Format (cargo fmt --check)" cargo fmt --all --check
step "Lint (cargo clippy)" cargo clippy --workspace --all-targets -- -D warnings
step "Unit tests: core and mock" cargo test -p partnerstack-api -p partnerstack-mock
# Before the release install: the pgrx test framework installs its own (debug, pg_test) build of
# the extension into the same system directories.
step "In-database tests (cargo pgrx test pg$PG_MAJOR)" pgrx_tests
step "Build the mock (release)" cargo build --release -p partnerstack-mock
# The .deb is installed with apt-get, used in a clean cluster and removed again, with the files
# present before put back; the release install right after it is what the end-to-end tests use.
step "Debian package (build, apt-get install, use, remove)" bash scripts/test-deb.sh
step "Install the extension (release)" bash scripts/install-extension.sh
step "End-to-end tests (PostgreSQL $PG_MAJOR + mock)" \
  cargo test -p partnerstack-e2e --release -- --test-threads="$E2E_TEST_THREADS"

summary
if [ "$FAILED" -ne 0 ]; then
  exit 1
fi
