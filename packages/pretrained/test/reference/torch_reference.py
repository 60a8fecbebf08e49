"""PyTorch reference for the checkpoint importers (run with Debian's /usr/bin/python3: python3-torch, python3-torchvision).

  torch_reference.py make OUT INPUTS N S   builds DenseNet-121 in the three layouts the importer reads, with seeded
                                           random weights, saves each as a torch.save zip checkpoint and as
                                           safetensors, writes checkpoints the importer must refuse, and the
                                           probabilities of every model on the films of INPUTS to OUT/reference.json.
                                           INPUTS: float32 [2N, S, S], grey in [0, 1], fitted to S x S by
                                           @multichexnet/data: N films as the ImageNet layouts crop them, then the
                                           same N as torchxrayvision crops them. Each layout's own normalisation is
                                           applied here, as its code does.
  torch_reference.py read FILE             reads a safetensors file with the small numpy reader below (an independent
                                           reader of the published format) and prints its metadata and a digest of
                                           every tensor as JSON

The layouts:
  torchvision      torchvision.models.densenet121(num_classes=14): keys features.*, classifier.*
  chexnet          as CheXNet reimplementations save it (arnoweng/CheXNet): torchvision's densenet121 as
                   `densenet121` of a module whose classifier is Sequential(Linear(1024, 14), Sigmoid), in
                   DataParallel (keys module.densenet121.*), the old dotted layer names (norm.1, conv.1) and the state
                   dict inside a training checkpoint dict {epoch, state_dict, best_loss, optimizer}
  torchxrayvision  torchxrayvision is not installable here (no Debian package, no network), so its DenseNet's module
                   layout is reproduced from its public source (torchxrayvision/models.py): torchvision's DenseNet-121
                   with a 1-channel conv0, classifier Linear(1024, 18) over its 18 pathologies, a buffer op_threshs;
                   forward = features -> relu -> global average pool -> classifier; inputs scaled to [-1024, 1024]
"""
import json
import os
import struct
import sys

import numpy as np

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def write_safetensors(path, tensors, metadata):
    """tensors: dict name -> float32 numpy array. Header padded with spaces to a multiple of 8, tensors by name."""
    header = {"__metadata__": metadata}
    offset = 0
    names = sorted(tensors)
    for name in names:
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    raw = json.dumps(header).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for name in names:
            f.write(np.ascontiguousarray(tensors[name], dtype="<f4").tobytes())


