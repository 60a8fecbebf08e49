#!/usr/bin/python3
"""PyTorch twin of the stock-layers segmentation net (bench/lib/stock-seg-net.mjs): a small DenseNet-style encoder
(stem 7x7/2 + maxpool, 3 dense blocks of 4 bottleneck layers, growth 12, transitions with average pooling) and a
decoder (nearest upsampling, 1x1 skip projections added, 3x3 conv + BN + ReLU), sigmoid BCE on logits, Adam.
Prints one JSON line: per-step times in milliseconds.

Run with Debian's python (/usr/bin/python3), which has python3-torch.
"""
import argparse
import json
import time

import torch
from torch import nn

STEM, GROWTH, BOTTLENECK, LAYERS, BLOCKS, DECODER = 16, 12, 48, 4, 3, 32


def bn_relu(c: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(c, eps=1e-3, momentum=0.01), nn.ReLU(inplace=True))


class DenseLayer(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.body = nn.Sequential(
            bn_relu(cin), nn.Conv2d(cin, BOTTLENECK, 1, bias=False),
            bn_relu(BOTTLENECK), nn.Conv2d(BOTTLENECK, GROWTH, 3, padding=1, bias=False),
        )

    def forward(self, x):
        return torch.cat([x, self.body(x)], 1)


class SegNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, STEM, 7, stride=2, padding=3, bias=False), bn_relu(STEM), nn.MaxPool2d(3, 2, padding=1))
        c = STEM
        self.blocks = nn.ModuleList()
        self.transitions = nn.ModuleList()
        skip_channels = []
        for b in range(BLOCKS):
            layers = []
            for _ in range(LAYERS):
                layers.append(DenseLayer(c))
                c += GROWTH
            self.blocks.append(nn.Sequential(*layers))
            skip_channels.append(c)
            if b < BLOCKS - 1:
                self.transitions.append(nn.Sequential(bn_relu(c), nn.Conv2d(c, c // 2, 1, bias=False), nn.AvgPool2d(2)))
                c //= 2
        self.head = nn.Sequential(bn_relu(c), nn.Conv2d(c, DECODER, 1, bias=False))
        self.skip_proj = nn.ModuleList([nn.Conv2d(skip_channels[1], DECODER, 1, bias=False), nn.Conv2d(skip_channels[0], DECODER, 1, bias=False)])
        self.refine = nn.ModuleList([nn.Sequential(nn.Conv2d(DECODER, DECODER, 3, padding=1, bias=False), bn_relu(DECODER)) for _ in range(2)])
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")
        self.up4 = nn.Upsample(scale_factor=4, mode="nearest")
        self.out = nn.Conv2d(DECODER, 1, 1)

    def forward(self, x):
        x = self.stem(x)
        skips = []
        for b, block in enumerate(self.blocks):
            x = block(x)
            skips.append(x)
            if b < BLOCKS - 1:
                x = self.transitions[b](x)
        d = self.head(x)
        for i, skip in enumerate([skips[1], skips[0]]):
            d = self.refine[i](self.up2(d) + self.skip_proj[i](skip))
        return self.out(self.up4(d))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    net = SegNet()
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    x = torch.randn(args.batch, 1, args.size, args.size)
    y = (torch.rand(args.batch, 1, args.size, args.size) > 0.8).float()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    wall, cpu = [], []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        step()
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    s = sorted(wall)
    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(), "size": args.size, "batch": args.batch,
        "medianMs": s[(len(s) - 1) // 2], "cpuMedianMs": sorted(cpu)[(len(cpu) - 1) // 2], "samples": wall, "cpuSamples": cpu,
    }))


if __name__ == "__main__":
    main()
