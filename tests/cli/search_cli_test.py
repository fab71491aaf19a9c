#!/usr/bin/env python3
"""End-to-end tests of `hpcnas search` under real mpirun: checkpoint layout read with h5py,
exact resume (other rank counts, a damaged newest checkpoint), SIGUSR1/SIGTERM stops, a killed
worker, and bad input."""
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

from cli_common import REPO, SKIP, SMALL_SEARCH_CONFIG, Failure, check, hpcnas, mpirun, run, run_cases, show

STOPPED = 75  # app/search_command.h kExitStoppedBySignal



def config_file(tmp):
    path = os.path.join(tmp, "small.toml")
    with open(path, "w") as f:
        f.write(SMALL_SEARCH_CONFIG)
    return path


def search(tmp, ranks, out, generations, *extra, timeout=600):
    return mpirun(ranks, "search", "--config", config_file(tmp), "--out", out, "--generations", str(generations), *extra,
                  timeout=timeout)


def resume(ranks, out, generations, *extra, timeout=600):
    return mpirun(ranks, "search", "--resume", out, "--generations", str(generations), *extra, timeout=timeout)


def newest_checkpoint(out):
    names = sorted(n for n in os.listdir(os.path.join(out, "checkpoints")) if n.endswith(".h5"))
    check(names, f"no checkpoint in {out}")
    return os.path.join(out, "checkpoints", names[-1])


def outcome(out):
    """What must not depend on interruptions or rank counts: labels, population, predictor."""
    with h5py.File(newest_checkpoint(out), "r") as f:
        result = {"queries/choices": f["queries/choices"][:], "queries/accuracy": f["queries/accuracy"][:],
                  "population": f["population"][:], "epsilon/choices": f["epsilon/choices"][:],
                  "epsilon/epsilon_exact": f["epsilon/epsilon_exact"][:],
                  "adam_second_moment": f["predictor/adam_second_moment"][:],
                  "adam_step": int(f["predictor"].attrs["adam_step"])}
        for name in f["predictor/parameter_names"].asstr()[:]:
            result["parameter " + name] = f["predictor/parameters/" + name][:]
    return result


def check_same_outcome(a, b, what):
    ours, theirs = outcome(a), outcome(b)
    check(ours.keys() == theirs.keys(), f"{what}: different contents")
    for key in ours:
        check(np.array_equal(ours[key], theirs[key], equal_nan=True), f"{what}: {key} differs")


def check_ok(proc, what):
    check(proc.returncode == 0, f"{what} failed (rc {proc.returncode}){show(proc)}")


def case_resume(tmp):
    straight = os.path.join(tmp, "straight")
    proc = search(tmp, 2, straight, 6)
    check_ok(proc, "straight run")
    # Progress: generations counted from 1, each line under 160 characters after the log prefix,
    # the best architecture on a line of its own.
    progress = [line.split("] ", 1)[1] for line in proc.stderr.splitlines() if "] generation " in line]
    check([line.split(" |")[0] for line in progress] == [f"generation {g}/6" for g in range(1, 7)], "generation 1/6 .. 6/6" + show(proc))
    check(all(len(line) < 160 and "ETA" in line and re.search(r" \d+\.\d queries/(s|min|h) \|", line) for line in progress),
          "short lines with a rate" + show(proc))
    check("best so far: |" in proc.stderr, "the best architecture on its own line" + show(proc))
    check(proc.stdout.startswith("best architecture: |") and "best accuracy: " in proc.stdout, "the result on standard output" + show(proc))

    # The checkpoint layout, read with h5py (io/README.md).
    checkpoints = sorted(os.listdir(os.path.join(straight, "checkpoints")))
    check(checkpoints == ["checkpoint_g000003.h5", "checkpoint_g000004.h5", "checkpoint_g000005.h5"],
          f"keep_checkpoints = 3 should keep the last three, found {checkpoints}")
    with h5py.File(newest_checkpoint(straight), "r") as f:
        check(f.attrs["kind"] == "hpcnas.search.checkpoint" and int(f.attrs["schema_version"]) == 4, "kind/schema")
        check(f.attrs["space"] == "nb201" and f["queries/choices"].shape[1] == 6, "space and choices")
        check(int(f.attrs["next_generation"]) == 6 and len(f.attrs["checksum"]) == 16, "generation counter/checksum")
        check("[search]" in f.attrs["config"] and "initial_pool = 60" in f.attrs["config"], "config text")
        n = len(f["queries/choices"])
        check(n == 5 + 5 * 5, f"{n} queries, expected 30")
        check(len({tuple(row) for row in f["queries/choices"][:]}) == n, "a cell was queried twice")
        check(list(f["queries/arch"].asstr()[:1])[0].startswith("|"), "arch strings")
        check(len(f["population"]) == 10, "population size")
        check(len(f["epsilon/choices"]) >= 60, "epsilon cache")
        check(len(f["generations/generation"]) == 6 and "predictor_tau_population" in f["generations"], "generation rows")
        check(int(f["rng"].attrs["next_generation"]) == 6, "rng position")
        sizes = sum(f["predictor/parameters/" + k].size for k in f["predictor/parameter_names"].asstr()[:])
        check(f["predictor/adam_first_moment"].size == sizes and int(f["predictor"].attrs["adam_step"]) > 0, "predictor state")
    with h5py.File(os.path.join(straight, "search.h5"), "r") as f:
        check(f.attrs["kind"] == "hpcnas.search.results" and len(f["queries/accuracy"]) == 30, "results file")
        best = float(f.attrs["best_accuracy"])
    rows = list(csv.DictReader(open(os.path.join(straight, "generations.csv"))))
    check(len(rows) == 6 and float(rows[-1]["best_accuracy"]) == best and int(rows[-1]["queries"]) == 30, "generations.csv")
    queries = list(csv.DictReader(open(os.path.join(straight, "queries.csv"))))
    check(len(queries) == 30 and abs(float(queries[-1]["best_so_far"]) - best) < 1e-6, "queries.csv")

    # 3 generations on 2 ranks, the newest checkpoint damaged, resumed on 3 ranks, then 1 rank.
    halves = os.path.join(tmp, "halves")
    check_ok(search(tmp, 2, halves, 3), "first half")
    with open(os.path.join(halves, "checkpoints", "checkpoint_g000002.h5"), "r+b") as f:
        f.truncate(2000)
    proc = resume(3, halves, 5)
    check_ok(proc, "resume on 3 ranks")
    check("skipping a damaged checkpoint" in proc.stderr + proc.stdout and "checkpoint_g000002.h5" in proc.stderr + proc.stdout,
          f"the damaged newest checkpoint should be reported{show(proc)}")
    check("resuming from" in proc.stdout + proc.stderr and "checkpoint_g000001.h5" in proc.stdout + proc.stderr,
          f"should resume from the previous checkpoint{show(proc)}")
    check_ok(resume(1, halves, 6), "resume on 1 rank")
    check_same_outcome(halves, straight, "3 + stop + 3 (2 -> 3 -> 1 ranks, damaged checkpoint) vs 6 straight")


