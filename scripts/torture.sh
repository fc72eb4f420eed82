#!/usr/bin/env bash
# Torture the cache: kill `pvr run` at random moments and check that the next run resumes and
# ends with the same results as an uninterrupted run; then fill the "disk" (a file-size limit)
# while a run writes and check that it fails with a message naming the file, leaves no entry
# behind, and that the next run completes. Bounded: KILLS kills (default 20), a few minutes.
#
#   scripts/torture.sh [KILLS]        # PVR=path/to/pvr to use another binary
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-20}
pvr=${PVR:-${CARGO_TARGET_DIR:-target}/release/pvr}
[ -x "$pvr" ] || { echo "no pvr binary at $pvr: run cargo build --release first"; exit 2; }
pvr=$(readlink -f "$pvr")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Three rounds of a tiny model, about ten seconds in all: long enough to be killed mid-stage.
sed -e 's/epochs = 2/epochs = 6/' -e 's/train_size = 48/train_size = 960/' \
  tests/fixtures/tiny.toml > "$work/tiny.toml"
# The summary table without its last column (training seconds, which differ run to run).
results() { grep -E '^\| [0-9]' "$1" | sed -E 's/\| [^|]* \|$//'; }

run() { (cd "$work" && PVR_CACHE_DIR="$work/$1" "$pvr" run tiny.toml --quiet --reports-dir "$work/$1-reports" "${@:2}"); }

echo "== reference: one uninterrupted run"
run clean >/dev/null
reference=$(results "$work/clean-reports/tiny/summary.md")

echo "== $kills random kills"
killed=0
for i in $(seq 1 "$kills"); do
  (cd "$work" && PVR_CACHE_DIR="$work/tortured" exec "$pvr" run tiny.toml --quiet \
    --reports-dir "$work/tortured-reports" >/dev/null 2>&1) &
  pid=$!
  sleep "$((RANDOM % 3)).$((RANDOM % 10))"
  if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
  wait "$pid" 2>/dev/null || true
done
echo "killed $killed runs mid-way"
run tortured >/dev/null
after=$(results "$work/tortured-reports/tiny/summary.md")
if [ "$after" != "$reference" ]; then
  echo "FAIL: the resumed run's summary differs from the uninterrupted run's"
  diff <(echo "$reference") <(echo "$after") || true
  exit 1
fi
status=$(cd "$work" && PVR_CACHE_DIR="$work/tortured" "$pvr" status tiny.toml | grep -vc ' cached ' || true)
[ "$status" = 0 ] || { echo "FAIL: $status stages not cached after the final run"; exit 1; }
echo "ok: after $killed kills the final run matches the uninterrupted one and every stage is cached"

echo "== disk full (file-size limit) while writing"
full=0
for limit_kb in 8 64 512; do
  set +e
  out=$( (trap '' XFSZ; ulimit -f $((limit_kb * 2)); run full) 2>&1 )
  code=$?
  set -e
  if [ "$code" = 0 ]; then continue; fi
  full=$((full + 1))
  echo "$out" | grep -qi 'panicked' && { echo "FAIL: pvr panicked on a full disk:"; echo "$out"; exit 1; }
  echo "$out" | grep -q "$work" || { echo "FAIL: the error names no path:"; echo "$out"; exit 1; }
  echo "limit ${limit_kb} KiB: failed as expected ($(echo "$out" | grep -m1 -o 'error.*' | cut -c1-120))"
done
run full >/dev/null
echo "ok: $full disk-full failures named their file, and the next run completed"
