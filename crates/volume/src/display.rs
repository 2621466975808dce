//! Volume facts for display, computed where the volume lives so every shell
//! shares them: windowing HU into grey bytes, the first window a modality
//! opens in, and the reduced 8-bit copy that volume rendering ray-casts.

use glam::{DMat4, UVec3};

use crate::{Modality, Volume, Voxels};

/// A named window (width, centre) in HU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    /// Shown in the menu.
    pub name: &'static str,
    /// Window width.
    pub window: f64,
    /// Window centre.
    pub level: f64,
}

/// Standard CT windows.
pub const PRESETS: [Preset; 4] = [
    Preset {
        name: "Bone",
        window: 2000.0,
        level: 400.0,
    },
    Preset {
        name: "Soft tissue",
        window: 400.0,
        level: 40.0,
    },
    Preset {
        name: "Lung",
        window: 1500.0,
        level: -600.0,
    },
    Preset {
        name: "Brain",
        window: 80.0,
        level: 40.0,
    },
];

/// Writes RGBA for `values` (NaN: outside the volume, drawn black) with a
/// linear window.
pub fn to_rgba(values: &[f32], window: f64, level: f64, out: &mut [u8]) {
    let low = (level - window / 2.0) as f32;
    let scale = (255.0 / window.max(1e-6)) as f32;
    for (v, px) in values.iter().zip(out.chunks_exact_mut(4)) {
        let g = if v.is_nan() {
            0
        } else {
            ((v - low) * scale).clamp(0.0, 255.0) as u8
        };
        px.copy_from_slice(&[g, g, g, 255]);
    }
}

/// A sensible first window for a modality and value range: soft tissue for
/// CT, the full range otherwise.
pub fn initial_window(modality: Modality, (min, max): (f32, f32)) -> (f64, f64) {
    if modality == Modality::Ct {
        (PRESETS[1].window, PRESETS[1].level)
    } else {
        let (min, max) = (f64::from(min), f64::from(max));
        ((max - min).max(1.0), (max + min) / 2.0)
    }
}

/// HU stored as 0..255: (HU + 1024) / 16, so −1024..3056 HU; the volume
/// renderer's shader maps bytes back with the same formula.
pub fn hu_to_byte(hu: f32) -> u8 {
    ((hu + 1024.0) / 16.0).round().clamp(0.0, 255.0) as u8
}

/// Most voxels per axis of the copy volume rendering draws: 256³ bytes
/// (16 MB) fit every WebGPU and WebGL2 device's 3D texture limits (2048
/// and 256 per side at least) and stay interactive on integrated GPUs; the
/// 2D views read the volume itself, so they keep every voxel.
pub const RENDER_MAX_SIDE: u32 = 256;

/// The volume reduced for volume rendering: one byte per voxel
/// ([`hu_to_byte`]), at most a given number of voxels per axis.
#[derive(Debug, Clone, PartialEq)]
pub struct ReducedVolume {
    /// Voxels per axis.
    pub dims: [u32; 3],
    /// Voxels per axis of the volume it was reduced from.
    pub from_dims: [u32; 3],
    /// Reduced voxel centre → patient mm, column-major.
    pub voxel_to_world: [f64; 16],
    /// One byte per voxel, x fastest.
    pub bytes: Vec<u8>,
}

/// `volume` reduced to at most `max_dim` voxels per axis by block maxima,
/// so thin bone survives the reduction.
pub fn reduced_for_rendering(volume: &Volume, max_dim: u32) -> ReducedVolume {
    let g = volume.geometry();
    let d = g.dims;
    let max_dim = max_dim.max(1);
    let stride = UVec3::new(
        d.x.div_ceil(max_dim),
        d.y.div_ceil(max_dim),
        d.z.div_ceil(max_dim),
    )
    .max(UVec3::ONE);
    let out = UVec3::new(
        d.x.div_ceil(stride.x),
        d.y.div_ceil(stride.y),
        d.z.div_ceil(stride.z),
    );
    let bytes = match volume.voxels() {
        Voxels::I16(v) => block_maxima(v, d, stride, out),
        Voxels::F32(v) => block_maxima(v, d, stride, out),
    };
    // Reduced voxel i' covers original voxels s·i' .. s·i' + s − 1.
    let s = stride.as_dvec3();
    let to_original = DMat4::from_translation((s - 1.0) / 2.0) * DMat4::from_scale(s);
    ReducedVolume {
        dims: out.to_array(),
        from_dims: d.to_array(),
        voxel_to_world: (g.voxel_to_world() * to_original).to_cols_array(),
        bytes,
    }
}

