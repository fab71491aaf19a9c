#!/usr/bin/env python3
"""Experiment: TNASP predictor Kendall tau on NAS-Bench-201 CIFAR-10 against the paper.

For every training size and seed, runs `hpcnas train-predictor` (world size 1, one thread;
`--jobs` runs in parallel) with and without self-evolution, and reads the Kendall tau over all
cells not used for training from the predictor file (/training@kendall_tau). Each finished
run is appended to RESULTS/predictor_tau_runs.csv at once, so an interrupted experiment
resumes where it stopped. Then writes mean +- std per size and variant to
RESULTS/predictor_tau.csv and plots them beside TNASP's published values
(RESULTS/predictor_tau.png).

    python3 experiments/predictor_tau.py --hpcnas build/app/hpcnas --jobs 2
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

PUBLISHED = {78: 0.539, 156: 0.589, 469: 0.640, 781: 0.689, 1563: 0.724}  # TNASP, NB201 CIFAR-10
RUN_FIELDS = ["train_size", "seed", "variant", "kendall_tau", "seconds", "epochs"]


def run_one(args, size, seed, variant, workdir):
    out = os.path.join(workdir, f"p_{size}_{seed}_{variant}.h5")
    command = [args.hpcnas, "train-predictor", "--truth", args.truth, "--train-size", str(size), "--seed", str(seed),
               "--epochs", str(args.epochs), "--threads", "1", "--progress-interval", "600", "--out", out]
    if variant == "self_evolution":
        command += ["--self-evolution", str(args.rounds), "--self-evolution-weight", str(args.weight)]
    started = time.time()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.time() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}{result.stdout}")
    with h5py.File(out, "r") as f:
        tau = float(f["/training"].attrs["kendall_tau"])
    os.remove(out)
    return {"train_size": size, "seed": seed, "variant": variant, "kendall_tau": tau, "seconds": round(seconds, 1),
            "epochs": args.epochs}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hpcnas", default="build/app/hpcnas")
    ap.add_argument("--truth", default="embedded")
    ap.add_argument("--sizes", type=int, nargs="+", default=sorted(PUBLISHED))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3, help="self-evolution rounds T")
    ap.add_argument("--weight", type=float, default=1.0, help="self-evolution weight lambda")
    ap.add_argument("--variants", nargs="+", default=["plain", "self_evolution"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--results", default="experiments/results")
    args = ap.parse_args()

    runs_path = os.path.join(args.results, "predictor_tau_runs.csv")
    done = {}
    if os.path.exists(runs_path):
        with open(runs_path) as f:
            for row in csv.DictReader(f):
                if int(row["epochs"]) == args.epochs:
                    done[(int(row["train_size"]), int(row["seed"]), row["variant"])] = row
    todo = [(size, seed, variant) for size in args.sizes for seed in args.seeds for variant in args.variants
            if (size, seed, variant) not in done]
    # Largest first: the longest runs start early and the pool drains evenly.
    todo.sort(key=lambda t: -t[0])
    print(f"{len(done)} runs recorded, {len(todo)} to go", flush=True)
    new_file = not os.path.exists(runs_path)
    with tempfile.TemporaryDirectory() as workdir, open(runs_path, "a", newline="") as runs_file:
        writer = csv.DictWriter(runs_file, fieldnames=RUN_FIELDS)
        if new_file:
            writer.writeheader()
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_one, args, *job, workdir) for job in todo]
            for i, future in enumerate(concurrent.futures.as_completed(futures), 1):
                row = future.result()
                writer.writerow(row)
                runs_file.flush()
                done[(row["train_size"], row["seed"], row["variant"])] = row
                print(f"[{i}/{len(todo)}] size {row['train_size']:5d} seed {row['seed']} {row['variant']:15s} "
                      f"tau {row['kendall_tau']:.4f} ({row['seconds']:.0f} s)", flush=True)

    summary = []
    print(f"\n{'size':>5} {'variant':15s} {'tau mean':>8} {'std':>6} {'n':>2} {'published':>9}")
    for size in args.sizes:
        for variant in args.variants:
            taus = [float(r["kendall_tau"]) for (s, _, v), r in done.items() if s == size and v == variant]
            if not taus:
                continue
            mean, std = statistics.mean(taus), statistics.stdev(taus) if len(taus) > 1 else 0.0
            summary.append({"train_size": size, "variant": variant, "kendall_tau_mean": round(mean, 4),
                            "kendall_tau_std": round(std, 4), "runs": len(taus), "published": PUBLISHED.get(size, "")})
            print(f"{size:5d} {variant:15s} {mean:8.4f} {std:6.4f} {len(taus):2d} {PUBLISHED.get(size, float('nan')):9.3f}")
    with open(os.path.join(args.results, "predictor_tau.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(summary[0]))
        writer.writeheader()
        writer.writerows(summary)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    sizes = sorted(PUBLISHED)
    ax.plot(sizes, [PUBLISHED[s] for s in sizes], "k--o", label="TNASP (published)")
    for variant, style in (("plain", "C0-s"), ("self_evolution", "C1-^")):
        rows = [r for r in summary if r["variant"] == variant]
        if rows:
            ax.errorbar([r["train_size"] for r in rows], [r["kendall_tau_mean"] for r in rows],
                        yerr=[r["kendall_tau_std"] for r in rows], fmt=style, capsize=3,
                        label=f"hpcnas, {variant.replace('_', '-')} (mean ± std, {len(args.seeds)} seeds)")
    ax.set_xscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(s) for s in sizes])
    ax.set_xlabel("training architectures")
    ax.set_ylabel("Kendall τ on all other NB201 cells (CIFAR-10 test)")
    ax.set_title("TNASP predictor on NAS-Bench-201")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(args.results, "predictor_tau.png"), dpi=120)
    print(f"wrote {runs_path}, predictor_tau.csv and predictor_tau.png in {args.results}")


if __name__ == "__main__":
    sys.exit(main())
