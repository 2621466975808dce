//! Binary little-endian PLY with normals, millimetres.

use std::io::{self, Write};

use crate::Mesh;
use crate::writer::{put_f32s, write_records};

/// Writes `mesh` as binary PLY, formatted in chunks.
pub fn write<W: Write>(mesh: &Mesh, mut out: W) -> io::Result<()> {
    let with_normals = mesh.normals.len() == mesh.positions.len();
    writeln!(out, "ply")?;
    writeln!(out, "format binary_little_endian 1.0")?;
    writeln!(out, "comment insitu surface, millimetres (DICOM LPS)")?;
    writeln!(out, "element vertex {}", mesh.positions.len())?;
    for axis in ["x", "y", "z"] {
        writeln!(out, "property float {axis}")?;
    }
    if with_normals {
        for axis in ["nx", "ny", "nz"] {
            writeln!(out, "property float {axis}")?;
        }
    }
    writeln!(out, "element face {}", mesh.triangles.len())?;
    writeln!(out, "property list uchar int vertex_indices")?;
    writeln!(out, "end_header")?;
    write_records(&mut out, mesh.positions.len(), |range, buffer| {
        for i in range {
            put_f32s(buffer, &mesh.positions[i].to_array());
            if with_normals {
                put_f32s(buffer, &mesh.normals[i].to_array());
            }
        }
    })?;
    write_records(&mut out, mesh.triangles.len(), |range, buffer| {
        for tri in &mesh.triangles[range] {
            buffer.push(3);
            for &v in tri {
                buffer.extend_from_slice(&(v as i32).to_le_bytes());
            }
        }
    })?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cube_as_binary_ply_has_the_declared_size() {
        let mesh = Mesh::unit_cube();
        let mut out = Vec::new();
        write(&mesh, &mut out).unwrap();
        let header_end = out.windows(11).position(|w| w == b"end_header\n").unwrap() + 11;
        let header = String::from_utf8_lossy(&out[..header_end]);
        assert!(header.contains("element vertex 8\n") && header.contains("element face 12\n"));
        // No normals on this mesh: 12 bytes per vertex, 13 per face.
        assert_eq!(out.len() - header_end, 8 * 12 + 12 * 13);
        // The last face reads back.
        let last = &out[out.len() - 13..];
        assert_eq!(last[0], 3);
        let index = |k: usize| i32::from_le_bytes(last[1 + 4 * k..5 + 4 * k].try_into().unwrap());
        assert_eq!([index(0), index(1), index(2)], [3, 7, 5]);
    }
}
