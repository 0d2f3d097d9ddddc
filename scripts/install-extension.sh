#!/usr/bin/env bash
# Installs the extension into the system PostgreSQL 15 from this checkout:
#   bash scripts/install-extension.sh            # cargo pgrx install --release, plus released SQL
#   bash scripts/install-extension.sh --debug    # the same with a debug build
# `cargo pgrx install` writes the library, the control file, the current version's SQL and the
# upgrade scripts; this adds the install scripts of released versions (scripts/lib/released-sql.sh).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
# shellcheck source=lib/released-sql.sh
. "$REPO/scripts/lib/released-sql.sh"

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PROFILE=--release
[ "${1:-}" = --debug ] && PROFILE=
command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"

cargo pgrx install $PROFILE --pg-config "$PG_CONFIG"
install_released_sql "$REPO" "$("$PG_CONFIG" --sharedir)/extension"
