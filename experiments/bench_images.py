#!/usr/bin/env python3
"""Benchmark: the JPEG training pipeline (read + decode + RandomResizedCrop-224 + horizontal
flip + mean/std normalisation to float32 CHW), hpcnas against Pillow and torchvision doing the
same work on the same images, on 1 core and on all cores, in one run.

The images: the real Tiny-ImageNet sample is 64 x 64 and CIFAR-10 is 32 x 32, far smaller than
ImageNet's (about 400 x 350 on average), so the "large" set is made from them by up-scaling
(Pillow bicubic) to a random size of 224..500 pixels a side and re-encoding at JPEG quality 90;
the "small" set is the original 64 x 64 Tiny-ImageNet JPEGs. Both are written as a folder per class.

    python3 experiments/bench_images.py --bench build/experiments/bench_images [--large 2000]

Writes experiments/results/bench_images.csv and .png. Pillow and torchvision run one process per
core (multiprocessing); hpcnas runs one process with a thread per core.
"""
import argparse
import csv
import io
import math
import multiprocessing
import os
import random
import subprocess
import sys
import time

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = os.path.join(REPO, "..", "shared", "data")
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)


def make_sets(root, large_count, seed):
    """The small set links the Tiny-ImageNet sample; the large set up-scales it and CIFAR-10."""
    tiny = os.path.join(SHARED, "tiny_imagenet_sample")
    if not os.path.isdir(tiny):
        sys.exit(f"bench_images: needs the real images in {tiny}")
    small = os.path.join(root, "small")
    sources = []
    for split in ("train", "val"):
        for wnid in sorted(os.listdir(os.path.join(tiny, split))):
            for f in sorted(os.listdir(os.path.join(tiny, split, wnid))):
                sources.append((wnid, os.path.join(tiny, split, wnid, f)))
    if not os.path.isdir(small):
        for i, (wnid, path) in enumerate(sources):
            os.makedirs(os.path.join(small, "train", wnid), exist_ok=True)
            os.symlink(path, os.path.join(small, "train", wnid, f"{i:05d}.JPEG"))
    cifar = os.path.join(SHARED, "cifar10", "epsilon_batch_256.bin")
    cifar_images = []
    if os.path.exists(cifar):
        raw = np.fromfile(cifar, dtype=np.uint8).reshape(-1, 3073)
        for row in raw:
            cifar_images.append((f"cifar{row[0]}", Image.fromarray(row[1:].reshape(3, 32, 32).transpose(1, 2, 0))))
    large = os.path.join(root, "large")
    if not os.path.isdir(large):
        rng = random.Random(seed)
        for i in range(large_count):
            if cifar_images and i % 4 == 3:
                label, image = cifar_images[rng.randrange(len(cifar_images))]
            else:
                label, path = sources[rng.randrange(len(sources))]
                image = Image.open(path).convert("RGB")
            w, h = rng.randint(224, 500), rng.randint(224, 500)
            os.makedirs(os.path.join(large, "train", label), exist_ok=True)
            image.resize((w, h), Image.BICUBIC).save(os.path.join(large, "train", label, f"{i:05d}.JPEG"), quality=90)
    return {"small": small, "large": large}


def files_of(folder):
    out = []
    train = os.path.join(folder, "train")
    for c in sorted(os.listdir(train)):
        out += [os.path.join(train, c, f) for f in sorted(os.listdir(os.path.join(train, c)))]
    return out


