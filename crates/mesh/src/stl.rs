//! Binary STL, the format 3D printers and dental labs accept.

use std::io::{self, Write};

use crate::Mesh;

/// Header text of every STL we write. Fixed on purpose: the 80 header bytes
/// are the one free-text field of the format and must never carry patient
/// data, so nothing from the study is ever placed there.
pub const STL_HEADER: &[u8] = b"insitu binary STL, millimetres";

/// Writes `mesh` as binary STL (facet normals, mm), one facet at a time so
/// no second copy of the mesh is built in memory.
pub fn write_binary<W: Write>(mesh: &Mesh, mut out: W) -> io::Result<()> {
    let count = u32::try_from(mesh.triangle_count())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "over 2^32 triangles"))?;
    let mut header = [0u8; 80];
    header[..STL_HEADER.len()].copy_from_slice(STL_HEADER);
    out.write_all(&header)?;
    out.write_all(&count.to_le_bytes())?;
    let mut facet = [0u8; 50];
    for t in 0..mesh.triangle_count() {
        let normal = mesh.facet_normal(t);
        let [a, b, c] = mesh.corners(t);
        for (slot, v) in [normal, a, b, c].iter().enumerate() {
            for (axis, x) in v.to_array().iter().enumerate() {
                let at = slot * 12 + axis * 4;
                facet[at..at + 4].copy_from_slice(&x.to_le_bytes());
            }
        }
        out.write_all(&facet)?;
    }
    out.flush()
}

/// Writes `mesh` as ASCII STL (for tools that only read text), facet by facet.
pub fn write_ascii<W: Write>(mesh: &Mesh, mut out: W) -> io::Result<()> {
    writeln!(out, "solid insitu")?;
    for t in 0..mesh.triangle_count() {
        let n = mesh.facet_normal(t);
        writeln!(out, "  facet normal {:e} {:e} {:e}", n.x, n.y, n.z)?;
        writeln!(out, "    outer loop")?;
        for p in mesh.corners(t) {
            writeln!(out, "      vertex {:e} {:e} {:e}", p.x, p.y, p.z)?;
        }
        writeln!(out, "    endloop")?;
        writeln!(out, "  endfacet")?;
    }
    writeln!(out, "endsolid insitu")?;
    out.flush()
}

/// Triangle count stored in a binary STL, checked against the file length.
pub fn binary_triangle_count(bytes: &[u8]) -> Option<u32> {
    let count = u32::from_le_bytes(bytes.get(80..84)?.try_into().ok()?);
    (bytes.len() as u64 == 84 + 50 * u64::from(count)).then_some(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Vec3;

    #[test]
    fn cube_round_trips_through_binary_stl() {
        let cube = Mesh::unit_cube();
        let mut bytes = Vec::new();
        write_binary(&cube, &mut bytes).unwrap();
        assert_eq!(bytes.len(), 84 + 50 * 12);
        assert_eq!(binary_triangle_count(&bytes), Some(12));
        assert!(bytes[..80].starts_with(STL_HEADER));
        // Second facet: normal then its three corners, little-endian f32.
        let facet = &bytes[84 + 50..84 + 100];
        let f = |at: usize| f32::from_le_bytes(facet[at..at + 4].try_into().unwrap());
        assert_eq!(Vec3::new(f(0), f(4), f(8)), Vec3::new(0.0, 0.0, -1.0));
        assert_eq!(Vec3::new(f(12), f(16), f(20)), Vec3::new(1.0, 0.0, 0.0));
    }

    #[test]
    fn ascii_stl_lists_every_facet() {
        let mut out = Vec::new();
        write_ascii(&Mesh::unit_cube(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("solid insitu\n") && text.ends_with("endsolid insitu\n"));
        assert_eq!(text.matches("facet normal").count(), 12);
        assert_eq!(text.matches("vertex").count(), 36);
    }

    #[test]
    fn truncated_stl_is_not_counted() {
        let mut bytes = Vec::new();
        write_binary(&Mesh::unit_cube(), &mut bytes).unwrap();
        bytes.pop();
        assert_eq!(binary_triangle_count(&bytes), None);
        assert_eq!(binary_triangle_count(&bytes[..40]), None);
    }
}
