#!/usr/bin/env python3
"""Epsilon on the chain spaces (NAS-Bench-Macro, ProxylessNAS) with `hpcnas score`.

    python3 experiments/epsilon_spaces.py --hpcnas build/app/hpcnas --ranks 2

1. Quality: every NAS-Bench-Macro key (`--all`, 6,561 keys = 3,969 networks; the fast path at the
   space's default weights, the epsinas batch of 256), Spearman rho / Kendall tau against
   `mean_test_acc` over the 3,969 distinct networks (one row per `canonical_arch`), the NaN share;
   also FLOPs and params as predictors, for scale. -> epsilon_spaces_macro.csv, .png
2. Speed: the same architectures through the full network and the one-channel network, one rank,
   one after the other in one run: arch/s of each and the ratio, per space.
   -> epsilon_spaces_speed.csv
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, env):
    start = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return time.time() - start


def quality(args, env, tmp):
    out = os.path.join(tmp, "macro_all.h5")
    seconds = run(["mpirun", "-np", str(args.ranks), args.hpcnas, "score", "--space", "macro", "--all", "--truth",
                   "embedded", "--truth-column", "mean_test_acc", "--out", out], env)
    with h5py.File(out, "r") as f:
        canonical = [a.decode() for a in f["canonical_arch"][:]]
        eps = f["epsilon"][:]
        acc = f["accuracy"][:]
        w1, w2 = f.attrs["w1"], f.attrs["w2"]
    table = {r["arch"]: r for r in csv.DictReader(open(os.path.join(REPO, "data", "nasbench_macro_cifar10.csv")))}
    first = {}
    for i, c in enumerate(canonical):
        first.setdefault(c, i)
    idx = np.array(sorted(first.values()))
    eps, acc = eps[idx], acc[idx]
    flops = np.array([float(table[canonical[i]]["flops"]) for i in idx])
    params = np.array([float(table[canonical[i]]["params"]) for i in idx])
    ok = ~np.isnan(eps)
    rows = []
    for name, values, mask in (("epsilon", eps, ok), ("flops", flops, ok | True), ("params", params, ok | True)):
        rho = stats.spearmanr(values[mask], acc[mask])[0]
        tau = stats.kendalltau(values[mask], acc[mask])[0]
        rows.append({"predictor": name, "networks": int(mask.sum()), "nan_share": f"{1 - mask.mean():.4f}",
                     "spearman": f"{rho:.4f}", "kendall": f"{tau:.4f}", "w1": w1, "w2": w2,
                     "seconds_end_to_end": f"{seconds:.1f}", "ranks": args.ranks})
    with open(os.path.join(args.out_dir, "epsilon_spaces_macro.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"NAS-Bench-Macro, {len(idx)} distinct networks, epsilon weights ({w1:g}, {w2:g}), {seconds:.1f} s on "
          f"{args.ranks} rank(s)")
    print(f"{'predictor':10} {'networks':>8} {'NaN':>7} {'rho':>7} {'tau':>7}")
    for r in rows:
        print(f"{r['predictor']:10} {r['networks']:>8} {float(r['nan_share']):>7.1%} {r['spearman']:>7} {r['kendall']:>7}")
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(eps[ok], acc[ok], s=4, alpha=0.5, label=f"{ok.sum()} networks with a score")
    ax.set_xlabel(f"epsilon (w = {w1:g}, {w2:g})")
    ax.set_ylabel("NAS-Bench-Macro mean test accuracy (%)")
    ax.set_title(f"NAS-Bench-Macro: epsilon vs accuracy, rho {rows[0]['spearman']}, tau {rows[0]['kendall']}\n"
                 f"({(~ok).sum()} of {len(idx)} networks NaN, not drawn)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out_dir, "epsilon_spaces_macro.png"), dpi=120)


def speed(args, env, tmp):
    rows = []
    for space, extra in (("macro", []), ("proxyless", ["--batch-size", str(args.proxyless_batch)])):
        archs = os.path.join(tmp, f"{space}.txt")
        sample = os.path.join(tmp, f"{space}_sample.h5")
        run([args.hpcnas, "score", "--space", space, "--sample", str(args.speed_sample), "--seed", "1", "--out", sample,
             *extra], env)
        with h5py.File(sample, "r") as f, open(archs, "w") as out:
            out.write("\n".join(a.decode() for a in f["arch"][:]) + "\n")
        timing, scores = {}, {}
        for path in ("full", "fast"):
            out = os.path.join(tmp, f"{space}_{path}.h5")
            run([args.hpcnas, "score", "--space", space, "--archs", archs, "--epsilon-path", path, "--out", out, *extra], env)
            with h5py.File(out, "r") as f:
                timing[path] = float(f.attrs["scoring_wall_seconds"])
                scores[path] = f["epsilon"][:]
        both = ~np.isnan(scores["full"]) & ~np.isnan(scores["fast"]) & (np.abs(scores["full"]) > 1e-5)
        worst = float(np.max(np.abs(scores["full"][both] - scores["fast"][both]) / np.abs(scores["full"][both]))) if both.any() else 0.0
        n = args.speed_sample
        rows.append({"space": space, "archs": n, "batch": args.proxyless_batch if space == "proxyless" else 256,
                     "full_arch_per_s": f"{n / timing['full']:.3f}", "fast_arch_per_s": f"{n / timing['fast']:.2f}",
                     "ratio": f"{timing['full'] / timing['fast']:.1f}",
                     "nan_disagreements": int((np.isnan(scores["full"]) != np.isnan(scores["fast"])).sum()),
                     "worst_relative_difference": f"{worst:.2e}"})
    with open(os.path.join(args.out_dir, "epsilon_spaces_speed.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"\n{'space':10} {'archs':>5} {'batch':>5} {'full arch/s':>12} {'fast arch/s':>12} {'ratio':>7} {'NaN diff':>8} {'worst rel':>10}")
    for r in rows:
        print(f"{r['space']:10} {r['archs']:>5} {r['batch']:>5} {r['full_arch_per_s']:>12} {r['fast_arch_per_s']:>12} "
              f"{r['ratio']:>7} {r['nan_disagreements']:>8} {r['worst_relative_difference']:>10}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hpcnas", default="build/app/hpcnas")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--speed-sample", type=int, default=8)
    ap.add_argument("--proxyless-batch", type=int, default=32)
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--out-dir", default=os.path.join(REPO, "experiments", "results"))
    args = ap.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    os.makedirs(args.out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_quality:
            quality(args, env, tmp)
        speed(args, env, tmp)


if __name__ == "__main__":
    main()