def case_signal(tmp):
    straight = os.path.join(tmp, "straight")
    check_ok(search(tmp, 2, straight, 8), "straight run")

    # SIGUSR1 to mpirun (forwarded to every rank) once generation 1 is on disk.
    out = os.path.join(tmp, "signalled")
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", hpcnas(), "search", "--config", config_file(tmp),
           "--out", out, "--generations", "8"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not os.path.exists(os.path.join(out, "checkpoints", "checkpoint_g000001.h5")):
        check(proc.poll() is None and time.monotonic() < deadline, "the run ended before generation 1")
        time.sleep(0.05)
    proc.send_signal(signal.SIGUSR1)
    stdout, stderr = proc.communicate(timeout=300)
    check(proc.returncode == STOPPED, f"SIGUSR1 should stop with exit code {STOPPED}, got {proc.returncode}\n{stdout}\n{stderr}")
    check("stopped by a signal" in stdout + stderr and "--resume" in stdout + stderr, f"stop message\n{stdout}\n{stderr}")
    with h5py.File(newest_checkpoint(out), "r") as f:
        stopped_at = int(f.attrs["next_generation"])
    check(stopped_at < 8, "the search should have stopped early")
    check_ok(resume(2, out, 8), "resume after SIGUSR1")
    check_same_outcome(out, straight, "stopped by SIGUSR1 and resumed vs straight")

    # SIGTERM to a process running alone (world size 1), its epsilon batch read from a copy of the
    # embedded one (the same images: the same search).
    alone = os.path.join(tmp, "alone")
    images = os.path.join(tmp, "batch.bin")
    shutil.copy(os.path.join(REPO, "data", "cifar10_epsilon_batch_256.bin"), images)
    proc = subprocess.Popen([hpcnas(), "search", "--config", config_file(tmp), "--out", alone, "--generations", "8", "--images", images],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not os.path.exists(os.path.join(alone, "checkpoints", "checkpoint_g000000.h5")):
        check(proc.poll() is None and time.monotonic() < deadline + 300, "the lone run ended before generation 0")
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=300)
    check(proc.returncode == STOPPED, f"SIGTERM should stop with exit code {STOPPED}, got {proc.returncode}\n{stderr}")
    # The images moved: the resume finds them where --epsilon.images says, and refuses other images.
    moved = os.path.join(tmp, "moved.bin")
    os.rename(images, moved)
    checkpoints = sorted(os.listdir(os.path.join(alone, "checkpoints")))
    proc = run([hpcnas(), "search", "--resume", alone, "--generations", "8"])
    check(proc.returncode == 2 and images in proc.stderr, "a resume without its images names them" + show(proc))
    other = os.path.join(tmp, "other.bin")
    with open(moved, "rb") as f, open(other, "wb") as g:
        records = [f.read(3073) for _ in range(256)]
        g.write(b"".join(reversed(records)))
    proc = run([hpcnas(), "search", "--resume", alone, "--generations", "8", "--epsilon.images", other])
    check(proc.returncode == 2 and "epsilon.images_fingerprint" in proc.stderr and other in proc.stderr,
          "other images are refused" + show(proc))
    check(sorted(os.listdir(os.path.join(alone, "checkpoints"))) == checkpoints, "a refused resume writes nothing")
    check_ok(run([hpcnas(), "search", "--resume", alone, "--generations", "8", "--images", moved]), "resume after SIGTERM")
    check_same_outcome(alone, straight, "stopped by SIGTERM on 1 rank and resumed (images moved) vs straight on 2")
    with h5py.File(os.path.join(alone, "search.h5"), "r") as f:
        check(f"images = '{moved}'" in f.attrs["config"], "the results name where the images are now")


def case_fault_kill(tmp):
    straight = os.path.join(tmp, "straight")
    check_ok(search(tmp, 2, straight, 6), "straight run")
    out = os.path.join(tmp, "killed")
    # Rank 1 scores about 30 cells in generation 0 and 15 per generation after: killed in generation 2 or 3.
    proc = search(tmp, 2, out, 6, "--fault", "1:kill:60", "--timeout", "20", timeout=120)
    check(proc.returncode != 0, f"a killed rank must fail the job{show(proc)}")
    text = proc.stdout + proc.stderr
    check("rank 0: rank 1 (pid " in text, f"rank 0 should name the dead rank 1{show(proc)}")
    with h5py.File(newest_checkpoint(out), "r") as f:
        done = int(f.attrs["next_generation"])
    check(1 <= done < 6, f"expected a checkpoint from before the kill, found generation {done - 1}")
    check_ok(resume(2, out, 6), "resume after the kill")
    check_same_outcome(out, straight, "killed and resumed vs straight")


