//! A segment's surface: its mask is blurred a little (a Gaussian of one
//! voxel) and cut half way by marching cubes, so a mask of voxels prints
//! and shows as a smooth part, not a pile of voxel stairs; the same
//! extractor, clean-up and writers as an iso-surface.

use insitu_mesh::{MarchingOptions, Mesh, extract_surface};
use insitu_volume::{Volume, Voxels};

use crate::{CropBox, Labelmap};

/// Blur of the mask, in voxels (standard deviation).
const SIGMA: f64 = 1.0;

/// Voxels of margin around the segment: the blur's reach.
const MARGIN: u32 = 3;

/// The most voxels the blurred field may have (64 MB of f32): a segment
/// whose box is larger (a whole skeleton by threshold) is meshed on a
/// grid coarser by a whole factor, so a browser tab never holds a second
/// volume-sized buffer. A vertebra or a mandible fits many times over.
pub const MOST_FIELD_VOXELS: usize = 16 << 20;

/// The smooth surface of `label` inside `crop` on `volume`'s grid, in
/// patient mm; empty when the label has no voxel there.
pub fn segment_surface(volume: &Volume, map: &Labelmap, label: u8, crop: &CropBox) -> Mesh {
    let dims = map.dims();
    let Some(bounds) = map.bounds(label) else {
        return Mesh::default();
    };
    let inside = CropBox {
        min: [0, 1, 2].map(|a| bounds.min[a].max(crop.min[a])),
        max: [0, 1, 2].map(|a| bounds.max[a].min(crop.max[a])),
    };
    if inside.is_empty() {
        return Mesh::default();
    }
    let factor = coarsening(&inside);
    // With room for the blur (in voxels of the grid it runs on).
    let pad = MARGIN * factor;
    let region = CropBox {
        min: [0, 1, 2].map(|a| inside.min[a].saturating_sub(pad)),
        max: [0, 1, 2].map(|a| (inside.max[a] + pad).min(dims[a])),
    };
    let size = [0, 1, 2].map(|a| (region.max[a] - region.min[a]).div_ceil(factor) as usize);
    let mut field = vec![0f32; size.iter().product()];
    let f = factor as usize;
    let mut counts = vec![0u16; if f > 1 { field.len() } else { 0 }];
    for k in region.min[2]..region.max[2] {
        let kk = (k - region.min[2]) as usize / f;
        for j in region.min[1]..region.max[1] {
            let jj = (j - region.min[1]) as usize / f;
            let row = map.index([0, j, k]);
            for i in region.min[0]..region.max[0] {
                let n = (i - region.min[0]) as usize / f + size[0] * (jj + size[1] * kk);
                let on = crop.contains([i, j, k]) && map.labels()[row + i as usize] == label;
                if f > 1 {
                    counts[n] += 1;
                    field[n] += f32::from(u8::from(on));
                } else if on {
                    field[n] = 1.0;
                }
            }
        }
    }
    // A coarse voxel holds the fraction of its voxels in the segment.
    for (v, c) in field.iter_mut().zip(&counts) {
        *v /= f32::from((*c).max(1));
    }
    blur(&mut field, size);
    let sub = if factor == 1 {
        volume.sub_grid(region.min, region.max, Voxels::F32(field))
    } else {
        coarse_grid(volume, &region, factor, size, field)
    };
    let Ok(sub) = sub else {
        return Mesh::default();
    };
    extract_surface(
        &sub,
        MarchingOptions {
            iso: 0.5,
            close_borders: true,
        },
    )
}

/// The whole factor by which `inside` must be coarsened to fit
/// [`MOST_FIELD_VOXELS`] (1: not at all).
fn coarsening(inside: &CropBox) -> u32 {
    let padded: usize = (0..3)
        .map(|a| (inside.max[a] - inside.min[a] + 2 * MARGIN) as usize)
        .product();
    let mut factor = 1u32;
    while padded / (factor as usize).pow(3) > MOST_FIELD_VOXELS {
        factor += 1;
    }
    factor
}

/// The coarse field on a grid `factor` times coarser than `volume`'s,
/// each coarse voxel centred on the block of voxels it stands for.
fn coarse_grid(
    volume: &Volume,
    region: &CropBox,
    factor: u32,
    size: [usize; 3],
    field: Vec<f32>,
) -> Result<Volume, insitu_volume::VolumeError> {
    let g = volume.geometry();
    let centre = (f64::from(factor) - 1.0) / 2.0;
    let first = glam::DVec3::new(
        f64::from(region.min[0]) + centre,
        f64::from(region.min[1]) + centre,
        f64::from(region.min[2]) + centre,
    );
    let geometry = insitu_volume::Geometry::new(
        glam::UVec3::new(size[0] as u32, size[1] as u32, size[2] as u32),
        g.steps.map(|s| s * f64::from(factor)),
        g.world_of(first),
    )?;
    Volume::new(geometry, Voxels::F32(field))
}

