#!/usr/bin/env python3
"""The ImageNet data path end to end: `hpcnas pack` writes WebDataset shards that Python's tarfile
reads as `<key>.jpg` + `<key>.cls` pairs and an index h5py reads; `hpcnas score` takes its epsilon
batch from JPEGs (a folder or the shards: the same images, the same scores, on 1 and 2 ranks)."""
import io
import os
import shutil
import sys
import tarfile

import h5py
import numpy as np

from cli_common import REPO, check, mpirun, run, hpcnas, run_cases, show

MINI = os.path.join(REPO, "data", "tiny_imagenet_mini")


def pack(tmp, out, *extra):
    proc = run([hpcnas(), "pack", "--from", MINI, "--out", out, "--shard-size", "48K", *extra])
    check(proc.returncode == 0, show(proc))
    return proc


def case_pack(tmp):
    out = os.path.join(tmp, "shards")
    proc = pack(tmp, out)
    check("80 images" in proc.stderr + proc.stdout, "the summary counts every image" + show(proc))
    with h5py.File(os.path.join(out, "index.h5"), "r") as index:
        check(index.attrs["kind"] == "hpcnas.shards" and index.attrs["schema_version"] == 1, "index kind and schema")
        classes = [c.decode() for c in index["classes"][:]]
        check(classes == sorted(os.listdir(os.path.join(MINI, "train"))), "classes = sorted train folders")
        shards = [s.decode() for s in index["train/shard_file"][:]] + [s.decode() for s in index["val/shard_file"][:]]
        keys = [k.decode() for k in index["train/key"][:]] + [k.decode() for k in index["val/key"][:]]
        labels = list(index["train/label"][:]) + list(index["val/label"][:])
    check(len(shards) >= 3, f"48K shards: {shards}")
    # Every shard is a plain tar of <key>.jpg + <key>.cls pairs, as webdataset reads them.
    members = {}
    for name in shards:
        with tarfile.open(os.path.join(out, name)) as tar:
            names = tar.getnames()
            check(len(names) % 2 == 0, f"{name}: members come in pairs")
            for jpg, cls in zip(names[0::2], names[1::2]):
                check(jpg.endswith(".jpg") and cls == jpg[:-4] + ".cls", f"{name}: pair {jpg}, {cls}")
                key = jpg[:-4]
                check("." not in os.path.basename(key), f"webdataset key {key} has no dot")
                data = tar.extractfile(jpg).read()
                check(data[:2] == b"\xff\xd8", f"{jpg} is a JPEG")
                members[key] = (data, int(tar.extractfile(cls).read().decode()))
    check(sorted(members) == sorted(keys), "the tar members are the index's keys")
    for key, label in zip(keys, labels):
        wnid, stem = key.split("/")
        split = "train" if os.path.exists(os.path.join(MINI, "train", wnid, stem + ".JPEG")) else "val"
        original = open(os.path.join(MINI, split, wnid, stem + ".JPEG"), "rb").read()
        check(members[key][0] == original, f"{key}: the JPEG bytes are unchanged")
        check(members[key][1] == label == classes.index(wnid), f"{key}: class {members[key][1]}")
    # Packing again keeps every shard (verified), and rewrites the index.
    again = pack(tmp, out)
    check("0 written" in again.stderr + again.stdout, "a finished pack is kept" + show(again))


def score(tmp, data, ranks, name):
    out = os.path.join(tmp, name + ".h5")
    proc = mpirun(ranks, "score", "--space", "proxyless", "--sample", "4", "--seed", "5", "--data", data,
                  "--batch-size", "8", "--resolution", "64", "--out", out)
    check(proc.returncode == 0, show(proc))
    with h5py.File(out, "r") as f:
        check(f.attrs["images"] == data, "the image source is recorded")
        return f["epsilon"][:], f.attrs["images_fnv1a64"]


