#!/usr/bin/env python3
"""The whole engine on NAS-Bench-Macro with real CIFAR-10 (issue 13, item 5): what the
combination of epsilon, the TNASP predictor and supernet-evaluated candidates buys over each
method alone, under a 50 M FLOPs budget, 3 seeds, the same wall-clock budget for every row.

  (a) ProxylessNAS gradient search alone: `hpcnas supernet` (warm-up 4 + 8 search epochs,
      add#linear lambda 0.1 at a 50 M FLOPs target), the runs recorded by
      experiments/supernet_macro.py (experiments/results/supernet_macro_runs.csv, same data,
      1 thread, two runs at once). Its minutes per seed are every row's wall-clock budget.
  (b) our generation loop, the supernet evaluator and the TNASP predictor (--prefilter none);
  (c) (b) with the epsilon prefilter (--prefilter epsilon: epsilon on every candidate);
  (d) random architectures within the budget, evaluated by the supernet (--method random);
  (e) (c) with the supernet trained inside the search (--supernet train): the same one-shot
      warm-up before generation 0, then one more epoch of uniformly sampled paths before each
      generation (up to 8), within the same wall-clock budget.
  (f) (c) with each candidate labelled by its held-out log-likelihood (--supernet-score
      log_likelihood, minus the cross-entropy) instead of its held-out accuracy: it ranks the
      one-shot supernet's subnets better (experiments/supernet_ranking.py).
  (g) ProxylessNAS alone as tuned later (experiments/README.md): 8 warm-up + 4 search epochs,
      arch lr 3e-2, the derived network the most probable within [0.9, 1] x the budget
      (--derive target --derive-band 0.9,1), recorded by experiments/supernet_macro.py
      --name supernet_macro_budget50 under (a)'s conditions (1 thread, two runs at once).

(b)-(d) and (f) share one supernet per seed, trained one-shot (6 warm-up epochs of uniformly sampled
paths + 1 epoch without architecture steps: its weights serve every subnet, none is favoured),
then search with --max-mflops 50 until the row's budget is spent (SIGUSR1: the search stops
after the current generation, its checkpoint written). Nothing in the search sees the benchmark
table: it is read here only to report the true accuracy (`mean_test_acc`) of the architecture each
search returns (its best by supernet accuracy on the 1,085 held-out images).

    /usr/bin/python3 experiments/search_supernet_macro.py --hpcnas build/app/hpcnas --parallel 2
    /usr/bin/python3 experiments/search_supernet_macro.py --rows e   # one row; the others' recorded runs are kept

Writes experiments/results/search_supernet_macro_runs.csv, search_supernet_macro.csv and .png.
Runs are kept under --work (a finished one is not run again).
"""
import argparse
import csv
import os
import signal
import subprocess
import sys
import textwrap
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(REPO), "shared", "data", "cifar10", "train_batches_prefix.bin")
RESULTS = os.path.join(REPO, "experiments", "results")
ROWS = {
    "a": "ProxylessNAS alone",
    "b": "loop + supernet evaluator + predictor",
    "c": "(b) + epsilon prefilter",
    "d": "random within budget + supernet evaluator",
    "e": "(c) + supernet trained inside the search",
    "f": "(c) labelled by held-out log-likelihood",
    "g": "ProxylessNAS alone, 8+4 epochs, derived within budget",
}
RECORDED_PROXYLESS = {"a": "supernet_macro_runs.csv", "g": "supernet_macro_budget50_runs.csv"}


def table():
    rows = list(csv.DictReader(open(os.path.join(REPO, "data", "nasbench_macro_cifar10.csv"))))
    nets = {r["canonical_arch"]: (float(r["mean_test_acc"]), float(r["flops"]) / 1e6) for r in rows}
    return nets, {r["arch"]: r["canonical_arch"] for r in rows}


def supernet_cmd(args, seed, out):
    return [args.hpcnas, "supernet", "--space", "macro", "--data", args.data, "--train-images", "4000", "--valid-images", "1085",
            "--batch-size", "64", "--micro-batches", "1", "--warmup-epochs", str(args.oneshot_warmup), "--epochs", "1",
            "--supernet.arch_every", "1000000", "--seed", str(seed), "--threads", "1", "--progress-interval", "60", "--out", out]


def search_cmd(args, row, seed, supernet, out):
    if row == "e":
        # The one-shot supernet of supernet_cmd, trained by the search: its warm-up before
        # generation 0, then an epoch before each generation (no architecture steps).
        supernet = "train"
        trained = ["--supernet.data", args.data, "--supernet.train_images", "4000", "--supernet.valid_images", "1085",
                   "--supernet.batch_size", "64", "--supernet.micro_batches", "1", "--supernet.warmup_epochs",
                   str(args.oneshot_warmup), "--supernet.epochs", "8", "--supernet.arch_every", "1000000",
                   "--supernet.seed", str(seed), "--supernet-epochs-per-generation", "1"]
        return search_cmd(args, "c", seed, supernet, out) + trained
    common = [args.hpcnas, "search", "--space", "macro", "--evaluator", "supernet", "--supernet", supernet,
              "--max-mflops", str(args.budget), "--seed", str(seed), "--generations", "100000", "--threads", "1",
              "--initial-queries", "10", "--queries-per-generation", "5", "--population", "20", "--tournament", "5",
              "--out", out]
    if row == "d":
        return common + ["--method", "random"]
    if row == "f":
        return search_cmd(args, "c", seed, supernet, out) + ["--supernet-score", "log_likelihood"]
    prefilter = ["--prefilter", "epsilon", "--initial-pool", "200"] if row in "cf" else ["--prefilter", "none", "--initial-pool", "10"]
    return common + ["--method", "tnasp", "--candidates", "50", "--predictor-epochs", "50"] + prefilter


