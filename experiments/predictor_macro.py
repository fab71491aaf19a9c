#!/usr/bin/env python3
"""TNASP predictor on NAS-Bench-Macro: Kendall tau against `mean_test_acc` over every network not
used for training, for 50 / 100 / 200 / 400 training networks and 5 seeds, beside two baselines
computed in the same run on the same held-out networks: FLOPs as the predictor, and epsilon as the
predictor (`hpcnas score --space macro --all`, the space's default weights; NaN scores left out).

    python3 experiments/predictor_macro.py --hpcnas build/app/hpcnas --ranks 2

Writes experiments/results/predictor_macro_runs.csv (one row per size and seed),
predictor_macro.csv (mean and standard deviation per size) and predictor_macro.png.
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
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def population():
    """The 3,969 distinct networks in hpcnas's order: enumeration index i (layer 0 the fastest
    base-3 digit), first occurrence of each canonical form (app/predictor_commands.cc)."""
    table = {r["arch"]: r for r in csv.DictReader(open(os.path.join(REPO, "data", "nasbench_macro_cifar10.csv")))}
    order, seen = [], set()
    for i in range(3 ** 8):
        key = "".join(str((i // 3 ** p) % 3) for p in range(8))
        canonical = table[key]["canonical_arch"]
        if canonical not in seen:
            seen.add(canonical)
            order.append(canonical)
    acc = np.array([float(table[c]["mean_test_acc"]) for c in order])
    flops = np.array([float(table[c]["flops"]) for c in order])
    return order, acc, flops


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hpcnas", default="build/app/hpcnas")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--sizes", default="50,100,200,400")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--out-dir", default=os.path.join(REPO, "experiments", "results"))
    ap.add_argument("--replot", action="store_true", help="only redraw the PNG from predictor_macro.csv")
    args = ap.parse_args()
    if args.replot:
        rows = list(csv.DictReader(open(os.path.join(args.out_dir, "predictor_macro.csv"))))
        summary = [{k: float(v) for k, v in r.items()} for r in rows]
        for e in summary:
            e["train_size"] = int(e["train_size"])
        plot(summary, args, (1e-4, 1.0))
        return
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    order, acc, flops = population()
    index = {c: i for i, c in enumerate(order)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        scores = os.path.join(tmp, "eps.h5")
        subprocess.run(["mpirun", "-np", str(args.ranks), args.hpcnas, "score", "--space", "macro", "--all", "--out", scores],
                       env=env, check=True, capture_output=True)
        eps = np.full(len(order), np.nan)
        with h5py.File(scores, "r") as f:
            w = (f.attrs["w1"], f.attrs["w2"])
            for c, e in zip(f["canonical_arch"][:], f["epsilon"][:]):
                eps[index[c.decode()]] = e
        for size in [int(s) for s in args.sizes.split(",")]:
            for seed in range(args.seeds):
                out = os.path.join(tmp, f"p{size}_{seed}.h5")
                start = time.time()
                proc = subprocess.run(["mpirun", "-np", str(args.ranks), args.hpcnas, "train-predictor", "--space", "macro",
                                       "--truth", "embedded", "--truth-column", "mean_test_acc", "--train-size", str(size),
                                       "--seed", str(seed), "--epochs", str(args.epochs), "--out", out],
                                      env=env, capture_output=True, text=True)
                if proc.returncode != 0:
                    sys.exit(proc.stderr[-2000:])
                seconds = time.time() - start
                with h5py.File(out, "r") as f:
                    train = set(int(c) for c in f["/training/code"][:])
                    tau = float(f["/training"].attrs["kendall_tau"])
                held = np.array([i not in train for i in range(len(order))])
                ok = held & ~np.isnan(eps)
                row = {"train_size": size, "seed": seed, "predictor_tau": tau,
                       "flops_tau": stats.kendalltau(flops[held], acc[held])[0],
                       "epsilon_tau": stats.kendalltau(eps[ok], acc[ok])[0], "epsilon_networks": int(ok.sum()),
                       "held_out": int(held.sum()), "epochs": args.epochs, "seconds": round(seconds, 1)}
                rows.append(row)
                print(f"size {size:4d} seed {seed}: predictor tau {tau:.4f} | FLOPs {row['flops_tau']:.4f} | "
                      f"epsilon {row['epsilon_tau']:.4f} ({row['epsilon_networks']} scored) | {seconds:.0f} s", flush=True)
    with open(os.path.join(args.out_dir, "predictor_macro_runs.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = []
    for size in sorted({r["train_size"] for r in rows}):
        group = [r for r in rows if r["train_size"] == size]
        entry = {"train_size": size, "seeds": len(group)}
        for key in ("predictor_tau", "flops_tau", "epsilon_tau"):
            values = np.array([r[key] for r in group])
            entry[key + "_mean"] = round(float(values.mean()), 4)
            entry[key + "_std"] = round(float(values.std()), 4)
        summary.append(entry)
    with open(os.path.join(args.out_dir, "predictor_macro.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(summary[0]))
        writer.writeheader()
        writer.writerows(summary)
    print(f"\n{'train':>6} {'predictor tau':>16} {'FLOPs tau':>12} {'epsilon tau':>12}")
    for e in summary:
        print(f"{e['train_size']:>6} {e['predictor_tau_mean']:>9.4f} ± {e['predictor_tau_std']:.3f} "
              f"{e['flops_tau_mean']:>12.4f} {e['epsilon_tau_mean']:>12.4f}")
    plot(summary, args, w)


def plot(summary, args, w):
    fig, ax = plt.subplots(figsize=(6, 4.2))
    sizes = [e["train_size"] for e in summary]
    for key, label in (("predictor_tau", "TNASP predictor"), ("flops_tau", "FLOPs"),
                       ("epsilon_tau", f"epsilon (w = {w[0]:g}, {w[1]:g})")):
        ax.errorbar(sizes, [e[key + "_mean"] for e in summary], yerr=[e[key + "_std"] for e in summary], marker="o",
                    capsize=3, label=label)
    ax.set_xscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(s) for s in sizes])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_ylim(-0.05, 1.0)
    ax.set_xlabel("training networks")
    ax.set_ylabel("Kendall tau over the held-out networks")
    ax.set_title(f"NAS-Bench-Macro (3,969 networks), {args.seeds} seeds, {args.epochs} epochs")
    ax.legend(loc="center right", bbox_to_anchor=(1.0, 0.3))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out_dir, "predictor_macro.png"), dpi=120)


if __name__ == "__main__":
    main()
