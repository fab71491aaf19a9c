"""What the end-to-end CLI tests share: running hpcnas (alone or under mpirun), checks, and
the case runner. Exit codes: 0 pass, 1 fail, 77 skipped (ctest SKIP_RETURN_CODE)."""
import argparse
import csv
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SKIP = 77
_HPCNAS = None


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def mpirun(np_, *args, timeout=600):
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(np_), hpcnas(), *args]
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


def hpcnas():
    return _HPCNAS


def run_cases(cases):
    """Parses --hpcnas BIN CASE and runs that case in a fresh temporary directory."""
    global _HPCNAS
    parser = argparse.ArgumentParser()
    parser.add_argument("--hpcnas", required=True)
    parser.add_argument("case", choices=sorted(cases))
    args = parser.parse_args()
    _HPCNAS = args.hpcnas
    tmp = tempfile.mkdtemp(prefix="hpcnas_cli_")
    try:
        if cases[args.case](tmp) == SKIP:
            return SKIP
        print("PASS", args.case)
        return 0
    except Failure as e:
        print("FAIL", args.case + ":", e)
        return 1
    finally:
        os.chmod(tmp, 0o755)
        shutil.rmtree(tmp, ignore_errors=True)


# A small predictor: what the quick searches train.
SMALL_PREDICTOR_CONFIG = """
[predictor]
d_model = 16
heads = 2
layers = 1
feedforward = 32
head_hidden = 8
"""

# A small, quick search: every feature on, seconds per generation.
SMALL_SEARCH_CONFIG = """
[search]
seed = 11
initial_pool = 60
initial_queries = 5
candidates = 30
queries_per_generation = 5
population_size = 10
tournament_size = 3
predictor_epochs = 5
keep_checkpoints = 3
""" + SMALL_PREDICTOR_CONFIG + """
[epsilon]
batch_size = 32
"""