def rrc_params(rng, width, height, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    area = width * height
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return rng.randint(0, width - w), rng.randint(0, height - h), w, h
    return 0, 0, width, height


def pillow_worker(paths, resolution=224):
    """Pillow doing hpcnas's work: decode, one resampling of the crop box, flip, normalise."""
    rng = random.Random(0)
    for path in paths:
        image = Image.open(path).convert("RGB")
        x, y, w, h = rrc_params(rng, *image.size)
        out = image.resize((resolution, resolution), Image.BILINEAR, box=(x, y, x + w, y + h))
        if rng.random() < 0.5:
            out = out.transpose(Image.FLIP_LEFT_RIGHT)
        tensor = (np.asarray(out, dtype=np.float32).transpose(2, 0, 1) / 255.0 - MEAN) / STD
        assert tensor.shape == (3, resolution, resolution)
    return len(paths)


def torchvision_worker(paths, resolution=224):
    import torch
    from torchvision import transforms
    torch.set_num_threads(1)
    pipeline = transforms.Compose([transforms.RandomResizedCrop(resolution), transforms.RandomHorizontalFlip(),
                                   transforms.ToTensor(), transforms.Normalize(MEAN.ravel().tolist(), STD.ravel().tolist())])
    for path in paths:
        tensor = pipeline(Image.open(path).convert("RGB"))
        assert tensor.shape == (3, resolution, resolution)
    return len(paths)


def run_python(worker, paths, processes):
    if processes == 1:
        worker(paths[:32])  # warm-up
        start = time.perf_counter()
        n = worker(paths)
        return n, time.perf_counter() - start
    chunks = [paths[i::processes] for i in range(processes)]
    with multiprocessing.Pool(processes) as pool:
        pool.map(worker, [c[:16] for c in chunks])  # warm-up: imports, file cache
        start = time.perf_counter()
        n = sum(pool.map(worker, chunks))
        return n, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/experiments/bench_images")
    ap.add_argument("--work", default="/tmp/hpcnas_bench_images")
    ap.add_argument("--large", type=int, default=2000)
    ap.add_argument("--cores", type=int, default=os.cpu_count())
    ap.add_argument("--csv", default="experiments/results/bench_images.csv")
    args = ap.parse_args()
    sets = make_sets(args.work, args.large, seed=1)
    try:
        import torchvision  # noqa: F401
        have_torchvision = True
    except ImportError:
        have_torchvision = False
        print("torchvision is not installed: its rows are left out")
    cores = sorted({1, args.cores})
    rows = []
    for name, folder in sets.items():
        paths = files_of(folder)
        proc = subprocess.run([args.bench, "--data", "imagenet:" + folder, "--threads", ",".join(map(str, cores)),
                               "--repeats", "2" if name == "small" else "1"],
                              capture_output=True, text=True, check=True)
        for line in proc.stdout.strip().splitlines()[1:]:
            _, threads, images, seconds, rate = line.split(",")
            rows.append({"set": name, "pipeline": "hpcnas", "cores": int(threads), "images": int(images),
                         "seconds": float(seconds), "images_per_s": float(rate)})
        for label, worker in [("pillow", pillow_worker)] + ([("torchvision", torchvision_worker)] if have_torchvision else []):
            for p in cores:
                n, seconds = run_python(worker, paths, p)
                rows.append({"set": name, "pipeline": label, "cores": p, "images": n, "seconds": seconds,
                             "images_per_s": n / seconds})
    # Per-core rate, scaling efficiency and the ratio to Pillow on the same set and cores.
    for r in rows:
        one = next(o for o in rows if o["set"] == r["set"] and o["pipeline"] == r["pipeline"] and o["cores"] == 1)
        pil = next(o for o in rows if o["set"] == r["set"] and o["pipeline"] == "pillow" and o["cores"] == r["cores"])
        r["per_core"] = r["images_per_s"] / r["cores"]
        r["scaling_efficiency"] = r["images_per_s"] / (r["cores"] * one["images_per_s"])
        r["vs_pillow"] = r["images_per_s"] / pil["images_per_s"]
    os.makedirs(os.path.dirname(args.csv) or ".", exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"{'set':6} {'pipeline':12} {'cores':>5} {'images':>7} {'images/s':>9} {'per core':>9} {'scaling':>8} {'x Pillow':>9}")
    for r in rows:
        print(f"{r['set']:6} {r['pipeline']:12} {r['cores']:5d} {r['images']:7d} {r['images_per_s']:9.1f} "
              f"{r['per_core']:9.1f} {r['scaling_efficiency']:8.2f} {r['vs_pillow']:9.2f}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, name in zip(axes, sets):
            pipelines = [p for p in ("hpcnas", "pillow", "torchvision") if any(r["pipeline"] == p for r in rows)]
            for i, p in enumerate(pipelines):
                rates = [next(r["images_per_s"] for r in rows if r["set"] == name and r["pipeline"] == p and r["cores"] == c)
                         for c in cores]
                ax.bar([j + 0.25 * i for j in range(len(cores))], rates, width=0.25, label=p)
            ax.set_xticks([j + 0.25 for j in range(len(cores))], [f"{c} core(s)" for c in cores])
            ax.set_title(f"{name} JPEGs: decode + RandomResizedCrop-224 + flip + normalise")
            ax.set_ylabel("images / s")
            ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.splitext(args.csv)[0] + ".png", dpi=110)
    except ImportError:
        pass


if __name__ == "__main__":
    main()
