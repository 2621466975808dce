#!/usr/bin/env python3
"""Independent check of `insitu convert`: rebuild the HU volume of a DICOM
folder with pydicom + numpy (sort by ImagePositionPatient on the slice normal,
apply RescaleSlope/Intercept, PixelPaddingValue -> -1024 HU air as insitu
documents) and compare it voxel by voxel, and its geometry, with the NRRD.

usage: nrrd_vs_pydicom.py DICOM_DIR OUT.nrrd     (exit 1 on any mismatch)
"""
import os
import sys

import numpy as np
import pydicom


def read_nrrd(path):
    data = open(path, "rb").read()
    head, raw = data.split(b"\n\n", 1)
    fields = {}
    for line in head.decode().splitlines()[1:]:
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip().lstrip("=")
    sizes = [int(v) for v in fields["sizes"].split()]
    dtype = {"int16": "<i2", "float": "<f4"}[fields["type"]]
    vol = np.frombuffer(raw, dtype).reshape(sizes[::-1]).astype(np.float64)
    dirs = [np.array([float(x) for x in d.strip("()").split(",")]) for d in fields["space directions"].split()]
    origin = np.array([float(x) for x in fields["space origin"].strip("()").split(",")])
    return vol, dirs, origin


def load_series(folder):
    """The series in `folder` as pydicom reads it: (HU array [k, j, i],
    sorted slices, IOP), slices sorted along the normal."""
    slices = []
    for name in sorted(os.listdir(folder)):
        try:
            ds = pydicom.dcmread(os.path.join(folder, name))
        except Exception:  # noqa: BLE001 - non-DICOM files are skipped, as insitu does
            continue
        if "PixelData" in ds:
            slices.append(ds)
    iop = np.array(slices[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    slices.sort(key=lambda ds: float(np.dot(np.array(ds.ImagePositionPatient, float), normal)))
    hu = []
    for ds in slices:
        stored = ds.pixel_array.astype(np.float64)
        values = stored * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
        if "PixelPaddingValue" in ds:
            values[stored == ds.PixelPaddingValue] = -1024
        hu.append(values)
    return np.stack(hu), slices, iop


def main():
    folder, nrrd = sys.argv[1], sys.argv[2]
    ref, slices, iop = load_series(folder)
    vol, dirs, origin = read_nrrd(nrrd)
    failures = 0
    if vol.shape != ref.shape:
        print(f"FAIL shape {vol.shape} != pydicom {ref.shape}")
        sys.exit(1)
    diff = np.abs(vol - ref).max()
    print(f"voxels: max |insitu - pydicom| = {diff} over {ref.size} voxels")
    failures += diff != 0
    first = np.array(slices[0].ImagePositionPatient, float)
    last = np.array(slices[-1].ImagePositionPatient, float)
    ps = [float(v) for v in slices[0].PixelSpacing]
    checks = {
        "origin": (origin, first),
        "i step": (dirs[0], iop[:3] * ps[1]),
        "j step": (dirs[1], iop[3:] * ps[0]),
        "k step (mean, as acquired)": (dirs[2], (last - first) / (len(slices) - 1)),
    }
    for what, (ours, theirs) in checks.items():
        err = np.abs(ours - theirs).max()
        print(f"{what}: insitu {np.round(ours, 4)} pydicom {np.round(theirs, 4)}")
        failures += err > 1e-3
    print(f"{5 - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
