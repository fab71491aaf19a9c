#!/usr/bin/env python3
"""How well a latency lookup table (`hpcnas latency`) predicts whole networks on this CPU:
for each chain space and batch size, the table is measured, then 200 random networks are timed
end to end and compared with the table's sum (Spearman rho, mean relative error raw and after
the linear calibration the table stores).

    /usr/bin/python3 experiments/latency_check.py --hpcnas build/app/hpcnas

Writes experiments/results/latency_check.csv (the per-network checks stay under --work).
"""
import argparse
import csv
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = [("macro", 1, 20), ("macro", 8, 20), ("proxyless", 1, 10), ("proxyless", 4, 10)]  # space, batch, repeats
SUMMARY = re.compile(r"rho ([0-9.]+) .* error ([0-9.]+)% as the sum of blocks, ([0-9.]+)% calibrated "
                     r"\(measured = ([0-9.]+) x sum \+ ([0-9.-]+) ms\)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hpcnas", default="build/app/hpcnas")
    ap.add_argument("--networks", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", default="/tmp/hpcnas_latency_check")
    ap.add_argument("--out", default=os.path.join(REPO, "experiments", "results", "latency_check.csv"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rows = []
    for space, batch, repeats in RUNS:
        start = time.time()
        table = os.path.join(args.work, f"{space}_b{batch}.h5")
        out = subprocess.run([args.hpcnas, "latency", "--space", space, "--networks", str(args.networks), "--batch", str(batch),
                              "--repeats", str(repeats), "--threads", str(args.threads), "--out", table],
                             check=True, capture_output=True, text=True).stdout
        rho, raw, calibrated, slope, intercept = map(float, SUMMARY.search(out).groups())
        rows.append({"space": space, "batch": batch, "repeats": repeats, "threads": args.threads, "networks": args.networks,
                     "spearman_rho": rho, "relative_error_sum_pct": raw, "relative_error_calibrated_pct": calibrated,
                     "calibration_slope": slope, "calibration_intercept_ms": intercept,
                     "seconds": round(time.time() - start, 1)})
        print(" | ".join(f"{k} {v}" for k, v in rows[-1].items()), flush=True)
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
