//! The built-in demo: a synthetic lumbar spine CT in HU, generated in Rust so
//! the app works with no files, offline, and with no patient data at all.
//!
//! Axial slices in LPS (+x patient left, +y posterior, +z superior): a body
//! ellipse of soft tissue in subcutaneous fat in air; vertebral bodies
//! (cortical shell, cancellous core, endplates) separated by discs; pedicles,
//! laminae, spinous and transverse processes; the spinal canal; aorta and IVC.
//! The spine follows a lordotic curve. Edges are anti-aliased over one voxel
//! so surfaces come out smooth, and a little deterministic noise is added.

use glam::{DVec3, UVec3};

use crate::{Geometry, Volume, Voxels};

/// Size and sampling of the demo phantom.
#[derive(Debug, Clone, Copy)]
pub struct PhantomSize {
    /// Columns and rows.
    pub matrix: u32,
    /// Slices.
    pub slices: u32,
    /// In-plane pixel size, mm.
    pub pixel_mm: f64,
    /// Slice spacing, mm.
    pub slice_mm: f64,
}

impl PhantomSize {
    /// What the app's "Open demo spine" loads: 320²×200 at 1.1 × 1.1 × 1 mm
    /// (40 MB of i16), six lumbar levels.
    pub const DEMO: Self = Self {
        matrix: 320,
        slices: 200,
        pixel_mm: 1.1,
        slice_mm: 1.0,
    };
}

/// Fraction of a voxel inside a shape whose signed distance (mm, negative
/// inside) is `d`: a one-voxel ramp instead of a hard staircase.
fn coverage(d: f64, voxel_mm: f64) -> f64 {
    (0.5 - d / voxel_mm).clamp(0.0, 1.0)
}

/// Approximate signed distance to an axis-aligned ellipse (mm).
fn ellipse(dx: f64, dy: f64, a: f64, b: f64) -> f64 {
    let r = ((dx / a).powi(2) + (dy / b).powi(2)).sqrt();
    (r - 1.0) * a.min(b)
}

/// Signed distance to an axis-aligned box centred at (cx, cy).
fn rectangle(x: f64, y: f64, cx: f64, cy: f64, half_w: f64, half_h: f64) -> f64 {
    ((x - cx).abs() - half_w).max((y - cy).abs() - half_h)
}

/// Deterministic noise in [-1, 1] from a voxel index (no RNG dependency).
fn noise(i: u32, j: u32, k: u32) -> f64 {
    let mut h =
        i.wrapping_mul(0x9E37_79B1) ^ j.wrapping_mul(0x85EB_CA77) ^ k.wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    f64::from(h & 0xFFFF) / 32767.5 - 1.0
}

/// Paints `value` over `current` with partial-volume `coverage`.
fn paint(current: &mut f64, value: f64, cover: f64) {
    *current += (value - *current) * cover;
}

