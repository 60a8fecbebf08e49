"""Reference timing for the encoder bench: the same DenseNet in PyTorch CPU (2 threads), one Adam step of
encoder + global average pool + dense(14) + BCE on logits, batch B, 1-channel S x S input.

usage: /usr/bin/python3 torch_step.py '<json list of {config, size, batch, steps}>'  -> one JSON line per entry
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)


class DenseNet(nn.Module):
    def __init__(self, c):
        super().__init__()
        init, g, bw = c["initFeatures"], c["growthRate"], c["bottleneckWidth"]
        self.stem = nn.Sequential(nn.Conv2d(c["inputChannels"], init, 7, 2, 3, bias=False), nn.BatchNorm2d(init),
                                  nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        self.blocks, self.transitions = nn.ModuleList(), nn.ModuleList()
        ch = init
        for b, n in enumerate(c["blockLayers"]):
            layers = nn.ModuleList()
            for _ in range(n):
                mods = [nn.BatchNorm2d(ch), nn.ReLU()]
                if bw > 0:
                    mods += [nn.Conv2d(ch, bw * g, 1, bias=False), nn.BatchNorm2d(bw * g), nn.ReLU(),
                             nn.Conv2d(bw * g, g, 3, 1, 1, bias=False)]
                else:
                    mods += [nn.Conv2d(ch, g, 3, 1, 1, bias=False)]
                layers.append(nn.Sequential(*mods))
                ch += g
            self.blocks.append(layers)
            norm = nn.Sequential(nn.BatchNorm2d(ch), nn.ReLU())
            if b < 3:
                out = int(ch * c["compression"])
                self.transitions.append(nn.Sequential(norm, nn.Conv2d(ch, out, 1, bias=False), nn.AvgPool2d(2, 2)))
                ch = out
            else:
                self.final = norm
        self.fc = nn.Linear(ch, 14)

    def forward(self, x):
        x = self.stem(x)
        for b, layers in enumerate(self.blocks):
            for layer in layers:
                x = torch.cat([x, layer(x)], 1)
            x = self.transitions[b](x) if b < 3 else self.final(x)
        return self.fc(x.mean((2, 3)))


for entry in json.loads(sys.argv[1]):
    torch.manual_seed(0)
    net = DenseNet(entry["config"])
    B, S = entry["batch"], entry["size"]
    x = torch.randn(B, entry["config"]["inputChannels"], S, S)
    y = (torch.rand(B, 14) > 0.5).float()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    times = []
    for i in range(entry["steps"] + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        F.binary_cross_entropy_with_logits(net(x), y).backward()
        opt.step()
        times.append((time.perf_counter() - t0) * 1000)
    times = sorted(times[1:])
    print(json.dumps({"preset": entry["config"]["preset"], "size": S, "batch": B, "stepMs": times[len(times) // 2]}))
