#!/usr/bin/env python3
"""ProxylessNAS (`hpcnas supernet`) on NAS-Bench-Macro against its ground truth: the supernet is
trained on real CIFAR-10 images (the 5,085 of ../shared/data/cifar10/train_batches_prefix.bin:
train / held-out split), with an expected-FLOPs target; the derived architecture's FLOPs and
its benchmark accuracy (`mean_test_acc`, 50-epoch training, 3 runs) are read from the table.
Beside it, from the same table: random sampling at the same FLOPs cap (the expected accuracy of
a uniformly drawn network within the cap, and of the best of 10 such draws), the benchmark's own
Pareto front, and where the derived network ranks among the distinct networks within the cap
(the target + 10 %, the issue's 55 M for 50 M; the target itself with --derive-band 0.9,1).

    /usr/bin/python3 experiments/supernet_macro.py --hpcnas build/app/hpcnas --parallel 2

Runs are kept under --work (a finished run is not run again; a stopped one is resumed). Writes
experiments/results/NAME_runs.csv, NAME.csv and NAME.png (--name, default supernet_macro).
"""
import argparse
import csv
import os
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(REPO), "shared", "data", "cifar10", "train_batches_prefix.bin")


def table():
    """The 3,969 distinct networks (canonical string -> (accuracy %, MFLOPs)), and every one of
    the 6,561 strings' canonical form."""
    rows = list(csv.DictReader(open(os.path.join(REPO, "data", "nasbench_macro_cifar10.csv"))))
    nets = {r["canonical_arch"]: (float(r["mean_test_acc"]), float(r["flops"]) / 1e6) for r in rows}
    return nets, {r["arch"]: r["canonical_arch"] for r in rows}


def pareto(nets):
    points = sorted(nets.values(), key=lambda v: (v[1], -v[0]))
    front, best = [], -1.0
    for acc, mflops in points:
        if acc > best:
            front.append((mflops, acc))
            best = acc
    return front


