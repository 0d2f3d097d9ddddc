#!/usr/bin/env bash
# Builds the Debian package of the extension for PostgreSQL 15:
#   bash scripts/package.sh        # -> target/debian/postgresql-15-partnerstack_<version>_<arch>.deb
# The files are what `cargo pgrx package` writes (library, control file, generated SQL, upgrade
# scripts), plus the install scripts of released versions (scripts/lib/released-sql.sh); the
# version comes from Cargo.toml, the architecture from dpkg, the library dependencies from
# dpkg-shlibdeps. The package is named as Debian and PGDG name extensions
# (postgresql-<major>-<name>), so builds for other majors can sit side by side.
# Prints the path of the .deb on its last line. Needs the build tools (.ci/install), not root.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
# shellcheck source=lib/released-sql.sh
. "$REPO/scripts/lib/released-sql.sh"

PG_MAJOR=15
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
PACKAGE=postgresql-$PG_MAJOR-partnerstack
MAINTAINER=${DEB_MAINTAINER:-partnerstack FDW maintainers <maintainers@partnerstack-fdw.invalid>}
command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"

# The extension crate's version: the first `version =` of its [package] table.
VERSION=$(sed -n '/^\[package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$VERSION" ] || { echo "package: no version in Cargo.toml's [package]" >&2; exit 1; }
ARCH=$(dpkg --print-architecture)

TREE=$REPO/target/release/partnerstack-pg$PG_MAJOR
# A tree left by an earlier build could hold files of another version.
rm -rf "$TREE"
cargo pgrx package --pg-config "$PG_CONFIG" >&2
EXTDIR=$("$PG_CONFIG" --sharedir)/extension
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)

OUT=$REPO/target/debian
STAGE=$OUT/${PACKAGE}_${VERSION}_$ARCH
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN"
cp -a "$TREE/usr" "$STAGE/"
install_released_sql "$REPO" "$STAGE$EXTDIR"
# Debug information is most of the library's size and no use to a server.
strip --strip-unneeded "$STAGE$PKGLIBDIR/partnerstack.so"
chmod 644 "$STAGE$PKGLIBDIR/partnerstack.so"
install -D -m 644 README.md "$STAGE/usr/share/doc/$PACKAGE/README.md"

# dpkg-shlibdeps reads the package name from a debian/control; give it one of its own.
SHLIBS=$(mkdir -p "$OUT/shlibs/debian" && cd "$OUT/shlibs" &&
  printf 'Source: partnerstack\n\nPackage: %s\nArchitecture: any\n' "$PACKAGE" >debian/control &&
  dpkg-shlibdeps -O "$STAGE$PKGLIBDIR/partnerstack.so" | sed -n 's/^shlibs:Depends=//p')

cat >"$STAGE/DEBIAN/control" <<CONTROL
Package: $PACKAGE
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Section: database
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
Depends: postgresql-$PG_MAJOR, ${SHLIBS}
Description: PostgreSQL $PG_MAJOR foreign data wrapper for the PartnerStack API
 partnerstack exposes PartnerStack's customers, partnerships, groups, deals,
 leads, transactions, rewards, actions, webhooks and links as foreign tables:
 SELECT them live with filters pushed to the API, and INSERT, UPDATE and
 DELETE write back. After installing, run CREATE EXTENSION partnerstack (or
 ALTER EXTENSION partnerstack UPDATE to upgrade) in each database.
CONTROL

DEB=$OUT/${PACKAGE}_${VERSION}_$ARCH.deb
dpkg-deb --root-owner-group --build "$STAGE" "$DEB" >&2
echo "$DEB"
