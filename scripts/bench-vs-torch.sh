#!/usr/bin/env bash
# pvr against PyTorch on the same CPU, the same work: pvr's bench configurations (benches/) and
# their PyTorch twins (scripts/bench_torch.py: torch, torchvision, Captum) with the same shapes,
# batch sizes, steps, warm-up and thread count, alternating, each job in its own process. Prints
# one table of medians, pvr/PyTorch speed ratios and peak memory, then the same as JSON lines.
#
#   scripts/bench-vs-torch.sh [--quick] [--reps N] [--rows r18-32-train,ig,...]
#
# Rows: r18-32-train r18-32-infer r50-224-train vit-224-train swin-224-train gradcam guided-gradcam
# ig lost ha-contrast quickstart-epoch, and gradcam-sparse90 guided-gradcam-sparse90 ig-sparse90
# (pvr's sparse kernels on a ResNet-18 pruned to 90% against PyTorch's dense network).
#
# --quick: one repetition of the rows that take seconds, not minutes (the 32 px ones, GradCAM,
# model-vs-human); the default is 3 repetitions of every row. PVR_BENCH_THREADS (default 2)
# sets the threads of both sides.
#
# The venv (PVR_BENCH_VENV, default ~/.cache/pvr-bench-venv) holds torch 2.15.0,
# torchvision 0.29.2 and captum 0.9.0. PyTorch's CPU-only index is used when reachable (a ~200 MB
# wheel); otherwise PyPI's, whose Linux torch wheel pulls ~4 GB of CUDA libraries. When
# PVR_BENCH_TORCH_FROM names another venv's site-packages that already has torch 2.15.0, that
# torch is linked in (a .pth file) instead of installed again.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${PVR_BENCH_VENV:-$HOME/.cache/pvr-bench-venv}
reps=3
rows=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) reps=1; rows=${rows:-r18-32-train,r18-32-infer,gradcam,ha-contrast,quickstart-epoch} ;;
    --reps) reps=$2; shift ;;
    --rows) rows=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see the head of $0)" >&2; exit 2 ;;
  esac
  shift
done

py="$venv/bin/python"
if ! "$py" -c "import torch, torchvision, captum" 2>/dev/null; then
  python3 -m venv "$venv"
  site=$("$py" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  if [ -n "${PVR_BENCH_TORCH_FROM:-}" ]; then
    echo "$PVR_BENCH_TORCH_FROM" > "$site/zz-torch-from.pth"
  elif "$venv/bin/pip" download -q --no-deps -d "$venv/probe" torchvision==0.29.2 \
      --index-url https://download.pytorch.org/whl/cpu 2>/dev/null; then
    "$venv/bin/pip" install -q torch==2.15.0 torchvision==0.29.2 \
      --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple
  else
    "$venv/bin/pip" install -q torch==2.15.0 torchvision==0.29.2
  fi
  rm -rf "$venv/probe"
  "$venv/bin/pip" install -q captum==0.9.0
fi
"$py" -c "import torch, torchvision, captum; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'captum', captum.__version__)"

# pvr's bench executables, built once (release, the workspace's profile).
benches=$(mktemp -d)
trap 'rm -rf "$benches"' EXIT
cargo bench --no-run --message-format=json \
  --bench throughput --bench models --bench attribution --bench lost --bench ha --bench sparse 2>/dev/null |
  "$py" -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "bench" in m["target"]["kind"]:
        os.symlink(m["executable"], os.path.join(sys.argv[1], m["target"]["name"]))
' "$benches"
echo "load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
"$py" scripts/bench_vs_torch.py --benches "$benches" --reps "$reps" --rows "$rows" --python "$py"
