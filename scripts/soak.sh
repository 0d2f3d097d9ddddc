#!/usr/bin/env bash
# Concurrency soak (not part of the test command, which runs the same test for 5 s): 8 connections
# under two roles with different keys read and write for SOAK_SECONDS (default 60) against the mock.
# Prints the totals; fails on any error or any request carrying the other role's key. Needs the
# extension installed and the mock built (bash scripts/test.sh does both).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export SOAK_SECONDS=${SOAK_SECONDS:-60}
cargo test -q --release -p partnerstack-e2e --test concurrency -- --nocapture 2>&1 | grep -E '^soak:|test result|panicked'