def case_macro(tmp):
    """NAS-Bench-Macro through the same search: 4 generations straight on 2 ranks against 2 on 2
    ranks resumed on 1; what the files say about the space."""
    args = ["--space", "macro"]  # the space's table and column (mean_test_acc) by default
    straight = os.path.join(tmp, "straight")
    check_ok(search(tmp, 2, straight, 4, *args), "macro search")
    with h5py.File(newest_checkpoint(straight), "r") as f:
        check(f.attrs["space"] == "macro" and f["queries/choices"].shape == (20, 8), "macro checkpoint layout")
        archs = list(f["queries/arch"].asstr()[:])
    with h5py.File(os.path.join(straight, "search.h5"), "r") as f:
        best = float(f.attrs["best_accuracy"])
        check(f.attrs["space"] == "macro" and len(f.attrs["best_arch"]) == 8, "results name the space and the best code")
    check(all(len(a) == 8 and set(a) <= set("012") for a in archs), f"macro codes expected, got {archs[:3]}")
    check(len(set(archs)) == len(archs), "a network was queried twice")
    check(90.0 < best <= 93.1267, f"best {best} is not a NAS-Bench-Macro accuracy near the top")
    halves = os.path.join(tmp, "halves")
    check_ok(search(tmp, 2, halves, 2, *args), "first half")
    proc = resume(1, halves, 4)
    check_ok(proc, "resume on 1 rank")
    check("on macro" in proc.stdout + proc.stderr, f"the log should name the space{show(proc)}")
    check_same_outcome(halves, straight, "macro: 2 + 2 (2 -> 1 ranks) vs 4 straight")
    # Resuming a finished search with no more generations says so (issue 14, item 4).
    proc = resume(1, straight, 3)
    check_ok(proc, "resume of a finished search")
    check("nothing to do" in proc.stdout + proc.stderr and "already run 4 generations" in proc.stdout + proc.stderr,
          f"a resume that has nothing to do should say so{show(proc)}")


def case_bad_input(tmp):
    cfg = config_file(tmp)
    bad_toml = os.path.join(tmp, "bad.toml")
    with open(bad_toml, "w") as f:
        f.write("[search]\nmethod = \n")
    unknown_key = os.path.join(tmp, "unknown.toml")
    with open(unknown_key, "w") as f:
        f.write("[search]\npopulation = 3\n")
    missing_truth = os.path.join(tmp, "truth.csv")
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "data", "nb201.csv")) as f:
        lines = f.readlines()
    with open(missing_truth, "w") as f:
        f.writelines(lines[:-3])
    empty_dir = os.path.join(tmp, "empty")
    os.makedirs(empty_dir)
    used = os.path.join(tmp, "used")
    check_ok(search(tmp, 2, used, 1), "a short run")
    # A checkpoint of the schema before search spaces (version 1).
    old = os.path.join(tmp, "old")
    os.makedirs(os.path.join(old, "checkpoints"))
    old_checkpoint = os.path.join(old, "checkpoints", "checkpoint_g000000.h5")
    with open(newest_checkpoint(used), "rb") as src, open(old_checkpoint, "wb") as dst:
        dst.write(src.read())
    with h5py.File(old_checkpoint, "r+") as f:
        f.attrs["schema_version"] = np.int64(1)
    cases = [
        (["--method", "bayes"], "search.method", "tnasp, evolution, random"),
        (["--selection", "vibes"], "search.selection", "predictor, epsilon, combined"),
        (["--tournament", "50"], "search.tournament_size", "1..search.population_size", "(given as --tournament)"),
        (["--search.crossover", "2"], "search.crossover", "(given as --search.crossover)"),
        (["--candidates", "2"], "search.candidates", "search.queries_per_generation"),
        (["--crossover", "1.5"], "search.crossover", "0..1"),
        (["--generations", "0"], "search.generations", "1..100000"),
        (["--config", bad_toml], "malformed config", bad_toml),
        (["--config", unknown_key], "unknown key 'search.population'", unknown_key),
        (["--config", os.path.join(tmp, "absent.toml")], "absent.toml", ""),
        (["--truth", missing_truth], "missing", "15625"),
        (["--space", "proxyless"], "search.evaluator", "proxyless has no benchmark table"),
        (["--space", "macro", "--evaluator", "supernet"], "search.supernet", "must name a supernet checkpoint, or be 'train'"),
        (["--supernet-score", "log_likelihood"], "search.supernet_score", "evaluator = 'supernet'"),
        (["--space", "macro", "--evaluator", "supernet", "--supernet", "train", "--supernet-score", "loss"], "search.supernet_score",
         "log_likelihood"),
        (["--space", "macro", "--evaluator", "supernet", "--supernet", "train", "--supernet.num_classes", "12"],
         "supernet.num_classes is 12", ""),
        (["--space", "macro", "--evaluator", "supernet", "--supernet", "train", "--supernet.train_images", "250"], "250", "[supernet]"),
        (["--space", "macro", "--evaluator", "supernet", "--supernet", os.path.join(tmp, "absent_sn")], "absent_sn", ""),
        (["--space", "macro", "--evaluator", "command", "--evaluate-command", "train.sh"], "search.evaluate_command", "{arch}"),
        (["--max-mflops", "50"], "search.max_mflops", "nb201 has no cost model"),
        (["--space", "macro", "--max-latency-ms", "3"], "search.latency_table", "must name a table"),
        (["--space", "macro", "--max-latency-ms", "3", "--latency-table", os.path.join(tmp, "absent.h5")], "absent.h5", ""),
        (["--space", "macro", "--epsilon.width_multiplier", "1.4"], "fixed widths", "[epsilon]"),
        (["--space", "darts"], "search.space", "darts"),
        (["--space", "macro", "--truth", missing_truth, "--truth-column", "cifar10_test"], missing_truth, "macro"),  # NB201 rows
        (["--space", "macro", "--truth-column", "cifar10_test"], "cifar10_test", "NAS-Bench-Macro"),
        (["--resume", old], "schema version 1", "version 4"),
        (["--images", os.path.join(tmp, "absent.bin")], "absent.bin", ""),
        (["--resume", empty_dir], "no checkpoint", empty_dir),
        (["--resume", used, "--method", "random"], "--method", "--resume keeps"),
        (["--out", used], "already holds", "--resume"),
    ]
    for args, *needles in cases:
        full = (["--config", cfg] if "--config" not in args and "--resume" not in args else []) + args
        if "--out" not in full and "--resume" not in full:
            full += ["--out", os.path.join(tmp, "never")]
        proc = mpirun(2, "search", *full, timeout=120)
        errors = [l for l in proc.stderr.splitlines() if l.startswith("hpcnas: error:")]
        # 2 = bad input; an input file that cannot be opened is an I/O error (3), as in `hpcnas score`.
        allowed = (2, 3) if any(n in ("absent.bin", "absent.h5", "absent_sn") for n in needles) else (2,)
        check(proc.returncode in allowed, f"{args}: exit code {proc.returncode}, expected {allowed}{show(proc)}")
        check(len(errors) == 1, f"{args}: expected one error line{show(proc)}")
        for needle in needles:
            check(needle in errors[0], f"{args}: '{needle}' not in: {errors[0]}")
    check(not os.path.exists(os.path.join(tmp, "never")), "a failed start must leave nothing behind")


