#!/usr/bin/env python3
"""How well does a one-shot supernet rank NAS-Bench-Macro networks, and what makes it rank better?

The search's supernet evaluator labels each candidate by its held-out score with inherited
weights; the search can only find what that label ranks. This measures the label against the
benchmark on the same networks the 50 M FLOPs search sees: N distinct networks drawn at random
within the budget (seeded), each evaluated with the supernets given (`hpcnas supernet` output
directories, e.g. trained for different numbers of epochs), for every BatchNorm recalibration
size, every number of fine-tuning steps on the inherited weights (the search's --finetune-steps)
and both scores (held-out accuracy; held-out cross-entropy, lower is better). Reported: Kendall tau
and Spearman rho against `mean_test_acc`, and the true accuracy of the top-1 and the mean of the
top-5 each score picks. The recorded runs of supernets not given again are kept.

    /usr/bin/python3 experiments/supernet_ranking.py --supernet 7:/tmp/sn7 --supernet 30:/tmp/sn30
    /usr/bin/python3 experiments/supernet_ranking.py --supernet 7ft:/tmp/sn7 --recalibration 128 --finetune-steps 0,20

With --from-scratch the supernets give only their data, split, seed and schedule: every network
starts from the initial weights and --finetune-steps trains it alone (a stand-alone baseline for
the supernet's ranking; --augment crops and flips its images); --archs names the networks instead
of drawing them:

    /usr/bin/python3 experiments/supernet_ranking.py --supernet scratch:/tmp/sn7 --from-scratch \
        --archs 20220200,21111200 --recalibration 128 --finetune-steps 189,630

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


def within_budget(budget, count, seed, named):
    rows = [r for r in csv.DictReader(open(os.path.join(REPO, "data", "nasbench_macro_cifar10.csv")))
            if r["arch"] == r["canonical_arch"] and float(r["flops"]) / 1e6 <= budget]
    if named:
        truth = {r["arch"]: float(r["mean_test_acc"]) for r in rows}
        missing = [a for a in named if a not in truth]
        if missing:
            sys.exit(f"--archs: {', '.join(missing)}: not a canonical network of the benchmark within {budget:g} M FLOPs")
        return {a: truth[a] for a in named}
    picked = np.random.default_rng(seed).choice(len(rows), size=min(count, len(rows)), replace=False)
    return {rows[i]["arch"]: float(rows[i]["mean_test_acc"]) for i in sorted(picked)}


def summarise(lines):
    true = np.array([line["true_accuracy"] for line in lines])
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
    ap.add_argument("--finetune-steps", default="0", help="fine-tuning steps before each evaluation, comma-separated")
    ap.add_argument("--archs", default="", help="comma-separated networks to evaluate instead of --networks drawn at random")
    ap.add_argument("--from-scratch", action="store_true", help="train every network alone from the initial weights")
    ap.add_argument("--augment", action="store_true", help="crop and flip the images of the training steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="/tmp/hpcnas_supernet_ranking")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    truth = within_budget(args.budget, args.networks, args.seed, [a for a in args.archs.split(",") if a])
    archs_file = os.path.join(args.work, "archs.txt")
    open(archs_file, "w").write("\n".join(truth) + "\n")
    print(f"{len(truth)} networks within {args.budget:g} M FLOPs: true accuracy {min(truth.values()):.2f}-"
          f"{max(truth.values()):.2f} %, mean {np.mean(list(truth.values())):.2f} %", flush=True)

    name = os.path.join(RESULTS, "supernet_ranking")
    labels = [spec.split(":", 1)[0] for spec in args.supernet]
    recorded = list(csv.DictReader(open(name + "_runs.csv"))) if os.path.exists(name + "_runs.csv") else []
    kept = [r for r in recorded if r["supernet"] not in labels]
    labels = list(dict.fromkeys(r["supernet"] for r in kept)) + labels
    lines_of = {label: [{**r, "true_accuracy": float(r["true_accuracy"])} for r in kept if r["supernet"] == label]
                for label in labels}
    for spec in args.supernet:
        label, directory = spec.split(":", 1)
        out = os.path.join(args.work, f"{label}.csv")
        if not os.path.exists(out):
            cmd = [args.ranking, "--supernet", directory, "--archs", archs_file, "--recalibration", args.recalibration,
                   "--finetune-steps", args.finetune_steps, "--threads", str(args.threads)]
            cmd += ["--from-scratch"] * args.from_scratch + ["--augment"] * args.augment
            print(f"evaluating with supernet {label} ({directory}) ...", flush=True)
            with open(out + ".part", "w") as partial:  # readable while it runs
                result = subprocess.run(cmd, stdout=partial, stderr=subprocess.PIPE, text=True)
            if result.returncode != 0:
                sys.exit(f"{' '.join(cmd)}: exit {result.returncode}: {result.stderr.strip()}")
            os.rename(out + ".part", out)
        lines_of[label] = [{"supernet": label, **line, "true_accuracy": truth[line["arch"]]} for line in csv.DictReader(open(out))]

    runs = [line for label in labels for line in lines_of[label]]
    summary = []
    for label in labels:
        lines = lines_of[label]
        for recal, steps in sorted({(int(l["recalibration_images"]), int(l["finetune_steps"])) for l in lines}):
            same = [l for l in lines if int(l["recalibration_images"]) == recal and int(l["finetune_steps"]) == steps]
            for score, m in summarise(same).items():
                summary.append({"supernet": label, "recalibration_images": recal, "finetune_steps": steps, "score": score,
                                **{k: round(float(v), 4) for k, v in m.items()}})
    with open(name + "_runs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(runs[0]))
        w.writeheader()
        w.writerows(runs)
    with open(name + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)
    print(f"| supernet | recalibration | fine-tuning steps | score | Kendall tau | Spearman rho | top-1 true | top-5 true mean |")
    print("|---|---|---|---|---|---|---|---|")
    for s in summary:
        print(f"| {s['supernet']} | {s['recalibration_images']} | {s['finetune_steps']} | {s['score']} | {s['kendall_tau']:.3f} | "
              f"{s['spearman_rho']:.3f} | {s['top1_true']:.2f} | {s['top5_true_mean']:.2f} |")

    # One panel per (supernet, recalibration size, fine-tuning steps): the cross-entropy against the truth.
    panels = [s for s in summary if s["score"] == "loss"]
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, s in zip(axes.flat, panels):
        sel = [r for r in lines_of[s["supernet"]]
               if int(r["recalibration_images"]) == s["recalibration_images"] and int(r["finetune_steps"]) == s["finetune_steps"]]
        ax.scatter([float(r["valid_loss"]) for r in sel], [r["true_accuracy"] for r in sel], s=10)
        tuned = f", {s['finetune_steps']} training steps" if s["finetune_steps"] else ""
        ax.set_title(f"supernet {s['supernet']}, BN on {s['recalibration_images']} images{tuned}: tau {s['kendall_tau']:.2f}",
                     fontsize=8)
        ax.set_xlabel("held-out cross-entropy")
        ax.set_ylabel("NAS-Bench-Macro accuracy (%)")
    fig.tight_layout()
    fig.savefig(name + ".png", dpi=120)
    print(f"wrote {name}.csv, {name}_runs.csv, {name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
