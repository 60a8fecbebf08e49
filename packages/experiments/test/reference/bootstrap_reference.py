"""scipy reference for the paired bootstrap test: scipy.stats.bootstrap(paired=True, method='percentile').

stdin:  {"cases": [{"a": [...], "b": [...], "resamples": R, "seed": s}, ...], "seedValues": [[...], ...]}
stdout: {"cases": [{"difference", "low", "high"}, ...], "seedSummaries": [{"mean", "sd"}, ...]}
"""
import json
import sys

import numpy as np
from scipy.stats import bootstrap


def mean_difference(x, y, axis=-1):
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


req = json.load(sys.stdin)
out = []
for case in req["cases"]:
    a, b = np.asarray(case["a"], dtype=float), np.asarray(case["b"], dtype=float)
    res = bootstrap((a, b), mean_difference, paired=True, vectorized=True, n_resamples=case["resamples"], batch=2000,
                    method="percentile", confidence_level=0.95, random_state=np.random.default_rng(case["seed"]))
    ci = res.confidence_interval
    out.append({"difference": float(mean_difference(a, b)), "low": float(ci.low), "high": float(ci.high)})
summaries = [{"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1))} for v in req["seedValues"]]
json.dump({"cases": out, "seedSummaries": summaries}, sys.stdout)
