#!/usr/bin/env python3
"""Makes labelmaps on a DICOM series' grid the way other tools do, to test
`insitu mesh --labels` on files it did not write.

The series is read with pydicom (`nrrd_vs_pydicom.load_series`); bone (HU >=
300) in a box around the middle of the image is split at the middle slice
into label 1 and label 2. Written:

- `labels.nii.gz` by nibabel, reoriented as dcm2niix does (rows flipped, so
  the file's j axis runs the other way; RAS affine);
- `labels.nrrd` by pynrrd in RAS space, with Slicer's segment names and
  colours (label 1 "T5" red, label 2 "Segment 2" blue);
- `shifted.nii.gz`: the same, half a voxel off the series' grid.

Prints JSON: per label its voxel count and the LPS bounds (mm) of its voxel
centres.

    make_labelmaps.py DICOM_DIR OUT_DIR
"""
import json
import os
import sys

import nibabel as nib
import nrrd
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from nrrd_vs_pydicom import load_series  # noqa: E402


def main():
    folder, out = sys.argv[1], sys.argv[2]
    hu, slices, iop = load_series(folder)
    nk, nj, ni = hu.shape
    first = np.array(slices[0].ImagePositionPatient, float)
    last = np.array(slices[-1].ImagePositionPatient, float)
    ps = [float(v) for v in slices[0].PixelSpacing]
    steps = np.stack([iop[:3] * ps[1], iop[3:] * ps[0], (last - first) / (nk - 1)], axis=1)
    lps = np.eye(4)
    lps[:3, :3] = steps
    lps[:3, 3] = first
    labels = np.zeros(hu.shape, np.uint8)  # [k, j, i]
    box = (slice(None), slice(nj // 4, 3 * nj // 4), slice(ni // 4, 3 * ni // 4))
    bone = np.zeros(hu.shape, bool)
    bone[box] = hu[box] >= 300
    labels[: nk // 2][bone[: nk // 2]] = 1
    labels[nk // 2:][bone[nk // 2:]] = 2

    report = {}
    for label in (1, 2):
        k, j, i = np.nonzero(labels == label)
        ijk = np.stack([i, j, k, np.ones_like(i)]).astype(float)
        world = (lps @ ijk)[:3]
        report[str(label)] = {
            "voxels": int(len(i)),
            "min": world.min(axis=1).tolist(),
            "max": world.max(axis=1).tolist(),
        }

    data = np.ascontiguousarray(labels.transpose(2, 1, 0))  # [i, j, k]
    flip_lps_ras = np.diag([-1.0, -1.0, 1.0, 1.0])
    ras = flip_lps_ras @ lps
    # dcm2niix-style: the rows flipped, the affine following them.
    flipped = data[:, ::-1, :]
    flip_j = np.eye(4)
    flip_j[1, 1] = -1
    flip_j[1, 3] = nj - 1
    image = nib.Nifti1Image(np.ascontiguousarray(flipped), ras @ flip_j)
    image.set_qform(ras @ flip_j, code=1)
    image.set_sform(ras @ flip_j, code=1)
    nib.save(image, os.path.join(out, "labels.nii.gz"))

    shifted = ras @ flip_j
    shifted = shifted.copy()
    shifted[:3, 3] += shifted[:3, 0] * 0.5
    nib.save(nib.Nifti1Image(np.ascontiguousarray(flipped), shifted), os.path.join(out, "shifted.nii.gz"))

    header = {
        "type": "unsigned char",
        "dimension": 3,
        "space": "right-anterior-superior",
        "space directions": ras[:3, :3].T,
        "space origin": ras[:3, 3],
        "kinds": ["domain", "domain", "domain"],
        "encoding": "gzip",
        "Segment0_ID": "Segment_1",
        "Segment0_Name": "T5",
        "Segment0_Color": "1 0 0",
        "Segment0_LabelValue": "1",
        "Segment1_ID": "Segment_2",
        "Segment1_Name": "Segment 2",
        "Segment1_Color": "0 0 1",
        "Segment1_LabelValue": "2",
    }
    nrrd.write(os.path.join(out, "labels.nrrd"), data, header, index_order="F")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
