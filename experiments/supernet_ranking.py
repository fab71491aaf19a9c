#!/usr/bin/env python3
"""How well does a one-shot supernet rank NAS-Bench-Macro networks, and what makes it rank better?

The search's supernet evaluator labels each candidate by its held-out score with inherited
weights; the search can only find what that label ranks. This measures the label against the
benchmark on the same networks the 50 M FLOPs search sees: N distinct networks drawn at random
within the budget (seeded), each evaluated with the supernets given (`hpcnas supernet` output
directories, e.g. trained for different numbers of epochs), for every BatchNorm recalibration
size and both scores (held-out accuracy; held-out cross-entropy, lower is better). Reported:
Kendall tau and Spearman rho against `mean_test_acc`, and the true accuracy of the top-1 and the
mean of the top-5 each score picks.

    /usr/bin/python3 experiments/supernet_ranking.py --supernet 7:/tmp/sn7 --supernet 30:/tmp/sn30

Writes experiments/results/supernet_ranking.csv, supernet_ranking_runs.csv and .png.
"""
import argparse
import csv
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "experiments", "results")


def within_budget(budget, count, seed):
    rows = [r for r in csv.DictReader(open(os.path.join(REPO, "data", "nasbench_macro_cifar10.csv")))
            if r["arch"] == r["canonical_arch"] and float(r["flops"]) / 1e6 <= budget]
    picked = np.random.default_rng(seed).choice(len(rows), size=min(count, len(rows)), replace=False)
    return {rows[i]["arch"]: float(rows[i]["mean_test_acc"]) for i in sorted(picked)}


def summarise(truth, lines):
    archs = [line["arch"] for line in lines]
    true = np.array([truth[a] for a in archs])
    out = {}
    for score, sign in (("accuracy", 1.0), ("loss", -1.0)):
        value = sign * np.array([float(line["valid_" + score]) for line in lines])
        order = np.argsort(-value, kind="stable")
        out[score] = {"kendall_tau": stats.kendalltau(value, true)[0], "spearman_rho": stats.spearmanr(value, true)[0],
                      "top1_true": true[order[0]], "top5_true_mean": true[order[:5]].mean()}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ranking", default="build/experiments/supernet_ranking")
    ap.add_argument("--supernet", action="append", required=True, metavar="LABEL:DIR",
                    help="a trained supernet (output of hpcnas supernet) and its label, e.g. its epochs")
    ap.add_argument("--networks", type=int, default=100)
    ap.add_argument("--budget", type=float, default=50, help="MFLOPs")
    ap.add_argument("--recalibration", default="128,1024")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="/tmp/hpcnas_supernet_ranking")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    truth = within_budget(args.budget, args.networks, args.seed)
    archs_file = os.path.join(args.work, "archs.txt")
    open(archs_file, "w").write("\n".join(truth) + "\n")
    print(f"{len(truth)} networks within {args.budget:g} M FLOPs: true accuracy {min(truth.values()):.2f}-"
          f"{max(truth.values()):.2f} %, mean {np.mean(list(truth.values())):.2f} %", flush=True)

    runs, summary = [], []
    for spec in args.supernet:
        label, directory = spec.split(":", 1)
        out = os.path.join(args.work, f"{label}.csv")
        if not os.path.exists(out):
            cmd = [args.ranking, "--supernet", directory, "--archs", archs_file, "--recalibration", args.recalibration,
                   "--threads", str(args.threads)]
            print(f"evaluating with supernet {label} ({directory}) ...", flush=True)
            with open(out + ".part", "w") as partial:  # readable while it runs
                result = subprocess.run(cmd, stdout=partial, stderr=subprocess.PIPE, text=True)
            if result.returncode != 0:
                sys.exit(f"{' '.join(cmd)}: exit {result.returncode}: {result.stderr.strip()}")
            os.rename(out + ".part", out)
        lines = list(csv.DictReader(open(out)))
        for line in lines:
            runs.append({"supernet": label, **line, "true_accuracy": truth[line["arch"]]})
        for recal in sorted({int(line["recalibration_images"]) for line in lines}):
            for score, m in summarise(truth, [l for l in lines if int(l["recalibration_images"]) == recal]).items():
                summary.append({"supernet": label, "recalibration_images": recal, "score": score,
                                **{k: round(float(v), 4) for k, v in m.items()}})

    name = os.path.join(RESULTS, "supernet_ranking")
    with open(name + "_runs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(runs[0]))
        w.writeheader()
        w.writerows(runs)
    with open(name + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)
    print(f"| supernet | recalibration | score | Kendall tau | Spearman rho | top-1 true | top-5 true mean |")
    print("|---|---|---|---|---|---|---|")
    for s in summary:
        print(f"| {s['supernet']} | {s['recalibration_images']} | {s['score']} | {s['kendall_tau']:.3f} | "
              f"{s['spearman_rho']:.3f} | {s['top1_true']:.2f} | {s['top5_true_mean']:.2f} |")

    labels = [spec.split(":", 1)[0] for spec in args.supernet]
    recals = sorted({int(r["recalibration_images"]) for r in runs})
    fig, axes = plt.subplots(len(recals), len(labels), figsize=(4 * len(labels), 3.6 * len(recals)), squeeze=False)
    for i, recal in enumerate(recals):
        for j, label in enumerate(labels):
            sel = [r for r in runs if r["supernet"] == label and int(r["recalibration_images"]) == recal]
            ax = axes[i][j]
            if not sel:  # this supernet was not evaluated at this recalibration size
                ax.axis("off")
                continue
            ax.scatter([float(r["valid_loss"]) for r in sel], [r["true_accuracy"] for r in sel], s=10)
            tau = next(s["kendall_tau"] for s in summary
                       if s["supernet"] == label and s["recalibration_images"] == recal and s["score"] == "loss")
            ax.set_title(f"supernet {label}, BN on {recal} images: tau {tau:.2f}", fontsize=9)
            ax.set_xlabel("held-out cross-entropy (supernet weights)")
            ax.set_ylabel("NAS-Bench-Macro accuracy (%)")
    fig.tight_layout()
    fig.savefig(name + ".png", dpi=120)
    print(f"wrote {name}.csv, {name}_runs.csv, {name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
