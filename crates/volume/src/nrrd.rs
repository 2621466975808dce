//! NRRD export: the HU volume with its LPS geometry, readable by 3D Slicer,
//! ITK and `pynrrd`, so anyone can check a conversion independently.

use std::io::{self, Write};

use crate::{Volume, Voxels};

fn vector(v: glam::DVec3) -> String {
    format!("({},{},{})", v.x, v.y, v.z)
}

/// Writes `volume` as a detached-free NRRD (header + raw little-endian data).
/// The header carries geometry only; nothing from the DICOM headers.
pub fn write<W: Write>(volume: &Volume, mut out: W) -> io::Result<()> {
    let g = volume.geometry();
    let kind = match volume.voxels() {
        Voxels::I16(_) => "int16",
        Voxels::F32(_) => "float",
    };
    writeln!(out, "NRRD0004")?;
    writeln!(out, "# Hounsfield-unit volume written by insitu")?;
    writeln!(out, "type: {kind}")?;
    writeln!(out, "dimension: 3")?;
    writeln!(out, "space: left-posterior-superior")?;
    writeln!(out, "sizes: {} {} {}", g.dims.x, g.dims.y, g.dims.z)?;
    writeln!(
        out,
        "space directions: {} {} {}",
        vector(g.steps[0]),
        vector(g.steps[1]),
        vector(g.steps[2])
    )?;
    writeln!(out, "kinds: domain domain domain")?;
    writeln!(out, "endian: little")?;
    writeln!(out, "encoding: raw")?;
    writeln!(out, "space origin: {}", vector(g.origin))?;
    writeln!(out, "space units: \"mm\" \"mm\" \"mm\"")?;
    if let Some(offsets) = volume.slice_offsets_mm() {
        // Non-uniform stack: NRRD has one k step, so the true positions go
        // in a key/value pair (space directions hold the mean step).
        let list: Vec<String> = offsets.iter().map(|o| format!("{o:.4}")).collect();
        writeln!(out, "insitu_slice_offsets_mm:={}", list.join(" "))?;
    }
    writeln!(out)?;
    let mut buffer = Vec::with_capacity(1 << 16);
    match volume.voxels() {
        Voxels::I16(v) => {
            for chunk in v.chunks(1 << 15) {
                buffer.clear();
                buffer.extend(chunk.iter().flat_map(|x| x.to_le_bytes()));
                out.write_all(&buffer)?;
            }
        }
        Voxels::F32(v) => {
            for chunk in v.chunks(1 << 14) {
                buffer.clear();
                buffer.extend(chunk.iter().flat_map(|x| x.to_le_bytes()));
                out.write_all(&buffer)?;
            }
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Geometry;
    use glam::{DVec3, UVec3};

    #[test]
    fn header_then_raw_little_endian_data() {
        let g = Geometry::axis_aligned(
            UVec3::new(2, 1, 1),
            DVec3::new(0.5, 0.5, 2.0),
            DVec3::new(1.0, 2.0, 3.0),
        )
        .unwrap();
        let v = Volume::new(g, Voxels::I16(vec![-1024, 300])).unwrap();
        let mut bytes = Vec::new();
        write(&v, &mut bytes).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("NRRD0004\n"));
        assert!(text.contains("sizes: 2 1 1\n"));
        assert!(text.contains("space directions: (0.5,0,0) (0,0.5,0) (0,0,2)\n"));
        assert!(text.contains("space origin: (1,2,3)\n"));
        let data = &bytes[bytes.len() - 4..];
        assert_eq!(data, [0x00, 0xFC, 0x2C, 0x01]);
        assert_eq!(&bytes[bytes.len() - 6..bytes.len() - 4], b"\n\n");
    }
}
