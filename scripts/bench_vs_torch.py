"""Driver of scripts/bench-vs-torch.sh: runs pvr's bench binaries and scripts/bench_torch.py on the
same work, alternating (pvr, torch, pvr, torch, ...), each job in its own process so that its
peak resident memory (wait4's ru_maxrss) is its own; prints a table of medians and ratios, then
one JSON line per row.

    python scripts/bench_vs_torch.py --benches DIR [--reps N] [--rows a,b] [--python PY]

DIR holds the bench executables by name (throughput, models, attribution, lost, ha, sparse).

The `*-sparse90` rows run pvr's analysis on a ResNet-18 globally magnitude-pruned to 90% with its
sparse kernels (benches/sparse.rs, `PVR_SPARSE` auto) against PyTorch's dense network: PyTorch
has no sparse convolution on the CPU, and its dense time does not depend on the zeros.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
QUICKSTART_EPOCH_IMAGES = 2000  # experiments/quickstart.toml: train_size


def pvr_throughput(bench, config):
    """A child run of throughput/models: `name ... train img/s infer img/s peak`."""

    def parse(out):
        fields = [l for l in out.splitlines() if l.startswith(config)][0].split()
        return {"train": float(fields[-3]), "infer": float(fields[-2])}

    return ([bench], {"PVR_BENCH_CHILD": config}, parse)


def pvr_attribution(method):
    def parse(out):
        line = [l for l in out.splitlines() if l.startswith("paper") and f" {method} " in l][0]
        return {"images_per_s": float(line.split()[-1])}

    return (["attribution", "paper", method], {}, parse)


def pvr_sparse(method):
    """benches/sparse.rs `analysis`, the sparse side only, at 90% sparsity."""

    def parse(out):
        for line in out.splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("part") == "analysis" and record.get("method") == method:
                    return {"images_per_s": record["sparse_img_s"]}
        raise ValueError(f"no sparse analysis line for {method}")

    return (["sparse", "analysis", method, "--only", "sparse", "--sparsity", "0.9"], {}, parse)


def pvr_lost(out):
    line = [l for l in out.splitlines() if l.startswith("resnet50-voc-dilated")][0]
    return {"images_per_s": float(line.split()[3])}


def pvr_ha(out):
    line = [l for l in out.splitlines() if re.match(r"contrast\s+\d", l)][0]
    return {"images_per_s": float(line.split()[-1])}


# job name -> (pvr command, pvr env, pvr parser); the torch job has the same name.
JOBS = {
    "resnet18-w64-32": pvr_throughput("throughput", "resnet18-w64-32"),
    "quickstart": pvr_throughput("throughput", "quickstart"),
    "resnet50-w64-224": pvr_throughput("throughput", "resnet50-w64-224"),
    "vit_b_32-224": pvr_throughput("models", "vit_b_32-224"),
    "swin_v2_t-224": pvr_throughput("models", "swin_v2_t-224"),
    "gradcam": pvr_attribution("gradcam"),
    "guided_gradcam": pvr_attribution("guided_gradcam"),
    "ig": pvr_attribution("ig"),
    "gradcam-sparse90": pvr_sparse("gradcam"),
    "guided_gradcam-sparse90": pvr_sparse("guided_gradcam"),
    "ig-sparse90": pvr_sparse("ig"),
    "lost-resnet50-voc-dilated": (["lost", "resnet50-voc-dilated"], {}, pvr_lost),
    "ha-contrast": (["ha", "stage", "--dataset", "contrast", "--images", "100"], {}, pvr_ha),
}

# pvr jobs whose PyTorch twin is another job: the dense analyses (same shapes, batch and steps).
TORCH_JOB = {
    "gradcam-sparse90": "gradcam",
    "guided_gradcam-sparse90": "guided_gradcam",
    "ig-sparse90": "ig",
}

# row -> (label, job, metric, unit); "s/epoch" rows are derived from an img/s rate (lower is
# better; their ratio is still written as pvr speed / PyTorch speed).
ROWS = [
    ("r18-32-train", "train ResNet-18 w64 3x3 stem 32px b32", "resnet18-w64-32", "train", "img/s"),
    ("r18-32-infer", "infer ResNet-18 w64 3x3 stem 32px b32", "resnet18-w64-32", "infer", "img/s"),
    ("r50-224-train", "train ResNet-50 224px b8", "resnet50-w64-224", "train", "img/s"),
    ("vit-224-train", "train ViT-B/32 224px b8", "vit_b_32-224", "train", "img/s"),
    ("swin-224-train", "train SwinV2-T 224px b8", "swin_v2_t-224", "train", "img/s"),
    ("gradcam", "GradCAM ResNet-18 224px b4", "gradcam", "images_per_s", "img/s"),
    ("guided-gradcam", "Guided GradCAM ResNet-18 224px b4", "guided_gradcam", "images_per_s", "img/s"),
    ("ig", "IG 50 steps ResNet-18 224px", "ig", "images_per_s", "img/s"),
    ("gradcam-sparse90", "GradCAM ResNet-18 224px b4, 90% sparse", "gradcam-sparse90", "images_per_s", "img/s"),
    ("guided-gradcam-sparse90", "Guided GradCAM ResNet-18 224px b4, 90% sparse", "guided_gradcam-sparse90", "images_per_s", "img/s"),
    ("ig-sparse90", "IG 50 steps ResNet-18 224px, 90% sparse", "ig-sparse90", "images_per_s", "img/s"),
    ("lost", "LOST ResNet-50 dilated 500x375", "lost-resnet50-voc-dilated", "images_per_s", "img/s"),
    ("ha-contrast", "model-vs-human contrast (8x100, r18 w8 32px)", "ha-contrast", "images_per_s", "img/s"),
    ("quickstart-epoch", "quickstart training epoch (2000 img, b64)", "quickstart", "train", "s/epoch"),
]


def run_measured(cmd, env):
    """(stdout, exit code, peak RSS of the process and its children in MiB, wall seconds);
    stderr goes to a file whose tail is shown on failure."""
    started = time.perf_counter()
    err_file = tempfile.TemporaryFile()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(out_w, 1)
        os.dup2(err_file.fileno(), 2)
        os.close(out_r)
        os.execvpe(cmd[0], cmd, {**os.environ, **env})
    os.close(out_w)
    chunks = []
    with os.fdopen(out_r) as reader:
        for line in reader:
            chunks.append(line)
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err_file.seek(0)
        sys.stderr.write(err_file.read().decode(errors="replace")[-2000:])
    return "".join(chunks), code, usage.ru_maxrss / 1024, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--benches", required=True)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--rows", default="")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    rows = [r for r in ROWS if not args.rows or r[0] in args.rows.split(",")]
    jobs = list(dict.fromkeys(r[2] for r in rows))
    threads = os.environ.get("PVR_BENCH_THREADS", "2")
    env = {"PVR_BENCH_THREADS": threads, "RAYON_NUM_THREADS": threads,
           "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    results = {(side, job): [] for job in jobs for side in ("pvr", "torch")}
    for rep in range(args.reps):
        for job in jobs:
            cmd, pvr_env, parse = JOBS[job]
            sides = [("pvr", [os.path.join(args.benches, cmd[0])] + cmd[1:], {**env, **pvr_env}),
                     ("torch", [args.python, os.path.join(HERE, "bench_torch.py"), TORCH_JOB.get(job, job)], env)]
            if rep % 2 == 1:  # alternate who goes first
                sides.reverse()
            for side, command, side_env in sides:
                out, code, peak, wall = run_measured(command, side_env)
                if code != 0:
                    print(f"[{rep + 1}/{args.reps}] {side} {job}: exit {code}", file=sys.stderr)
                    continue
                metrics = parse(out) if side == "pvr" else json.loads(out.strip().splitlines()[-1])
                results[(side, job)].append({**metrics, "peak_mib": peak})
                print(f"[{rep + 1}/{args.reps}] {side:5} {job:26} {wall:6.1f} s  "
                      + " ".join(f"{k}={v:.3g}" for k, v in metrics.items() if k != "job"),
                      file=sys.stderr, flush=True)

    def median(side, job, key):
        values = [r[key] for r in results[(side, job)]]
        return statistics.median(values) if values else float("nan")

    header = f"| {'work':<46} | {'unit':>7} | {'PyTorch':>9} | {'pvr':>9} | {'pvr/PyTorch':>11} | {'torch MiB':>9} | {'pvr MiB':>7} |"
    print(f"\n{args.reps} repetition(s), medians, {threads} threads, {os.cpu_count()} cores")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    lines = []
    for key, label, job, metric, unit in rows:
        torch_rate, pvr_rate = median("torch", job, metric), median("pvr", job, metric)
        ratio = pvr_rate / torch_rate if torch_rate else float("nan")
        if unit == "s/epoch":
            torch_v, pvr_v = QUICKSTART_EPOCH_IMAGES / torch_rate, QUICKSTART_EPOCH_IMAGES / pvr_rate
        else:
            torch_v, pvr_v = torch_rate, pvr_rate
        torch_mib, pvr_mib = median("torch", job, "peak_mib"), median("pvr", job, "peak_mib")
        print(f"| {label:<46} | {unit:>7} | {torch_v:>9.3g} | {pvr_v:>9.3g} | {ratio:>11.2f} | {torch_mib:>9.0f} | {pvr_mib:>7.0f} |")
        lines.append({"row": key, "work": label, "unit": unit, "torch": torch_v, "pvr": pvr_v,
                      "pvr_over_torch_speed": ratio, "torch_peak_mib": torch_mib,
                      "pvr_peak_mib": pvr_mib, "reps": len(results[("pvr", job)]),
                      "threads": int(threads)})
    print()
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
