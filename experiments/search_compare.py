#!/usr/bin/env python3
"""Experiment: our search against regularised evolution and random search on NAS-Bench-201.

For every method and seed, runs `hpcnas search` (world size 1, one thread; `--jobs` runs in
parallel) and reads its queries from the results file (/queries). Each run's best-so-far curve
is appended to RESULTS/search_compare_runs.csv when it finishes, so an interrupted experiment
resumes where it stopped. Then writes the mean +- std of the best CIFAR-10 test accuracy after
q queries per method to RESULTS/search_compare.csv and plots the curves with the NB201 optimum
(94.37 %) marked (RESULTS/search_compare.png).

    python3 experiments/search_compare.py --hpcnas build/app/hpcnas --jobs 2

Extra `hpcnas search` options for every run go after `--`, e.g. `-- --selection predictor`.
"""
import argparse
import concurrent.futures
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time

import h5py

OPTIMUM = 94.373333  # best cifar10_test accuracy in NAS-Bench-201 (two cells share it)
GOAL = 94.2
RUN_FIELDS = ["method", "seed", "queries", "best_curve", "final_best", "seconds", "label"]


def run_one(args, method, seed, workdir):
    out = os.path.join(workdir, f"{method}_{seed}")
    command = [args.hpcnas, "search", "--method", method, "--seed", str(seed), "--truth", args.truth,
               "--generations", str(args.generations), "--threads", "1", "--out", out] + args.extra
    started = time.time()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.time() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}{result.stdout}")
    with h5py.File(os.path.join(out, "search.h5"), "r") as f:
        accuracy = list(f["/queries/accuracy"][:])
    best, curve = -1.0, []
    for a in accuracy:
        best = max(best, a)
        curve.append(best)
    subprocess.run(["rm", "-rf", out])
    return {"method": method, "seed": seed, "queries": len(curve), "best_curve": ";".join(f"{v:.6f}" for v in curve),
            "final_best": round(curve[-1], 6), "seconds": round(seconds, 1), "label": args.label}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hpcnas", default="build/app/hpcnas")
    ap.add_argument("--truth", default="embedded")
    ap.add_argument("--methods", nargs="+", default=["tnasp", "evolution", "random"])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--generations", type=int, default=10, help="10 = 10 + 9 x 10 = 100 queries with the defaults")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--label", default="default", help="names this configuration in the runs file")
    ap.add_argument("--results", default="experiments/results")
    ap.add_argument("extra", nargs="*", help="more hpcnas search options (after --)")
    args = ap.parse_args()
    os.makedirs(args.results, exist_ok=True)
    runs_path = os.path.join(args.results, "search_compare_runs.csv")

    done = {}
    if os.path.exists(runs_path):
        with open(runs_path) as f:
            for row in csv.DictReader(f):
                done[(row["label"], row["method"], int(row["seed"]))] = row
    todo = [(m, s) for m in args.methods for s in range(args.seeds) if (args.label, m, s) not in done]
    print(f"{len(done)} runs on file, {len(todo)} to go", flush=True)
    started = time.time()
    with tempfile.TemporaryDirectory() as workdir, concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_one, args, m, s, workdir): (m, s) for m, s in todo}
        for i, future in enumerate(concurrent.futures.as_completed(futures), 1):
            row = future.result()
            new_file = not os.path.exists(runs_path)
            with open(runs_path, "a", newline="") as f:
                writer = csv.DictWriter(f, RUN_FIELDS)
                if new_file:
                    writer.writeheader()
                writer.writerow(row)
            done[(args.label, row["method"], row["seed"])] = {k: str(v) for k, v in row.items()}
            elapsed = time.time() - started
            print(f"[{i}/{len(todo)}] {row['method']} seed {row['seed']}: best {row['final_best']:.2f}% after "
                  f"{row['queries']} queries ({row['seconds']} s) | ETA {elapsed / i * (len(todo) - i):.0f} s", flush=True)

    curves = {}
    for (label, method, seed), row in done.items():
        if label == args.label and method in args.methods and seed < args.seeds:
            curves.setdefault(method, []).append([float(v) for v in row["best_curve"].split(";")])
    summary_path = os.path.join(args.results, "search_compare.csv")
    rows = []
    print(f"\n{'method':<10} {'seeds':>5} {'queries':>7} {'mean best %':>11} {'std':>6} {'>= 94.2':>7}")
    for method in args.methods:
        runs = curves.get(method, [])
        length = min(len(c) for c in runs)
        for q in range(length):
            values = [c[q] for c in runs]
            rows.append({"label": args.label, "method": method, "queries": q + 1, "seeds": len(values),
                         "mean_best": round(statistics.mean(values), 4),
                         "std_best": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0})
        finals = [c[length - 1] for c in runs]
        print(f"{method:<10} {len(runs):>5} {length:>7} {statistics.mean(finals):>11.3f} "
              f"{statistics.stdev(finals) if len(finals) > 1 else 0:>6.3f} {sum(v >= GOAL for v in finals):>7}")
    with open(summary_path, "w", newline="") as f:
        writer = csv.DictWriter(f, ["label", "method", "queries", "seeds", "mean_best", "std_best"])
        writer.writeheader()
        writer.writerows(rows)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    names = {"tnasp": "ours: epsilon + TNASP predictor + evolution", "evolution": "regularised evolution",
             "random": "random search"}
    for method in args.methods:
        q = [r["queries"] for r in rows if r["method"] == method]
        m = [r["mean_best"] for r in rows if r["method"] == method]
        s = [r["std_best"] for r in rows if r["method"] == method]
        ax.plot(q, m, label=f"{names.get(method, method)} ({len(curves[method])} seeds)")
        ax.fill_between(q, [a - b for a, b in zip(m, s)], [a + b for a, b in zip(m, s)], alpha=0.15)
    ax.axhline(OPTIMUM, color="k", linestyle="--", linewidth=1, label=f"NB201 optimum {OPTIMUM:.2f}%")
    ax.axhline(GOAL, color="grey", linestyle=":", linewidth=1, label=f"goal {GOAL}%")
    ax.set_xlabel("queries (tabular evaluations)")
    ax.set_ylabel("best CIFAR-10 test accuracy so far (%)")
    ax.set_ylim(91.5, 94.6)
    ax.set_title(f"NAS-Bench-201 CIFAR-10: mean +- std over seeds ({args.label})")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    png = os.path.join(args.results, "search_compare.png")
    fig.savefig(png, dpi=120)
    print(f"wrote {summary_path}, {png}, {runs_path}")


if __name__ == "__main__":
    sys.exit(main())
