#!/usr/bin/env python3
"""`hpcnas supernet` end to end on real CIFAR-10 images (the embedded 256): a run stopped by
SIGUSR1 on 2 ranks and resumed on 3 ends bitwise equal to an uninterrupted 1-rank run; its
files open with h5py and csv; bad input is one error line, exit 2, nothing written; a supernet
on JPEGs (the bundled Tiny-ImageNet sample) is the same from the folder and from its shards."""
import csv
import os
import shutil
import sys

import h5py
import numpy as np

from cli_common import REPO, check, mpirun, run, hpcnas, run_cases, show

SMALL_RUN = {"--space": "macro", "--resolution": "16", "--train-images": "48", "--valid-images": "24",
             "--batch-size": "8", "--micro-batches": "3", "--warmup-epochs": "1", "--epochs": "2",
             "--supernet.arch_every": "2", "--target-mflops": "15", "--seed": "5", "--threads": "1",
             "--progress-interval": "0"}


def options_of(run, changes):
    """`run`'s options as a command line, with --name-like-this=value changes (name_like_this=value)."""
    options = dict(run)
    options.update({"--" + name.replace("_", "-"): value for name, value in changes.items()})
    return [part for item in options.items() for part in item]


def small(**changes):
    return options_of(SMALL_RUN, changes)


SMALL = small()
MINI = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "data", "tiny_imagenet_mini")
IMAGENET_RUN = {"--space": "proxyless", "--data": "imagenet:" + MINI, "--num-classes": "10", "--train-images": "40",
                "--valid-images": "16", "--batch-size": "8", "--micro-batches": "2", "--resolution": "32",
                "--width-multiplier": "0.25", "--warmup-epochs": "1", "--epochs": "1", "--supernet.arch_every": "2",
                "--threads": "1"}


def imagenet_run(**changes):
    """The small proxyless run on the Tiny-ImageNet sample."""
    return options_of(IMAGENET_RUN, changes)


def newest_checkpoint(out):
    names = sorted(os.listdir(os.path.join(out, "checkpoints")))
    return os.path.join(out, "checkpoints", names[-1])


def replica(path):
    """Weights, momentum, alphas and Adam state of a checkpoint."""
    with h5py.File(path, "r") as f:
        arrays = {}
        for group in ("weights", "momentum"):
            for name in f[group + "/parameter_names"][:]:
                name = name.decode()
                arrays[group + "/" + name] = f[group + "/parameters/" + name][()]
        for name in ("alpha", "adam_first", "adam_second", "adam_steps"):
            arrays["architecture/" + name] = f["architecture/" + name][()]
        arrays["counters"] = f["counters"][()]
    return arrays