/// One axial slice at height `z` mm, HU at (x, y) mm from the slice centre.
fn hu_at(x: f64, y: f64, z: f64, height: f64, voxel: f64) -> f64 {
    let mut v = -1000.0;
    paint(&mut v, -100.0, coverage(ellipse(x, y, 165.0, 115.0), voxel)); // fat
    paint(&mut v, 45.0, coverage(ellipse(x, y, 150.0, 100.0), voxel)); // muscle, organs
    paint(
        &mut v,
        40.0,
        coverage(ellipse(x + 18.0, y + 2.0, 12.0, 12.0), voxel),
    ); // aorta
    paint(
        &mut v,
        38.0,
        coverage(ellipse(x - 25.0, y, 13.0, 13.0), voxel),
    ); // IVC
    // The spine: lordotic curve, 25 mm bodies and 8 mm discs.
    let (period, body_height) = (33.0, 25.0);
    let cy = 35.0 - 14.0 * (std::f64::consts::PI * z / height).sin();
    let cx = 3.0 * (2.0 * std::f64::consts::PI * z / height).sin();
    let phase = (z + 5.0).rem_euclid(period);
    let (dx, dy) = (x - cx, y - cy);
    if phase < body_height {
        // Concave endplates: slightly narrower at both ends of the body.
        let shrink = 1.0 - 0.06 * (std::f64::consts::PI * phase / body_height).cos().powi(8);
        let outline = ellipse(dx, dy, 24.0 * shrink, 17.0 * shrink);
        let endplate = phase < 1.5 || phase > body_height - 1.5;
        paint(
            &mut v,
            if endplate { 900.0 } else { 1000.0 },
            coverage(outline, voxel),
        );
        if !endplate {
            paint(&mut v, 250.0, coverage(ellipse(dx, dy, 22.5, 15.5), voxel));
        }
    } else {
        paint(&mut v, 85.0, coverage(ellipse(dx, dy, 24.0, 17.0), voxel)); // annulus
        paint(&mut v, 70.0, coverage(ellipse(dx, dy, 12.0, 8.0), voxel)); // nucleus
    }
    let canal_y = cy + 28.0;
    if 3.0 < phase && phase < 19.0 {
        for side in [-1.0, 1.0] {
            let mid = (cy + 12.0 + canal_y + 2.0) / 2.0;
            let half = (canal_y + 2.0 - cy - 12.0) / 2.0;
            paint(
                &mut v,
                800.0,
                coverage(rectangle(dx, y, side * 13.0, mid, 4.5, half), voxel),
            );
        }
    }
    if 2.0 < phase && phase < 27.0 {
        // Lamina ring: the posterior half of a 17 mm disc around the canal.
        let ring = ellipse(dx, y - canal_y, 17.0, 17.0).max(canal_y - 2.0 - y);
        paint(&mut v, 850.0, coverage(ring, voxel));
    }
    if 10.0 < phase && phase < 31.0 {
        // Spinous process, sloping caudally.
        let off = (phase - 10.0) * 0.8;
        let (y0, y1) = (canal_y + 12.0 + off * 0.3, canal_y + 45.0 + off);
        let spinous = rectangle(dx, y, 0.0, (y0 + y1) / 2.0, 4.0, (y1 - y0) / 2.0);
        paint(&mut v, 900.0, coverage(spinous, voxel));
    }
    if 8.0 < phase && phase < 16.0 {
        let reach = 48.0 - 4.0 * (z / 30.0).sin().abs();
        let transverse = rectangle(
            dx.abs(),
            y,
            (14.0 + reach) / 2.0,
            canal_y - 6.0,
            (reach - 14.0) / 2.0,
            4.5,
        );
        paint(&mut v, 750.0, coverage(transverse, voxel));
    }
    paint(
        &mut v,
        15.0,
        coverage(ellipse(dx, y - canal_y, 10.5, 10.5), voxel),
    ); // CSF
    v
}

/// The demo spine as an i16 HU volume with axis-aligned LPS geometry,
/// centred on the origin in-plane and starting at z = 0.
pub fn demo_spine(size: PhantomSize) -> Volume {
    let n = size.matrix;
    let half = (f64::from(n) - 1.0) / 2.0 * size.pixel_mm;
    let geometry = Geometry::axis_aligned(
        UVec3::new(n, n, size.slices),
        DVec3::new(size.pixel_mm, size.pixel_mm, size.slice_mm),
        DVec3::new(-half, -half, 0.0),
    )
    .expect("the demo geometry is valid");
    let height = f64::from(size.slices) * size.slice_mm;
    let mut voxels = Vec::with_capacity(geometry.voxel_count());
    for k in 0..size.slices {
        let z = f64::from(k) * size.slice_mm;
        for j in 0..n {
            let y = f64::from(j) * size.pixel_mm - half;
            for i in 0..n {
                let x = f64::from(i) * size.pixel_mm - half;
                let hu = hu_at(x, y, z, height, size.pixel_mm) + 8.0 * noise(i, j, k);
                voxels.push(hu.round().clamp(-1024.0, 3071.0) as i16);
            }
        }
    }
    Volume::new(geometry, Voxels::I16(voxels)).expect("sizes match")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: PhantomSize = PhantomSize {
        matrix: 128,
        slices: 40,
        pixel_mm: 2.75,
        slice_mm: 2.5,
    };

    fn value_at(volume: &Volume, world: DVec3) -> f64 {
        let index = volume.geometry().index_of(world).round();
        f64::from(
            volume
                .value(index.x as u32, index.y as u32, index.z as u32)
                .expect("inside the grid"),
        )
    }

    #[test]
    fn anatomy_has_the_expected_densities() {
        let v = demo_spine(SMALL);
        assert_eq!(v.geometry().dims, UVec3::new(128, 128, 40));
        // Air at the corner, fat under the skin, soft tissue inside.
        assert!(value_at(&v, DVec3::new(-170.0, -170.0, 50.0)) < -950.0);
        assert!((value_at(&v, DVec3::new(158.0, 0.0, 50.0)) + 100.0).abs() < 30.0);
        assert!((value_at(&v, DVec3::new(-80.0, -60.0, 50.0)) - 45.0).abs() < 30.0);
        // Bone somewhere on every axial slice through a vertebral body.
        let bone = match v.voxels() {
            Voxels::I16(x) => x.iter().filter(|&&h| h >= 300).count(),
            Voxels::F32(_) => unreachable!(),
        };
        assert!(bone > 1000, "{bone} bone voxels");
    }

    #[test]
    fn it_is_deterministic() {
        assert!(demo_spine(SMALL).voxels() == demo_spine(SMALL).voxels());
    }
}
