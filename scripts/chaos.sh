#!/usr/bin/env bash
# Chaos suite (not part of the test command, which runs the same test with 40 scans): CHAOS_SCANS
# full scans of 2,000 transactions while the mock injects random 5xx, 429 storms, HTML pages,
# invalid JSON, truncated bodies, connection resets, lying pages, slow and hung answers and
# oversized bodies. Prints the totals; fails if any scan reported success with a row missing or
# repeated. Needs the extension installed and the mock built (bash scripts/test.sh does both).
#
#   bash scripts/chaos.sh                 # 300 scans
#   CHAOS_SCANS=1000 bash scripts/chaos.sh
#   CHAOS_PAGE_SIZE=50 bash scripts/chaos.sh   # 40 pages a scan, read in created_at windows
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CHAOS_SCANS=${CHAOS_SCANS:-300}
cargo test -q --release -p partnerstack-e2e --test chaos -- --nocapture 2>&1 | grep -E '^chaos:|test result|panicked'
