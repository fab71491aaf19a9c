#!/usr/bin/env python3
"""End-to-end tests of `hpcnas score` under real mpirun, reading the outputs with h5py.

Usage: score_cli_test.py --hpcnas BIN CASE   (CASE: see the CASES table at the bottom)
Exit 0 = pass, 1 = fail, 77 = skipped (ctest SKIP_RETURN_CODE).
"""
import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SKIP = 77
ARGS = None


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def mpirun(np_, *args, timeout=600):
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(np_), ARGS.hpcnas, *args]
    return run(cmd, timeout)


def run(cmd, timeout=600):
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    proc.elapsed = time.monotonic() - start
    print("$", " ".join(cmd), f"  -> rc={proc.returncode} in {proc.elapsed:.1f}s")
    return proc


def show(proc):
    return f"\n--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}"


def sample_archs(n, seed):
    rows = list(csv.DictReader(open(os.path.join(REPO, "data", "nb201.csv"))))
    rng = np.random.default_rng(seed)
    return [rows[i]["arch"] for i in sorted(rng.choice(len(rows), n, replace=False))]


def write_archs(path, archs):
    with open(path, "w") as f:
        f.write("# architectures for a test\n" + "\n".join(archs) + "\n")


def read_scores(path):
    with h5py.File(path, "r") as f:
        return [a.decode() for a in f["arch"][:]], f["epsilon"][:]


# ---------------------------------------------------------------------------------------------

def case_layout(tmp):
    out = os.path.join(tmp, "scores.h5")
    proc = mpirun(2, "score", "--space", "nb201", "--sample", "6", "--seed", "3", "--truth", "embedded",
                  "--out", out, "--progress-interval", "0")
    check(proc.returncode == 0, "score failed" + show(proc))
    check("scored 6/6 (100.0%)" in proc.stdout and "arch/s" in proc.stdout and "ETA" in proc.stdout,
          "no progress line with rate and ETA" + show(proc))
    check("Spearman rho" in proc.stdout and "Kendall tau" in proc.stdout, "no correlation summary" + show(proc))
    with h5py.File(out, "r") as f:
        check(f.attrs["schema_version"] == 1, "schema_version")
        check(f.attrs["kind"] == "hpcnas.scores", "kind attribute")
        config = tomllib.loads(f.attrs["config"])
        check(config["score"]["sample"] == 6 and config["score"]["seed"] == 3, "config attribute: %r" % config)
        check(int(f.attrs["world_size"]) == 2, "world_size")
        check("--sample 6" in f.attrs["command_line"], "command_line")
        n = len(f["arch"])
        check(n == 6, "6 rows")
        for name in ("index", "epsilon", "seconds", "accuracy"):
            check(f[name].shape == (n,), f"dataset {name} has {n} rows")
        check(f["accuracy"].attrs["column"] == "cifar10_test", "accuracy column attribute")
        check(set(f["summary"].attrs) >= {"spearman", "kendall", "num_nan", "top10_overlap"}, "summary attributes")
        check(np.all(f["seconds"][:] > 0), "timings recorded")
        truth = {r["arch"]: float(r["cifar10_test"]) for r in csv.DictReader(open(os.path.join(REPO, "data", "nb201.csv")))}
        for arch, index, acc in zip(f["arch"][:], f["index"][:], f["accuracy"][:]):
            check(abs(truth[arch.decode()] - acc) < 1e-9, "accuracy joined by arch")
        archs, eps = [a.decode() for a in f["arch"][:]], f["epsilon"][:]
    rows = list(csv.DictReader(open(os.path.join(tmp, "scores.csv"))))
    check([r["arch"] for r in rows] == archs, "CSV rows match the HDF5 rows")
    for r, e in zip(rows, eps):
        v = float(r["epsilon"])
        check((np.isnan(v) and np.isnan(e)) or v == e, "CSV epsilon equals HDF5 epsilon exactly")
    check(not any(n.endswith(".tmp") for n in os.listdir(tmp)), "no temporary files left")


