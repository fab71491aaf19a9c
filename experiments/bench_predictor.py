#!/usr/bin/env python3
"""Benchmark: TNASP predictor training throughput on 1 and 2 ranks, and the time to predict all
15,625 NAS-Bench-201 cells.

Trains the same predictor (paper sizes and batch, --train-size cells, --epochs epochs, one
thread per rank) under mpirun with each rank count and reads the training wall time that
hpcnas stores in the predictor file (/training@train_wall_seconds, start-up excluded):
architectures per second = epochs x train size / seconds, parallel efficiency =
rate(P) / (P x rate(1)). Then times `hpcnas predict` on every cell of the space with each rank
count (the prediction phase as hpcnas reports it, and the whole command with start-up).
Prints a table and writes a CSV.

    python3 experiments/bench_predictor.py --hpcnas build/app/hpcnas
"""
import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time

import h5py


def mpirun(ranks, hpcnas, *args):
    command = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(ranks), hpcnas, *args]
    started = time.time()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return result, time.time() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hpcnas", default="build/app/hpcnas")
    ap.add_argument("--train-size", type=int, default=1563)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--csv", default="experiments/results/predictor_bench.csv")
    args = ap.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = None
        for ranks in args.ranks:
            out = os.path.join(tmp, f"p{ranks}.h5")
            mpirun(ranks, args.hpcnas, "train-predictor", "--truth", "embedded", "--train-size", str(args.train_size),
                   "--epochs", str(args.epochs), "--threads", "1", "--progress-interval", "600", "--out", out)
            with h5py.File(out, "r") as f:
                seconds = float(f["/training"].attrs["train_wall_seconds"])
            rows.append({"phase": "train", "ranks": ranks, "architectures": args.epochs * args.train_size,
                         "seconds": round(seconds, 3), "arch_per_s": round(args.epochs * args.train_size / seconds, 1)})
            model = model or out
        archs = os.path.join(tmp, "all.txt")
        lines = [l.split(",")[1] for l in open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                                             "nb201.csv")).read().splitlines()[1:]]
        with open(archs, "w") as f:
            f.write("\n".join(lines) + "\n")
        for ranks in args.ranks:
            result, whole = mpirun(ranks, args.hpcnas, "predict", "--model", model, "--archs", archs,
                                   "--out", os.path.join(tmp, "pred.csv"))
            seconds = float(re.search(r"predicted \d+ architectures in ([0-9.]+) s", result.stderr).group(1))
            rows.append({"phase": "predict_all", "ranks": ranks, "architectures": len(lines), "seconds": round(seconds, 3),
                         "arch_per_s": round(len(lines) / seconds, 1), "command_seconds": round(whole, 2)})
    base = {r["phase"]: r["arch_per_s"] for r in rows if r["ranks"] == args.ranks[0]}
    for r in rows:
        r["efficiency"] = round(r["arch_per_s"] / (r["ranks"] / args.ranks[0] * base[r["phase"]]), 3)
    fields = ["phase", "ranks", "architectures", "seconds", "arch_per_s", "efficiency", "command_seconds"]
    print(f"{'phase':12s} {'ranks':>5} {'archs':>8} {'seconds':>8} {'arch/s':>9} {'efficiency':>10}")
    for r in rows:
        print(f"{r['phase']:12s} {r['ranks']:5d} {r['architectures']:8d} {r['seconds']:8.3f} {r['arch_per_s']:9.1f} "
              f"{r['efficiency']:10.3f}")
    with open(args.csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    print("wrote", args.csv)


if __name__ == "__main__":
    sys.exit(main())
