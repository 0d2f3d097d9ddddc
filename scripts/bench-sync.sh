#!/usr/bin/env bash
# Benchmark (not a test): partnerstack_sync against the mock.
#   - first sync of ROWS customers and of ROWS transactions: seconds, rows/s, requests, beside a
#     plain `SELECT *` scan of the same table (the reading alone) and a `CREATE TABLE AS` of it
#     (reading and writing, with no key and no state);
#   - an incremental sync after CHANGED_PERCENT % of the customers changed through the API.
#
#   bash scripts/bench-sync.sh                 # 100,000 rows, 1 % changed
#
# Prints one line per measurement; the README records the figures.
set -euo pipefail

ROWS=${ROWS:-100000}
CHANGED_PERCENT=${CHANGED_PERCENT:-1}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

# shellcheck source=scripts/lib/bench-env.sh
. "$REPO/scripts/lib/bench-env.sh"
bench_build
bench_env --rate-limit 0 --size "customers=$ROWS" --size "transactions=$ROWS"
mock_requests() { mock_requests_json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

echo "rows=$ROWS cpus=$(nproc) postgres=$("$PGBIN/postgres" --version | awk '{print $3}')"

# Seconds of one statement in a fresh backend (psql's \timing).
timed() {
  psql_ -At <<SQL | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1 | python3 -c 'import sys; print(round(float(sys.stdin.read())/1000, 3))'
\\timing on
$1
SQL
}

for table in customers transactions; do
  clear_requests
  scan=$(timed "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) SELECT * FROM partnerstack.$table;")
  echo "scan $table seconds=$scan rows_per_second=$(python3 -c "print(round($ROWS / $scan))") requests=$(mock_requests)"
  # The floor of any copy: the same rows written by a plain CREATE TABLE AS (no key, no state).
  ctas=$(timed "CREATE TABLE ctas_$table AS SELECT * FROM partnerstack.$table;")
  echo "create-table-as $table seconds=$ctas rows_per_second=$(python3 -c "print(round($ROWS / $ctas))")"
  clear_requests
  out=$(psql_ -At -F ' ' <<SQL
\\timing on
SELECT mode, inserted, requests FROM partnerstack_sync('partnerstack.$table', 'copy_$table');
SQL
)
  secs=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | python3 -c 'import sys; print(round(float(sys.stdin.read())/1000, 3))')
  read -r mode inserted requests <<<"$(echo "$out" | grep -v "^Timing" | head -1)"
  echo "first-sync $table mode=$mode inserted=$inserted seconds=$secs rows_per_second=$(python3 -c "print(round($inserted / $secs))") requests=$requests mock_requests=$(mock_requests)"
done

# CHANGED_PERCENT % of the customers change through the API (one PATCH each, keep-alive).
changed=$(python3 - "$PORT" "$ROWS" "$CHANGED_PERCENT" <<'PY'
import base64, http.client, json, sys
port, rows, percent = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
auth = "Basic " + base64.b64encode(b"pk_test_mock:sk_test_mock").decode()
conn = http.client.HTTPConnection("127.0.0.1", port)
keys, cursor = [], None
want = int(rows * percent / 100)
while len(keys) < want:
    path = "/api/v2/customers?limit=250" + (f"&starting_after={cursor}" if cursor else "")
    conn.request("GET", path, headers={"Authorization": auth})
    data = json.loads(conn.getresponse().read())["data"]
    keys += [i["key"] for i in data["items"]]
    if not data["has_more"]:
        break
    cursor = data["items"][-1]["key"]
for n, key in enumerate(keys[:want]):
    body = json.dumps({"name": f"bench {n}"})
    conn.request("PATCH", f"/api/v2/customers/{key}", body=body,
                 headers={"Authorization": auth, "Content-Type": "application/json"})
    r = conn.getresponse(); r.read()
    assert r.status == 200, r.status
print(min(want, len(keys)))
PY
)
clear_requests
out=$(psql_ -At -F ' ' <<SQL
\\timing on
SELECT mode, inserted, updated, requests FROM partnerstack_sync('partnerstack.customers', 'copy_customers');
SQL
)
secs=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | python3 -c 'import sys; print(round(float(sys.stdin.read())/1000, 3))')
read -r mode inserted updated requests <<<"$(echo "$out" | grep -v "^Timing" | head -1)"
echo "incremental customers changed=$changed mode=$mode inserted=$inserted updated=$updated seconds=$secs requests=$requests mock_requests=$(mock_requests)"
