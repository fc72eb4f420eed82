#!/usr/bin/env bash
# GPU smoke test, for a machine with a GPU (under 10 minutes on one GPU):
#   1. builds pvr with --features vulkan (builds offline) and, where the network allows,
#      --features cuda (Burn's CUDA backend downloads an LLVM bundle while building);
#   2. runs scripts/gpu-smoke.toml (dense ResNet-18 width 8 and one LRR round on 512 shapes
#      images, 2 epochs each) on the CPU and on each GPU backend that built, and compares the
#      metrics of every round with the CPU's;
#   3. runs it again on two replicas with synchronised batch norm (`train.sync_bn = true`,
#      `devices = ["cpu", "cpu"]` and `["<backend>:0", "<backend>:0"]`: the all-reduce through
#      host reads of the GPU's tensors) and compares the GPU's run with the CPU's;
#   4. prints training and inference throughput of ResNet-18 and ViT-B/32 at 224 px
#      (batch 64, f32 and bf16) through pvr's training step.
#
# Tolerance: GPU kernels sum in other orders than the CPU's, and 16 SGD steps of a tiny network
# carry those last-digit differences into its weights, so the runs are compared by their
# evaluation, not their weights: top-1 within 5 points and loss within 5% (relative) per round.
# A backend that computes wrongly (a broken kernel, a wrong precision path) misses both by far.
#
#   scripts/gpu-smoke.sh            # every backend that builds
#   PVR_SMOKE_BACKENDS=vulkan scripts/gpu-smoke.sh
#   PVR_SMOKE_BACKENDS= scripts/gpu-smoke.sh   # the CPU part only
set -uo pipefail
cd "$(dirname "$0")/.."
# Set but empty (`PVR_SMOKE_BACKENDS=`): the CPU part alone.
backends=${PVR_SMOKE_BACKENDS-"vulkan cuda"}
work=${PVR_SMOKE_DIR:-target/gpu-smoke}
mkdir -p "$work"
started=$SECONDS
failed=0

run_smoke() { # feature device tag [--set key=value ...]
  local feature=$1 device=$2 tag=$3
  shift 3
  cargo run --release -q ${feature:+--features "$feature"} -- --cache-dir "$work/cache-$tag" \
    run scripts/gpu-smoke.toml --reports-dir "$work/reports-$tag" --report-name gpu-smoke --quiet \
    --set "experiment.device=$device" "$@" >"$work/run-$tag.log" 2>&1 || {
    echo "FAIL: the smoke experiment $tag failed:"; tail -20 "$work/run-$tag.log"; return 1; }
  # round, top-1 (%, its interval dropped), loss from the report's pool table
  awk -F'|' '/^\| [0-9]+ \|/ { sub(/\[.*\]/, "", $5); gsub(/[% ]/, "", $5); gsub(/ /, "", $7); print $2+0, $5, $7 }' \
    "$work/reports-$tag/gpu-smoke/summary.md" >"$work/metrics-$tag.txt"
}

compare() { # reference-tag tag: top-1 within 5 points and loss within 5% per round
  paste "$work/metrics-$1.txt" "$work/metrics-$2.txt" | awk -v a="$1" -v b="$2" '
    { dtop = $5 - $2; dloss = ($6 - $3) / $3; if (dtop < 0) dtop = -dtop; if (dloss < 0) dloss = -dloss
      ok = (dtop <= 5 && dloss <= 0.05)
      printf "round %d: top-1 %s %.2f%% %s %.2f%% · loss %s %.4f %s %.4f · %s\n", $1, a, $2, b, $5, a, $3, b, $6, ok ? "ok" : "OUT OF TOLERANCE"
      if (!ok) bad = 1 }
    END { exit bad }'
}

echo "== CPU reference (flex)"
cargo build --release -q || { echo "FAIL: the CPU build failed"; exit 1; }
run_smoke "" cpu cpu || exit 1
cat "$work/metrics-cpu.txt"
# Two replicas of a device, batch norm synchronised.
sync2=(--set train.sync_bn=true --set)
run_smoke "" cpu cpu-sync2 "${sync2[@]}" 'experiment.devices=["cpu", "cpu"]' || exit 1

for backend in $backends; do
  echo "== $backend: build"
  if ! cargo build --release -q --features "$backend" 2>"$work/build-$backend.log"; then
    echo "SKIP: --features $backend did not build here (last lines below)"
    tail -5 "$work/build-$backend.log"
    continue
  fi
  echo "== $backend: smoke experiment"
  if ! run_smoke "$backend" "$backend:0" "$backend:0"; then failed=1; continue; fi
  compare cpu "$backend:0" || failed=1
  echo "== $backend: two replicas with synchronised batch norm"
  if run_smoke "$backend" "$backend:0" "$backend-sync2" "${sync2[@]}" \
    "experiment.devices=[\"$backend:0\", \"$backend:0\"]"; then
    compare cpu-sync2 "$backend-sync2" || failed=1
  else
    failed=1
  fi
  echo "== $backend: throughput (pvr's training step, 224 px, batch 64)"
  for precision in f32 bf16; do
    cargo bench -q --features "$backend" --bench device_throughput -- "$backend:0" "$precision" 64 10 ||
      { echo "FAIL: throughput run ($precision) on $backend"; failed=1; }
  done
done
echo "== done in $((SECONDS - started)) s"
exit $failed