def case_determinism(tmp):
    archs = os.path.join(tmp, "archs.txt")
    # Mixed sample: some cells give NaN, some do not.
    write_archs(archs, sample_archs(8, seed=11))
    results = {}
    for np_ in (1, 2, 3):
        out = os.path.join(tmp, f"np{np_}.h5")
        proc = mpirun(np_, "score", "--archs", archs, "--out", out)
        check(proc.returncode == 0, f"np={np_} failed" + show(proc))
        results[np_] = read_scores(out)
    for np_ in (2, 3):
        check(results[np_][0] == results[1][0], "same architecture order")
        check(results[np_][1].tobytes() == results[1][1].tobytes(),
              f"scores with {np_} ranks differ from 1 rank: {results[np_][1]} vs {results[1][1]}")
    print("bitwise identical for 1, 2, 3 ranks:", results[1][1])


def expect_clean_failure(tmp, args, fragment, ranks=2):
    out = os.path.join(tmp, "out.h5")
    proc = mpirun(ranks, "score", *args, "--out", out) if ranks else run([ARGS.hpcnas, "score", *args, "--out", out])
    check(proc.returncode != 0, "expected a non-zero exit" + show(proc))
    errors = [l for l in proc.stderr.splitlines() if l.startswith("hpcnas: error:") or "hpcnas score:" in l]
    check(len(errors) == 1, f"expected exactly one error line, got {errors}" + show(proc))
    check(fragment in errors[0], f"error line should mention {fragment!r}: {errors[0]}")
    check(not [n for n in os.listdir(tmp) if n.startswith("out.")], f"output left behind: {os.listdir(tmp)}")
    if ranks == 0:
        check(len([l for l in proc.stderr.splitlines() if l.strip()]) == 1, "a single stderr line" + show(proc))