def case_readme_demo(tmp):
    """The README's main command on a fresh checkout: a short search on the embedded data."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, HPCNAS=hpcnas(), HPCNAS_DEMO_OUT=os.path.join(tmp, "demo"))
    proc = subprocess.run([os.path.join(repo, "scripts", "demo.sh")], capture_output=True, text=True, env=env, timeout=900)
    print(proc.stdout[-2000:])
    check_ok(proc, "scripts/demo.sh")
    text = proc.stdout + proc.stderr
    check("best architecture: |" in text and "best accuracy:" in text, f"the demo should print the best cell{show(proc)}")


def case_lock(tmp):
    """Two jobs on one output directory: the second is refused, naming the first; the lock of a
    killed job is gone with it, so the resume of a dead job is never blocked."""
    out = os.path.join(tmp, "run")
    command = [hpcnas(), "search", "--config", config_file(tmp), "--out", out, "--generations", "60"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not os.path.exists(os.path.join(out, "checkpoints", "checkpoint_g000001.h5")):
            check(time.monotonic() < deadline and first.poll() is None, "the first search should be running")
            time.sleep(0.1)
        second = run([hpcnas(), "search", "--resume", out], timeout=120)
        check(second.returncode == 2 and "in use by another hpcnas job" in second.stderr and f"pid {first.pid}" in second.stderr,
              "a second job on the same directory" + show(second))
        check(first.poll() is None, "the first search is not disturbed")
    finally:
        first.kill()
        first.wait()
    resumed = run([hpcnas(), "search", "--resume", out, "--generations", "4"], timeout=300)
    check(resumed.returncode == 0 and "in use" not in resumed.stderr, "resuming a killed search" + show(resumed))


def case_foreign_checkpoint(tmp):
    """A checkpoint copied in from another search (another seed) is skipped with a warning that
    names it; the directory's own search resumes."""
    mine, other = os.path.join(tmp, "mine"), os.path.join(tmp, "other")
    proc = search(tmp, 1, mine, 2)
    check(proc.returncode == 0, show(proc))
    proc = search(tmp, 1, other, 3, "--seed", "12")
    check(proc.returncode == 0, show(proc))
    intruder = os.path.join(mine, "checkpoints", "checkpoint_g000002.h5")
    shutil.copy(os.path.join(other, "checkpoints", "checkpoint_g000002.h5"), intruder)
    proc = mpirun(1, "search", "--resume", mine, "--generations", "3")
    text = proc.stdout + proc.stderr
    check(proc.returncode == 0, show(proc))
    check("belongs to another search" in text and "checkpoint_g000002.h5" in text, "the foreign checkpoint is named" + show(proc))
    check("checkpoint_g000001.h5 (generation 1 done)" in text, "resumed from its own newest checkpoint" + show(proc))
    with h5py.File(os.path.join(mine, "search.h5"), "r") as f, h5py.File(os.path.join(other, "search.h5"), "r") as g:
        check(f.attrs["run_id"] != g.attrs["run_id"] and "seed = 11" in f.attrs["config"], "its own run and config")


def case_full_disk(tmp):
    """A full disk (a 64 KiB tmpfs with one 4 KiB page free, mounted when this runs as root) is
    named as such by the search, score and supernet commands, and a run that fails at its start
    leaves no folder or file behind."""
    disk = os.path.join(tmp, "disk")
    os.mkdir(disk)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", disk], capture_output=True).returncode != 0:
        print("SKIP: cannot mount a small tmpfs (needs root)")
        return SKIP
    try:
        with open(os.path.join(disk, "filler"), "wb") as f:
            f.write(b"\0" * 60 * 1024)
        runs = [mpirun(2, "search", "--config", config_file(tmp), "--out", os.path.join(disk, "new", "run"), "--generations", "2"),
                run([hpcnas(), "score", "--sample", "8", "--out", os.path.join(disk, "scores.h5")]),
                run([hpcnas(), "supernet", "--space", "macro", "--epochs", "1", "--out", os.path.join(disk, "supernet")])]
        for proc in runs:
            text = proc.stdout + proc.stderr
            check(proc.returncode == 3 and "(no space left on device)" in text, "a full disk, said plainly" + show(proc))
            check(os.listdir(disk) == ["filler"], f"left behind on the full disk: {os.listdir(disk)}" + show(proc))
    finally:
        subprocess.run(["umount", disk])