/// Maximum of each `stride` block of a `dims` grid, as bytes.
fn block_maxima<T: Copy + Into<f32>>(
    data: &[T],
    dims: UVec3,
    stride: UVec3,
    out: UVec3,
) -> Vec<u8> {
    let mut bytes = vec![0u8; (out.x * out.y * out.z) as usize];
    let (nx, ny) = (dims.x as usize, dims.y as usize);
    for k in 0..out.z {
        for j in 0..out.y {
            for i in 0..out.x {
                let mut max = f32::MIN;
                for kk in k * stride.z..((k + 1) * stride.z).min(dims.z) {
                    for jj in j * stride.y..((j + 1) * stride.y).min(dims.y) {
                        let row = (kk as usize * ny + jj as usize) * nx;
                        for ii in i * stride.x..((i + 1) * stride.x).min(dims.x) {
                            max = max.max(data[row + ii as usize].into());
                        }
                    }
                }
                bytes[((k * out.y + j) * out.x + i) as usize] = hu_to_byte(max);
            }
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phantom::{PhantomSize, demo_spine};

    #[test]
    fn window_maps_its_ends_to_black_and_white() {
        let mut out = [0u8; 16];
        to_rgba(&[-160.0, 240.0, 40.0, f32::NAN], 400.0, 40.0, &mut out);
        assert_eq!(&out[0..4], &[0, 0, 0, 255]);
        assert_eq!(&out[4..8], &[255, 255, 255, 255]);
        assert_eq!(out[8], 127);
        assert_eq!(&out[12..16], &[0, 0, 0, 255]);
    }

    #[test]
    fn ct_opens_in_soft_tissue_and_mr_in_its_range() {
        assert_eq!(
            initial_window(Modality::Ct, (-1024.0, 3000.0)),
            (400.0, 40.0)
        );
        assert_eq!(initial_window(Modality::Mr, (0.0, 1000.0)), (1000.0, 500.0));
    }

    #[test]
    fn bytes_cover_air_to_dense_bone() {
        assert_eq!(hu_to_byte(-1024.0), 0);
        assert_eq!(hu_to_byte(-5000.0), 0);
        assert_eq!(hu_to_byte(3056.0), 255);
        assert_eq!(hu_to_byte(0.0), 64);
    }

    #[test]
    fn the_reduced_copy_keeps_thin_bone_and_its_place() {
        let volume = demo_spine(PhantomSize {
            matrix: 96,
            slices: 60,
            pixel_mm: 3.6,
            slice_mm: 3.3,
        });
        let reduced = reduced_for_rendering(&volume, 32);
        assert_eq!(reduced.dims, [32, 32, 30]);
        assert_eq!(reduced.bytes.len(), 32 * 32 * 30);
        assert!(
            reduced.bytes.iter().any(|&b| b >= hu_to_byte(600.0)),
            "bone kept by block maxima"
        );
        // The reduced grid spans the same patient box: its last voxel's
        // centre sits within one original voxel of the volume's last.
        let m = DMat4::from_cols_array(&reduced.voxel_to_world);
        let last = m.transform_point3(glam::DVec3::new(31.0, 31.0, 29.0));
        let g = volume.geometry();
        let original = g.world_of(glam::DVec3::new(95.0, 95.0, 59.0));
        assert!(
            (last - original).length() < g.spacing().length(),
            "{last} vs {original}"
        );
        // Small volumes are not enlarged.
        assert_eq!(reduced_for_rendering(&volume, 256).dims, [96, 96, 60]);
    }
}
