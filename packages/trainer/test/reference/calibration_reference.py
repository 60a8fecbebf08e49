"""Independent reference for the trainer's reliability / ECE: numpy's digitize over equal-width bin edges.

Reads {"cases": [{"p": [...], "y": [... null for unlabelled], "bins": n}]} on stdin, writes per case
{"ece", "count", "counts", "mean_p", "rate"} (NaN as null) on stdout.
"""
import json
import sys

import numpy as np

out = []
for case in json.load(sys.stdin)["cases"]:
    p = np.asarray(case["p"], dtype=np.float64)
    y = np.asarray([np.nan if v is None else v for v in case["y"]], dtype=np.float64)
    keep = ~np.isnan(y)
    p, y = p[keep], y[keep]
    n_bins = case["bins"]
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin b holds edges[b] <= p < edges[b + 1]; p == 1 falls in the last bin
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, n_bins - 1)
    counts, mean_p, rate, ece = [], [], [], 0.0
    for b in range(n_bins):
        sel = idx == b
        k = int(sel.sum())
        counts.append(k)
        if k == 0:
            mean_p.append(None)
            rate.append(None)
            continue
        mp, r = float(p[sel].mean()), float(y[sel].mean())
        mean_p.append(mp)
        rate.append(r)
        ece += k / len(p) * abs(r - mp)
    out.append({"ece": ece if len(p) else None, "count": int(len(p)), "counts": counts, "mean_p": mean_p, "rate": rate})
json.dump({"cases": out}, sys.stdout)
