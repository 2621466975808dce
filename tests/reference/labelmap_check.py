#!/usr/bin/env python3
"""Reads a labelmap insitu wrote with independent implementations and
prints what they found as JSON.

- `.seg.nrrd`: pynrrd: space, sizes, space directions and origin, the
  voxel count of each label, and each Slicer segment's name, colour
  (0-255) and label value.
- `.nii.gz`: nibabel: shape, the affine it uses (RAS), sform and qform
  codes and the qform affine, the intent code, the count of each label.

    labelmap_check.py FILE
"""
import json
import sys

import numpy as np

path = sys.argv[1]


def counts(data):
    values, n = np.unique(np.asarray(data), return_counts=True)
    return {str(int(v)): int(c) for v, c in zip(values, n)}


if path.endswith(".nrrd"):
    import nrrd

    data, header = nrrd.read(path, index_order="F")
    segments = []
    n = 0
    while f"Segment{n}_ID" in header:
        color = [float(c) for c in header[f"Segment{n}_Color"].split()]
        segments.append({
            "name": header[f"Segment{n}_Name"],
            "color": [int(round(c * 255)) for c in color],
            "label": int(header[f"Segment{n}_LabelValue"]),
        })
        n += 1
    print(json.dumps({
        "space": header["space"],
        "sizes": [int(s) for s in header["sizes"]],
        "directions": np.asarray(header["space directions"], float).tolist(),
        "origin": np.asarray(header["space origin"], float).tolist(),
        "counts": counts(data),
        "first_voxel": int(data[0, 0, 0]),
        "segments": segments,
    }))
else:
    import nibabel as nib

    image = nib.load(path)
    data = np.asarray(image.dataobj)
    header = image.header
    print(json.dumps({
        "shape": list(data.shape),
        "affine": image.affine.tolist(),
        "sform_code": int(header["sform_code"]),
        "qform_code": int(header["qform_code"]),
        "qform": image.get_qform().tolist(),
        "intent": header.get_intent()[0],
        "counts": counts(data),
        "first_voxel": int(data[0, 0, 0]),
    }))
