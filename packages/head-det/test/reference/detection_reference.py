"""Independent numpy reference for the CheXDet metrics test (written from the metric definitions, not from our code).

stdin:  {"cases": [{"images": [{"truth": [[x, y, w, h], ...], "predictions": [[x, y, w, h, score], ...]}, ...],
                    "iou": 0.5}, ...]}
stdout: {"cases": [{"allPoint", "elevenPoint", "positiveAllPoint", "positiveElevenPoint", "rsnaMap"}, ...]}
NaN is written as null.

VOC: every prediction of every image by descending score (ties: image order, then input order); a prediction is a
true positive when the truth box of its image with the largest IoU has IoU >= the threshold and no earlier
prediction took it. All-point AP = area under the monotone precision envelope (VOC 2010+); 11-point AP = mean of
the best precision at recall >= k/10, k = 0..10 (VOC 2007). "Positive" = only the images with a truth box.
RSNA: per image, for t in 0.40..0.75 step 0.05, predictions by descending score each take the free truth box of
largest IoU if IoU > t; TP / (TP + FP + FN) averaged over t; images with neither truth nor predictions skipped.
"""
import json
import sys

import numpy as np

RSNA_T = [0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75]


def iou_matrix(p, t):
    """IoU of boxes p [P, 4] against t [T, 4], both x, y, w, h, continuous coordinates."""
    p = np.asarray(p, dtype=float).reshape(-1, 4)
    t = np.asarray(t, dtype=float).reshape(-1, 4)
    x1 = np.maximum(p[:, None, 0], t[None, :, 0])
    y1 = np.maximum(p[:, None, 1], t[None, :, 1])
    x2 = np.minimum(p[:, None, 0] + p[:, None, 2], t[None, :, 0] + t[None, :, 2])
    y2 = np.minimum(p[:, None, 1] + p[:, None, 3], t[None, :, 1] + t[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = (p[:, 2] * p[:, 3])[:, None] + (t[:, 2] * t[:, 3])[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    return np.where(inter > 0, out, 0.0)


def voc_curve(images, thr):
    npos = sum(len(im["truth"]) for im in images)
    rows = [(i, k, pr[4]) for i, im in enumerate(images) for k, pr in enumerate(im["predictions"])]
    if not rows:
        return np.zeros(0), np.zeros(0), npos
    scores = np.array([r[2] for r in rows])
    order = np.argsort(-scores, kind="stable")
    taken = [np.zeros(len(im["truth"]), dtype=bool) for im in images]
    tp = np.zeros(len(rows))
    for n, r in enumerate(order):
        i, k, _ = rows[r]
        truth = images[i]["truth"]
        if len(truth) == 0:
            continue
        ious = iou_matrix([images[i]["predictions"][k][:4]], truth)[0]
        j = int(np.argmax(ious))
        if ious[j] >= thr and not taken[i][j]:
            taken[i][j] = True
            tp[n] = 1
    ctp = np.cumsum(tp)
    cfp = np.cumsum(1 - tp)
    return ctp / max(npos, 1), ctp / (ctp + cfp), npos


def ap_all_point(rec, prec):
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], prec, [0.0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def ap_eleven(rec, prec):
    total = 0.0
    for level in np.arange(11) / 10:
        reach = prec[rec >= level]
        total += reach.max() if reach.size else 0.0
    return float(total / 11)


def voc(images, thr):
    rec, prec, npos = voc_curve(images, thr)
    if npos == 0:
        return None, None
    return ap_all_point(rec, prec), ap_eleven(rec, prec)


def rsna_image(im):
    truth, preds = im["truth"], im["predictions"]
    if not truth and not preds:
        return None
    if not truth or not preds:
        return 0.0
    order = np.argsort(-np.array([p[4] for p in preds]), kind="stable")
    ious = iou_matrix([preds[k][:4] for k in order], truth)
    scores = []
    for t in RSNA_T:
        free = np.ones(len(truth), dtype=bool)
        tp = 0
        for row in ious:
            if not free.any():
                break
            masked = np.where(free, row, -np.inf)
            j = int(np.argmax(masked))
            if masked[j] > t:
                free[j] = False
                tp += 1
        scores.append(tp / (len(preds) + len(truth) - tp))
    return float(np.mean(scores))


def main():
    req = json.load(sys.stdin)
    out = []
    for case in req["cases"]:
        images, thr = case["images"], case["iou"]
        all_point, eleven = voc(images, thr)
        positives = [im for im in images if im["truth"]]
        pos_all, pos_eleven = voc(positives, thr)
        per_image = [s for s in (rsna_image(im) for im in images) if s is not None]
        out.append({
            "allPoint": all_point,
            "elevenPoint": eleven,
            "positiveAllPoint": pos_all,
            "positiveElevenPoint": pos_eleven,
            "rsnaMap": float(np.mean(per_image)) if per_image else None,
        })
    json.dump({"cases": out}, sys.stdout)


main()
