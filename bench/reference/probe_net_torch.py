#!/usr/bin/python3
"""PyTorch reference for the probe-net benchmark (bench/sections/probe-net.mjs).

The same network as the TypeScript side: 4 x [conv3x3 no-bias + BatchNorm + ReLU + maxpool2] with
16->32->64->128 filters, global average pool, dense(14) with sigmoid + binary cross-entropy (on logits),
Adam, 1-channel input. Prints one JSON line: per-step times in milliseconds.

Run with Debian's python (/usr/bin/python3), which has python3-torch.
"""
import argparse
import json
import time

import torch
from torch import nn


def probe_net() -> nn.Module:
    layers = []
    cin = 1
    for cout in (16, 32, 64, 128):
        layers += [
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        ]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 14)]
    return nn.Sequential(*layers)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    net = probe_net()
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    x = torch.randn(args.batch, 1, args.size, args.size)
    y = (torch.rand(args.batch, 14) > 0.5).float()

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return float(loss)

    for _ in range(args.warmup):
        step()
    samples = []
    cpu = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        step()
        samples.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    ordered = sorted(samples)
    cpu_ordered = sorted(cpu)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "size": args.size,
        "batch": args.batch,
        "medianMs": ordered[len(ordered) // 2],
        "p10Ms": ordered[int(0.1 * (len(ordered) - 1))],
        "p90Ms": ordered[round(0.9 * (len(ordered) - 1))],
        "samples": samples,
        # CPU time of the process (all threads): with --threads 1 it does not depend on other load.
        "cpuMedianMs": cpu_ordered[len(cpu_ordered) // 2],
        "cpuSamples": cpu,
    }))


if __name__ == "__main__":
    main()
