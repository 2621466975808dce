//! Binary little-endian PLY with normals, millimetres.

use std::io::{self, Write};

use crate::Mesh;

/// Writes `mesh` as binary PLY, streamed.
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
    let mut record = Vec::with_capacity(24);
    for (i, p) in mesh.positions.iter().enumerate() {
        record.clear();
        record.extend(p.to_array().iter().flat_map(|v| v.to_le_bytes()));
        if with_normals {
            record.extend(
                mesh.normals[i]
                    .to_array()
                    .iter()
                    .flat_map(|v| v.to_le_bytes()),
            );
        }
        out.write_all(&record)?;
    }
    for tri in &mesh.triangles {
        record.clear();
        record.push(3);
        record.extend(tri.iter().flat_map(|&v| (v as i32).to_le_bytes()));
        out.write_all(&record)?;
    }
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
    }
}
