"""Independent reference for maskToBoxes: scipy.ndimage connected components.

Reads a raw uint8 file of B masks of H x W (row-major) and prints, per mask, the components as
[[x, y, width, height, area], ...] (JSON), with 8- or 4-connectivity.
usage: components.py FILE B H W CONNECTIVITY
"""
import json
import sys

import numpy as np
from scipy import ndimage

path, b, h, w, conn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
masks = np.fromfile(path, dtype=np.uint8).reshape(b, h, w)
structure = np.ones((3, 3), dtype=bool) if conn == 8 else ndimage.generate_binary_structure(2, 1)
out = []
for m in masks:
    labels, n = ndimage.label(m != 0, structure=structure)
    comps = []
    for i, sl in enumerate(ndimage.find_objects(labels)):
        ys, xs = sl
        area = int((labels[sl] == i + 1).sum())
        comps.append([xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start, area])
    out.append(comps)
print(json.dumps(out))