def case_bad_input(tmp):
    good = os.path.join(REPO, "data", "cifar10_epsilon_batch_256.bin")
    truncated = os.path.join(tmp, "truncated.bin")
    with open(good, "rb") as src, open(truncated, "wb") as dst:
        dst.write(src.read(3073 * 300 // 2 + 7))
    short = os.path.join(tmp, "short.bin")
    with open(good, "rb") as src, open(short, "wb") as dst:
        dst.write(src.read(3073 * 10))
    archs = os.path.join(tmp, "bad_archs.txt")
    write_archs(archs, ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "|none~0|+|conv_7x7~0|none~1|+|none~0|none~1|none~2|"])
    cases = [
        (["--sample", "2", "--images", "/nonexistent/cifar.bin"], "cannot open CIFAR file '/nonexistent/cifar.bin'"),
        (["--sample", "2", "--images", truncated], "truncated or not in CIFAR-10 binary format"),
        (["--sample", "2", "--images", short], "holds 10 images, but the batch needs 256"),
        (["--sample", "2", "--space", "nb301"], "unknown search space"),
        (["--archs", archs], "line 3: invalid NB201 genotype"),
        (["--archs", "/nonexistent/archs.txt"], "cannot open architecture file"),
        (["--sample", "2", "--truth", "/nonexistent/truth.csv"], "cannot open truth table"),
        (["--sample", "2", "--batch-size", "1"], "'epsilon.batch_size' is 1"),
        (["--space", "nb201"], "choose what to score"),
    ]
    for args, fragment in cases:
        expect_clean_failure(tmp, args, fragment)
    expect_clean_failure(tmp, ["--sample", "2", "--images", truncated], "truncated", ranks=0)
    # An unwritable output path fails before any scoring, and leaves nothing.
    proc = mpirun(2, "score", "--sample", "2", "--out", "/nonexistent-dir/x.h5")
    check(proc.returncode != 0 and "cannot write output '/nonexistent-dir/x.h5'" in proc.stderr, show(proc))
    ro = os.path.join(tmp, "readonly")
    os.mkdir(ro)
    os.chmod(ro, 0o555)
    if os.geteuid() != 0:  # root ignores directory permissions
        proc = mpirun(2, "score", "--sample", "2", "--out", os.path.join(ro, "x.h5"))
        check(proc.returncode != 0 and "cannot write output" in proc.stderr, show(proc))
        check(os.listdir(ro) == [], "nothing written in the read-only directory")


def fault_case(kind, rank, bound, expect):
    def case(tmp):
        out = os.path.join(tmp, "out.h5")
        # The timeout only has to catch the hangs; it must exceed one architecture on a busy machine.
        proc = mpirun(2, "score", "--sample", "6", "--seed", "5", "--out", out, "--timeout", "15",
                      "--fault", f"{rank}:{kind}:1", timeout=bound + 60)
        check(proc.returncode != 0, "the job must fail" + show(proc))
        check(proc.elapsed < bound, f"took {proc.elapsed:.0f}s, bound {bound}s" + show(proc))
        text = proc.stdout + proc.stderr
        check(any(e in text for e in expect), f"no message naming rank {rank} ({expect})" + show(proc))
        check(not [n for n in os.listdir(tmp) if n.startswith("out.")], "no output left behind")
    return case


def case_reference(tmp):
    """Our full-network path against an independent PyTorch implementation (tests/reference)."""
    try:
        subprocess.run([sys.executable, "-c", "import torch"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        print("SKIP: python3 torch (Debian python3-torch) is not installed")
        return SKIP
    archs = sample_archs(13, seed=2024) + [
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_1x1~2|",
    ]
    path = os.path.join(tmp, "archs.txt")
    write_archs(path, archs)
    out = os.path.join(tmp, "ours.h5")
    proc = mpirun(2, "score", "--archs", path, "--out", out)
    check(proc.returncode == 0, show(proc))
    ours = dict(zip(*read_scores(out)))
    images = os.path.join(REPO, "data", "cifar10_epsilon_batch_256.bin")
    ref_csv = os.path.join(tmp, "reference.csv")
    proc = run([sys.executable, os.path.join(REPO, "tests", "reference", "epsilon_reference.py"), images, path, ref_csv,
                "--threads", "2"])
    check(proc.returncode == 0, show(proc))
    reference = {r["arch"]: float(r["epsilon"]) for r in csv.DictReader(open(ref_csv))}
    nan_both = 0
    for arch in archs:
        a, b = ours[arch], reference[arch]
        print(f"{arch}  ours={a!r}  reference={b!r}")
        check(np.isnan(a) == np.isnan(b), f"NaN disagreement for {arch}: ours {a}, reference {b}")
        if np.isnan(a):
            nan_both += 1
            continue
        check(abs(a - b) <= 1e-3 * abs(b), f"{arch}: ours {a} vs reference {b}")
    check(0 < nan_both < len(archs), "the sample should contain NaN and finite cells")


def case_fidelity(tmp):
    """Issue 2, item 10: rho >= 0.80 on a fixed random sample of >= 300 cells, default batch."""
    out = os.path.join(tmp, "fidelity.h5")
    proc = mpirun(2, "score", "--space", "nb201", "--sample", "300", "--seed", "2023", "--truth", "embedded",
                  "--out", out, "--progress-interval", "30", timeout=3000)
    print(proc.stdout[-2500:])
    check(proc.returncode == 0, show(proc))
    from scipy import stats
    with h5py.File(out, "r") as f:
        eps, acc = f["epsilon"][:], f["accuracy"][:]
        summary = dict(f["summary"].attrs)
    ok = ~np.isnan(eps)
    rho = stats.spearmanr(eps[ok], acc[ok])[0]
    tau = stats.kendalltau(eps[ok], acc[ok])[0]
    print(f"300 cells: NaN share {1 - ok.mean():.3f}; over {ok.sum()} non-NaN cells: rho={rho:.4f} tau={tau:.4f}")
    check(abs(rho - summary["spearman"]) < 1e-9 and abs(tau - summary["kendall"]) < 1e-9,
          f"our statistics ({summary['spearman']}, {summary['kendall']}) differ from scipy ({rho}, {tau})")
    check(rho >= 0.80, f"Spearman rho {rho:.4f} < 0.80")


CASES = {
    "layout": case_layout,
    "determinism": case_determinism,
    "bad_input": case_bad_input,
    "fault_throw": fault_case("throw", 1, 60, ["rank 1: fatal: scoring failed: injected fault"]),
    "fault_hang": fault_case("hang", 1, 120, ["rank(s) 1 held work but sent nothing"]),
    "fault_kill": fault_case("kill", 1, 60, ["rank 1 with PID"]),
    "fault_exit": fault_case("exit", 1, 60, ["Exit code:    42", "exited on signal", ",1]"]),
    "fault_rank0_hang": fault_case("hang", 0, 120, ["rank 1 waiting for work from rank 0"]),
    "reference": case_reference,
    "fidelity": case_fidelity,
}


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--hpcnas", required=True)
    parser.add_argument("case", choices=sorted(CASES))
    ARGS = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="hpcnas_cli_")
    try:
        result = CASES[ARGS.case](tmp)
        if result == SKIP:
            return SKIP
        print("PASS", ARGS.case)
        return 0
    except Failure as e:
        print("FAIL", ARGS.case + ":", e)
        return 1
    finally:
        os.chmod(tmp, 0o755)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
