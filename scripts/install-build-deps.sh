#!/usr/bin/env bash
# Installs the system packages pvr's build uses beyond Rust and a C compiler, on Debian/Ubuntu:
#   nasm  assembles libjpeg-turbo's SIMD code (the JPEG decoder, src/data/jpeg.rs). Without it
#         the build still succeeds (mozjpeg-sys prints a warning) and decodes the same pixels
#         through the plain C code, about 1.5x slower.
# Does nothing when everything is there; never fails the caller (a missing package only costs
# decoding speed).
set -uo pipefail

missing=()
command -v nasm >/dev/null 2>&1 || missing+=(nasm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "build deps: present (nasm)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "build deps: ${missing[*]} missing and no apt-get; install them by hand for SIMD JPEG decoding"
  exit 0
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
if "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
  { "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 &&
    "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; }; then
  echo "build deps: installed ${missing[*]}"
else
  echo "build deps: could not install ${missing[*]}; JPEG decoding builds without SIMD"
fi
exit 0
