#!/usr/bin/env bash
# Input pipeline against torchvision's DataLoader: the same JPEGs (ImageNet sizes, generated),
# the same transforms (RandomResizedCrop(224), RandomHorizontalFlip, ToTensor + Normalize),
# the same worker counts, 3 epochs of batches of 64. Prints images/s and images/s per worker
# (one worker keeps one core busy).
#
#   scripts/loader-vs-torchvision.sh [IMAGES=640] [WORKERS="1 2"]
#
# Its own Python venv (torch, torchvision, Pillow from PyPI) lives in PVR_LOADER_VENV
# (default ~/.cache/pvr-loader-bench/venv), apart from other benchmarks' venvs.
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-640}
workers=${2:-"1 2"}
venv=${PVR_LOADER_VENV:-$HOME/.cache/pvr-loader-bench/venv}
data=${PVR_LOADER_DATA:-$HOME/.cache/pvr-loader-bench/jpegs-$images}

if ! "$venv/bin/python" -c "import torch, torchvision, PIL" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch==2.15.0 torchvision pillow
fi
if [ ! -d "$data/train" ]; then
  "$venv/bin/python" scripts/loader_bench.py make "$data" "$images"
fi
echo "data: $images JPEGs in $data ($(du -sh "$data" | cut -f1)); workers: $workers; cores: $(nproc)"
# Alternate the two so that a busy machine slows both alike.
for _ in 1 2; do
  # shellcheck disable=SC2086
  "$venv/bin/python" scripts/loader_bench.py torchvision "$data" $workers
  # shellcheck disable=SC2086
  cargo bench -q --bench loader -- "$data" $workers
done
