#!/usr/bin/python3
"""PyTorch twin of the DenseNet-121 training step (bench/sections/densenet121.mjs).

torchvision's DenseNet-121 (the CheXNet trunk; memory_efficient off) with a 1-channel stem, global average pool,
dense(14) and binary cross-entropy on logits, Adam: the same network and step as CheXEnc `densenet121` + pool +
dense 14 on the TypeScript side. Also times a square float32 matmul, PyTorch's GEMM peak on this machine.
Prints one JSON line.

Run with Debian's python (/usr/bin/python3), which has python3-torch and python3-torchvision.
"""
import argparse
import json
import time

import torch
from torch import nn
import torchvision


def densenet121(classes: int) -> nn.Module:
    net = torchvision.models.densenet121(weights=None, num_classes=classes)
    net.features.conv0 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return net


def timed(fn, warmup: int, steps: int):
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    return wall, cpu


def median(xs):
    s = sorted(xs)
    return s[(len(s) - 1) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--matmul", type=int, default=0, help="also time an N x N x N float32 matmul")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "size": args.size, "batch": args.batch}
    if args.batch > 0:
        net = densenet121(14)
        net.train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        loss_fn = nn.BCEWithLogitsLoss()
        x = torch.randn(args.batch, 1, args.size, args.size)
        y = (torch.rand(args.batch, 14) > 0.5).float()

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()

        wall, cpu = timed(step, args.warmup, args.steps)
        out.update({"medianMs": median(wall), "cpuMedianMs": median(cpu), "samples": wall, "cpuSamples": cpu})
    if args.matmul > 0:
        n = args.matmul
        a = torch.randn(n, n)
        b = torch.randn(n, n)
        wall, cpu = timed(lambda: torch.mm(a, b), 2, 5)
        flop = 2 * n**3
        out["matmul"] = {"n": n, "wallMs": min(wall), "cpuMs": min(cpu), "wallGflops": flop / min(wall) / 1e6, "cpuGflops": flop / min(cpu) / 1e6}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
