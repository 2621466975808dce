//! NIfTI-1 labelmaps (`.nii`, `.nii.gz`): written with the volume's grid
//! as an sform (and a qform where the axes are orthogonal), read back from
//! either, RAS converted to LPS.

use glam::{DMat3, DQuat, DVec3, UVec3};
use insitu_volume::Geometry;

use super::{Element, LabelFile, LabelFileError, gunzip, gzip};
use crate::Labelmap;

/// NIfTI-1's header size; the voxels follow at 352 (after 4 bytes of
/// "no extension").
const HEADER: usize = 348;
const VOX_OFFSET: usize = 352;
/// `NIFTI_INTENT_LABEL`: the voxels are labels, not intensities.
const INTENT_LABEL: i16 = 1002;
/// `NIFTI_XFORM_SCANNER_ANAT`: the transform gives scanner coordinates.
const XFORM_SCANNER: i16 = 1;
/// LPS ↔ RAS: x and y change sign.
const FLIP: DVec3 = DVec3::new(-1.0, -1.0, 1.0);

/// Writes `map` on `grid` as a gzipped NIfTI-1 of u8 labels.
pub(super) fn write(map: &Labelmap, grid: &Geometry) -> Vec<u8> {
    let mut h = vec![0u8; VOX_OFFSET];
    let put_i16 = |h: &mut [u8], at: usize, v: i16| h[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put_f32 = |h: &mut [u8], at: usize, v: f64| {
        h[at..at + 4].copy_from_slice(&(v as f32).to_le_bytes());
    };
    h[0..4].copy_from_slice(&(HEADER as i32).to_le_bytes());
    h[39] = b'r'; // regular: an Analyze leftover some readers still check
    let dims = map.dims();
    put_i16(&mut h, 40, 3);
    for (a, d) in dims.iter().enumerate() {
        put_i16(&mut h, 42 + 2 * a, *d as i16);
    }
    for a in 4..8 {
        put_i16(&mut h, 40 + 2 * a, 1);
    }
    put_i16(&mut h, 68, INTENT_LABEL);
    put_i16(&mut h, 70, 2); // DT_UINT8
    put_i16(&mut h, 72, 8); // bits per voxel
    let spacing = grid.spacing();
    let ras = grid.steps.map(|s| s * FLIP);
    let origin = grid.origin * FLIP;
    // The qform holds a rotation (and a sign for a left-handed grid): only
    // orthogonal axes fit it; a tilted stack has the sform alone.
    let rotation = DMat3::from_cols(ras[0] / spacing.x, ras[1] / spacing.y, ras[2] / spacing.z);
    let qfac = if rotation.determinant() < 0.0 {
        -1.0
    } else {
        1.0
    };
    let proper = DMat3::from_cols(rotation.x_axis, rotation.y_axis, rotation.z_axis * qfac);
    let orthogonal = (proper.transpose() * proper - DMat3::IDENTITY)
        .to_cols_array()
        .iter()
        .all(|v| v.abs() < 1e-4);
    put_f32(&mut h, 76, qfac);
    for a in 0..3 {
        put_f32(&mut h, 80 + 4 * a, spacing[a]);
    }
    put_f32(&mut h, 108, VOX_OFFSET as f64);
    put_f32(&mut h, 112, 1.0); // scl_slope
    h[123] = 2; // xyzt_units: mm
    let descrip = b"insitu labelmap";
    h[148..148 + descrip.len()].copy_from_slice(descrip);
    if orthogonal {
        put_i16(&mut h, 252, XFORM_SCANNER);
        let q = DQuat::from_mat3(&proper);
        // NIfTI stores b, c, d with a ≥ 0.
        let q = if q.w < 0.0 { -q } else { q };
        put_f32(&mut h, 256, q.x);
        put_f32(&mut h, 260, q.y);
        put_f32(&mut h, 264, q.z);
        put_f32(&mut h, 268, origin.x);
        put_f32(&mut h, 272, origin.y);
        put_f32(&mut h, 276, origin.z);
    }
    put_i16(&mut h, 254, XFORM_SCANNER);
    for row in 0..3 {
        for (col, step) in ras.iter().enumerate() {
            put_f32(&mut h, 280 + 16 * row + 4 * col, step[row]);
        }
        put_f32(&mut h, 280 + 16 * row + 12, origin[row]);
    }
    h[344..348].copy_from_slice(b"n+1\0");
    h.extend_from_slice(map.labels());
    gzip(&h)
}

/// Reads a NIfTI-1 labelmap, gzipped or not, either byte order.
pub(super) fn read(bytes: &[u8]) -> Result<LabelFile, LabelFileError> {
    let owned;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        owned = gunzip(bytes)?;
        &owned[..]
    } else {
        bytes
    };
    let header_err = |field, problem: &str| LabelFileError::Header {
        field,
        problem: problem.to_owned(),
    };
    if bytes.len() < HEADER {
        return Err(LabelFileError::Truncated {
            expected: HEADER,
            found: bytes.len(),
        });
    }
    let big_endian = match &bytes[0..4] {
        [0x5c, 0x01, 0, 0] => false,
        [0, 0, 0x01, 0x5c] => true,
        [0x1c, 0x02, 0, 0] | [0, 0, 0x02, 0x1c] => {
            return Err(LabelFileError::Unsupported(
                "NIfTI-2: save the labelmap as NIfTI-1".into(),
            ));
        }
        _ => return Err(header_err("sizeof_hdr", "not 348: not a NIfTI-1 file")),
    };
    if &bytes[344..347] != b"n+1" {
        return Err(LabelFileError::Unsupported(
            "a NIfTI header without its voxels (.hdr/.img pair): save one .nii file".into(),
        ));
    }
    let i16_at = |at: usize| {
        let b = [bytes[at], bytes[at + 1]];
        if big_endian {
            i16::from_be_bytes(b)
        } else {
            i16::from_le_bytes(b)
        }
    };
    let f32_at = |at: usize| {
        let b = bytes[at..at + 4].try_into().expect("four bytes");
        f64::from(if big_endian {
            f32::from_be_bytes(b)
        } else {
            f32::from_le_bytes(b)
        })
    };
    let rank = i16_at(40);
    let mut dims = [1u32; 7];
    for (a, d) in dims.iter_mut().enumerate() {
        *d = u32::try_from(i16_at(42 + 2 * a).max(1)).expect("clamped to 1 or more");
    }
    if !(3..=7).contains(&rank) || dims[3..].iter().any(|&d| d != 1) {
        return Err(LabelFileError::Unsupported(format!(
            "{rank}D NIfTI with sizes {dims:?}: a labelmap has 3 axes"
        )));
    }
    let element = match i16_at(70) {
        2 => Element::U8,
        4 => Element::I16,
        8 => Element::I32,
        16 => Element::F32,
        64 => Element::F64,
        256 => Element::I8,
        512 => Element::U16,
        768 => Element::U32,
        other => {
            return Err(LabelFileError::Unsupported(format!(
                "NIfTI datatype {other}"
            )));
        }
    };
    let grid = transform(&i16_at, &f32_at, [dims[0], dims[1], dims[2]])?;
    let offset = f32_at(108);
    if offset < HEADER as f64 || offset.fract() != 0.0 {
        return Err(header_err(
            "vox_offset",
            "not a whole byte offset past the header",
        ));
    }
    let (slope, inter) = (f32_at(112), f32_at(116));
    let scale = (slope != 0.0 && (slope, inter) != (1.0, 0.0)).then_some((slope, inter));
    let data = bytes.get(offset as usize..).unwrap_or(&[]);
    let labels = element.labels(data, grid.voxel_count(), big_endian, scale)?;
    Ok(LabelFile {
        grid,
        labels,
        segments: Vec::new(),
    })
}