def case_file_conventions(tmp):
    """Every HDF5 file hpcnas writes: a description on every dataset and units on every numeric
    one, world_size an integer, the same provenance (host, git commit, Slurm ids), and the
    genotype string beside every array of architecture codes; no 'nan' text in a CSV."""
    out = os.path.join(tmp, "s")
    runs = [mpirun(2, "search", "--config", config_file(tmp), "--out", out, "--generations", "2"),
            run([hpcnas(), "score", "--sample", "4", "--truth", "embedded", "--out", os.path.join(tmp, "score.h5")]),
            run([hpcnas(), "train-predictor", "--epochs", "1", "--out", os.path.join(tmp, "pred.h5")]),
            run([hpcnas(), "latency", "--space", "macro", "--networks", "2", "--repeats", "2", "--out", os.path.join(tmp, "lat.h5")]),
            run([hpcnas(), "supernet", "--space", "macro", "--epochs", "1", "--out", os.path.join(tmp, "sn")])]
    for proc in runs:
        check(proc.returncode == 0, show(proc))
    files = [os.path.join(out, "search.h5"), newest_checkpoint(out), os.path.join(tmp, "score.h5"), os.path.join(tmp, "pred.h5"),
             os.path.join(tmp, "lat.h5"), os.path.join(tmp, "sn", "supernet.h5")]
    files.append(max(os.path.join(tmp, "sn", "checkpoints", n) for n in os.listdir(os.path.join(tmp, "sn", "checkpoints"))))
    for path in files:
        with h5py.File(path, "r") as f:
            for key in ("host", "git_commit", "created_utc", "command_line", "slurm_job_id", "slurm_array_task_id"):
                check(key in f.attrs, f"{path}: provenance attribute {key}")
            check(isinstance(f.attrs["world_size"], np.integer), f"{path}: world_size is {type(f.attrs['world_size'])}")
            gaps = []
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    if not obj.attrs.get("description"):
                        gaps.append(name + " (description)")
                    if obj.dtype.kind in "fiu" and not obj.attrs.get("units"):
                        gaps.append(name + " (units)")
            f.visititems(visit)
            check(not gaps, f"{path}: datasets without description or units: {gaps[:10]}")
    with h5py.File(newest_checkpoint(out), "r") as f:
        check(len(f["population_arch"]) == len(f["population"]) and len(f["epsilon/arch"]) == len(f["epsilon/choices"]),
              "genotype strings beside the codes")
    with h5py.File(os.path.join(tmp, "pred.h5"), "r") as f:
        check(len(f["training/arch"]) == len(f["training/code"]), "genotype strings beside the training codes")
    for csv_path in (os.path.join(tmp, "score.csv"), os.path.join(out, "generations.csv"), os.path.join(tmp, "sn", "epochs.csv")):
        body = open(csv_path).read().split("\n", 1)[1].lower()
        check("nan" not in body, f"{csv_path}: NaN is an empty field")


# ---- Evaluators that do real work, under a hardware budget (issue 13) -------------------------

SUPERNET_CONFIG = """
[supernet]
space = "macro"
data = "embedded"
train_images = 192
valid_images = 64
batch_size = 32
micro_batches = 2
warmup_epochs = 1
epochs = 1
arch_every = 2
seed = 0
"""


def train_supernet(tmp, data="embedded", out="sn"):
    """A small macro supernet on the bundled CIFAR-10 images (seconds)."""
    path = os.path.join(tmp, out + ".toml")
    with open(path, "w") as f:
        f.write(SUPERNET_CONFIG.replace('data = "embedded"', f'data = "{data}"'))
    out = os.path.join(tmp, out)
    check_ok(mpirun(2, "supernet", "--config", path, "--out", out, "--threads", "1", timeout=300), "training a supernet")
    return out


def mflops(arch):
    proc = run([hpcnas(), "inspect", "--space", "macro", "--arch", arch])
    check_ok(proc, "inspect " + arch)
    return int(next(l for l in proc.stdout.splitlines() if l.startswith("flops:")).split()[1]) / 1e6


def check_within_budget(out, budget):
    with h5py.File(os.path.join(out, "search.h5"), "r") as f:
        archs = list(f["queries/arch"].asstr()[:])
    over = [a for a in archs if mflops(a) > budget]
    check(not over, f"evaluated over the {budget} MFLOPs budget: {over}")
    rows = list(csv.DictReader(open(os.path.join(out, "generations.csv"))))
    check(all(0 < float(r["population_mflops_max"]) <= budget for r in rows), "the population's cost in generations.csv")


