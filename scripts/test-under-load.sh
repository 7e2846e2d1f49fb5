#!/usr/bin/env bash
# The whole suite, several times in a row, with one core kept busy by another process: a test whose
# verdict depends on scheduling or speed shows up here before it blocks a landing at random.
#
#   bash scripts/test-under-load.sh [RUNS] [pytest args...]     (RUNS defaults to 5)
#
# Each run is one pytest pass; the last one takes the test files in reverse order, so a test that
# leans on state left by an earlier file fails too. Not part of .ci/run (that stays one pass).
# Prints one line per run and a summary; exits 1 if any run failed. Logs go to .test-under-load/.
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
apt_install
venv_install "[test,bench]"

runs="${1:-5}"
shift || true
logs=.test-under-load
mkdir -p "$logs"

# One core's worth of load: a pure-Python spin loop (one thread, never sleeps).
.venv/bin/python -c 'while True: pass' &
burner=$!
trap 'kill "$burner" 2>/dev/null || true' EXIT

mapfile -t files < <(find tests -name 'test_*.py' | sort -r)
failed=0
for i in $(seq 1 "$runs"); do
    order="normal order"
    args=("$@")
    if [ "$i" -eq "$runs" ] && [ "$runs" -gt 1 ]; then
        order="files reversed"
        args=("${files[@]}" "$@")
    fi
    started=$(date +%s)
    if .venv/bin/python -m pytest -q -p no:cacheprovider "${args[@]}" >"$logs/run-$i.log" 2>&1; then
        verdict=passed
    else
        verdict=FAILED
        failed=$((failed + 1))
    fi
    summary=$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed).* =+$' "$logs/run-$i.log" | tail -1)
    echo "run $i/$runs ($order, one core busy): $verdict in $(($(date +%s) - started)) s: $summary"
done
echo "$((runs - failed)) of $runs runs passed; logs in $logs/"
[ "$failed" -eq 0 ]