/// The grid from the sform, else the qform (in LPS).
fn transform(
    i16_at: &impl Fn(usize) -> i16,
    f32_at: &impl Fn(usize) -> f64,
    dims: [u32; 3],
) -> Result<Geometry, LabelFileError> {
    let dims = UVec3::from_array(dims);
    let bad = |field, e: insitu_volume::GeometryError| LabelFileError::Header {
        field,
        problem: e.to_string(),
    };
    if i16_at(254) > 0 {
        let row = |r: usize| [0, 1, 2, 3].map(|c| f32_at(280 + 16 * r + 4 * c));
        let rows = [row(0), row(1), row(2)];
        let col = |c: usize| DVec3::new(rows[0][c], rows[1][c], rows[2][c]) * FLIP;
        return Geometry::new(dims, [col(0), col(1), col(2)], col(3))
            .map_err(|e| bad("srow_x/y/z", e));
    }
    if i16_at(252) > 0 {
        let (b, c, d) = (f32_at(256), f32_at(260), f32_at(264));
        let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
        let rotation = DMat3::from_quat(DQuat::from_xyzw(b, c, d, a));
        let qfac = if f32_at(76) < 0.0 { -1.0 } else { 1.0 };
        let spacing = DVec3::new(f32_at(80), f32_at(84), f32_at(88) * qfac);
        let origin = DVec3::new(f32_at(268), f32_at(272), f32_at(276));
        return Geometry::new(
            dims,
            [
                rotation.x_axis * spacing.x * FLIP,
                rotation.y_axis * spacing.y * FLIP,
                rotation.z_axis * spacing.z * FLIP,
            ],
            origin * FLIP,
        )
        .map_err(|e| bad("quatern_b/c/d", e));
    }
    Err(LabelFileError::Header {
        field: "sform_code/qform_code",
        problem: "both 0: the file does not say where its voxels are in patient space".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(grid: Geometry) {
        let n = grid.voxel_count();
        let labels: Vec<u8> = (0..n).map(|i| (i % 5) as u8).collect();
        let map = Labelmap::from_labels([grid.dims.x, grid.dims.y, grid.dims.z], labels).unwrap();
        let file = read(&write(&map, &grid)).unwrap();
        assert_eq!(file.labels, map.labels());
        for a in 0..3 {
            assert!((file.grid.steps[a] - grid.steps[a]).length() < 1e-5);
        }
        assert!((file.grid.origin - grid.origin).length() < 1e-4);
        assert_eq!(file.on_grid(&grid).unwrap().0, map);
    }

    #[test]
    fn oblique_tilted_and_left_handed_grids_round_trip() {
        let dims = UVec3::new(5, 4, 3);
        round_trip(
            Geometry::axis_aligned(
                dims,
                DVec3::new(0.7, 0.7, 2.5),
                DVec3::new(-120.0, 80.5, -33.0),
            )
            .unwrap(),
        );
        let r = glam::DMat3::from_euler(glam::EulerRot::XYZ, 0.3, -0.2, 0.5);
        round_trip(
            Geometry::new(
                dims,
                [r.x_axis * 0.5, r.y_axis * 0.6, r.z_axis * 1.5],
                DVec3::ONE,
            )
            .unwrap(),
        );
        // Slices stacked towards the feet: a left-handed grid (qfac −1).
        round_trip(
            Geometry::new(
                dims,
                [DVec3::X, DVec3::Y, DVec3::new(0.0, 0.0, -2.0)],
                DVec3::ZERO,
            )
            .unwrap(),
        );
        // Gantry tilt: sform only.
        round_trip(
            Geometry::new(
                dims,
                [DVec3::X, DVec3::Y, DVec3::new(0.0, 0.6, 1.9)],
                DVec3::ZERO,
            )
            .unwrap(),
        );
    }

    #[test]
    fn a_qform_only_file_reads_the_same_grid() {
        let grid = Geometry::new(
            UVec3::new(3, 3, 3),
            [DVec3::X * 0.8, DVec3::Y * 0.8, DVec3::new(0.0, 0.0, -1.5)],
            DVec3::new(10.0, 20.0, 30.0),
        )
        .unwrap();
        let map = Labelmap::new([3, 3, 3]);
        let mut bytes = gunzip(&write(&map, &grid)).unwrap();
        bytes[254..256].copy_from_slice(&0i16.to_le_bytes());
        let file = read(&bytes).unwrap();
        for a in 0..3 {
            assert!((file.grid.steps[a] - grid.steps[a]).length() < 1e-5, "{a}");
        }
        assert!((file.grid.origin - grid.origin).length() < 1e-4);
    }
}
