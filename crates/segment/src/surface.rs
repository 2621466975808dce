//! A segment's surface: its mask is blurred a little (a Gaussian of one
//! voxel) and cut half way by marching cubes, so a mask of voxels prints
//! and shows as a smooth part, not a pile of voxel stairs; the same
//! extractor, clean-up and writers as an iso-surface.

use insitu_mesh::{MarchingOptions, Mesh, extract_surface};
use insitu_volume::{Volume, Voxels};

use crate::{CropBox, Labelmap};

/// Blur of the mask, in voxels (standard deviation).
const SIGMA: f64 = 1.0;

/// Voxels of margin around the segment's box. One is enough for the same
/// surface as an unbounded field: the mask is zero beyond the box, so every
/// blurred value inside the margin is exact, and one voxel outside a face
/// the field is at most a half-space's 0.30, below the cut at one half.
const MARGIN: u32 = 1;

/// The most voxels the blurred field may have (64 MB of f32): a segment
/// whose box is larger (a whole skeleton by threshold) is meshed on a
/// grid coarser by a whole factor, so a browser tab never holds a second
/// volume-sized buffer. A vertebra or a mandible fits many times over.
pub const MOST_FIELD_VOXELS: usize = 16 << 20;

/// The smooth surface of `label` inside `crop` on `volume`'s grid, in
/// patient mm; empty when the label has no voxel there.
pub fn segment_surface(volume: &Volume, map: &Labelmap, label: u8, crop: &CropBox) -> Mesh {
    let dims = map.dims();
    // Every voxel of the label inside the box lies in `inside`.
    let Some(inside) = map.bounds_in(label, crop) else {
        return Mesh::default();
    };
    let factor = coarsening(&inside);
    // With room for the blur (in voxels of the grid it runs on).
    let pad = MARGIN * factor;
    let region = CropBox {
        min: [0, 1, 2].map(|a| inside.min[a].saturating_sub(pad)),
        max: [0, 1, 2].map(|a| (inside.max[a] + pad).min(dims[a])),
    };
    let size = [0, 1, 2].map(|a| (region.max[a] - region.min[a]).div_ceil(factor) as usize);
    let mut field = if factor == 1 {
        mask_field(map, label, &inside, &region, size)
    } else {
        coarse_mask_field(map, label, &inside, &region, factor, size)
    };
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

/// 1 where `label` is, 0 elsewhere, on `region`'s voxels (the label lies
/// in `inside`, so only its rows are read, a row at a time).
fn mask_field(
    map: &Labelmap,
    label: u8,
    inside: &CropBox,
    region: &CropBox,
    size: [usize; 3],
) -> Vec<f32> {
    let mut field = vec![0f32; size.iter().product()];
    let width = (inside.max[0] - inside.min[0]) as usize;
    let x0 = (inside.min[0] - region.min[0]) as usize;
    for k in inside.min[2]..inside.max[2] {
        for j in inside.min[1]..inside.max[1] {
            let row = map.index([inside.min[0], j, k]);
            let labels = &map.labels()[row..row + width];
            let y = (j - region.min[1]) as usize;
            let z = (k - region.min[2]) as usize;
            let start = x0 + size[0] * (y + size[1] * z);
            for (v, &l) in field[start..start + width].iter_mut().zip(labels) {
                *v = f32::from(u8::from(l == label));
            }
        }
    }
    field
}

/// The fraction of each `factor`³ block of `region` that is `label`.
fn coarse_mask_field(
    map: &Labelmap,
    label: u8,
    inside: &CropBox,
    region: &CropBox,
    factor: u32,
    size: [usize; 3],
) -> Vec<f32> {
    let mut field = vec![0f32; size.iter().product()];
    let mut counts = vec![0u16; field.len()];
    let f = factor as usize;
    for k in region.min[2]..region.max[2] {
        let kk = (k - region.min[2]) as usize / f;
        for j in region.min[1]..region.max[1] {
            let jj = (j - region.min[1]) as usize / f;
            let row = map.index([0, j, k]);
            for i in region.min[0]..region.max[0] {
                let n = (i - region.min[0]) as usize / f + size[0] * (jj + size[1] * kk);
                let on = inside.contains([i, j, k]) && map.labels()[row + i as usize] == label;
                counts[n] += 1;
                field[n] += f32::from(u8::from(on));
            }
        }
    }
    for (v, c) in field.iter_mut().zip(&counts) {
        *v /= f32::from((*c).max(1));
    }
    field
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

/// The normalised Gaussian of [`SIGMA`] voxels, to three sigmas.
fn gaussian_kernel() -> Vec<f32> {
    let radius = (3.0 * SIGMA).ceil() as i32;
    let kernel: Vec<f64> = (-radius..=radius)
        .map(|x| (-f64::from(x * x) / (2.0 * SIGMA * SIGMA)).exp())
        .collect();
    let total: f64 = kernel.iter().sum();
    kernel.iter().map(|w| (w / total) as f32).collect()
}

/// `out[t] += w * src[t]` over whole slices: the one inner loop of the
/// blur, which the compiler vectorises.
fn add_weighted(out: &mut [f32], src: &[f32], w: f32) {
    for (o, s) in out.iter_mut().zip(src) {
        *o += w * s;
    }
}

/// A Gaussian blur of [`SIGMA`] voxels along each axis in turn. Every pass
/// adds whole shifted rows or planes (never a strided gather), and outside
/// the field counts as zero.
fn blur(field: &mut [f32], [nx, ny, nz]: [usize; 3]) {
    let kernel = gaussian_kernel();
    let r = kernel.len() / 2;
    // x: each row against shifted copies of itself.
    let mut line = vec![0f32; nx];
    for row in field.chunks_exact_mut(nx) {
        if row.iter().all(|&v| v == 0.0) {
            continue; // most rows of a part's box miss it
        }
        line.copy_from_slice(row);
        row.fill(0.0);
        for (t, &w) in kernel.iter().enumerate() {
            // out[i] += w * line[i + t - r] where both are inside the row.
            let (from, to) = (t.saturating_sub(r), (nx + t).saturating_sub(r).min(nx));
            let (start, end) = (r.saturating_sub(t), (nx + r).saturating_sub(t).min(nx));
            if from < to && start < end {
                add_weighted(&mut row[start..end], &line[from..to], w);
            }
        }
    }
    // y: within each slice, rows weighted together.
    let plane = nx * ny;
    let mut slice = vec![0f32; plane];
    for s in field.chunks_exact_mut(plane) {
        slice.copy_from_slice(s);
        for (j, out) in s.chunks_exact_mut(nx).enumerate() {
            out.fill(0.0);
            for (t, &w) in kernel.iter().enumerate() {
                if let Some(jj) = (j + t).checked_sub(r).filter(|&jj| jj < ny) {
                    add_weighted(out, &slice[jj * nx..(jj + 1) * nx], w);
                }
            }
        }
    }
    // z: planes weighted together; the `r` planes before k are kept as
    // they were before this pass wrote them.
    let mut before: std::collections::VecDeque<Vec<f32>> = std::collections::VecDeque::new();
    let mut out = vec![0f32; plane];
    for k in 0..nz {
        out.fill(0.0);
        for (t, &w) in kernel.iter().enumerate() {
            let Some(kk) = (k + t).checked_sub(r).filter(|&kk| kk < nz) else {
                continue;
            };
            let src = if kk < k {
                &before[before.len() - (k - kk)][..]
            } else {
                &field[kk * plane..(kk + 1) * plane]
            };
            add_weighted(&mut out, src, w);
        }
        let current = &mut field[k * plane..(k + 1) * plane];
        if r > 0 {
            let mut kept = if before.len() == r {
                before.pop_front().unwrap_or_default()
            } else {
                vec![0f32; plane]
            };
            kept.copy_from_slice(current);
            before.push_back(kept);
        }
        current.copy_from_slice(&out);
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
