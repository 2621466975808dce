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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cube_as_obj_has_one_line_per_vertex_and_face() {
        let mut cube = Mesh::unit_cube();
        crate::cleanup::recompute_normals(&mut cube);
        let mut out = Vec::new();
        write(&cube, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().filter(|l| l.starts_with("v ")).count(), 8);
        assert_eq!(text.lines().filter(|l| l.starts_with("vn ")).count(), 8);
        assert_eq!(text.lines().filter(|l| l.starts_with("f ")).count(), 12);
        assert!(
            text.contains("\nf 1//1 3//3 2//2\n"),
            "1-based indices with normals"
        );
    }
}
