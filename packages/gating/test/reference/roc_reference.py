"""scikit-learn reference for the gate's ROC.

stdin:  {"cases": [{"scores": [...], "labels": [0, 1 or null = unknown, ...]}, ...]}
stdout: {"cases": [{"fpr": [...], "tpr": [...], "thresholds": [...], "auroc": ..., "positives", "negatives"}, ...]}
sklearn's first threshold is its sentinel above the maximum score (JSON cannot carry inf: it is left out).
"""
import json
import sys

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

out = []
for case in json.load(sys.stdin)["cases"]:
    labels = np.array([np.nan if v is None else v for v in case["labels"]], dtype=float)
    keep = ~np.isnan(labels)
    y, s = labels[keep].astype(int), np.asarray(case["scores"], dtype=float)[keep]
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    out.append({
        "fpr": fpr.tolist(),
        "tpr": tpr.tolist(),
        "thresholds": thr[1:].tolist(),
        "auroc": float(roc_auc_score(y, s)),
        "positives": int(y.sum()),
        "negatives": int((1 - y).sum()),
    })
json.dump({"cases": out}, sys.stdout)
