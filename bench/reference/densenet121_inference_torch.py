"""DenseNet-121 inference in PyTorch CPU for bench/sections/densenet121-inference.mjs: the network the importer
produces (torchvision's DenseNet-121 with a 1-channel stem, classifier 1024 -> 14), eval mode, inference_mode,
2 intra-op threads. Driven over stdin so the bench can interleave it with onnxruntime rounds: each line "B" runs one
forward pass of a [B, 1, 224, 224] batch and answers the milliseconds it took."""
import sys
import time

import torch
import torch.nn as nn
import torchvision

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)
model = torchvision.models.densenet121(num_classes=14)
model.features.conv0 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
model.eval()
inputs = {}
print("ready", torch.__version__, torch.get_num_threads(), flush=True)
for line in sys.stdin:
    b = int(line)
    x = inputs.setdefault(b, torch.randn(b, 1, 224, 224))
    with torch.inference_mode():
        t0 = time.perf_counter()
        model(x)
        ms = (time.perf_counter() - t0) * 1000
    print(ms, flush=True)