def case_supernet_evaluator(tmp):
    """Candidates evaluated with inherited supernet weights, spread over ranks: the same search
    on 1, 2 and 3 ranks, nothing over the budget evaluated, accuracies of the 64 held-out images."""
    sn = train_supernet(tmp)
    args = ["--space", "macro", "--evaluator", "supernet", "--supernet", sn, "--max-mflops", "50", "--threads", "1"]
    runs = {}
    for ranks in (1, 2, 3):
        runs[ranks] = os.path.join(tmp, f"np{ranks}")
        proc = search(tmp, ranks, runs[ranks], 3, *args)
        check_ok(proc, f"supernet-evaluated search on {ranks} rank(s)")
    check("supernet evaluator" in proc.stderr and "budget: 50 MFLOPs" in proc.stderr, "the start lines" + show(proc))
    check("best architecture within the budget: " in proc.stdout and "MFLOPs" in proc.stdout, "the result" + show(proc))
    check_same_outcome(runs[2], runs[1], "2 ranks vs 1")
    check_same_outcome(runs[3], runs[1], "3 ranks vs 1")
    with h5py.File(os.path.join(runs[1], "search.h5"), "r") as f:
        accuracy = f["queries/accuracy"][:]
        check(f.attrs["accuracy_column"] == "supernet_valid_accuracy", "the accuracy column")
        check(os.path.basename(str(tomllib_value(f.attrs["config"], "supernet"))).startswith("checkpoint_"),
              "the config records the supernet checkpoint file")
    check(len(accuracy) == 5 + 2 * 5 and all(abs(a * 64 / 100 - round(a * 64 / 100)) < 1e-9 for a in accuracy),
          f"accuracies should be counts of 64 held-out images: {accuracy}")
    check_within_budget(runs[1], 50)

    # Labelled by the held-out log-likelihood instead: its own column, no percent sign.
    ll = os.path.join(tmp, "log_likelihood")
    proc = search(tmp, 2, ll, 3, *args, "--supernet-score", "log_likelihood")
    check_ok(proc, "a search labelled by the log-likelihood")
    check(re.search(r"best -\d+\.\d\d \|", proc.stderr) is not None, "the progress line shows the label without %" + show(proc))
    check(re.search(r"^best log-likelihood: -\d+\.\d\d \(supernet_valid_log_likelihood\)", proc.stdout, re.M) is not None,
          "the result names the log-likelihood" + show(proc))
    with h5py.File(os.path.join(ll, "search.h5"), "r") as f:
        label = f["queries/accuracy"][:]
        check(f.attrs["accuracy_column"] == "supernet_valid_log_likelihood", "the log-likelihood column")
    check(len(label) == 15 and all(-20 < x < 0 for x in label) and len(set(label)) > 1,
          f"labels should be minus cross-entropies: {label}")
    check_within_budget(ll, 50)

    # A supernet whose training images have moved since: rank 0 says so before anything is written.
    images = os.path.join(tmp, "moved.bin")
    shutil.copyfile(os.path.join(REPO, "data", "cifar10_epsilon_batch_256.bin"), images)
    moved = train_supernet(tmp, data=images, out="sn_moved")
    os.remove(images)
    never = os.path.join(tmp, "never")
    proc = search(tmp, 2, never, 3, "--space", "macro", "--evaluator", "supernet", "--supernet", moved, "--threads", "1")
    errors = [l for l in proc.stderr.splitlines() if l.startswith("hpcnas: error:")]
    check(proc.returncode in (2, 3) and len(errors) == 1 and "moved.bin" in errors[0] and "the supernet's data" in errors[0],
          "a supernet whose images are gone: one error line naming them" + show(proc))
    check(not os.path.exists(never), "nothing written for a supernet whose images are gone")
    # --supernet.data says where they are now; other images are refused by their fingerprint.
    other = os.path.join(tmp, "other.bin")
    with open(os.path.join(REPO, "data", "cifar10_epsilon_batch_256.bin"), "rb") as f, open(other, "wb") as g:
        g.write(b"".join(reversed([f.read(3073) for _ in range(256)])))
    proc = search(tmp, 1, never, 1, "--space", "macro", "--evaluator", "supernet", "--supernet", moved, "--threads", "1",
                  "--supernet.data", other)
    check(proc.returncode == 2 and "supernet.data_fingerprint" in proc.stderr and not os.path.exists(never),
          "a supernet's search on other images is refused" + show(proc))
    found = os.path.join(REPO, "data", "cifar10_epsilon_batch_256.bin")
    proc = search(tmp, 2, never, 1, "--space", "macro", "--evaluator", "supernet", "--supernet", moved, "--threads", "1",
                  "--supernet.data", found)
    check_ok(proc, "a supernet's search on its images at another place")
    with h5py.File(os.path.join(never, "search.h5"), "r") as f:
        check(f"data = '{found}'" in f.attrs["config"], "the search records where the images were")


def tomllib_value(text, key):
    """search.KEY from a config text (a plain line scan: the config is hpcnas's own TOML)."""
    section = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "search" and line.startswith(key + " ="):
            return line.split("=", 1)[1].strip().strip('"')
    return None


def case_supernet_fault_kill(tmp):
    """A rank killed during supernet evaluation: the job ends naming it; the resume finishes with
    the result of an uninterrupted run."""
    sn = train_supernet(tmp)
    args = ["--space", "macro", "--evaluator", "supernet", "--supernet", sn, "--threads", "1"]
    straight = os.path.join(tmp, "straight")
    check_ok(search(tmp, 2, straight, 5, *args), "straight run")
    out = os.path.join(tmp, "killed")
    # Rank 1 evaluates about half of the 5 queries per generation: killed in generation 2 or 3.
    proc = search(tmp, 2, out, 5, *args, "--fault", "1:kill:6", "--timeout", "20", timeout=300)
    check(proc.returncode != 0, f"a killed rank must fail the job{show(proc)}")
    check("rank 0: rank 1 (pid " in proc.stderr, f"rank 0 should name the dead rank 1{show(proc)}")
    with h5py.File(newest_checkpoint(out), "r") as f:
        done = int(f.attrs["next_generation"])
    check(1 <= done < 5, f"expected a checkpoint from before the kill, found generation {done - 1}")
    check_ok(resume(2, out, 5), "resume after the kill")
    check_same_outcome(out, straight, "killed and resumed vs straight")


