//! Picking in 3D: the first voxel of a shown segment along a ray from the
//! camera through the clicked pixel, so a click on a surface selects its
//! segment (or keeps the piece clicked).

use glam::DVec3;
use insitu_volume::Volume;
use insitu_volume::reslice::{IndexMap, world_bounds};

use crate::{CropBox, Workbench};

/// The voxel nearest a patient-space point (true slice positions
/// honoured, as the 2D views are drawn), or `None` outside the grid.
pub fn voxel_at(volume: &Volume, world: DVec3) -> Option<[u32; 3]> {
    let ijk = IndexMap::new(volume).index_of(world).round();
    let d = volume.geometry().dims;
    (ijk.min_element() >= 0.0
        && ijk.x < f64::from(d.x)
        && ijk.y < f64::from(d.y)
        && ijk.z < f64::from(d.z))
    .then_some([ijk.x as u32, ijk.y as u32, ijk.z as u32])
}

/// The crop box drawn in 3D: its twelve edges as thin square bars (closed,
/// lit like any surface) around the voxels it holds, in patient mm.
pub fn crop_frame(volume: &Volume, crop: &CropBox) -> insitu_mesh::Mesh {
    let g = volume.geometry();
    // The box's outer faces lie half a voxel beyond its first and last
    // voxel centres.
    let corner = |c: [bool; 3]| {
        let at = DVec3::new(
            if c[0] {
                f64::from(crop.max[0])
            } else {
                f64::from(crop.min[0])
            } - 0.5,
            if c[1] {
                f64::from(crop.max[1])
            } else {
                f64::from(crop.min[1])
            } - 0.5,
            if c[2] {
                f64::from(crop.max[2])
            } else {
                f64::from(crop.min[2])
            } - 0.5,
        );
        insitu_volume::reslice::world_of_index(volume, at)
    };
    let half = (g.spacing().min_element() * 0.6).max(0.4) as f32;
    let mut mesh = insitu_mesh::Mesh::default();
    for axis in 0..3 {
        for (u, v) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut a = [false; 3];
            let mut b = [true; 3];
            let others: Vec<usize> = (0..3).filter(|&x| x != axis).collect();
            a[others[0]] = u;
            a[others[1]] = v;
            b[others[0]] = u;
            b[others[1]] = v;
            b[axis] = true;
            a[axis] = false;
            add_bar(&mut mesh, corner(a).as_vec3(), corner(b).as_vec3(), half);
        }
    }
    mesh
}

/// A closed square bar from `a` to `b`, `half` mm from its axis to each
/// side, extended by `half` at both ends so the corners close.
fn add_bar(mesh: &mut insitu_mesh::Mesh, a: glam::Vec3, b: glam::Vec3, half: f32) {
    use glam::Vec3;
    let along = (b - a).normalize_or(Vec3::Z);
    let side = along.any_orthonormal_vector();
    let up = along.cross(side);
    let (a, b) = (a - along * half, b + along * half);
    // Six faces, four vertices each (flat normals), two triangles each.
    let faces = [
        (side, up, along),
        (-side, -up, along),
        (up, -side, along),
        (-up, side, along),
    ];
    for (normal, across, _) in faces {
        let base = mesh.positions.len() as u32;
        let centre_offset = normal * half;
        for (end, s) in [(a, -1.0), (b, -1.0), (b, 1.0), (a, 1.0)] {
            mesh.positions.push(end + centre_offset + across * half * s);
            mesh.normals.push(normal);
        }
        mesh.triangles.push([base, base + 1, base + 2]);
        mesh.triangles.push([base, base + 2, base + 3]);
    }
    for (end, normal) in [(a, -along), (b, along)] {
        let base = mesh.positions.len() as u32;
        for (s, t) in [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)] {
            mesh.positions.push(end + side * half * s + up * half * t);
            mesh.normals.push(normal);
        }
        mesh.triangles.push([base, base + 1, base + 2]);
        mesh.triangles.push([base, base + 2, base + 3]);
    }
}

