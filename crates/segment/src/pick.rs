//! Picking in 3D: the first voxel of a shown segment along a ray from the
//! camera through the clicked pixel, so a click on a surface selects its
//! segment (or keeps the piece clicked).

use glam::DVec3;
use insitu_volume::Volume;
use insitu_volume::reslice::{IndexMap, world_bounds};

use crate::Workbench;

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
    }
}
