//! Volume facts for display, computed where the volume lives so every shell
//! shares them: windowing HU into grey bytes, the first window a modality
//! opens in, and the grid that volume rendering samples.

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

/// Most texels per axis of the grid volume rendering samples, whatever the
/// device allows beyond: 2,048 is WebGPU's guaranteed 3D texture side.
pub const RENDER_MAX_SIDE: u32 = 2048;

/// Most texels of that grid: 2^27 half floats (256 MB of GPU memory), the
/// whole of a 512² × 512 CT; a whole-spine CT of 2,500 slices is sampled
/// at every second slice and pixel instead (block maxima: thin bone stays).
pub const RENDER_MAX_TEXELS: u64 = 1 << 27;

/// The grid volume rendering samples: the volume (or a box of it) at its
/// own resolution where that fits the device and [`RENDER_MAX_TEXELS`],
/// else block maxima over a few voxels per axis. Texels are the values
/// themselves (HU for CT) as 16-bit floats, filled a few slices at a time
/// so no volume-sized buffer is ever made in the caller's heap.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderGrid {
    /// Texels per axis.
    pub dims: [u32; 3],
    /// Voxels per axis of the box it samples.
    pub from_dims: [u32; 3],
    /// Texel centre → patient mm, column-major.
    pub voxel_to_world: [f64; 16],
    /// First voxel of the box.
    min: UVec3,
    /// Voxels per texel along each axis.
    stride: UVec3,
}

impl RenderGrid {
    /// The grid for `volume`, or for its box `part` (first voxel, one past
    /// the last: the crop box), at most `max_side` texels per axis.
    pub fn new(volume: &Volume, part: Option<([u32; 3], [u32; 3])>, max_side: u32) -> Self {
        Self::for_geometry(volume.geometry(), part, max_side)
    }

    /// The same grid from the volume's geometry alone.
    pub fn for_geometry(
        g: &crate::Geometry,
        part: Option<([u32; 3], [u32; 3])>,
        max_side: u32,
    ) -> Self {
        let d = g.dims;
        let (min, max) = match part {
            Some((min, max)) => {
                let max = UVec3::from(max).min(d);
                (UVec3::from(min).min(max.saturating_sub(UVec3::ONE)), max)
            }
            None => (UVec3::ZERO, d),
        };
        let size = (max - min).max(UVec3::ONE);
        let max_side = max_side.clamp(1, RENDER_MAX_SIDE);
        let mut stride = UVec3::new(
            size.x.div_ceil(max_side),
            size.y.div_ceil(max_side),
            size.z.div_ceil(max_side),
        )
        .max(UVec3::ONE);
        let texels = |s: UVec3| {
            let n = UVec3::new(
                size.x.div_ceil(s.x),
                size.y.div_ceil(s.y),
                size.z.div_ceil(s.z),
            );
            n.as_u64vec3().element_product()
        };
        // Coarsen the finest axis (in mm per texel) until the grid fits, so
        // the texels stay as near to cubes as the volume allows.
        let spacing = g.spacing();
        while texels(stride) > RENDER_MAX_TEXELS {
            let mm = spacing * stride.as_dvec3();
            let axis = if mm.x <= mm.y && mm.x <= mm.z {
                0
            } else if mm.y <= mm.z {
                1
            } else {
                2
            };
            stride[axis] += 1;
        }
        let out = UVec3::new(
            size.x.div_ceil(stride.x),
            size.y.div_ceil(stride.y),
            size.z.div_ceil(stride.z),
        );
        // Texel i covers voxels min + s·i .. min + s·i + s − 1.
        let s = stride.as_dvec3();
        let to_original =
            DMat4::from_translation(min.as_dvec3() + (s - 1.0) / 2.0) * DMat4::from_scale(s);
        Self {
            dims: out.to_array(),
            from_dims: size.to_array(),
            voxel_to_world: (g.voxel_to_world() * to_original).to_cols_array(),
            min,
            stride,
        }
    }

    /// Texels in one slice of the grid.
    pub fn slice_texels(&self) -> usize {
        self.dims[0] as usize * self.dims[1] as usize
    }

    /// Fills `out` (whole texel slices from `first_slice` on, x fastest)
    /// with the 16-bit float bits of each texel's block maximum.
    pub fn fill(&self, volume: &Volume, first_slice: u32, out: &mut [u16]) {
        match volume.voxels() {
            Voxels::I16(v) => {
                // Every i16 value's half float, once: a table lookup per
                // voxel instead of a conversion.
                let table: Vec<u16> = (i16::MIN..=i16::MAX).map(|x| f16_bits(x.into())).collect();
                self.fill_with(v, volume, first_slice, out, |x: i16| {
                    table[(i32::from(x) - i32::from(i16::MIN)) as usize]
                });
            }
            Voxels::F32(v) => self.fill_with(v, volume, first_slice, out, f16_bits),
        }
    }

