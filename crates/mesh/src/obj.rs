//! Wavefront OBJ with vertex normals, millimetres.

use std::io::{self, Write};

use crate::Mesh;

/// Writes `mesh` as OBJ (`v`, `vn`, `f v//vn`), streamed.
pub fn write<W: Write>(mesh: &Mesh, mut out: W) -> io::Result<()> {
    writeln!(out, "# insitu surface, millimetres (DICOM LPS)")?;
    for p in &mesh.positions {
        writeln!(out, "v {} {} {}", p.x, p.y, p.z)?;
    }
    let with_normals = mesh.normals.len() == mesh.positions.len();
    if with_normals {
        for n in &mesh.normals {
            writeln!(out, "vn {} {} {}", n.x, n.y, n.z)?;
        }
    }
    for [a, b, c] in &mesh.triangles {
        let (a, b, c) = (a + 1, b + 1, c + 1);
        if with_normals {
            writeln!(out, "f {a}//{a} {b}//{b} {c}//{c}")?;
        } else {
            writeln!(out, "f {a} {b} {c}")?;
        }
    }
    out.flush()
}