def recorded_proxyless(row, budget):
    """Row (a) or (g) per seed: (derived canonical code, minutes) of the recorded ProxylessNAS
    runs; none where they were not run."""
    path = os.path.join(RESULTS, RECORDED_PROXYLESS[row])
    runs = list(csv.DictReader(open(path))) if os.path.exists(path) else []
    return {int(r["seed"]): (r["canonical"], float(r["minutes"])) for r in runs if float(r["target_mflops"]) == budget}


class Job:
    def __init__(self, name, cmd, out, budget_s=None, after=None):
        self.name, self.cmd, self.out, self.budget_s, self.after = name, cmd, out, budget_s, after
        self.proc, self.start, self.signalled = None, None, False

    def done(self):
        return os.path.exists(self.out + ".seconds")

    def seconds(self):
        return float(open(self.out + ".seconds").read())


def run_jobs(jobs, parallel):
    pending, running = [j for j in jobs if not j.done()], []
    while pending or running:
        for job in list(pending):
            if len(running) >= parallel:
                break
            if job.after is not None and not job.after.done():
                continue
            pending.remove(job)
            cmd = job.cmd() if callable(job.cmd) else job.cmd
            job.proc = subprocess.Popen(cmd, stdout=open(job.out + ".log", "w"), stderr=subprocess.STDOUT)
            job.start = time.time()
            running.append(job)
            print(f"started {job.name}" + (f" (budget {job.budget_s():.0f} s)" if job.budget_s else ""), flush=True)
        time.sleep(1)
        for job in list(running):
            elapsed = time.time() - job.start
            if job.budget_s and not job.signalled and elapsed > job.budget_s():
                job.proc.send_signal(signal.SIGUSR1)  # stops after the current generation
                job.signalled = True
            if job.proc.poll() is None:
                continue
            running.remove(job)
            if job.proc.returncode not in (0, 75):
                sys.exit(f"{job.name}: exit {job.proc.returncode}, see {job.out}.log")
            open(job.out + ".seconds", "w").write(f"{elapsed:.1f}\n")
            print(f"finished {job.name} in {elapsed:.0f} s", flush=True)