/// A Gaussian blur of [`SIGMA`] voxels along each axis in turn.
fn blur(field: &mut [f32], size: [usize; 3]) {
    let radius = (3.0 * SIGMA).ceil() as isize;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|x| (-(x * x) as f64 / (2.0 * SIGMA * SIGMA)).exp() as f32)
        .collect();
    let total: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|w| w / total).collect();
    let stride = [1, size[0], size[0] * size[1]];
    let mut line = Vec::new();
    for axis in 0..3 {
        let (a, b) = match axis {
            0 => (1, 2),
            1 => (0, 2),
            _ => (0, 1),
        };
        for q in 0..size[b] {
            for p in 0..size[a] {
                let start = p * stride[a] + q * stride[b];
                line.clear();
                line.extend((0..size[axis]).map(|t| field[start + t * stride[axis]]));
                for t in 0..size[axis] {
                    let mut sum = 0.0;
                    for (w, offset) in kernel.iter().zip(-radius..=radius) {
                        let s = t as isize + offset;
                        if (0..size[axis] as isize).contains(&s) {
                            sum += w * line[s as usize];
                        }
                    }
                    field[start + t * stride[axis]] = sum;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::{DVec3, UVec3};
    use insitu_mesh::topology;
    use insitu_volume::Geometry;

    #[test]
    fn a_sphere_mask_gives_a_smooth_sphere() {
        // A 20-voxel-radius ball of voxels (1 mm), off the grid's centre.
        let (n, r) = (56u32, 20.0f64);
        let centre = DVec3::new(27.3, 28.1, 26.6);
        let g = Geometry::axis_aligned(UVec3::splat(n), DVec3::ONE, DVec3::new(-5.0, 3.0, 7.0))
            .unwrap();
        let volume = Volume::new(g, Voxels::I16(vec![0; (n * n * n) as usize])).unwrap();
        let mut labels = vec![0u8; (n * n * n) as usize];
        for k in 0..n {
            for j in 0..n {
                for i in 0..n {
                    let p = DVec3::new(i.into(), j.into(), k.into());
                    if (p - centre).length() <= r {
                        labels[(i + n * (j + n * k)) as usize] = 3;
                    }
                }
            }
        }
        let map = Labelmap::from_labels([n; 3], labels).unwrap();
        let mesh = segment_surface(&volume, &map, 3, &CropBox::whole([n; 3]));
        assert!(topology(&mesh).is_watertight());
        let area = mesh.area();
        let volume_mm3 = mesh.enclosed_volume();
        let (want_area, want_volume) = (
            4.0 * std::f64::consts::PI * r * r,
            4.0 / 3.0 * std::f64::consts::PI * r * r * r,
        );
        let area_error = (area - want_area).abs() / want_area;
        let volume_error = (volume_mm3 - want_volume).abs() / want_volume;
        eprintln!(
            "sphere mask: area {:.2}% off, volume {:.2}% off, {} triangles",
            area_error * 100.0,
            volume_error * 100.0,
            mesh.triangle_count()
        );
        assert!(area_error < 0.03, "area {area:.0} vs {want_area:.0}");
        assert!(
            volume_error < 0.03,
            "volume {volume_mm3:.0} vs {want_volume:.0}"
        );
        // In patient space: the centre sits at origin + centre (1 mm voxels).
        let (lo, hi) = mesh.bounds().unwrap();
        let mid = (lo + hi).as_dvec3() / 2.0;
        assert!(
            (mid - (DVec3::new(-5.0, 3.0, 7.0) + centre)).length() < 0.5,
            "{mid}"
        );
    }

    #[test]
    fn a_segment_larger_than_the_field_limit_is_meshed_coarser_in_place() {
        // A 400 × 300 × 160 slab of 0.5 mm voxels (19 M voxels: over the
        // limit) labelled whole: meshed on a grid twice as coarse, closed,
        // and still where the slab is.
        let dims = [400u32, 300, 160];
        let n: usize = dims.iter().map(|&d| d as usize).product();
        let g = Geometry::axis_aligned(
            UVec3::from(dims),
            DVec3::splat(0.5),
            DVec3::new(10.0, 20.0, 30.0),
        )
        .unwrap();
        let volume = Volume::new(g, Voxels::I16(vec![0; n])).unwrap();
        let map = Labelmap::from_labels(dims, vec![2; n]).unwrap();
        assert_eq!(coarsening(&map.bounds(2).unwrap()), 2);
        let mesh = segment_surface(&volume, &map, 2, &CropBox::whole(dims));
        assert!(topology(&mesh).is_watertight());
        let (lo, hi) = mesh.bounds().unwrap();
        let (want_lo, want_hi) = (
            DVec3::new(10.0, 20.0, 30.0),
            DVec3::new(209.5, 169.5, 109.5),
        );
        assert!((lo.as_dvec3() - want_lo).abs().max_element() < 1.0, "{lo}");
        assert!((hi.as_dvec3() - want_hi).abs().max_element() < 1.0, "{hi}");
    }

    #[test]
    fn the_crop_box_cuts_the_surface_and_closes_it() {
        let n = 30u32;
        let g = Geometry::axis_aligned(UVec3::splat(n), DVec3::ONE, DVec3::ZERO).unwrap();
        let volume = Volume::new(g, Voxels::I16(vec![0; (n * n * n) as usize])).unwrap();
        let map = Labelmap::from_labels([n; 3], vec![1; (n * n * n) as usize]).unwrap();
        let crop = CropBox::from_corners([5, 5, 5], [14, 14, 14], [n; 3]);
        let mesh = segment_surface(&volume, &map, 1, &crop);
        assert!(topology(&mesh).is_watertight());
        let (lo, hi) = mesh.bounds().unwrap();
        assert!(
            lo.min_element() > 3.5 && hi.max_element() < 15.5,
            "{lo} {hi}"
        );
        assert!(
            segment_surface(&volume, &map, 9, &crop)
                .triangles
                .is_empty()
        );
    }
}