/// The label and voxel of the first shown segment the ray meets inside the
/// crop box, marching a quarter of the smallest voxel side at a time.
pub fn pick(
    volume: &Volume,
    bench: &Workbench,
    origin: DVec3,
    direction: DVec3,
) -> Option<(u8, [u32; 3])> {
    let direction = direction.try_normalize()?;
    let (low, high) = world_bounds(volume);
    // Where the ray is inside the volume's bounding box (slab method).
    let mut near = 0.0f64;
    let mut far = f64::INFINITY;
    for a in 0..3 {
        if direction[a].abs() < 1e-12 {
            if origin[a] < low[a] || origin[a] > high[a] {
                return None;
            }
            continue;
        }
        let (t0, t1) = (
            (low[a] - origin[a]) / direction[a],
            (high[a] - origin[a]) / direction[a],
        );
        near = near.max(t0.min(t1));
        far = far.min(t0.max(t1));
    }
    if near > far {
        return None;
    }
    let step = volume.geometry().spacing().min_element() / 4.0;
    let map = IndexMap::new(volume);
    let labels = bench.labelmap();
    let dims = labels.dims();
    let mut shown = [false; 256];
    for s in bench.table().segments().iter().filter(|s| s.visible) {
        shown[s.label as usize] = true;
    }
    let mut t = near;
    while t <= far + step {
        let ijk = map.index_of(origin + direction * t).round();
        if ijk.min_element() >= 0.0 {
            let v = [ijk.x as u32, ijk.y as u32, ijk.z as u32];
            if v.iter().zip(&dims).all(|(a, d)| a < d) && bench.crop().contains(v) {
                let label = labels.labels()[labels.index(v)];
                if shown[label as usize] {
                    return Some((label, v));
                }
            }
        }
        t += step;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Edit, ValueRange};
    use glam::UVec3;
    use insitu_volume::{Geometry, Voxels};

    #[test]
    fn the_ray_finds_the_nearer_of_two_segments() {
        let g = Geometry::axis_aligned(UVec3::splat(30), DVec3::ONE, DVec3::ZERO).unwrap();
        let mut v = vec![0i16; 27000];
        for k in 10..20 {
            for j in 10..20 {
                for i in 5..10 {
                    v[i + 30 * (j + 30 * k)] = 1000; // left block
                    v[(i + 15) + 30 * (j + 30 * k)] = 2000; // right block
                }
            }
        }
        let volume = Volume::new(g, Voxels::I16(v)).unwrap();
        let mut bench = Workbench::new(&volume);
        for range in [(500.0, 1500.0), (1500.0, 2500.0)] {
            bench.apply(&volume, Edit::Add { anatomy: None }).unwrap();
            let range = ValueRange {
                low: range.0,
                high: range.1,
            };
            bench.apply(&volume, Edit::Threshold { range }).unwrap();
        }
        let from_left = pick(&volume, &bench, DVec3::new(-50.0, 15.0, 15.0), DVec3::X);
        assert_eq!(from_left, Some((1, [5, 15, 15])));
        let from_right = pick(&volume, &bench, DVec3::new(80.0, 15.0, 15.0), -DVec3::X);
        assert_eq!(from_right, Some((2, [24, 15, 15])));
        bench
            .apply(
                &volume,
                Edit::Show {
                    label: 2,
                    visible: false,
                },
            )
            .unwrap();
        assert_eq!(
            pick(&volume, &bench, DVec3::new(80.0, 15.0, 15.0), -DVec3::X).map(|p| p.0),
            Some(1)
        );
        assert_eq!(
            pick(&volume, &bench, DVec3::new(80.0, 15.0, 15.0), DVec3::Y),
            None
        );
        assert_eq!(
            voxel_at(&volume, DVec3::new(7.2, 15.4, 14.6)),
            Some([7, 15, 15])
        );
        assert_eq!(voxel_at(&volume, DVec3::new(-3.0, 15.0, 15.0)), None);
    }

    #[test]
    fn the_crop_frame_surrounds_the_box() {
        let g = Geometry::axis_aligned(UVec3::splat(30), DVec3::splat(2.0), DVec3::ZERO).unwrap();
        let volume = Volume::new(g, Voxels::I16(vec![0; 27000])).unwrap();
        let crop = CropBox::from_corners([5, 6, 7], [9, 19, 29], [30; 3]);
        let frame = crop_frame(&volume, &crop);
        assert_eq!(frame.triangle_count(), 12 * 12);
        let (lo, hi) = frame.bounds().unwrap();
        // Faces of the box at 9..19, 11..39, 13..59 mm, bars 1.2 mm thick.
        let want_lo = glam::Vec3::new(9.0, 11.0, 13.0) - 1.2;
        let want_hi = glam::Vec3::new(19.0, 39.0, 59.0) + 1.2;
        assert!((lo - want_lo).abs().max_element() < 1e-4, "{lo}");
        assert!((hi - want_hi).abs().max_element() < 1e-4, "{hi}");
    }
}