def final_derivations(out, nets, canonical, target, band):
    """Both rules of supernet.derive applied to the final probabilities, whichever the run used:
    the argmax per block, and the string of highest probability among those within `band` x the
    target ("target"; argmax alone lands where the probabilities put it, not near the target)."""
    import h5py
    with h5py.File(os.path.join(out, "supernet.h5"), "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["candidate_names"][:]]
        p = np.asarray(f["epochs/probabilities"][-1]).reshape(-1, 3)
    assert len(names) == p.size and names[1].endswith("MB3_K3"), names[:3]  # digit = candidate index in each block
    best = None
    for arch, key in canonical.items():
        if band[0] * target <= nets[key][1] <= band[1] * target:
            log_p = sum(np.log(p[b, int(c)]) for b, c in enumerate(arch))
            if best is None or log_p > best[0]:
                best = (log_p, arch)
    return "".join(str(int(k)) for k in p.argmax(axis=1)), best[1]


def run_args(args, target, seed, out):
    return [args.hpcnas, "supernet", "--space", "macro", "--data", args.data, "--train-images", str(args.train_images),
            "--valid-images", str(args.valid_images), "--batch-size", str(args.batch), "--micro-batches", "1",
            "--warmup-epochs", str(args.warmup), "--epochs", str(args.epochs), "--supernet.arch_every", str(args.arch_every),
            "--supernet.gate_mode", args.gate_mode, "--supernet.search_weight_paths", args.search_weight_paths,
            "--supernet.arch_learning_rate", str(args.arch_lr),
            "--supernet.learning_rate", str(args.lr), "--target-mflops", str(target),
            "--cost-loss", args.cost_loss, "--supernet.cost_lambda", str(args.cost_lambda), "--seed", str(seed), "--threads", str(args.threads),
            "--derive", args.derive, "--supernet.derive_band_low", str(args.band[0]),
            "--supernet.derive_band_high", str(args.band[1]), "--progress-interval", "60", "--out", out]


def finished(out):
    return os.path.exists(os.path.join(out, "done.txt"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hpcnas", default="build/app/hpcnas")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--work", default=None, help="default /tmp/hpcnas_<name>")
    ap.add_argument("--train-images", type=int, default=4000)
    ap.add_argument("--valid-images", type=int, default=1085)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--arch-every", type=int, default=2)
    ap.add_argument("--gate-mode", default="full_v2", help="supernet.gate_mode: full_v2 (official), two or full")
    ap.add_argument("--search-weight-paths", default="sampled",
                    help="supernet.search_weight_paths: sampled (by p, official) or uniform")
    ap.add_argument("--arch-lr", type=float, default=6e-3)
    ap.add_argument("--lr", type=float, default=0.025, help="weight learning rate (SGD, cosine)")
    ap.add_argument("--cost-loss", default="add#linear",
                    help="mul#log scales the whole loss by a constant of the target, which Adam cancels: "
                         "its derived network does not depend on the target")
    ap.add_argument("--cost-lambda", type=float, default=0.1, help="add#linear: CE + lambda (E - T) / T; add#abs: CE + lambda |E - T| / T")
    ap.add_argument("--derive", default="argmax", help="supernet.derive: argmax (official) or target (the most probable "
                    "network within --derive-band x the target)")
    ap.add_argument("--derive-band", default="0.9,1.1", help="derive target: the band, as fractions of the target "
                    "(0.9,1 for a hard budget)")
    ap.add_argument("--name", default="supernet_macro", help="prefix of the result files")
    ap.add_argument("--seeds", type=int, default=3, help="seeds at the main target")
    ap.add_argument("--target", type=float, default=50)
    ap.add_argument("--curve", default="30,40,60,70", help="other targets, one seed each")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--parallel", type=int, default=2, help="runs at once")
    ap.add_argument("--out-dir", default=os.path.join(REPO, "experiments", "results"))
    args = ap.parse_args()
    args.band = [float(x) for x in args.derive_band.split(",")]
    if not os.path.exists(args.data):
        print(f"skipped: the full CIFAR-10 prefix is not at {args.data}")
        return 0
    args.work = args.work or f"/tmp/hpcnas_{args.name}"
    jobs = [(args.target, s) for s in range(args.seeds)] + [(float(t), 0) for t in args.curve.split(",") if t]
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out_dir, exist_ok=True)
    pending, running = list(jobs), []
    while pending or running:
        while pending and len(running) < args.parallel:
            target, seed = pending.pop(0)
            out = os.path.join(args.work, f"t{target:g}_s{seed}")
            if finished(out):
                continue
            cmd = run_args(args, target, seed, out) if not os.path.isdir(os.path.join(out, "checkpoints")) else \
                [args.hpcnas, "supernet", "--resume", out, "--threads", str(args.threads)]
            log = open(out + ".log", "a")
            running.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), out, time.time()))
            print(f"started target {target:g} M seed {seed}", flush=True)
        time.sleep(5)
        for proc, out, start in list(running):
            if proc.poll() is None:
                continue
            running.remove((proc, out, start))
            if proc.returncode != 0:
                sys.exit(f"{out}: exit {proc.returncode}, see {out}.log")
            open(os.path.join(out, "done.txt"), "w").write(f"{time.time() - start:.0f}\n")
            print(f"finished {out} in {time.time() - start:.0f} s", flush=True)

    nets, canonical = table()
    rows = []
    for target, seed in jobs:
        out = os.path.join(args.work, f"t{target:g}_s{seed}")
        last = list(csv.DictReader(open(os.path.join(out, "epochs.csv"))))[-1]
        key = canonical[last["derived"]]
        acc, mflops = nets[key]
        argmax, band = final_derivations(out, nets, canonical, target, args.band)
        cap = target * args.band[1]  # the 55 M at 50 M, unless the band is a hard budget
        within = np.array([a for a, f in nets.values() if f <= cap])
        draws = np.random.default_rng(seed).choice(within, size=(10000, 10))
        rows.append({"target_mflops": target, "seed": seed, "derived": last["derived"], "canonical": key,
                     "derived_mflops": round(mflops, 3), "benchmark_accuracy": acc,
                     "heldout_accuracy_recalibrated": float(last["derived_valid_accuracy"]),
                     "expected_mflops_end": round(float(last["expected_mflops"]), 3),
                     "argmax": argmax, "argmax_mflops": round(nets[canonical[argmax]][1], 3),
                     "argmax_benchmark_accuracy": nets[canonical[argmax]][0],
                     "most_probable_in_band": band, "band_mflops": round(nets[canonical[band]][1], 3),
                     "band_benchmark_accuracy": nets[canonical[band]][0],
                     "random_mean_within_cap": round(float(within.mean()), 3),
                     "random_best_of_10_within_cap": round(float(draws.max(axis=1).mean()), 3),
                     "best_within_cap": float(within.max()),
                     "percentile_within_cap": round(float((within < acc).mean() * 100), 1), "networks_within_cap": len(within),
                     "minutes": round(float(open(os.path.join(out, "done.txt")).read()) / 60, 1)})
        r = rows[-1]
        print(f"target {target:4g} M seed {seed}: {r['derived']} {mflops:6.2f} M {acc:6.2f}% | random within "
              f"{cap:.0f} M: mean {r['random_mean_within_cap']:.2f}%, best of 10 {r['random_best_of_10_within_cap']:.2f}%,"
              f" best {r['best_within_cap']:.2f}% | above {r['percentile_within_cap']:.1f}% of the {len(within)} networks "
              f"within the cap | most probable within {args.band} x target: {band} {r['band_mflops']:.2f} M "
              f"{r['band_benchmark_accuracy']:.2f}%")
    with open(os.path.join(args.out_dir, f"{args.name}_runs.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    main_rows = [r for r in rows if r["target_mflops"] == args.target]
    summary = {"target_mflops": args.target, "seeds": len(main_rows),
               "mean_benchmark_accuracy": round(float(np.mean([r["benchmark_accuracy"] for r in main_rows])), 3),
               "max_derived_mflops": max(r["derived_mflops"] for r in main_rows),
               "mean_argmax_benchmark_accuracy": round(float(np.mean([r["argmax_benchmark_accuracy"] for r in main_rows])), 3),
               "mean_band_benchmark_accuracy": round(float(np.mean([r["band_benchmark_accuracy"] for r in main_rows])), 3),
               "random_mean_within_cap": main_rows[0]["random_mean_within_cap"],
               "random_best_of_10_within_cap": main_rows[0]["random_best_of_10_within_cap"],
               "settings": f"train {args.train_images} / held-out {args.valid_images}, batch {args.batch}, warm-up {args.warmup} + "
                           f"{args.epochs} epochs, {args.gate_mode} gates, {args.search_weight_paths} weight paths, arch step every {args.arch_every}, arch lr {args.arch_lr}, {args.cost_loss}"
                           + (f" lambda {args.cost_lambda}" if args.cost_loss.startswith("add#") else "") + f", derive {args.derive}"
                           + (f" band {args.derive_band}" if args.derive == "target" else "")}
    with open(os.path.join(args.out_dir, f"{args.name}.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(summary))
        writer.writeheader()
        writer.writerow(summary)
    print(f"\ntarget {args.target:g} M over {len(main_rows)} seeds: mean benchmark accuracy {summary['mean_benchmark_accuracy']:.2f}%, "
          f"largest derived {summary['max_derived_mflops']:.2f} M FLOPs ({summary['settings']}); most probable within "
          f"{args.band} x the target: {summary['mean_band_benchmark_accuracy']:.2f}%")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    all_points = np.array([(f, a) for a, f in nets.values()])
    ax.scatter(all_points[:, 0], all_points[:, 1], s=3, c="#cccccc", label="NAS-Bench-Macro (3,969 networks)")
    front = np.array(pareto(nets))
    ax.plot(front[:, 0], front[:, 1], color="black", lw=1, label="benchmark Pareto front")
    curve = sorted((r for r in rows if r["seed"] == 0), key=lambda r: r["target_mflops"])
    ax.plot([r["derived_mflops"] for r in curve], [r["benchmark_accuracy"] for r in curve], "o-", color="tab:red",
            label="hpcnas supernet (derived, seed 0)", zorder=3)
    others = main_rows[1:]
    if others:
        ax.plot([r["derived_mflops"] for r in others], [r["benchmark_accuracy"] for r in others], "o", color="tab:orange",
                mfc="none", ms=9, label=f"other seeds at {args.target:g} M")
    for r in curve:
        ax.axvline(r["target_mflops"], color="tab:red", lw=0.5, ls=":")
    ax.set_xlabel("FLOPs (M)")
    ax.set_ylabel("CIFAR-10 test accuracy (%), benchmark")
    ax.set_ylim(85, 93.5)
    ax.set_title(f"ProxylessNAS ({args.cost_loss}) on NAS-Bench-Macro: derived networks at FLOPs targets (dotted)",
                 fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out_dir, f"{args.name}.png"), dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
