//! Binary STL, the format 3D printers and dental labs accept.

use std::io::{self, Write};

use crate::Mesh;
use crate::writer::{put_decimal, put_f32s, write_records};

/// Header text of every STL we write. Fixed on purpose: the 80 header bytes
/// are the one free-text field of the format and must never carry patient
/// data, so nothing from the study is ever placed there.
pub const STL_HEADER: &[u8] = b"insitu binary STL, millimetres";

/// Writes `mesh` as binary STL (facet normals, mm), formatted in chunks so
/// no second copy of the mesh is built in memory.
pub fn write_binary<W: Write>(mesh: &Mesh, mut out: W) -> io::Result<()> {
    let count = u32::try_from(mesh.triangle_count())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "over 2^32 triangles"))?;
    let mut header = [0u8; 80];
    header[..STL_HEADER.len()].copy_from_slice(STL_HEADER);
    out.write_all(&header)?;
    out.write_all(&count.to_le_bytes())?;
    write_records(&mut out, mesh.triangle_count(), |range, buffer| {
        buffer.reserve(range.len() * 50);
        for t in range {
            let [a, b, c] = mesh.corners(t);
            for v in [mesh.facet_normal(t), a, b, c] {
                put_f32s(buffer, &v.to_array());
            }
            buffer.extend_from_slice(&[0, 0]);
        }
    })?;
    out.flush()
}

/// Writes `mesh` as ASCII STL (for tools that only read text).
pub fn write_ascii<W: Write>(mesh: &Mesh, mut out: W) -> io::Result<()> {
    writeln!(out, "solid insitu")?;
    write_records(&mut out, mesh.triangle_count(), |range, buffer| {
        let mut scratch = ryu::Buffer::new();
        let mut triple = |buffer: &mut Vec<u8>, prefix: &[u8], v: glam::Vec3| {
            buffer.extend_from_slice(prefix);
            for x in v.to_array() {
                buffer.push(b' ');
                put_decimal(buffer, x, &mut scratch);
            }
            buffer.push(b'\n');
        };
        for t in range {
            triple(buffer, b"  facet normal", mesh.facet_normal(t));
            buffer.extend_from_slice(b"    outer loop\n");
            for p in mesh.corners(t) {
                triple(buffer, b"      vertex", p);
            }
            buffer.extend_from_slice(b"    endloop\n  endfacet\n");
        }
    })?;
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
        assert_eq!(&facet[48..50], &[0, 0], "attribute byte count");
    }

    #[test]
    fn ascii_stl_lists_every_facet() {
        let mut out = Vec::new();
        write_ascii(&Mesh::unit_cube(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("solid insitu\n") && text.ends_with("endsolid insitu\n"));
        assert_eq!(text.matches("facet normal").count(), 12);
        assert_eq!(text.matches("vertex").count(), 36);
        assert!(text.contains("\n  facet normal 0.0 0.0 -1.0\n"), "{text}");
    }

    #[test]
    fn truncated_stl_is_not_counted() {
        let mut bytes = Vec::new();
        write_binary(&Mesh::unit_cube(), &mut bytes).unwrap();
        bytes.pop();
        assert_eq!(binary_triangle_count(&bytes), None);
        assert_eq!(binary_triangle_count(&bytes[..40]), None);
    }

    #[test]
    fn chunks_are_written_in_order() {
        // More triangles than one chunk holds: the file must list them in
        // mesh order.
        let count = (1 << 16) * 3 + 17;
        let mesh = Mesh {
            positions: (0..count + 2)
                .map(|i| Vec3::new(i as f32, 0.0, 0.0))
                .collect(),
            normals: Vec::new(),
            triangles: (0..count as u32).map(|t| [t, t + 1, t + 2]).collect(),
        };
        let mut bytes = Vec::new();
        write_binary(&mesh, &mut bytes).unwrap();
        assert_eq!(binary_triangle_count(&bytes), Some(count as u32));
        for t in [0, 1 << 16, count - 1] {
            let at = 84 + 50 * t + 12;
            let x = f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            assert_eq!(x, t as f32);
        }
    }
}