def case_resume(tmp):
    whole = os.path.join(tmp, "whole")
    proc = run([hpcnas(), "supernet", *SMALL, "--out", whole])
    check(proc.returncode == 0, show(proc))
    check("derived architecture: " in proc.stdout and "benchmark accuracy: " in proc.stdout, show(proc))
    log = proc.stdout + proc.stderr
    check("epoch 3/3 (search)" in log and "img/s" in log and "ETA" in log, show(proc))

    # The stopped run reads a copy of the embedded images (the same images: the same run).
    parts = os.path.join(tmp, "parts")
    data = os.path.join(tmp, "cifar.bin")
    shutil.copy(os.path.join(REPO, "data", "cifar10_epsilon_batch_256.bin"), data)
    stopped = mpirun(2, "supernet", *small(data=data), "--out", parts, "--fault", "0:signal:9")
    check(stopped.returncode == 75, "SIGUSR1 -> checkpoint -> exit 75" + show(stopped))
    check("--resume " + parts in stopped.stdout + stopped.stderr, "the stop says how to continue" + show(stopped))
    with h5py.File(newest_checkpoint(parts), "r") as f:
        steps = f["counters"][()]
    # Stopped mid-epoch, after the signal, between whole (weight, architecture) step pairs.
    # counters: epochs done, step in epoch, weight steps, architecture steps (one per 2 weight steps).
    check(9 <= steps[2] < 12 and steps[1] != 0 and steps[3] == steps[1] // 2, f"counters {steps}")
    check(len(os.listdir(os.path.join(parts, "checkpoints"))) == 2, "two checkpoints kept")
    # The data moved: the resume reads them where --data says, and refuses other data.
    moved = os.path.join(tmp, "moved.bin")
    os.rename(data, moved)
    refused = run([hpcnas(), "supernet", "--resume", parts, "--data", os.path.join(REPO, "data", "nb201.csv")])
    check(refused.returncode == 2 and "nb201.csv" in refused.stderr, "a resume on a non-CIFAR file" + show(refused))
    other = os.path.join(tmp, "other.bin")
    with open(moved, "rb") as f, open(other, "wb") as g:  # the records reversed
        g.write(b"".join(reversed([f.read(3073) for _ in range(256)])))
    refused = run([hpcnas(), "supernet", "--resume", parts, "--supernet.data", other])
    check(refused.returncode == 2 and "supernet.data_fingerprint" in refused.stderr and other in refused.stderr,
          "other data are refused" + show(refused))
    check(len(os.listdir(os.path.join(parts, "checkpoints"))) == 2, "a refused resume writes nothing")
    resumed = mpirun(3, "supernet", "--resume", parts, "--threads", "1", "--data", moved)
    check(resumed.returncode == 0, show(resumed))
    check("resuming from" in resumed.stdout + resumed.stderr, show(resumed))

    a, b = replica(newest_checkpoint(whole)), replica(newest_checkpoint(parts))
    check(sorted(a) == sorted(b), "the same arrays")
    for name in a:
        check(a[name].dtype == b[name].dtype and np.array_equal(a[name], b[name]),
              f"{name}: 1 rank uninterrupted vs 2 ranks stopped + 3 ranks resumed differ")
    def computed(out):  # the columns of what was computed (not seconds or images/s)
        rows = list(csv.DictReader(open(os.path.join(out, "epochs.csv"))))
        return [{k: v for k, v in r.items() if k not in ("seconds", "images_per_second")} for r in rows]
    check(len(computed(whole)) == 3, "three epoch rows")
    check(computed(whole) == computed(parts), f"epoch rows differ:\n{computed(whole)}\n{computed(parts)}")
    # Changing what it computes on resume is refused.
    again = run([hpcnas(), "supernet", "--resume", parts, "--epochs", "9"])
    check(again.returncode == 2 and "--epochs" in again.stderr, show(again))


def case_outputs(tmp):
    out = os.path.join(tmp, "run")
    proc = mpirun(2, "supernet", *SMALL, "--gate-mode", "two", "--cost-loss", "add#linear", "--out", out)
    check(proc.returncode == 0, show(proc))
    rows = list(csv.DictReader(open(os.path.join(out, "epochs.csv"))))
    check([r["phase"] for r in rows] == ["warmup", "search", "search"], f"phases {[r['phase'] for r in rows]}")
    check(rows[0]["arch_loss"] == "" and float(rows[1]["arch_loss"]) > 0, "no architecture steps in the warm-up")
    for r in rows:
        check(len(r["derived"]) == 8 and set(r["derived"]) <= set("012"), f"derived {r['derived']}")
        check(0 <= float(r["derived_valid_accuracy"]) <= 100 and 40 < float(r["benchmark_accuracy"]) < 100, str(r))
        entropies = [float(r[f"entropy_{p}"]) for p in range(8)]
        check(all(0 <= h <= np.log(3) + 1e-9 for h in entropies), f"entropies {entropies}")
    derived = [line for line in proc.stdout.splitlines() if line.startswith("derived architecture: ")]
    check(derived == ["derived architecture: " + rows[-1]["derived"]], show(proc))
    with h5py.File(os.path.join(out, "supernet.h5"), "r") as f:
        check(f.attrs["kind"] == "hpcnas.supernet.results", "results kind")
        check("[supernet]" in f.attrs["config"] and "gate_mode = 'two'" in f.attrs["config"], "the config is stored")
        p = f["epochs/probabilities"][()]
        check(p.shape == (3, 24), f"p per epoch, 8 positions x 3 candidates: {p.shape}")
        check(np.allclose(p.reshape(3, 8, 3).sum(axis=2), 1), "p sums to 1 per position")
        check(f.attrs["derived_arch"] == rows[-1]["derived"], "derived architecture attribute")
        check(len(f["candidate_names"]) == 24, "candidate names")
    png = open(os.path.join(out, "alpha_heatmap.png"), "rb").read()
    check(png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 100, "a PNG heat-map")
    check(not any(name.endswith(".tmp") for name in os.listdir(out)), "no temporary files left")

    # --derive target: every epoch's network within 10 % of the 15 M target, whatever argmax says.
    out = os.path.join(tmp, "target")
    proc = run([hpcnas(), "supernet", *small(derive="target", epochs="1"), "--out", out])
    check(proc.returncode == 0, show(proc))
    mflops = [float(r["derived_mflops"]) for r in csv.DictReader(open(os.path.join(out, "epochs.csv")))]
    check(len(mflops) == 2 and all(13.5 <= m <= 16.5 for m in mflops), f"derived MFLOPs {mflops}")


def case_bad_input(tmp):
    cases = [
        (small(train_images="250"), "250"),  # the embedded batch has 256
        (small(target_mflops="-5"), "supernet.target_mflops"),
        (small(space="nb201"), "supernet.space"),
        (small(micro_batches="9"), "supernet.micro_batches"),
        (small(batch_size="64"), "supernet.train_images"),
        (SMALL + ["--gate-mode", "half"], "supernet.gate_mode"),
        (SMALL + ["--cost-loss", "mul#lin"], "supernet.cost_loss"),
        (SMALL + ["--data", os.path.join(tmp, "absent.bin")], "absent.bin"),
        (small(num_classes="12"), "supernet.num_classes is 12"),
        (imagenet_run(train_images="60"), "60 train images, fewer than the 76"),
        (imagenet_run(num_classes="200"), "has 10 classes"),
        (small(target_mflops="0", derive="target"), "supernet.derive"),
        (small(target_mflops="300", derive="target"), "no architecture of space macro has FLOPs within [0.9, 1.1] x"),
        (SMALL + ["--derive", "target", "--supernet.derive_band_low", "1.2"], "'supernet.derive_band_low' is 1.2, above"),
    ]
    for args, needle in cases:
        out = os.path.join(tmp, "out")
        proc = run([hpcnas(), "supernet", *args, "--out", out])
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        check(proc.returncode == 2, f"{needle}: exit 2" + show(proc))
        check(len(lines) == 1 and lines[0].startswith("hpcnas: error:") and needle in lines[0], f"{needle}: {lines}")
        check(not os.path.exists(out), f"{needle}: nothing written")
    # A directory without a supernet checkpoint, and one with a damaged checkpoint.
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    proc = run([hpcnas(), "supernet", "--resume", empty])
    check(proc.returncode == 2 and "no supernet checkpoint" in proc.stderr, show(proc))
    used = os.path.join(tmp, "used")
    check(run([hpcnas(), "supernet", *small(epochs="1"), "--out", used]).returncode == 0, "a short run")
    again = run([hpcnas(), "supernet", *SMALL, "--out", used])
    check(again.returncode == 2 and "--resume" in again.stderr, "a used directory is not overwritten" + show(again))
    for path in os.listdir(os.path.join(used, "checkpoints")):
        with h5py.File(os.path.join(used, "checkpoints", path), "r+") as f:
            f["architecture/alpha"][0] += 1.0
    proc = run([hpcnas(), "supernet", "--resume", used])
    check(proc.returncode == 2 and "checksum mismatch" in proc.stderr, show(proc))


def case_imagenet_data(tmp):
    """A proxyless supernet on JPEGs, a seeded draw over every class: bitwise the same supernet
    from the folder on 1 rank and from its `hpcnas pack` shards on 2."""
    shards = os.path.join(tmp, "shards")
    check(run([hpcnas(), "pack", "--from", MINI, "--out", shards, "--shard-size", "48K"]).returncode == 0, "pack")
    runs = {}
    for name, ranks, data in (("folder", 1, "imagenet:" + MINI), ("shards", 2, "shards:" + shards)):
        runs[name] = os.path.join(tmp, name)
        proc = mpirun(ranks, "supernet", *imagenet_run(data=data), "--out", runs[name])
        check(proc.returncode == 0 and "derived architecture: " in proc.stdout, show(proc))
    states = []
    for name in ("folder", "shards"):
        with h5py.File(newest_checkpoint(runs[name]), "r") as f:
            states.append({"alpha": f["architecture/alpha"][:], "counters": f["counters"][:],
                           "weights": [f["weights/parameters/" + n][:] for n in f["weights/parameter_names"].asstr()[:]]})
    check(states[0]["counters"][2] == 10, f"2 epochs of 5 weight steps: {states[0]['counters']}")
    check(np.array_equal(states[0]["alpha"], states[1]["alpha"]) and
          all(np.array_equal(a, b) for a, b in zip(states[0]["weights"], states[1]["weights"])),
          "folder on 1 rank vs shards on 2: the supernets differ")


def case_latency(tmp):
    table = os.path.join(tmp, "macro16.h5")
    proc = run([hpcnas(), "latency", "--space", "macro", "--resolution", "16", "--networks", "12", "--repeats", "3",
                "--threads", "1", "--out", table])
    check(proc.returncode == 0 and "Spearman rho" in proc.stdout, show(proc))
    with h5py.File(table, "r") as f:
        check(f.attrs["kind"] == "hpcnas.latency_table" and f.attrs["space"] == "macro" and f.attrs["resolution"] == 16, "attrs")
        keys = [k.decode() for k in f["entries/key"][:]]
        # 8 positions x 3 operations, some shapes shared, plus stem, head and classifier.
        check(len(keys) == len(set(keys)) and len(keys) >= 12, f"keys {keys}")
        check((f["entries/count"][()] == 3).all() and (f["entries/mean_ms"][()] > 0).all(), "counts and means")
        check(len(f["validation/measured_ms"]) == 12 and (f["validation/measured_ms"][()] > 0).all(), "whole networks")
    rows = list(csv.DictReader(open(os.path.join(tmp, "macro16.csv"))))
    check(len(rows) == 12 and all(float(r["measured_ms"]) > 0 for r in rows), "the check CSV")

    out = os.path.join(tmp, "by_latency")
    args = small(target_mflops="0") + ["--latency-table", table]
    proc = run([hpcnas(), "supernet", *args, "--target-latency-ms", "0.5", "--cost-loss", "add#linear", "--out", out])
    check(proc.returncode == 0 and "derived latency (table): " in proc.stdout, show(proc))
    rows = list(csv.DictReader(open(os.path.join(out, "epochs.csv"))))
    check(all(float(r["expected_latency_ms"]) > 0 and float(r["derived_latency_ms"]) > 0 for r in rows), "latency columns")

    # A table of another resolution, a target without a table, a damaged table: exit 2, nothing written.
    for extra, needle in ((small(resolution="32", target_mflops="0") + ["--supernet.latency_table", table,
                           "--supernet.target_latency_ms", "2"], "was measured for space macro at 16 px"),
                          (small(target_mflops="0") + ["--supernet.target_latency_ms", "2"], "supernet.latency_table"),
                          (small(target_mflops="3") + ["--supernet.latency_table", table, "--supernet.target_latency_ms", "2"],
                           "choose one target"),
                          (args + ["--supernet.target_latency_ms", "0.5"], "must be above 1 with supernet.cost_loss = 'mul#log'")):
        bad = os.path.join(tmp, "bad")
        proc = run([hpcnas(), "supernet", *extra, "--out", bad])
        check(proc.returncode == 2 and needle in proc.stderr and not os.path.exists(bad), f"{needle}" + show(proc))
    with open(table, "r+b") as f:
        f.truncate(2000)
    proc = run([hpcnas(), "supernet", *args, "--out", os.path.join(tmp, "bad")])
    check(proc.returncode == 2 and "latency table" in proc.stderr, show(proc))


if __name__ == "__main__":
    sys.exit(run_cases({"resume": case_resume, "outputs": case_outputs, "bad_input": case_bad_input, "latency": case_latency,
                      "imagenet_data": case_imagenet_data}))
