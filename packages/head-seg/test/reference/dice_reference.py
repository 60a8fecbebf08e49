"""scikit-learn reference for the CheXSeg Dice metrics: Dice of two binary masks is the F1 score of their pixels.

stdin:  {"cases": [[{"truth": [0/1 per pixel], "prediction": [0/1 per pixel]}, ...], ...]}
stdout: {"cases": [{"perImage": [...], "siim": mean over all images (both empty = 1),
                    "positive": mean over images whose truth has a foreground pixel, null if none}, ...]}
"""
import json
import sys

import numpy as np
from sklearn.metrics import f1_score

out = []
for images in json.load(sys.stdin)["cases"]:
    # zero_division=1: no positive pixel on either side (both masks empty) scores 1, the SIIM rule.
    per = [float(f1_score(np.asarray(im["truth"]) != 0, np.asarray(im["prediction"]) != 0, zero_division=1)) for im in images]
    positive = [d for d, im in zip(per, images) if np.any(np.asarray(im["truth"]) != 0)]
    out.append({"perImage": per, "siim": float(np.mean(per)), "positive": float(np.mean(positive)) if positive else None})
json.dump({"cases": out}, sys.stdout)