def case_score_from_jpegs(tmp):
    shards = os.path.join(tmp, "shards")
    pack(tmp, shards)
    folder_eps, folder_hash = score(tmp, "imagenet:" + MINI, 1, "folder")
    shard_eps, shard_hash = score(tmp, "shards:" + shards, 2, "shards")
    check(folder_hash == shard_hash, "the folder and its packed copy give the same epsilon batch")
    check(np.isfinite(folder_eps).sum() >= 2, f"epsilon scores on JPEGs: {folder_eps}")
    check(np.array_equal(folder_eps, shard_eps, equal_nan=True), f"{folder_eps} vs {shard_eps}")
    cifar = mpirun(1, "score", "--space", "proxyless", "--sample", "4", "--seed", "5", "--batch-size", "8",
                   "--resolution", "64", "--out", os.path.join(tmp, "cifar.h5"))
    check(cifar.returncode == 0, show(cifar))
    with h5py.File(os.path.join(tmp, "cifar.h5"), "r") as f:
        check(f.attrs["images_fnv1a64"] != folder_hash, "JPEGs are not the CIFAR batch")


def expect_error(proc, needle, code=2):
    text = proc.stdout + proc.stderr
    check(proc.returncode == code, f"exit {proc.returncode}, expected {code}" + show(proc))
    check("hpcnas: error:" in text and needle in text, f"an error naming '{needle}'" + show(proc))
    check("Traceback" not in text and "terminate called" not in text, "no crash" + show(proc))


def case_bad_input(tmp):
    out = os.path.join(tmp, "never.h5")
    base = ["score", "--space", "proxyless", "--sample", "2", "--resolution", "64", "--out", out]
    expect_error(mpirun(2, *base, "--batch-size", "8", "--data", "shards:" + os.path.join(tmp, "absent")), "index.h5")
    expect_error(mpirun(2, *base, "--batch-size", "8", "--data", "imagenet:" + os.path.join(tmp, "absent")), "train/")
    expect_error(mpirun(1, *base, "--data", "imagenet:" + MINI, "--batch-size", "1000"), "60 train images, fewer than the 1000 asked for")
    check(not os.path.exists(out), "nothing written")
    # A corrupt JPEG: pack names it, or leaves it out with --skip-corrupt.
    damaged = os.path.join(tmp, "damaged")
    shutil.copytree(MINI, damaged)
    victim = os.path.join(damaged, "train", "n01443537", "n01443537_0.JPEG")
    data = open(victim, "rb").read()
    open(victim, "wb").write(data[: len(data) // 3])
    shards = os.path.join(tmp, "shards")
    expect_error(run([hpcnas(), "pack", "--from", damaged, "--out", shards]), "n01443537_0.JPEG")
    check(not os.path.exists(os.path.join(shards, "index.h5")), "no index for a failed pack")
    proc = run([hpcnas(), "pack", "--from", damaged, "--out", shards, "--skip-corrupt", "--shard-size", "48K"])
    check(proc.returncode == 0 and "1 skipped" in proc.stderr + proc.stdout, show(proc))
    expect_error(run([hpcnas(), "pack", "--from", MINI, "--out", shards, "--shard-size", "lots"]), "--shard-size")
    # A damaged shard: the member's checksum names it.
    with h5py.File(os.path.join(shards, "index.h5"), "r") as index:
        first = index["train/shard_file"][0].decode()
        offset = int(index["train/offset"][0])
    with open(os.path.join(shards, first), "r+b") as f:
        f.seek(offset + 100)
        byte = f.read(1)
        f.seek(offset + 100)
        f.write(bytes([byte[0] ^ 0x5A]))
    proc = mpirun(1, *base, "--batch-size", "59", "--data", "shards:" + shards)  # every train image
    expect_error(proc, "checksum mismatch")
    check(first in proc.stdout + proc.stderr, "the shard is named" + show(proc))


if __name__ == "__main__":
    sys.exit(run_cases({"pack": case_pack, "score_from_jpegs": case_score_from_jpegs, "bad_input": case_bad_input}))
