#!/usr/bin/env python3
"""Independent PyTorch reference for the epsilon (epsinas) zero-cost score on NAS-Bench-201 and
NAS-Bench-Macro.

Written for hpcnas from DESIGN.md section 4.2 and the published description of the
epsinas code (arXiv 2302.04406): the NB201 TinyNetwork (C=16, N=5) with one output unit,
every weight set to one constant w and every bias to 0, BatchNorm always on batch
statistics, one forward pass per weight in float32, outputs min-max normalised, exact
zeros turned into NaN, eps = nanmean(|y1 - y2|) / nanmean(y1 u y2).

The op order mirrors the original network (ReLU -> conv -> BN, 'none' = x * 0,
node sums in edge order, residual + basic block), so that float32 rounding and underflow
happen where they happen in the original.

NAS-Bench-Macro (--space macro): the benchmark's network as its train/model.py defines it (stem
conv3x3 + BN + ReLU; 8 layers in stages of 2, 3, 3 that double the width at stride 2; Identity =
1x1 conv + BN where the shape changes; inverted residuals pw-BN-ReLU, dw-BN-ReLU, pw-BN with a
residual at stride 1; head 1x1 conv 1280 + BN + ReLU, pooling, Linear), with one output and the
epsinas initialisation (every module's weight w, every bias 0; BN in training mode).

Usage: epsilon_reference.py IMAGES.bin ARCHS.txt OUT.csv [--space nb201|macro] [--batch-size 256]
       [--w1 1e-7 --w2 1]
ARCHS.txt holds one genotype string per line (NB201 strings, or the 8-digit NAS-Bench-Macro codes).
"""
import argparse
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
CIFAR_MEAN = [x / 255 for x in (125.3, 123.0, 113.9)]
CIFAR_STD = [x / 255 for x in (63.0, 62.1, 66.7)]


def parse(arch):
    nodes = arch.split("+")
    edges = []
    for j, node in enumerate(nodes, start=1):
        parts = [p for p in node.split("|") if p]
        assert len(parts) == j, arch
        for i, p in enumerate(parts):
            op, src = p.split("~")
            assert op in OPS and int(src) == i, arch
            edges.append((op, i, j))
    return edges


class ReLUConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, stride, pad):
        super().__init__(nn.ReLU(), nn.Conv2d(cin, cout, k, stride, pad, bias=False),
                         nn.BatchNorm2d(cout, track_running_stats=False))


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class AvgPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x):
        return self.pool(x)


def make_op(name, c):
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1, 1)
    return AvgPool()


class Cell(nn.Module):
    def __init__(self, edges, c):
        super().__init__()
        self.edges = [(i, j) for _, i, j in edges]
        self.ops = nn.ModuleList(make_op(op, c) for op, _, _ in edges)

    def forward(self, x):
        nodes = [x]
        for j in (1, 2, 3):
            nodes.append(sum(op(nodes[i]) for op, (i, jj) in zip(self.ops, self.edges) if jj == j))
        return nodes[3]


class Reduction(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv_a = ReLUConvBN(cin, cout, 3, 2, 1)
        self.conv_b = ReLUConvBN(cout, cout, 3, 1, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class Network(nn.Module):
    def __init__(self, arch, c=16, n=5):
        super().__init__()
        edges = parse(arch)
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c, track_running_stats=False))
        layers, cprev = [], c
        for stage, width in enumerate((c, 2 * c, 4 * c)):
            if stage > 0:
                layers.append(Reduction(cprev, width))
            layers += [Cell(edges, width) for _ in range(n)]
            cprev = width
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(cprev, track_running_stats=False), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(cprev, 1)

    def forward(self, x):
        out = self.pool(self.lastact(self.cells(self.stem(x))))
        return self.classifier(out.flatten(1))


class MacroBlock(nn.Module):
    """One NAS-Bench-Macro layer: 0 = identity, 1 = MB3_K3, 2 = MB6_K5."""

    def __init__(self, op, cin, cout, stride):
        super().__init__()
        self.residual = False
        if op == 0:
            self.body = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())
            return
        t, k = (3, 3) if op == 1 else (6, 5)
        hidden = round(cin * t)
        self.body = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(),
            nn.Conv2d(hidden, hidden, k, stride, k // 2, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(),
            nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return y + x if self.residual else y


class MacroNetwork(nn.Module):
    def __init__(self, code):
        super().__init__()
        ops = [int(c) for c in code]
        assert len(ops) == 8 and all(0 <= o <= 2 for o in ops), code
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        blocks, c = [], 32
        for stage in (2, 3, 3):
            for i in range(stage):
                op = ops.pop(0)
                blocks.append(MacroBlock(op, c, 2 * c if i == 0 else c, 2 if i == 0 else 1))
                c = 2 * c if i == 0 else c
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Conv2d(c, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(1280, 1)

    def forward(self, x):
        return self.classifier(self.head(self.features(self.stem(x))).flatten(1))


def set_constant(net, w):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm2d)):
            nn.init.constant_(m.weight, w)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0.0)


def load_images(path, n):
    raw = np.fromfile(path, dtype=np.uint8)
    assert raw.size % 3073 == 0 and raw.size // 3073 >= n, path
    px = raw.reshape(-1, 3073)[:n, 1:].reshape(n, 3, 32, 32)
    x = torch.from_numpy(px.copy()).float().div(255)
    mean = torch.tensor(CIFAR_MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - mean) / std


def epsilon(outputs):
    """outputs: list of two float32 numpy vectors, one per weight."""
    preds = []
    for pred in outputs:  # NaN for a constant output (0 / 0), as in the original
        lo, hi = np.nanmin(pred), np.nanmax(pred)
        preds.append((pred - lo) / (hi - lo))
    preds = np.array(preds)
    preds[preds == 0] = np.nan
    return float(np.nanmean(np.abs(preds[0] - preds[1])) / np.nanmean(preds))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images")
    ap.add_argument("archs")
    ap.add_argument("out")
    ap.add_argument("--space", choices=["nb201", "macro"], default="nb201")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--w1", type=float, default=1e-7)
    ap.add_argument("--w2", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 and nanmean of all-NaN are expected
    x = load_images(args.images, args.batch_size)
    archs = [a.strip() for a in open(args.archs) if a.strip() and not a.startswith("#")]
    with open(args.out, "w") as f, torch.no_grad():
        f.write("arch,epsilon\n")
        for arch in archs:
            net = Network(arch) if args.space == "nb201" else MacroNetwork(arch).train()
            outs = []
            for w in (args.w1, args.w2):
                set_constant(net, w)
                outs.append(net(x).numpy().flatten())
            f.write(f"{arch},{epsilon(outs)!r}\n")
            f.flush()


if __name__ == "__main__":
    sys.exit(main())
