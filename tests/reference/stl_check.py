#!/usr/bin/env python3
"""Reads an STL with numpy-stl, an independent implementation, and prints
what it found: `triangles N` and `bounds x y z .. x y z` (mm)."""
import sys

from stl import mesh

m = mesh.Mesh.from_file(sys.argv[1])
lo = m.vectors.reshape(-1, 3).min(axis=0)
hi = m.vectors.reshape(-1, 3).max(axis=0)
print(f"triangles {len(m.vectors)}")
print("bounds " + " ".join(f"{v:.4f}" for v in lo) + " .. " + " ".join(f"{v:.4f}" for v in hi))
