#!/usr/bin/env python3
"""The claims of ProxylessNAS, measured side by side on hpcnas's supernet in one run:

1. peak memory of one training step by gate mode on the `proxyless` space at a fixed batch:
   the binary gates (full_v2, two, and a weight step) against every path with autograd (darts,
   the continuous relaxation), each in a fresh process (growth of the peak resident set);
2. images/s of supernet weight steps against training the same sampled networks alone;
3. parallel efficiency of `hpcnas supernet` from 1 to 2 ranks (a warm-up epoch, 1 thread each).

    /usr/bin/python3 experiments/bench_supernet.py --bench build/experiments/bench_supernet --hpcnas build/app/hpcnas

Writes experiments/results/bench_supernet.csv.
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/experiments/bench_supernet")
    ap.add_argument("--hpcnas", default="build/app/hpcnas")
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--out", default=os.path.join(REPO, "experiments", "results", "bench_supernet.csv"))
    args = ap.parse_args()
    common = ["--space", "proxyless", "--resolution", str(args.resolution), "--batch", str(args.batch), "--threads", "1"]
    rows = []
    memory = {}
    for mode in ("weight", "full_v2", "two", "full", "darts"):
        line = subprocess.run([args.bench, "--measure", "memory", "--mode", mode, *common], check=True,
                              capture_output=True, text=True).stdout.strip().split(",")
        memory[mode] = float(line[6])
        rows.append({"measure": "peak_memory_mb", "what": mode, "value": memory[mode], "seconds": float(line[5])})
    line = subprocess.run([args.bench, "--measure", "throughput", "--steps", "6", *common], check=True, capture_output=True,
                          text=True).stdout.strip().split(",")
    supernet, fixed = float(line[4]), float(line[5])
    rows += [{"measure": "images_per_second", "what": "supernet weight steps", "value": supernet},
             {"measure": "images_per_second", "what": "the sampled networks alone", "value": fixed}]

    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    rate = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ranks in (1, 2):
            out = os.path.join(tmp, f"r{ranks}")
            subprocess.run(["mpirun", "-np", str(ranks), args.hpcnas, "supernet", "--space", "macro", "--train-images", "192",
                            "--valid-images", "64", "--batch-size", "32", "--micro-batches", "2", "--warmup-epochs", "2",
                            "--epochs", "1", "--threads", "1", "--out", out], env=env, check=True, capture_output=True)
            epochs = list(csv.DictReader(open(os.path.join(out, "epochs.csv"))))
            rate[ranks] = float(epochs[1]["images_per_second"])  # the second warm-up epoch: past start-up
            rows.append({"measure": "images_per_second", "what": f"hpcnas supernet macro, {ranks} rank(s)", "value": rate[ranks]})
    efficiency = rate[2] / (2 * rate[1])
    rows.append({"measure": "parallel_efficiency", "what": "1 -> 2 ranks", "value": round(efficiency, 3)})

    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["measure", "what", "value", "seconds"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"proxyless at {args.resolution} px, batch {args.batch}, 1 thread")
    print(f"{'step':>12} {'peak memory growth (MB)':>24} {'vs darts':>9}")
    for mode, mb in memory.items():
        print(f"{mode:>12} {mb:>24.1f} {mb / memory['darts']:>9.3f}")
    print(f"weight steps: supernet {supernet:.1f} img/s, the sampled networks alone {fixed:.1f} img/s: ratio {supernet / fixed:.3f}")
    print(f"hpcnas supernet (macro, 32 px): 1 rank {rate[1]:.1f} img/s, 2 ranks {rate[2]:.1f} img/s: efficiency {efficiency:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
