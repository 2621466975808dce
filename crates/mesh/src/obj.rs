//! Wavefront OBJ with vertex normals, millimetres.

use std::io::{self, Write};

use crate::Mesh;
use crate::writer::{put_decimal, put_integer, write_records};

/// Writes `mesh` as OBJ (`v`, `vn`, `f v//vn`), formatted in chunks.
pub fn write<W: Write>(mesh: &Mesh, mut out: W) -> io::Result<()> {
    writeln!(out, "# insitu surface, millimetres (DICOM LPS)")?;
    write_records(&mut out, mesh.positions.len(), |range, buffer| {
        triples(b"v", &mesh.positions[range], buffer)
    })?;
    let with_normals = mesh.normals.len() == mesh.positions.len();
    if with_normals {
        write_records(&mut out, mesh.normals.len(), |range, buffer| {
            triples(b"vn", &mesh.normals[range], buffer)
        })?;
    }
    write_records(&mut out, mesh.triangles.len(), |range, buffer| {
        let mut scratch = itoa::Buffer::new();
        for tri in &mesh.triangles[range] {
            buffer.push(b'f');
            for &v in tri {
                let one_based = u64::from(v) + 1;
                buffer.push(b' ');
                put_integer(buffer, one_based, &mut scratch);
                if with_normals {
                    buffer.extend_from_slice(b"//");
                    put_integer(buffer, one_based, &mut scratch);
                }
            }
            buffer.push(b'\n');
        }
    })?;
    out.flush()
}

/// One line per vector: `prefix x y z`.
fn triples(prefix: &[u8], vectors: &[glam::Vec3], buffer: &mut Vec<u8>) {
    let mut scratch = ryu::Buffer::new();
    for v in vectors {
        buffer.extend_from_slice(prefix);
        for x in v.to_array() {
            buffer.push(b' ');
            put_decimal(buffer, x, &mut scratch);
        }
        buffer.push(b'\n');
    }
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
        assert!(text.contains("\nv 1.0 1.0 1.0\n"), "{text}");
        // Every coordinate reads back exactly.
        for line in text.lines().filter(|l| l.starts_with("v ")) {
            for x in line[2..].split(' ') {
                let v: f32 = x.parse().unwrap();
                assert!(v == 0.0 || v == 1.0, "{line}");
            }
        }
    }
}