def read_safetensors(path):
    """The published format: u64 LE header length, JSON header, little-endian data; returns (metadata, tensors)."""
    dtypes = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "F16": "<f2", "U8": "u1"}
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    body = data[8 + n :]
    metadata = header.pop("__metadata__", {})
    for k, v in metadata.items():
        if not isinstance(v, str):
            raise ValueError("__metadata__ value %r is not a string" % k)
    tensors = {}
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = info["data_offsets"]
        if b != end:
            raise ValueError("hole or overlap before %s" % name)
        end = e
        a = np.frombuffer(body[b:e], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        tensors[name] = a
    if end != len(body):
        raise ValueError("data section is %d bytes, header says %d" % (len(body), end))
    return metadata, tensors


def randomise(model, calibration, seed):
    """Seeded weights that give spread-out probabilities: BatchNorm affine drawn at random, running statistics measured
    on the films themselves (train mode, cumulative average), classifier scaled so logits have a standard deviation
    of about 1.5 around 0 on them."""
    import torch
    import torch.nn as nn

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(0.7 + 0.6 * torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                m.momentum = None
                m.reset_running_stats()
        model.train()
        feats = model.pooled(calibration)
        model.eval()
        linear = model.linear()
        std = feats.std().item()
        w = torch.randn(linear.weight.shape, generator=g) * (1.5 / (std * feats.shape[1] ** 0.5))
        linear.weight.copy_(w)
        linear.bias.copy_(-(feats.mean(0) @ w.t()))


def build(which):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision

    class Reference(nn.Module):
        """Features -> ReLU -> global average pool -> classifier, as torchvision's and torchxrayvision's forward."""

        def pooled(self, x):
            return torch.flatten(F.adaptive_avg_pool2d(F.relu(self.net().features(x)), 1), 1)

    class TorchvisionLike(Reference):
        def __init__(self, in_channels, outputs):
            super().__init__()
            d = torchvision.models.densenet121(num_classes=outputs)
            if in_channels != 3:
                d.features.conv0 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.d = d

        def net(self):
            return self.d

        def linear(self):
            return self.d.classifier

        def forward(self, x):
            return self.d.classifier(self.pooled(x))

    class CheXNetLike(Reference):
        def __init__(self):
            super().__init__()
            self.densenet121 = torchvision.models.densenet121()
            self.densenet121.classifier = nn.Sequential(nn.Linear(1024, 14), nn.Sigmoid())

        def net(self):
            return self.densenet121

        def linear(self):
            return self.densenet121.classifier[0]

        def forward(self, x):
            return self.densenet121.classifier(self.pooled(x))

    if which == "torchvision":
        return TorchvisionLike(3, 14)
    if which == "chexnet":
        return CheXNetLike()
    if which == "xrv":
        m = TorchvisionLike(1, 18)
        return m
    raise ValueError(which)


def imagenet_rgb(grey):
    import torch

    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (grey.unsqueeze(1).repeat(1, 3, 1, 1) - mean) / std


def fold_stem(conv0, running_mean):
    """The importer's fold (see foldStem in src/import/fold-stem.ts), written again here from its definition."""
    import torch

    s_c = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    m_c = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    m = sum(IMAGENET_MEAN) / 3
    s = sum(IMAGENET_STD) / 3
    kernel = (s * conv0 / s_c).sum(1, keepdim=True)
    delta = (conv0 * (m - m_c) / s_c).sum((1, 2, 3))
    return kernel, running_mean - delta, m, s


def op_norm(p, t):
    out = np.full_like(p, 0.5)
    for j in range(p.shape[1]):
        if np.isnan(t[j]):
            continue
        lo = p[:, j] < t[j]
        out[lo, j] = p[lo, j] / (t[j] * 2)
        out[~lo, j] = 1 - (1 - p[~lo, j]) / ((1 - t[j]) * 2)
    return out


def dotted(sd):
    """Today's dense-layer names back to the old torchvision form that CheXNet checkpoints carry (norm1 -> norm.1)."""
    import re

    return {re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", k): v for k, v in sd.items()}


def make(out, inputs, n, size):
    import collections

    import torch
    import torch.nn as nn
    import torchvision

    torch.set_num_threads(2)
    both = torch.from_numpy(np.fromfile(inputs, dtype="<f4").reshape(2 * n, size, size).copy())
    grey, grey_xrv = both[:n], both[n:]
    result = {"torch": torch.__version__, "torchvision": torchvision.__version__, "n": n, "size": size}

    def tensors_of(sd):
        return {k: v.detach().float().numpy() for k, v in sd.items() if v.dtype.is_floating_point}

    # torchvision layout, ImageNet preprocessing, 14 outputs
    tv = build("torchvision")
    x_rgb = imagenet_rgb(grey)
    randomise(tv, x_rgb, 1)
    with torch.no_grad():
        result["torchvision"] = {"probs": torch.sigmoid(tv(x_rgb)).tolist()}
    sd = tv.d.state_dict()
    torch.save(sd, os.path.join(out, "torchvision.pth"))
    write_safetensors(os.path.join(out, "torchvision.safetensors"), tensors_of(sd), {"format": "pt"})

    # CheXNet layout: DataParallel + Sequential(Linear, Sigmoid), old dotted names, inside a training checkpoint
    cx = build("chexnet")
    randomise(cx, x_rgb, 2)
    with torch.no_grad():
        probs = cx(x_rgb)
        kernel, rm, m, s = fold_stem(cx.densenet121.features.conv0.weight, cx.densenet121.features.norm0.running_mean)
        folded = build("chexnet")
        folded.load_state_dict(cx.state_dict())
        folded.densenet121.features.conv0 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        folded.densenet121.features.conv0.weight.copy_(kernel)
        folded.densenet121.features.norm0.running_mean.copy_(rm)
        folded.eval()
        probs_folded = folded(((grey - m) / s).unsqueeze(1))
    result["chexnet"] = {"probs": probs.tolist(), "probsFolded": probs_folded.tolist()}
    sd = dotted(nn.DataParallel(cx).state_dict())
    optimizer = torch.optim.Adam(cx.parameters(), lr=1e-4, betas=(0.9, 0.999))
    torch.save({"epoch": 7, "state_dict": sd, "best_loss": 0.1523, "optimizer": optimizer.state_dict()}, os.path.join(out, "chexnet.pth.tar"))
    write_safetensors(os.path.join(out, "chexnet.safetensors"), tensors_of(sd), {"format": "pt"})

    # torchxrayvision layout: 1-channel stem, 18 outputs, op_threshs buffer (a few NaN, as its weights have)
    xr = build("xrv")
    x_xrv = ((2 * grey_xrv - 1) * 1024).unsqueeze(1)
    randomise(xr, x_xrv, 3)
    g = torch.Generator().manual_seed(4)
    op = 0.05 + 0.4 * torch.rand(18, generator=g)
    op[[14, 17]] = float("nan")
    xr.d.register_buffer("op_threshs", op)
    with torch.no_grad():
        p = torch.sigmoid(xr(x_xrv))
    result["xrv"] = {"probs": p.tolist(), "opThreshs": [None if np.isnan(v) else float(v) for v in op.tolist()], "opNorm": op_norm(p.numpy(), op.numpy()).tolist()}
    sd = xr.d.state_dict()
    torch.save(sd, os.path.join(out, "xrv.pth"))
    write_safetensors(os.path.join(out, "xrv.safetensors"), tensors_of(sd), {"format": "pt"})

    # checkpoints the importer must refuse
    torch.save(torchvision.models.resnet50().state_dict(), os.path.join(out, "resnet50.pth"))
    torch.save(torchvision.models.densenet169().state_dict(), os.path.join(out, "densenet169.pth"))
    torch.save(tv.d, os.path.join(out, "module.pth"))
    torch.save(sd, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)

    for name in ["torchvision", "chexnet", "xrv"]:
        flat = np.array(result[name]["probs"]).ravel()
        result[name]["spread"] = [float(flat.min()), float(flat.max()), float(flat.std())]
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(result, f)


def read(path):
    metadata, tensors = read_safetensors(path)
    digest = {k: {"shape": list(v.shape), "dtype": str(v.dtype), "sum": float(np.asarray(v, dtype=np.float64).sum()), "first": float(v.ravel()[0]) if v.size else None} for k, v in tensors.items()}
    print(json.dumps({"metadata": metadata, "tensors": digest}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "read":
        read(sys.argv[2])
    else:
        raise SystemExit(__doc__)
