#!/usr/bin/env bash
# Fetches the small real samples some tests read, into .data/ (git-ignored). Tests that need
# them skip with a message when they are absent, so this script failing never fails CI.
#
# labelme-examples (Debian, GPL-3+, not redistributed here): three PASCAL VOC 2011 photos with
# palette class masks (SegmentationClassPNG) and VOC XML boxes (Annotations).
set -uo pipefail
cd "$(dirname "$0")/.."
dest=.data/labelme-examples
sha256=acf0f5be435c8899098397eb9f0e46b4c1be080e0c1202f128609d6391179e23

if [ -d "$dest/examples" ]; then
  echo "test data: $dest already present"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
  cd "$work" &&
    { apt-get download labelme-examples=5.1.1-1 >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get download labelme-examples=5.1.1-1 >/dev/null 2>&1; }; }
) || { echo "test data: could not download labelme-examples; the tests that use it will skip"; exit 0; }
deb=$(ls "$work"/labelme-examples_*.deb)
if ! echo "$sha256  $deb" | sha256sum --check --status; then
  echo "test data: labelme-examples checksum mismatch; not using it"
  exit 0
fi
dpkg-deb -x "$deb" "$work/x"
mkdir -p "$dest"
cp -r "$work/x/usr/share/doc/labelme-examples/examples" "$dest/"
echo "test data: labelme-examples in $dest"
