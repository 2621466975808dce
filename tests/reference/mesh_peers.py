#!/usr/bin/env python3
"""The peers of `insitu mesh`, on the same folder, for `cargo xtask bench`:
load the largest series with pydicom (sorted along the slice normal, HU by
each slice's rescale), run VTK's flying edges at the iso and write a binary
STL with VTK, timing each step; then count scikit-image's Lewiner marching
cubes triangles at the same iso. Prints one JSON object.

    mesh_peers.py DIR ISO OUT.stl
"""
import json
import pathlib
import sys
import time

import numpy as np
import pydicom
import vtk
from skimage import measure
from vtk.util import numpy_support

# Imports are done before the clock starts: only the work is timed.
directory, iso, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
started = time.perf_counter()
datasets = []
for path in sorted(pathlib.Path(directory).rglob("*")):
    if path.is_file():
        try:
            datasets.append(pydicom.dcmread(path))
        except Exception:
            pass
datasets = [d for d in datasets if "PixelData" in d]
normal = np.cross(*np.array(datasets[0].ImageOrientationPatient, dtype=float).reshape(2, 3))
datasets.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, dtype=float))))
volume = np.stack([
    d.pixel_array.astype(np.float32) * float(d.RescaleSlope) + float(d.RescaleIntercept)
    for d in datasets
]).astype(np.int16)
loaded = time.perf_counter()

image = vtk.vtkImageData()
image.SetDimensions(volume.shape[2], volume.shape[1], volume.shape[0])
scalars = numpy_support.numpy_to_vtk(volume.ravel(), deep=1, array_type=vtk.VTK_SHORT)
image.GetPointData().SetScalars(scalars)
edges = vtk.vtkFlyingEdges3D()
edges.SetInputData(image)
edges.SetValue(0, iso)
edges.ComputeNormalsOff()
edges.ComputeGradientsOff()
edges.Update()
extracted = time.perf_counter()
writer = vtk.vtkSTLWriter()
writer.SetInputConnection(edges.GetOutputPort())
writer.SetFileTypeToBinary()
writer.SetFileName(out)
writer.Write()
written = time.perf_counter()

_, faces, _, _ = measure.marching_cubes(volume.astype(np.float32), iso, method="lewiner")

print(json.dumps({
    "shape": list(volume.shape),
    "load_s": loaded - started,
    "flying_edges_s": extracted - loaded,
    "write_s": written - extracted,
    "total_s": written - started,
    "flying_edges_triangles": edges.GetOutput().GetNumberOfPolys(),
    "lewiner_triangles": int(len(faces)),
}))