    fn fill_with<T: Copy + PartialOrd>(
        &self,
        data: &[T],
        volume: &Volume,
        first_slice: u32,
        out: &mut [u16],
        bits: impl Fn(T) -> u16,
    ) {
        let d = volume.geometry().dims;
        let (nx, ny) = (d.x as usize, d.y as usize);
        let [ox, oy, _] = self.dims;
        let s = self.stride;
        let end = self.min + UVec3::from(self.from_dims);
        for (n, slice) in out.chunks_exact_mut(self.slice_texels()).enumerate() {
            let k = first_slice + n as u32;
            let z = self.min.z + k * s.z;
            for j in 0..oy {
                let y = self.min.y + j * s.y;
                let row = &mut slice[(j * ox) as usize..((j + 1) * ox) as usize];
                if s == UVec3::ONE {
                    let at = (z as usize * ny + y as usize) * nx + self.min.x as usize;
                    for (texel, &value) in row.iter_mut().zip(&data[at..at + ox as usize]) {
                        *texel = bits(value);
                    }
                    continue;
                }
                for (i, texel) in row.iter_mut().enumerate() {
                    let x = self.min.x + i as u32 * s.x;
                    let mut max = None::<T>;
                    for zz in z..(z + s.z).min(end.z) {
                        for yy in y..(y + s.y).min(end.y) {
                            let at = (zz as usize * ny + yy as usize) * nx;
                            for &value in &data[at + x as usize..at + (x + s.x).min(end.x) as usize]
                            {
                                if max.is_none_or(|m| value > m) {
                                    max = Some(value);
                                }
                            }
                        }
                    }
                    *texel = max.map_or(0, &bits);
                }
            }
        }
    }
}

/// The value of half-float `bits` (what a texel holds).
pub fn f16_value(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// The IEEE half-float bits nearest `value` (clamped to ±65,504: beyond any
/// CT or MR value).
pub fn f16_bits(value: f32) -> u16 {
    half::f16::from_f32(value.clamp(-65504.0, 65504.0)).to_bits()
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
    fn the_render_grid_keeps_thin_bone_and_its_place() {
        let volume = demo_spine(PhantomSize {
            matrix: 96,
            slices: 60,
            pixel_mm: 3.6,
            slice_mm: 3.3,
        });
        let grid = RenderGrid::new(&volume, None, 32);
        assert_eq!(grid.dims, [32, 32, 30]);
        let mut texels = vec![0u16; grid.slice_texels() * 30];
        grid.fill(&volume, 0, &mut texels);
        let bone = f16_bits(600.0);
        assert!(
            texels.iter().any(|&t| t < 0x8000 && t >= bone),
            "bone kept by block maxima"
        );
        // The grid spans the same patient box: its last texel's centre sits
        // within one original voxel of the volume's last.
        let m = DMat4::from_cols_array(&grid.voxel_to_world);
        let last = m.transform_point3(glam::DVec3::new(31.0, 31.0, 29.0));
        let g = volume.geometry();
        let original = g.world_of(glam::DVec3::new(95.0, 95.0, 59.0));
        assert!(
            (last - original).length() < g.spacing().length(),
            "{last} vs {original}"
        );
    }

    #[test]
    fn at_full_resolution_texels_are_the_voxels_and_a_box_keeps_its_place() {
        let volume = demo_spine(PhantomSize {
            matrix: 64,
            slices: 40,
            pixel_mm: 4.0,
            slice_mm: 4.0,
        });
        let grid = RenderGrid::new(&volume, Some(([10, 12, 5], [40, 50, 30])), 2048);
        assert_eq!(grid.dims, [30, 38, 25]);
        assert_eq!(grid.from_dims, [30, 38, 25]);
        let mut texels = vec![0u16; grid.slice_texels() * 2];
        grid.fill(&volume, 3, &mut texels);
        let Voxels::I16(v) = volume.voxels() else {
            panic!("the phantom is i16")
        };
        // Texel (i, j, 3 + k) is voxel (10 + i, 12 + j, 8 + k), as a half float.
        for (k, j, i) in [(0u32, 0u32, 0u32), (1, 20, 17), (1, 37, 29)] {
            let voxel = v[volume.index(10 + i, 12 + j, 8 + k).unwrap()];
            let texel = texels[(k * 38 * 30 + j * 30 + i) as usize];
            assert_eq!(texel, f16_bits(f32::from(voxel)), "({i}, {j}, {k})");
        }
        let m = DMat4::from_cols_array(&grid.voxel_to_world);
        let g = volume.geometry();
        let here = m.transform_point3(glam::DVec3::new(5.0, 6.0, 7.0));
        let there = g.world_of(glam::DVec3::new(15.0, 18.0, 12.0));
        assert!((here - there).length() < 1e-9);
    }

    #[test]
    fn a_grid_beyond_the_texel_budget_is_coarsened_along_its_finest_axis() {
        let g = crate::Geometry::axis_aligned(
            UVec3::new(512, 512, 2500),
            glam::DVec3::new(0.7, 0.7, 0.5),
            glam::DVec3::ZERO,
        )
        .unwrap();
        // No 1.3 GB volume needed: the grid only reads the geometry.
        let grid = RenderGrid::for_geometry(&g, None, 2048);
        // z (0.5 mm) is halved first, then x and y (0.7 mm, finer than z's
        // 1 mm by then): 82 M texels of 1.4 × 1.4 × 1 mm.
        assert_eq!(grid.dims, [256, 256, 1250]);
        assert_eq!(grid.from_dims, [512, 512, 2500]);
    }
}