def best_of_search(out, canonical):
    queries = list(csv.DictReader(open(os.path.join(out, "queries.csv"))))
    label = "supernet_valid_accuracy" if "supernet_valid_accuracy" in queries[0] else "supernet_valid_log_likelihood"
    scored = [q for q in queries if q[label]]
    best = max(scored, key=lambda q: float(q[label]))  # the first of equals, as the search
    return canonical[best["arch"]], float(best[label]), len(queries)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hpcnas", default="build/app/hpcnas")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--work", default="/tmp/hpcnas_search_supernet_macro")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=50, help="MFLOPs")
    ap.add_argument("--oneshot-warmup", type=int, default=6, help="warm-up epochs of the one-shot supernet of (b)-(d)")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--name", default="search_supernet_macro")
    ap.add_argument("--rows", default="bcdef", help="rows to run; the others are read from the recorded runs CSV")
    args = ap.parse_args()
    if not os.path.exists(args.data):
        print(f"skipped: the full CIFAR-10 prefix is not at {args.data}")
        return 0
    os.makedirs(args.work, exist_ok=True)
    proxyless = {row: recorded_proxyless(row, args.budget) for row in RECORDED_PROXYLESS}
    row_a = proxyless["a"]
    seeds = list(range(args.seeds))
    jobs = []
    shared_rows = [row for row in "bcdf" if row in args.rows]
    for seed in seeds:
        sn = os.path.join(args.work, f"supernet_s{seed}")
        train = Job(f"one-shot supernet, seed {seed}", supernet_cmd(args, seed, sn), sn)
        if shared_rows:
            jobs.append(train)
        for row in shared_rows:
            out = os.path.join(args.work, f"{row}_s{seed}")
            # The row's budget is (a)'s minutes for this seed; the supernet's training is part of it.
            jobs.append(Job(f"row ({row}), seed {seed}", search_cmd(args, row, seed, sn, out), out,
                            budget_s=lambda seed=seed, train=train: row_a[seed][1] * 60 - train.seconds(), after=train))
        if "e" in args.rows:
            out = os.path.join(args.work, f"e_s{seed}")
            jobs.append(Job(f"row (e), seed {seed}", search_cmd(args, "e", seed, None, out), out,
                            budget_s=lambda seed=seed: row_a[seed][1] * 60))
    # The supernets first (every search waits for its own), then the searches.
    run_jobs(jobs, args.parallel)

    nets, canonical = table()
    best_within = max(a for a, f in nets.values() if f <= args.budget)
    runs_csv = os.path.join(RESULTS, f"{args.name}_runs.csv")
    recorded = list(csv.DictReader(open(runs_csv))) if os.path.exists(runs_csv) else []
    runs = []
    for seed in seeds:
        for row, recorded_runs in proxyless.items():
            if seed not in recorded_runs:
                continue
            code, minutes = recorded_runs[seed]
            runs.append({"row": row, "method": ROWS[row], "seed": seed, "arch": code, "mflops": round(nets[code][1], 3),
                         "true_accuracy": nets[code][0], "supernet_label": "", "evaluations": "", "wall_minutes": minutes})
        for row in "bcdef":
            if row not in args.rows:
                runs += [{**r, "seed": seed, "true_accuracy": float(r["true_accuracy"]), "mflops": float(r["mflops"]),
                          "evaluations": int(r["evaluations"]), "wall_minutes": float(r["wall_minutes"])}
                         for r in recorded if r["row"] == row and int(r["seed"]) == seed]
                continue
            out = os.path.join(args.work, f"{row}_s{seed}")
            code, sn_acc, queries = best_of_search(out, canonical)
            seconds = next(j for j in jobs if j.out == out).seconds()
            if row != "e":  # the shared one-shot supernet's training is part of the row's time
                seconds += next(j for j in jobs if j.out.endswith(f"supernet_s{seed}")).seconds()
            runs.append({"row": row, "method": ROWS[row], "seed": seed, "arch": code, "mflops": round(nets[code][1], 3),
                         "true_accuracy": nets[code][0], "supernet_label": sn_acc, "evaluations": queries,
                         "wall_minutes": round(seconds / 60, 1)})
    for r in runs:
        print(f"({r['row']}) seed {r['seed']}: {r['arch']} {r['mflops']:6.2f} M  true {r['true_accuracy']:6.2f}%  "
              f"evaluations {r['evaluations'] or '-':>4}  {r['wall_minutes']} min")
    with open(runs_csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(runs[0]))
        writer.writeheader()
        writer.writerows(runs)
    summary = []
    for row in "abcdefg":
        mine = [r for r in runs if r["row"] == row]
        if not mine:
            continue
        acc = [r["true_accuracy"] for r in mine]
        summary.append({"row": row, "method": ROWS[row], "seeds": len(mine), "mean_true_accuracy": round(float(np.mean(acc)), 3),
                        "std_true_accuracy": round(float(np.std(acc)), 3), "max_mflops": max(r["mflops"] for r in mine),
                        "mean_evaluations": round(float(np.mean([r["evaluations"] for r in mine])), 1) if row not in RECORDED_PROXYLESS else "",
                        "mean_wall_minutes": round(float(np.mean([r["wall_minutes"] for r in mine])), 1),
                        "best_within_budget": best_within})
    with open(os.path.join(RESULTS, f"{args.name}.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(summary[0]))
        writer.writeheader()
        writer.writerows(summary)
    print()
    print(f"{'row':4} {'method':44} {'true acc. (mean ± std)':>24} {'evaluations':>12} {'wall min':>9}")
    for s in summary:
        print(f"({s['row']})  {s['method']:44} {s['mean_true_accuracy']:>14.2f} ± {s['std_true_accuracy']:.2f}   "
              f"{s['mean_evaluations'] or '-':>12} {s['mean_wall_minutes']:>9}")
    print(f"best network within {args.budget:g} M FLOPs in the benchmark: {best_within:.2f}%")

    shown = [s["row"] for s in summary]
    fig, ax = plt.subplots(figsize=(9, 4.6))
    for i, row in enumerate(shown):
        acc = [r["true_accuracy"] for r in runs if r["row"] == row]
        ax.bar(i, np.mean(acc), color="tab:blue" if row == "c" else "#9db9d8", width=0.6)
        ax.plot([i] * len(acc), acc, "o", color="black", ms=4)
    ax.axhline(best_within, color="tab:red", lw=1, ls="--", label=f"best within {args.budget:g} M ({best_within:.2f}%)")
    ax.axhline(92.0, color="tab:green", lw=1, ls=":", label="goal of (c): 92.0%")
    ax.set_xticks(range(len(shown)))
    ax.set_xticklabels([f"({r})\n" + textwrap.fill(ROWS[r], 17) for r in shown], fontsize=7)
    ax.set_ylim(min(86, np.floor(min(r["true_accuracy"] for r in runs)) - 0.5), 93)
    ax.set_ylabel("true CIFAR-10 accuracy (%), NAS-Bench-Macro")
    ax.set_title(f"NAS-Bench-Macro, {args.budget:g} M FLOPs budget, {len(seeds)} seeds, equal wall clock per row", fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(RESULTS, f"{args.name}.png"), dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
