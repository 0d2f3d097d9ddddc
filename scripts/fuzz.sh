#!/usr/bin/env bash
# Property-based fuzzing of the pure translations (JSON item -> row, conditions -> requests) for a
# fixed budget: PROPTEST_CASES cases per property (default 20000). Not part of the test command;
# `cargo test -p partnerstack-api --test properties` runs the same properties with 256 cases.
#
#   bash scripts/fuzz.sh                    # 20,000 cases per property
#   PROPTEST_CASES=200000 bash scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PROPTEST_CASES=${PROPTEST_CASES:-20000}
start=$SECONDS
cargo test --release -p partnerstack-api --test properties -- --test-threads=2
echo "fuzz: $PROPTEST_CASES cases per property, $((SECONDS - start)) s, no panic and no property violated"
