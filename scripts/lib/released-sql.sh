# shellcheck shell=bash
# The install scripts of released versions kept in sql/ (sql/partnerstack--<version>.sql).
# `cargo pgrx install` and `cargo pgrx package` generate the current version's script and copy the
# upgrade scripts (sql/partnerstack--<from>--<to>.sql) but not these: install_released_sql puts
# them next to the others, so that `CREATE EXTENSION partnerstack VERSION '<released>'` works (the
# upgrade test creates the extension at 0.1.0 this way).

# install_released_sql REPO EXTENSION_DIR
install_released_sql() {
  local repo=$1 dest=$2 script name
  for script in "$repo"/sql/partnerstack--*.sql; do
    name=${script##*/}
    # One `--`: an install script; two are an upgrade script, which pgrx ships itself.
    [[ $name =~ ^partnerstack--[^-]+\.sql$ ]] || continue
    install -m 644 "$script" "$dest/$name"
  done
}
