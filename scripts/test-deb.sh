#!/usr/bin/env bash
# Installs the Debian package into this system with apt-get, as an operator would, and checks it
# in a clean PostgreSQL 15 cluster:
#   bash scripts/test-deb.sh [path/to/postgresql-15-partnerstack_<version>_<arch>.deb]
# (default: build it with scripts/package.sh). Must run as root.
#
# The extension files already installed (by cargo pgrx install) are moved aside first, so that
# only the package's files can make CREATE EXTENSION work; at the end the package is removed
# (which must take its files with it) and the files that were there before are put back: the
# system is left as it was found, whatever happens.
#
# Checks: apt-get installs the package offline (its dependencies are already installed);
# CREATE EXTENSION creates the package's version in a cluster that preloads the library; a server,
# a user mapping and IMPORT FOREIGN SCHEMA read customers from the bundled mock; every released
# version the package ships is created and updated to the current one; apt-get remove removes
# every file.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

die() { echo "test-deb: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root: it installs the package into the system"

PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PGBIN=$("$PG_CONFIG" --bindir)
EXTDIR=$("$PG_CONFIG" --sharedir)/extension
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
MOCK_BIN=$REPO/target/release/partnerstack-mock
command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"

DEB=${1:-$(bash scripts/package.sh | tail -1)}
[ -f "$DEB" ] || die "no package at $DEB"
PACKAGE=$(dpkg-deb -f "$DEB" Package)
VERSION=$(dpkg-deb -f "$DEB" Version)
if dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q 'install ok installed'; then
  die "$PACKAGE is already installed on this system; remove it first (apt-get remove $PACKAGE)"
fi
[ -x "$MOCK_BIN" ] || cargo build --release -p partnerstack-mock

WORK=$(mktemp -d /tmp/partnerstack-deb.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/saved/lib" "$WORK/saved/extension"
MOCK_PID=
cleanup() {
  local rc=$?
  set +e
  [ -f "$WORK/data/postmaster.pid" ] &&
    runuser -u postgres -- "$PGBIN/pg_ctl" stop -D "$WORK/data" -m immediate -w >/dev/null 2>&1
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null
  if dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q 'install ok installed'; then
    dpkg -r "$PACKAGE" >/dev/null
  fi
  cp -a "$WORK/saved/lib/." "$PKGLIBDIR/"
  cp -a "$WORK/saved/extension/." "$EXTDIR/"
  rm -rf "$WORK"
  [ "$rc" -eq 0 ] && echo "test-deb: ok ($PACKAGE $VERSION installed, used and removed; previous files restored)"
  exit "$rc"
}
trap cleanup EXIT

shopt -s nullglob
for f in "$PKGLIBDIR"/partnerstack.so; do mv "$f" "$WORK/saved/lib/"; done
for f in "$EXTDIR"/partnerstack.control "$EXTDIR"/partnerstack--*.sql; do mv "$f" "$WORK/saved/extension/"; done
shopt -u nullglob

echo "test-deb: apt-get install $DEB"
# From a directory apt's unprivileged downloader can read.
cp "$DEB" "$WORK/"
chmod 644 "$WORK/${DEB##*/}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "$WORK/${DEB##*/}" >"$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log" >&2; die "apt-get install failed"; }
dpkg-query -W -f='${Status} ${Version}\n' "$PACKAGE" | grep -qx "install ok installed $VERSION" ||
  die "dpkg does not list $PACKAGE $VERSION as installed"
mapfile -t FILES < <(dpkg -L "$PACKAGE")

"$MOCK_BIN" --port 0 >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK_PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/mock.out" 2>/dev/null && break; sleep 0.1; done
MOCK_PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$WORK/mock.out")
[ -n "$MOCK_PORT" ] || die "the mock did not start: $(cat "$WORK/mock.err")"

chown postgres "$WORK"
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/data" -U postgres -A trust --no-sync >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/pg.log" -w -o \
  "-p $PGPORT -k $WORK -c listen_addresses='' -c shared_preload_libraries=partnerstack" start >/dev/null ||
  { cat "$WORK/pg.log" >&2; die "the server did not start with the packaged library preloaded"; }
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PGPORT" -U postgres -At "$@"; }

psql_ -d postgres <<SQL
CREATE EXTENSION partnerstack;
CREATE SERVER partnerstack_server FOREIGN DATA WRAPPER partnerstack
  OPTIONS (api_url 'http://127.0.0.1:$MOCK_PORT/api/v2');
CREATE USER MAPPING FOR CURRENT_USER SERVER partnerstack_server
  OPTIONS (public_key 'pk_test_mock', private_key 'sk_test_mock');
CREATE SCHEMA partnerstack;
IMPORT FOREIGN SCHEMA partnerstack FROM SERVER partnerstack_server INTO partnerstack;
SQL
got=$(psql_ -d postgres -c "SELECT extversion FROM pg_extension WHERE extname = 'partnerstack'")
[ "$got" = "$VERSION" ] || die "CREATE EXTENSION created version '$got', not $VERSION"
customers=$(psql_ -d postgres -c "SELECT count(*) FROM partnerstack.customers")
[ "$customers" -gt 0 ] || die "no customers read from the mock"
echo "test-deb: CREATE EXTENSION partnerstack ($got), $customers customers read from the mock"

for f in "${FILES[@]}"; do
  [[ $f =~ /partnerstack--([^-]+)\.sql$ ]] || continue
  released=${BASH_REMATCH[1]}
  [ "$released" = "$VERSION" ] && continue
  db=from_${released//./_}
  psql_ -d postgres -c "CREATE DATABASE $db"
  psql_ -d "$db" -c "CREATE EXTENSION partnerstack VERSION '$released'" -c "ALTER EXTENSION partnerstack UPDATE"
  got=$(psql_ -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'partnerstack'")
  [ "$got" = "$VERSION" ] || die "ALTER EXTENSION UPDATE from $released reached '$got', not $VERSION"
  echo "test-deb: CREATE EXTENSION partnerstack VERSION '$released'; ALTER EXTENSION partnerstack UPDATE -> $got"
done

runuser -u postgres -- "$PGBIN/pg_ctl" stop -D "$WORK/data" -m fast -w >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "$PACKAGE" >"$WORK/apt.log" 2>&1 ||
  { cat "$WORK/apt.log" >&2; die "apt-get remove failed"; }
for f in "${FILES[@]}"; do
  [ -f "$f" ] && die "apt-get remove left $f behind"
done
echo "test-deb: apt-get remove $PACKAGE removed its ${#FILES[@]} paths' files"
