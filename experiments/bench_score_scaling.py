#!/usr/bin/env python3
"""Benchmark: `hpcnas score` throughput with 1 and 2 (or more) ranks on a fixed sample.

Runs the real executable under mpirun for each rank count on the same sample, reads the
scoring-phase wall time that hpcnas stores in its HDF5 file (scoring_wall_seconds: from the
job spec's arrival to the last score, start-up excluded), and prints and writes a CSV of
architectures per second and parallel efficiency  = rate(P) / (P * rate(1)).

    python3 experiments/bench_score_scaling.py --hpcnas build/app/hpcnas --sample 40 --ranks 1 2
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time

import h5py


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hpcnas", default="build/app/hpcnas")
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--epsilon-path", default="full")
    ap.add_argument("--csv", default="experiments/results/score_scaling.csv")
    args = ap.parse_args()

    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for ranks in args.ranks:
            out = os.path.join(tmp, f"np{ranks}.h5")
            cmd = ["mpirun", "-np", str(ranks), args.hpcnas, "score", "--sample", str(args.sample), "--seed",
                   str(args.seed), "--epsilon-path", args.epsilon_path, "--out", out, "--progress-interval", "60"]
            start = time.monotonic()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            total = time.monotonic() - start
            if proc.returncode != 0:
                sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
            with h5py.File(out, "r") as f:
                scoring = float(f.attrs["scoring_wall_seconds"])
            rows.append({"ranks": ranks, "archs": args.sample, "epsilon_path": args.epsilon_path,
                         "scoring_seconds": round(scoring, 3), "end_to_end_seconds": round(total, 3),
                         "archs_per_second": round(args.sample / scoring, 4)})
    base = rows[0]["archs_per_second"] / rows[0]["ranks"]
    for r in rows:
        r["parallel_efficiency"] = round(r["archs_per_second"] / (r["ranks"] * base), 3)

    print(f"{'ranks':>5} {'archs':>6} {'scoring s':>10} {'total s':>8} {'arch/s':>8} {'efficiency':>10}")
    for r in rows:
        print(f"{r['ranks']:>5} {r['archs']:>6} {r['scoring_seconds']:>10.2f} {r['end_to_end_seconds']:>8.2f} "
              f"{r['archs_per_second']:>8.3f} {r['parallel_efficiency']:>10.3f}")
    os.makedirs(os.path.dirname(args.csv) or ".", exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print("wrote", args.csv)


if __name__ == "__main__":
    main()
