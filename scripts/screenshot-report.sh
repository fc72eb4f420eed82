#!/usr/bin/env bash
# Screenshots a report page with headless Chromium (Debian's `chromium` package), so a person can
# look at how it renders without a browser at hand.
#
#   scripts/screenshot-report.sh reports/quickstart            # writes reports/quickstart/index.png
#   scripts/screenshot-report.sh reports/quickstart out.png 1400 6000
#
# Arguments: the report folder (or its index.html), the output PNG, the window width and height
# in CSS pixels (the page is long: the default height takes all of a quickstart report).
set -euo pipefail

target="${1:?usage: $0 REPORT_DIR|INDEX_HTML [OUT.png] [WIDTH] [HEIGHT]}"
if [[ -d "$target" ]]; then page="$target/index.html"; else page="$target"; fi
[[ -f "$page" ]] || { echo "error: $page does not exist (run the experiment first: pvr run SPEC)" >&2; exit 1; }
out="${2:-$(dirname "$page")/index.png}"
width="${3:-1400}"
height="${4:-9000}"

browser="$(command -v chromium || command -v chromium-browser || true)"
[[ -n "$browser" ]] || { echo "error: chromium not found (apt-get install chromium)" >&2; exit 1; }

# A fresh profile per call: nothing of the user's browser is read or changed.
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT

"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
  --user-data-dir="$profile" --window-size="$width,$height" \
  --screenshot="$(realpath -m "$out")" "file://$(realpath "$page")" 2>/dev/null
[[ -s "$out" ]] || { echo "error: chromium wrote no screenshot to $out" >&2; exit 1; }
echo "$out"
