#!/usr/bin/env python3
"""Scores all 15,625 NAS-Bench-201 cells with `hpcnas score --all` and records the result.

    python3 experiments/epsilon_whole_space.py --hpcnas build/app/hpcnas --ranks 2

Writes experiments/results/epsilon_whole_space.csv (one row: end-to-end and scoring seconds,
distinct computations, NaN share, Spearman rho / Kendall tau over the non-NaN cells and, with
--nan-policy rank, over all cells) and epsilon_whole_space.png (epsilon against CIFAR-10 test
accuracy; the cells whose float32 score is NaN drawn at their exact-arithmetic score).
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hpcnas", default="build/app/hpcnas")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--nan-policy", default="rank")
    ap.add_argument("--out-dir", default="experiments/results")
    args = ap.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for policy in dict.fromkeys(["keep", args.nan_policy]):
            out = os.path.join(tmp, f"{policy}.h5")
            cmd = ["mpirun", "-np", str(args.ranks), args.hpcnas, "score", "--space", "nb201", "--all", "--truth",
                   "embedded", "--nan-policy", policy, "--out", out, "--progress-interval", "10"]
            start = time.monotonic()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            seconds = time.monotonic() - start
            print(proc.stdout)
            if proc.returncode != 0:
                sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
            with h5py.File(out, "r") as f:
                row = {"nan_policy": policy, "ranks": args.ranks, "cells": len(f["arch"]),
                       "computations": int(f.attrs["num_computations"]), "end_to_end_seconds": round(seconds, 2),
                       "scoring_seconds": round(float(f.attrs["scoring_wall_seconds"]), 2),
                       "nan_share": round(float(np.isnan(f["epsilon"][:]).mean()), 4),
                       "spearman_non_nan": round(float(f["summary"].attrs["spearman"]), 4),
                       "kendall_non_nan": round(float(f["summary"].attrs["kendall"]), 4)}
                if "summary_epsilon_rank_key" in f:
                    s = f["summary_epsilon_rank_key"].attrs
                    row["spearman_all_cells"] = round(float(s["spearman"]), 4)
                    row["kendall_all_cells"] = round(float(s["kendall"]), 4)
                    eps, exact, acc = f["epsilon"][:], f["epsilon_exact"][:], f["accuracy"][:]
                rows.append(row)
    fields = list(dict.fromkeys(k for r in rows for k in r))
    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, "epsilon_whole_space.csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    for r in rows:
        print(r)
    print("wrote", path)
    if "eps" in locals():
        nan = np.isnan(eps)
        fig, ax = plt.subplots(figsize=(7, 5))
        ax.scatter(acc[~nan], eps[~nan], s=2, alpha=0.4, label=f"float32 epsilon ({(~nan).sum()} cells)")
        ok = nan & ~np.isnan(exact)
        ax.scatter(acc[ok], exact[ok], s=2, alpha=0.4, color="tab:red",
                   label=f"float32 NaN: exact-arithmetic epsilon ({ok.sum()} cells)")
        # Cells whose output is identically zero have no epsilon in any arithmetic: a row below
        # the rest, so that every one of the cells is on the plot.
        zero = nan & np.isnan(exact)
        floor = np.nanmin(np.concatenate([eps[~nan], exact[ok]])) / 10
        ax.scatter(acc[zero], np.full(zero.sum(), floor), s=6, marker="x", color="tab:gray",
                   label=f"output identically zero: no epsilon, drawn at the bottom ({zero.sum()} cells)")
        ax.set_yscale("log")
        ax.set_xlabel("NAS-Bench-201 CIFAR-10 test accuracy (%)")
        ax.set_ylabel("epsilon")
        ax.set_title(f"epsilon over all {len(acc):,} NB201 cells (w1 = 1e-7, w2 = 1, 256 CIFAR-10 images)")
        assert (~nan).sum() + ok.sum() + zero.sum() == len(acc)
        ax.legend(markerscale=5, loc="upper left")
        png = os.path.join(args.out_dir, "epsilon_whole_space.png")
        fig.savefig(png, dpi=120, bbox_inches="tight")
        print("wrote", png)


if __name__ == "__main__":
    main()
