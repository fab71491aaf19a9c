#!/usr/bin/env python3
"""Experiment: our search against regularised evolution and random search on a tabular space
(NAS-Bench-201, or NAS-Bench-Macro with --space macro).

For every method and seed, runs `hpcnas search` (world size 1, one thread; `--jobs` runs in
parallel) and reads its queries from the results file (/queries). Each run's best-so-far curve
is appended to RESULTS/search_compare[_macro]_runs.csv when it finishes, so an interrupted
experiment resumes where it stopped. Then writes the mean +- std of the best test accuracy after
q queries per method to RESULTS/search_compare[_macro].csv and plots the curves with the space's
optimum marked (RESULTS/search_compare[_macro].png).

    python3 experiments/search_compare.py --hpcnas build/app/hpcnas --jobs 2
    python3 experiments/search_compare.py --hpcnas build/app/hpcnas --jobs 2 --space macro

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

# Per space: the truth column, the best value in the table, the goal of the issue that asked,
# the plot's y range (None: from the data) and file suffix.
SPACES = {
    "nb201": {"column": "cifar10_test", "optimum": 94.373333, "goal": 94.2, "ylim": (91.5, 94.6), "suffix": "",
              "title": "NAS-Bench-201 CIFAR-10"},  # two cells share the optimum
    "macro": {"column": "mean_test_acc", "optimum": 93.1267, "goal": 93.05, "ylim": None, "suffix": "_macro",
              "title": "NAS-Bench-Macro CIFAR-10"},  # 22212220, mean of three runs
}
RUN_FIELDS = ["method", "seed", "queries", "best_curve", "final_best", "seconds", "label"]


def run_one(args, method, seed, workdir):
    out = os.path.join(workdir, f"{method}_{seed}")
    command = [args.hpcnas, "search", "--space", args.space, "--method", method, "--seed", str(seed), "--truth", args.truth,
               "--truth-column", SPACES[args.space]["column"], "--generations", str(args.generations), "--threads", "1",
               "--out", out] + args.extra
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
    ap.add_argument("--space", default="nb201", choices=sorted(SPACES))
    ap.add_argument("--truth", default="embedded")
    ap.add_argument("--methods", nargs="+", default=["tnasp", "evolution", "random"])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--generations", type=int, default=10, help="10 = 10 + 9 x 10 = 100 queries with the defaults")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--label", default="default", help="names this configuration in the runs file")
    ap.add_argument("--results", default="experiments/results")
    ap.add_argument("extra", nargs="*", help="more hpcnas search options (after --)")
    args = ap.parse_args()
    space = SPACES[args.space]
    os.makedirs(args.results, exist_ok=True)
    stem = os.path.join(args.results, "search_compare" + space["suffix"])
    runs_path = stem + "_runs.csv"

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
    summary_path = stem + ".csv"
    rows = []
    goal = space["goal"]
    print(f"\n{'method':<10} {'seeds':>5} {'mean best % after 10 / 25 / 50 / all queries':>44} {'std':>6} "
          f"{'>= ' + str(goal):>8} {'optimum':>7}")
    for method in args.methods:
        runs = curves.get(method, [])
        length = min(len(c) for c in runs)
        for q in range(length):
            values = [c[q] for c in runs]
            rows.append({"label": args.label, "method": method, "queries": q + 1, "seeds": len(values),
                         "mean_best": round(statistics.mean(values), 4),
                         "std_best": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0})
        finals = [c[length - 1] for c in runs]
        at = " / ".join(f"{statistics.mean(c[min(q, length) - 1] for c in runs):.3f}" for q in (10, 25, 50, length))
        print(f"{method:<10} {len(runs):>5} {at + f' ({length})':>44} "
              f"{statistics.stdev(finals) if len(finals) > 1 else 0:>6.3f} {sum(v >= goal for v in finals):>8} "
              f"{sum(v >= space['optimum'] - 1e-4 for v in finals):>7}")
    with open(summary_path, "w", newline="") as f:
        writer = csv.DictWriter(f, ["label", "method", "queries", "seeds", "mean_best", "std_best"])
        writer.writeheader()
        writer.writerows(rows)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    # Left: every curve whole, from the first query; right: the same curves near the optimum.
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    names = {"tnasp": "ours: epsilon + TNASP predictor + evolution", "evolution": "regularised evolution",
             "random": "random search"}
    for panel, ax in enumerate(axes):
        for method in args.methods:
            q = [r["queries"] for r in rows if r["method"] == method]
            m = [r["mean_best"] for r in rows if r["method"] == method]
            s = [r["std_best"] for r in rows if r["method"] == method]
            ax.plot(q, m, label=f"{names.get(method, method)} ({len(curves[method])} seeds)")
            ax.fill_between(q, [a - b for a, b in zip(m, s)], [a + b for a, b in zip(m, s)], alpha=0.15)
        ax.axhline(space["optimum"], color="k", linestyle="--", linewidth=1, label=f"optimum {space['optimum']:.3f}%")
        ax.axhline(goal, color="grey", linestyle=":", linewidth=1, label=f"goal {goal}%")
        ax.set_xlabel("queries (tabular evaluations)")
        ax.set_ylabel("best CIFAR-10 test accuracy so far (%)")
        if panel == 1:
            if space["ylim"]:
                ax.set_ylim(*space["ylim"])
            else:  # from the 5th query on, every curve whole
                low = min(r["mean_best"] - r["std_best"] for r in rows if r["queries"] >= 5)
                ax.set_ylim(low - 0.1, space["optimum"] + 0.1)
            ax.set_title("zoom near the optimum", fontsize=10)
        else:  # every mean whole, from the first query; the band may not pass 100 %
            low = min(r["mean_best"] - r["std_best"] for r in rows)
            ax.set_ylim(max(low, 0) - 0.5, min(space["optimum"] + 1.0, 100.0))
            ax.set_title(f"{space['title']}: mean +- std over seeds ({args.label})", fontsize=10)
        ax.legend(loc="lower right", fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    png = stem + ".png"
    fig.savefig(png, dpi=120)
    print(f"wrote {summary_path}, {png}, {runs_path}")


if __name__ == "__main__":
    sys.exit(main())
