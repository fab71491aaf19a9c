#!/usr/bin/env python3
"""End-to-end tests of `hpcnas train-predictor` and `hpcnas predict` under real mpirun.

Usage: predictor_cli_test.py --hpcnas BIN CASE   (CASE: see the CASES table at the bottom)
"""
import csv
import os
import sys
import tomllib

import h5py
import numpy as np

from cli_common import REPO, SMALL_SEARCH_CONFIG, check, mpirun, run_cases, sample_archs, show, write_archs

SMALL = ["--train-size", "60", "--seed", "4", "--epochs", "4", "--d-model", "24", "--heads", "3", "--layers", "2",
         "--feedforward", "48", "--head-hidden", "16", "--progress-interval", "0"]


def train(tmp, ranks, name, *extra):
    out = os.path.join(tmp, name)
    proc = mpirun(ranks, "train-predictor", "--truth", "embedded", "--out", out, *SMALL, *extra)
    check(proc.returncode == 0, "train-predictor failed" + show(proc))
    return out, proc


def read_predictions(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return [r["arch"] for r in rows], np.array([float(r["predicted_accuracy"]) for r in rows])


def case_train_and_predict(tmp):
    out2, proc = train(tmp, 2, "p2.h5", "--self-evolution", "2", "--unlabelled-size", "40")
    check("epoch 1/4" in proc.stderr and "epoch 4/4" in proc.stderr and "ETA" in proc.stderr and "arch/s" in proc.stderr,
          "progress lines with epoch, loss, rate and ETA" + show(proc))
    check("Kendall tau = " in proc.stdout and "over the 15565 cells not used for training" in proc.stdout,
          "tau over every cell not used for training" + show(proc))
    with h5py.File(out2, "r") as f:
        check(f.attrs["kind"] == "hpcnas.predictor.tnasp" and f.attrs["schema_version"] == 1, "kind and schema")
        check(f.attrs["space"] == "nb201", "space attribute")
        config = tomllib.loads(f.attrs["config"])
        check(config["predictor"]["d_model"] == 24 and config["predictor"]["self_evolution_rounds"] == 2, "config stored")
        check(config["train"]["train_size"] == 60, "train size stored")
        names = [n.decode() for n in f["/model/parameter_names"][:]]
        check("layer0.query.weight" in names and f["/model/parameters/layer0.query.weight"].shape == (24, 24),
              "named parameters with their shapes")
        total = sum(f["/model/parameters/" + n].size for n in names)
        check(f["/optimizer/first_moment"].size == total and f["/optimizer/second_moment"].size == total,
              "Adam moments for every parameter")
        check(f["/optimizer"].attrs["step"] == 4 * 6, "Adam step = epochs x steps per epoch")
        check(len(f["/training/code"]) == 60 and np.all(np.isfinite(f["/training/accuracy"][:])), "training set")
        tau = float(f["/training"].attrs["kendall_tau"])
        check(f["/training"].attrs["num_evaluated"] == 15625 - 60 and 0.1 < tau < 1, f"stored tau {tau}")
    check(not any(name.endswith(".tmp") for name in os.listdir(tmp)), "no temporary file left")

    # The same training on 1 and 3 ranks: the same predictor within 1e-5.
    out1, _ = train(tmp, 1, "p1.h5", "--self-evolution", "2", "--unlabelled-size", "40")
    out3, _ = train(tmp, 3, "p3.h5", "--self-evolution", "2", "--unlabelled-size", "40")
    with h5py.File(out1, "r") as a, h5py.File(out2, "r") as b, h5py.File(out3, "r") as c:
        for name in names:
            reference = a["/model/parameters/" + name][:]
            for other in (b, c):
                difference = np.abs(other["/model/parameters/" + name][:] - reference).max()
                check(difference <= 1e-5, f"{name} differs by {difference} between rank counts")

    archs = sample_archs(25, 8)
    archs_file = os.path.join(tmp, "archs.txt")
    write_archs(archs_file, archs)
    predictions = {}
    for ranks in (1, 2):
        csv_out = os.path.join(tmp, f"pred{ranks}.csv")
        proc = mpirun(ranks, "predict", "--model", out2, "--archs", archs_file, "--out", csv_out)
        check(proc.returncode == 0, "predict failed" + show(proc))
        names_read, predictions[ranks] = read_predictions(csv_out)
        check(names_read == archs, "predictions in input order")
        check(archs[0] in proc.stdout, "predictions printed")
    check(np.allclose(predictions[1], predictions[2], atol=1e-4), "1 and 2 ranks predict the same")
    check(70 < predictions[1].mean() < 100 and predictions[1].std() > 0.01, "destandardised, non-constant predictions")


def case_macro(tmp):
    """The predictor on NAS-Bench-Macro: trained on 60 of its 3,969 networks on 2 ranks, judged on
    the rest, then used by `predict` on genotype strings of the space."""
    out = os.path.join(tmp, "macro.h5")
    args = [a if a != "4" or SMALL[i - 1] != "--epochs" else "20" for i, a in enumerate(SMALL)]
    proc = mpirun(2, "train-predictor", "--space", "macro", "--truth", "embedded", "--truth-column", "mean_test_acc",
                  "--out", out, *args)
    check(proc.returncode == 0, "train-predictor failed" + show(proc))
    check("on 60 of 3969 macro networks" in proc.stderr, "trained on the space's distinct networks" + show(proc))
    with h5py.File(out, "r") as f:
        check(f.attrs["space"] == "macro", "space attribute")
        check(f["/training"].attrs["num_evaluated"] == 3969 - 60, "tau over every other network")
        tau = float(f["/training"].attrs["kendall_tau"])
        check(tau > 0.3, f"a predictor that ranks NAS-Bench-Macro (tau {tau})")
    archs_file = os.path.join(tmp, "macro.txt")
    write_archs(archs_file, ["22212202", "mb3_k3,mb3_k3,mb3_k3,mb3_k3,mb3_k3,mb3_k3,mb3_k3,mb3_k3", "00000000"])
    predictions = {}
    for ranks in (1, 2):
        csv_out = os.path.join(tmp, f"macro{ranks}.csv")
        proc = mpirun(ranks, "predict", "--model", out, "--archs", archs_file, "--out", csv_out)
        check(proc.returncode == 0, "predict failed" + show(proc))
        names, predictions[ranks] = read_predictions(csv_out)
        check(names == ["22212202", "11111111", "00000000"], f"the space's own strings, in input order: {names}")
    check(np.allclose(predictions[1], predictions[2], atol=1e-4), "1 and 2 ranks predict the same")
    check(predictions[1][0] > predictions[1][2], "the best network above the all-identity one")
    nb201_archs = os.path.join(tmp, "nb201.txt")
    write_archs(nb201_archs, sample_archs(2, 1))
    expect_failure(tmp, ["predict", "--model", out, "--archs", nb201_archs], "line 2: invalid macro genotype", "none")
    expect_failure(tmp, ["train-predictor", "--space", "macro", "--truth-column", "mean_test_acc", "--train-size", "3969",
                         "--out", os.path.join(tmp, "never.h5")], "space 'macro' has 3969 networks", "never.h5")
    expect_failure(tmp, ["train-predictor", "--space", "proxyless", "--out", os.path.join(tmp, "never.h5")],
                   "allowed: nb201, macro", "never.h5")
    expect_failure(tmp, ["train-predictor", "--space", "macro", "--out", os.path.join(tmp, "never.h5")],
                   "no 'cifar10_test' column", "never.h5")


def case_from_search(tmp):
    """`predict` with the predictor a search trained: from the search's output directory and from
    one of its checkpoint files, on 1 and 2 ranks, with a progress line; a search without a
    predictor is refused."""
    config = os.path.join(tmp, "search.toml")
    with open(config, "w") as f:
        f.write(SMALL_SEARCH_CONFIG)
    out = os.path.join(tmp, "search")
    proc = mpirun(2, "search", "--config", config, "--out", out, "--generations", "2")
    check(proc.returncode == 0, "search failed" + show(proc))
    archs_file = os.path.join(tmp, "archs.txt")
    archs = sample_archs(9000, 3)  # more than one chunk of 4,096
    write_archs(archs_file, archs)
    newest = os.path.join(out, "checkpoints", sorted(os.listdir(os.path.join(out, "checkpoints")))[-1])
    predictions = {}
    for ranks, model in ((1, out), (2, out), (2, newest)):
        csv_out = os.path.join(tmp, f"p{len(predictions)}.csv")
        proc = mpirun(ranks, "predict", "--model", model, "--archs", archs_file, "--out", csv_out, "--threads", "1",
                      "--progress-interval", "0")
        check(proc.returncode == 0, "predict failed" + show(proc))
        check("architectures 4096/9000" in proc.stderr and "architectures 9000/9000" in proc.stderr and "ETA" in proc.stderr,
              "a progress line per chunk on standard error" + show(proc))
        names, predictions[(ranks, model)] = read_predictions(csv_out)
        check(names == archs, "the input's architectures, in order")
    values = list(predictions.values())
    check(np.allclose(values[0], values[1], atol=1e-4) and np.array_equal(values[1], values[2]),
          "1 and 2 ranks, the directory and its newest checkpoint: the same predictions")
    check(np.std(values[0]) > 1e-3, "predictions that tell networks apart")

    baseline = os.path.join(tmp, "random")
    proc = mpirun(1, "search", "--config", config, "--out", baseline, "--generations", "1", "--method", "random")
    check(proc.returncode == 0, "random search failed" + show(proc))
    expect_failure(tmp, ["predict", "--model", baseline, "--archs", archs_file, "--out", os.path.join(tmp, "never.csv")],
                   "holds no trained predictor (search.method 'random'", "never.csv")


def expect_failure(tmp, args, fragment, out_name):
    out = os.path.join(tmp, out_name)
    proc = mpirun(2, *args)
    check(proc.returncode not in (0, None) and fragment in proc.stderr,
          f"expected a failure mentioning {fragment!r}" + show(proc))
    check(proc.stderr.count("hpcnas: error:") == 1, "one error line" + show(proc))
    check(not os.path.exists(out) and not os.path.exists(out + ".tmp"), "no output left behind")


def case_bad_input(tmp):
    truth_rows = open(os.path.join(REPO, "data", "nb201.csv")).read().splitlines()
    missing = os.path.join(tmp, "missing.csv")
    with open(missing, "w") as f:
        f.write("\n".join(truth_rows[:-3]) + "\n")
    duplicate = os.path.join(tmp, "duplicate.csv")
    with open(duplicate, "w") as f:
        f.write("\n".join(truth_rows + [truth_rows[5]]) + "\n")
    out = os.path.join(tmp, "never.h5")
    train_args = ["train-predictor", "--out", out, "--epochs", "1"]
    cases = [
        (train_args + ["--truth", missing], "must give column 'cifar10_test' for all 15625 NB201 cells: 3 missing"),
        (train_args + ["--truth", duplicate], "duplicate"),
        (train_args + ["--train-size", "20000"], "'train.train_size' is 20000; allowed: 2..15624"),
        (train_args + ["--space", "nb101"], "unknown search space"),
        (train_args + ["--position", "fourier"], "'predictor.position' is 'fourier'; allowed: laplacian, eigen"),
        (train_args + ["--d-model", "30", "--heads", "4"], "must be a multiple of predictor.heads"),
        (train_args + ["--truth-column", "cifar11_test"], "cifar11_test"),
        (train_args + ["--self-evolution", "1"], "'predictor.self_evolution_rounds' is 1"),
    ]
    for args, fragment in cases:
        expect_failure(tmp, args, fragment, "never.h5")
    proc = mpirun(2, "train-predictor", "--out", "/nonexistent-dir/p.h5", "--epochs", "1")
    check(proc.returncode != 0 and "/nonexistent-dir/p.h5" in proc.stderr, "unwritable output" + show(proc))

    # A predictor file of another space, of another schema version, or not a predictor at all.
    model, _ = train(tmp, 1, "good.h5")
    archs_file = os.path.join(tmp, "archs.txt")
    write_archs(archs_file, sample_archs(3, 1))
    for attribute, value, fragment in [("space", "nb101", "trained for space 'nb101', not 'nb201'"),
                                       ("schema_version", 7, "schema version 7"),
                                       ("kind", "hpcnas.scores", "not an hpcnas predictor file")]:
        altered = os.path.join(tmp, f"altered_{attribute}.h5")
        with open(model, "rb") as src, open(altered, "wb") as dst:
            dst.write(src.read())
        with h5py.File(altered, "r+") as f:
            f.attrs[attribute] = value
        expect_failure(tmp, ["predict", "--model", altered, "--archs", archs_file], fragment, "none")
    truncated = os.path.join(tmp, "truncated.h5")
    with open(model, "rb") as src, open(truncated, "wb") as dst:
        dst.write(src.read()[:5000])
    expect_failure(tmp, ["predict", "--model", truncated, "--archs", archs_file], truncated, "none")
    expect_failure(tmp, ["predict", "--model", os.path.join(tmp, "absent.h5"), "--archs", archs_file], "absent.h5", "none")
    bad_archs = os.path.join(tmp, "bad_archs.txt")
    write_archs(bad_archs, ["|nor_conv_3x3~0|+|none~0|none~1|"])
    expect_failure(tmp, ["predict", "--model", model, "--archs", bad_archs], "invalid NB201 genotype", "none")


CASES = {
    "train_and_predict": case_train_and_predict,
    "macro": case_macro,
    "from_search": case_from_search,
    "bad_input": case_bad_input,
}

if __name__ == "__main__":
    sys.exit(run_cases(CASES))