def supernet_state(out):
    """The search's supernet after its newest checkpoint: counters, weights, momentum, alpha and Adam."""
    with h5py.File(newest_checkpoint(out), "r") as f:
        path = os.path.join(out, f.attrs["supernet_checkpoint"])
    state = {}
    with h5py.File(path, "r") as f:
        state["counters"] = f["counters"][:]
        for group in ("weights", "momentum", "architecture"):
            f[group].visititems(lambda name, d: state.__setitem__(group + "/" + name, d[:]) if isinstance(d, h5py.Dataset) else None)
    return state


def case_supernet_trained(tmp):
    """--supernet train: the search trains its supernet (warm-up before generation 1, an epoch
    before each later one, until its schedule is done), reports the cost per generation, writes
    it beside the search, and a search stopped by a signal resumes to the same supernet and
    result; the trained supernet then serves another search as a checkpoint."""
    args = ["--space", "macro", "--evaluator", "supernet", "--supernet", "train", "--threads", "1",
            "--supernet.train_images", "128", "--supernet.valid_images", "64", "--supernet.batch_size", "32",
            "--supernet.micro_batches", "2", "--supernet.warmup_epochs", "1", "--supernet.epochs", "2",
            "--supernet.arch_every", "2", "--max-mflops", "60"]
    straight = os.path.join(tmp, "straight")
    proc = search(tmp, 2, straight, 4, *args)
    check_ok(proc, "a search that trains its supernet")
    check("the search trains its supernet" in proc.stderr and "supernet epoch 1/3 (warm-up)" in proc.stderr
          and "supernet epoch 3/3 (search)" in proc.stderr, "the supernet's start and epoch lines" + show(proc))
    rows = list(csv.DictReader(open(os.path.join(straight, "generations.csv"))))
    training = [float(r["seconds_evaluator_training"]) for r in rows]
    check(len(rows) == 4 and all(t > 0 for t in training[:3]) and training[3] < min(training[:3]),
          f"training before generations 1-3, none before 4 (its 3 epochs are done): {training}")
    epochs = list(csv.DictReader(open(os.path.join(straight, "supernet", "epochs.csv"))))
    check(len(epochs) == 3, f"supernet/epochs.csv should hold the 3 epochs: {epochs}")
    with h5py.File(os.path.join(straight, "search.h5"), "r") as f:
        check(f.attrs["accuracy_column"] == "supernet_valid_accuracy", "the accuracy column")
    check_within_budget(straight, 60)

    stopped = os.path.join(tmp, "stopped")
    # Rank 0 signals itself after its 2nd evaluation (early: it shares every generation's work).
    proc = search(tmp, 2, stopped, 4, *args, "--fault", "0:signal:2")
    check(proc.returncode == STOPPED, f"a signal should stop the search with {STOPPED}{show(proc)}")
    check_ok(resume(2, stopped, 4), "resume of the stopped search")
    check_same_outcome(stopped, straight, "stopped and resumed vs straight")
    ours, theirs = supernet_state(stopped), supernet_state(straight)
    check(ours.keys() == theirs.keys() and len(ours) > 10, f"the supernet checkpoints' contents: {sorted(ours)[:5]}")
    for key in ours:
        check(np.array_equal(ours[key], theirs[key]), f"the resumed search's supernet differs in {key}")

    # SIGUSR1 as the warm-up starts: what it trained is kept (checkpoint_g-00001.h5) and the
    # resumed search ends as the straight one.
    warm = os.path.join(tmp, "warm")
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", hpcnas(), "search", "--config", config_file(tmp),
           "--out", warm, "--generations", "4", *args]
    job = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in job.stderr:
        seen.append(line)
        if "the search trains its supernet" in line:
            job.send_signal(signal.SIGUSR1)
            break
    stdout, rest = job.communicate(timeout=300)
    stderr = "".join(seen) + rest
    check(job.returncode == STOPPED and "stopped by a signal during the supernet's warm-up" in stderr,
          f"a signal in the warm-up should stop with {STOPPED}\n{stdout}\n{stderr}")
    check(os.path.exists(os.path.join(warm, "checkpoints", "checkpoint_g-00001.h5")), "the warm-up's checkpoint")
    proc = resume(2, warm, 4)
    check_ok(proc, "resume from the warm-up")
    check("in the supernet's warm-up" in proc.stderr, "the resume says where it starts" + show(proc))
    check_same_outcome(warm, straight, "stopped in the warm-up and resumed vs straight")
    ours = supernet_state(warm)
    for key in theirs:
        check(np.array_equal(ours[key], theirs[key]), f"the supernet resumed from its warm-up differs in {key}")

    # A search whose supernet checkpoint is gone cannot resume: one error naming it.
    broken = os.path.join(tmp, "broken")
    shutil.copytree(straight, broken)
    shutil.rmtree(os.path.join(broken, "supernet", "checkpoints"))
    proc = resume(2, broken, 5)
    errors = [l for l in proc.stderr.splitlines() if l.startswith("hpcnas: error:")]
    check(proc.returncode in (2, 3) and len(errors) == 1 and "supernet/checkpoints/checkpoint_s" in errors[0],
          f"resume without the supernet checkpoint{show(proc)}")

    # The trained supernet is a checkpoint directory another search can evaluate with.
    proc = search(tmp, 1, os.path.join(tmp, "reuse"), 1, "--space", "macro", "--evaluator", "supernet", "--supernet",
                  os.path.join(straight, "supernet"), "--threads", "1")
    check_ok(proc, "a search on the trained supernet")


