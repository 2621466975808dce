#!/usr/bin/env python3
"""Reads a multi-part model with independent implementations and prints
what it found as JSON: per part its name, colour (sRGB bytes), triangle
count and whether it is watertight.

- 3MF: lib3mf (the 3MF Consortium's library) for objects, names and
  colours; trimesh for each object's watertightness.
- GLB: trimesh (its glTF loader) for nodes, material colours, geometry.
- PLY: trimesh for the vertex colours and the pieces.

    parts_check.py FILE
"""
import json
import sys

import numpy as np
import trimesh

path = sys.argv[1]
parts = []
if path.endswith(".3mf"):
    import lib3mf

    wrapper = lib3mf.get_wrapper()
    model = wrapper.CreateModel()
    model.QueryReader("3mf").ReadFromFile(path)
    unit = model.GetUnit()
    meshes = model.GetMeshObjects()
    scene = trimesh.load(path, force="scene")
    geometry = {g.metadata.get("name", name): g for name, g in scene.geometry.items()}
    while meshes.MoveNext():
        obj = meshes.GetCurrentMeshObject()
        resource, prop, has = obj.GetObjectLevelProperty()
        color = None
        if has:
            group = model.GetBaseMaterialGroupByID(resource)
            c = group.GetDisplayColor(prop)
            color = [c.Red, c.Green, c.Blue]
        name = obj.GetName()
        mesh = geometry.get(name) or scene.geometry.get(name)
        parts.append({
            "name": name,
            "color": color,
            "triangles": obj.GetTriangleCount(),
            "watertight": bool(mesh is not None and mesh.is_watertight),
            "bounds": None if mesh is None else np.asarray(mesh.bounds).tolist(),
        })
    print(json.dumps({"unit": str(unit), "parts": parts}))
elif path.endswith(".glb"):
    scene = trimesh.load(path, force="scene")
    for node in scene.graph.nodes_geometry:
        transform, name = scene.graph[node]
        mesh = scene.geometry[name]
        # glTF colours are linear; trimesh gives them as bytes. Back to
        # sRGB bytes (a few units off for dark channels: the bytes round).
        linear = np.asarray(mesh.visual.material.baseColorFactor)[:3] / 255.0
        srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
        parts.append({
            "name": node,
            "color": [int(round(v * 255)) for v in srgb],
            "triangles": int(len(mesh.faces)),
            "watertight": bool(mesh.is_watertight),
            "bounds": np.asarray(mesh.bounds).tolist(),
        })
    print(json.dumps({"parts": parts}))
else:
    mesh = trimesh.load(path, process=False)
    colors = np.asarray(mesh.visual.vertex_colors)[:, :3]
    for piece in mesh.split(only_watertight=False):
        piece_colors = np.unique(np.asarray(piece.visual.vertex_colors)[:, :3], axis=0)
        parts.append({
            "name": None,
            "color": piece_colors.tolist()[0] if len(piece_colors) == 1 else piece_colors.tolist(),
            "triangles": int(len(piece.faces)),
            "watertight": bool(piece.is_watertight),
        })
    print(json.dumps({"parts": parts, "colors": np.unique(colors, axis=0).tolist()}))