# Accuracy = 80 + the sum of the code's digits; codes starting with 2 crash, codes ending in 11
# hang (killed by --evaluate-timeout). Each run appends its code to OUT/calls.log as it starts.
EVALUATE_SCRIPT = """#!/bin/sh
arch="$1"; run="$2"
echo "$arch" >> "$run/../../calls.log"
echo "training $arch" >&2
case "$arch" in
  2*) echo "CUDA out of memory" >&2; exit 3;;
  *11) sleep 30;;
esac
sleep 0.2
sum=$(echo "$arch" | sed 's/./&+/g; s/+$//')
echo "epoch 1 done"
echo "{\\"accuracy\\": $((80 + $sum)), \\"seconds\\": 0.2}"
"""


def write_evaluate_script(tmp):
    path = os.path.join(tmp, "train.sh")
    with open(path, "w") as f:
        f.write(EVALUATE_SCRIPT)
    os.chmod(path, 0o755)
    return ["--space", "macro", "--evaluator", "command", "--evaluate-command", path + " {arch} {out}", "--evaluate-timeout", "2",
            "--max-mflops", "60"]


def finished_runs(out):
    """The codes whose run left its result.h5 (written once the command has finished)."""
    runs = os.path.join(out, "evaluations")
    codes = set()
    for d in os.listdir(runs) if os.path.isdir(runs) else []:
        try:
            with h5py.File(os.path.join(runs, d, "result.h5"), "r") as f:
                codes.add(f.attrs["arch"])
        except OSError:
            pass  # not finished yet
    return codes


def case_command_evaluator(tmp):
    """A user's program per architecture on 3 ranks: a crash and a hang recorded as NaN with
    their reasons while the search goes on; a job killed mid-generation resumes without running
    a finished evaluation again and ends as the uninterrupted search."""
    args = write_evaluate_script(tmp)
    straight = os.path.join(tmp, "straight")
    proc = search(tmp, 3, straight, 4, *args)
    check_ok(proc, "straight run")
    queries = list(csv.DictReader(open(os.path.join(straight, "queries.csv"))))
    crashed = [q for q in queries if q["arch"].startswith("2")]
    hung = [q for q in queries if q["arch"].endswith("11")]
    check(crashed and hung, f"the draw should hold crashing and hanging codes: {[q['arch'] for q in queries]}")
    for q in crashed:
        check(q["command_accuracy"] == "" and "exited with status 3" in q["failure"] and "CUDA out of memory" in q["failure"], str(q))
    for q in hung:
        check(q["command_accuracy"] == "" and "timed out after 2 s" in q["failure"], str(q))
    for q in queries:
        if q not in crashed and q not in hung:
            check(float(q["command_accuracy"]) == 80 + sum(map(int, q["arch"])) and q["failure"] == "", str(q))
    check("the search goes on" in proc.stderr, "failures are logged" + show(proc))
    check(not subprocess.run(["pgrep", "-f", "train.sh"], capture_output=True).stdout, "a timed-out run's processes must be gone")
    check_within_budget(straight, 60)

    # Two generations, then the continuation killed (SIGKILL to mpirun) once two evaluations of
    # generation 2 have finished; resumed on 2 ranks.
    out = os.path.join(tmp, "killed")
    check_ok(search(tmp, 3, out, 2, *args), "first two generations")
    before = finished_runs(out)
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "3", hpcnas(), "search", "--resume", out, "--generations", "4"]
    job = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(finished_runs(out) - before) < 2:
        check(job.poll() is None and time.monotonic() < deadline, "the continuation ended before two evaluations finished")
        time.sleep(0.02)
    os.killpg(job.pid, signal.SIGKILL)
    job.communicate(timeout=60)
    finished = finished_runs(out)
    with h5py.File(newest_checkpoint(out), "r") as f:
        check(int(f.attrs["next_generation"]) == 2, "the kill should come before generation 2's checkpoint")
    check_ok(resume(2, out, 4), "resume after the kill")
    calls = open(os.path.join(out, "calls.log")).read().split()
    again = [a for a in finished if calls.count(a) > 1]
    check(not again, f"finished evaluations ran again after the resume: {again}")
    check(len(finished - before) >= 2, "evaluations of the killed generation had finished")
    check_same_outcome(out, straight, "killed mid-generation and resumed vs straight")

    # A job killed while its commands run takes their whole process groups with it, the shell's
    # own children too (here a nested shell and its sleep, which a killed shell would orphan).
    sleeping = ["pgrep", "-f", r"^sleep 987\.654"]
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", hpcnas(), "search", "--config", config_file(tmp),
           "--out", os.path.join(tmp, "orphans"), "--generations", "2", "--space", "macro", "--evaluator", "command",
           "--evaluate-command", "sh -c 'sleep 987.654; echo 90' {arch} {out}", "--evaluate-timeout", "3600"]
    job = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not subprocess.run(sleeping, capture_output=True).stdout:
        check(job.poll() is None and time.monotonic() < deadline, "the commands should have started")
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)
    job.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while subprocess.run(sleeping, capture_output=True).stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    left = subprocess.run(sleeping, capture_output=True, text=True).stdout.split()
    subprocess.run(["pkill", "-KILL", "-f", sleeping[-1]])
    check(not left, f"the commands of a killed job outlived it: pids {left}")


CASES = {
    "foreign_checkpoint": case_foreign_checkpoint,
    "lock": case_lock,
    "resume": case_resume,
    "signal": case_signal,
    "fault_kill": case_fault_kill,
    "macro": case_macro,
    "bad_input": case_bad_input,
    "readme_demo": case_readme_demo,
    "full_disk": case_full_disk,
    "file_conventions": case_file_conventions,
    "supernet_evaluator": case_supernet_evaluator,
    "supernet_trained": case_supernet_trained,
    "supernet_fault_kill": case_supernet_fault_kill,
    "command_evaluator": case_command_evaluator,
}

if __name__ == "__main__":
    sys.exit(run_cases(CASES))
