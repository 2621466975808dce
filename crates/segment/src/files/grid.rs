//! Whether a labelmap file's grid is the series' grid: the same voxel
//! centres, possibly fewer of them (a crop) or visited in another axis
//! order or direction (a NIfTI reoriented to RAS). Anything else would
//! need resampling, which would silently move a segment's boundary, so it
//! is refused with both grids in the message.

use std::fmt;

use glam::DVec3;
use insitu_volume::Geometry;

use crate::Labelmap;

/// Voxel centres may differ by this fraction of the smallest voxel side.
const TOLERANCE: f64 = 0.1;

/// A labelmap's grid that is not the series'.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct GridMismatch {
    /// The labelmap file's grid (LPS).
    pub file: Geometry,
    /// The series' grid (LPS).
    pub series: Geometry,
    /// What differs.
    pub reason: MismatchReason,
}

/// How two grids differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MismatchReason {
    /// An axis of the file has no parallel series axis of the same step.
    Axes,
    /// The file's voxel centres fall between the series'.
    Offset,
    /// The file reaches past the series.
    Extent,
}

impl fmt::Display for GridMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            MismatchReason::Axes => "its voxel axes or spacing differ",
            MismatchReason::Offset => "its voxel centres fall between the series' voxels",
            MismatchReason::Extent => "it reaches beyond the series",
        };
        write!(
            f,
            "the labelmap is not on the series' grid ({why})\n  labelmap: {}\n  series:   {}",
            Described(&self.file),
            Described(&self.series)
        )
    }
}

/// A grid as a user reads it: size, spacing, origin, axes.
struct Described<'a>(&'a Geometry);

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.0;
        let s = g.spacing();
        // Rounding noise must not print as "-0.0000".
        let tidy = |x: f64| if x.abs() < 5e-5 { 0.0 } else { x };
        let v = |d: DVec3| format!("({:.4}, {:.4}, {:.4})", tidy(d.x), tidy(d.y), tidy(d.z));
        let [a, b, c] = g.directions();
        write!(
            f,
            "{}×{}×{} voxels of {:.4}×{:.4}×{:.4} mm, origin {} mm LPS, axes {} {} {}",
            g.dims.x,
            g.dims.y,
            g.dims.z,
            s.x,
            s.y,
            s.z,
            v(g.origin),
            v(a),
            v(b),
            v(c)
        )
    }
}

/// Where the file's voxels go on the series' grid: file axis `a` runs
/// along series axis `axis[a]`, forwards or backwards (`sign[a]`), from
/// series voxel `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Placement {
    axis: [usize; 3],
    sign: [i64; 3],
    start: [i64; 3],
    dims: [u32; 3],
}

/// Finds how `file` lies on `series`, or why it does not.
pub(super) fn place(file: &Geometry, series: &Geometry) -> Result<Placement, Box<GridMismatch>> {
    let mismatch = |reason| {
        Box::new(GridMismatch {
            file: *file,
            series: *series,
            reason,
        })
    };
    let smallest = series.spacing().min_element();
    let mut axis = [usize::MAX; 3];
    let mut sign = [0i64; 3];
    for a in 0..3 {
        let found = (0..3).flat_map(|b| [(b, 1i64), (b, -1)]).find(|&(b, s)| {
            (file.steps[a] - series.steps[b] * s as f64).length()
                <= TOLERANCE * 0.1 * series.steps[b].length()
        });
        let (b, s) = found.ok_or(mismatch(MismatchReason::Axes))?;
        if axis[..a].contains(&b) {
            return Err(mismatch(MismatchReason::Axes));
        }
        axis[a] = b;
        sign[a] = s;
    }
    let at = series.index_of(file.origin);
    let rounded = at.round();
    if (at - rounded).abs().max_element() > TOLERANCE {
        return Err(mismatch(MismatchReason::Offset));
    }
    let start = [rounded.x as i64, rounded.y as i64, rounded.z as i64];
    let dims = [file.dims.x, file.dims.y, file.dims.z];
    let series_dims = [series.dims.x, series.dims.y, series.dims.z].map(i64::from);
    for a in 0..3 {
        let first = start[axis[a]];
        let last = first + sign[a] * (i64::from(dims[a]) - 1);
        if first.min(last) < 0 || first.max(last) >= series_dims[axis[a]] {
            return Err(mismatch(MismatchReason::Extent));
        }
    }
    // Small step differences add up over hundreds of voxels: the far
    // corner must still land on its series voxel.
    let far = file.world_of(file.dims.as_dvec3() - DVec3::ONE);
    let mut index = start;
    for a in 0..3 {
        index[axis[a]] += sign[a] * (i64::from(dims[a]) - 1);
    }
    let expected = series.world_of(DVec3::new(
        index[0] as f64,
        index[1] as f64,
        index[2] as f64,
    ));
    if (far - expected).length() > TOLERANCE * smallest {
        return Err(mismatch(MismatchReason::Axes));
    }
    Ok(Placement {
        axis,
        sign,
        start,
        dims,
    })
}

impl Placement {
    /// The file's labels (x fastest on the file's grid) on the series'
    /// grid; series voxels the file does not cover are 0.
    pub(super) fn labelmap(&self, labels: &[u8], series: &Geometry) -> Labelmap {
        let dims = [series.dims.x, series.dims.y, series.dims.z];
        let mut map = vec![0u8; dims.iter().map(|&d| d as usize).product()];
        let stride = [1, dims[0] as i64, dims[0] as i64 * dims[1] as i64];
        let step = [0, 1, 2].map(|a| self.sign[a] * stride[self.axis[a]]);
        let base: i64 = (0..3).map(|b| self.start[b] * stride[b]).sum();
        let [nx, ny, nz] = self.dims.map(|d| d as usize);
        let mut n = 0;
        for k in 0..nz {
            for j in 0..ny {
                let row = base + j as i64 * step[1] + k as i64 * step[2];
                for i in 0..nx {
                    map[(row + i as i64 * step[0]) as usize] = labels[n];
                    n += 1;
                }
            }
        }
        Labelmap::from_labels(dims, map).expect("sized from the series' grid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::UVec3;

    fn series() -> Geometry {
        Geometry::axis_aligned(
            UVec3::new(8, 6, 4),
            DVec3::new(0.5, 0.5, 2.0),
            DVec3::new(-10.0, 20.0, 30.0),
        )
        .unwrap()
    }

    #[test]
    fn the_same_grid_places_every_voxel_where_it_was() {
        let g = series();
        let labels: Vec<u8> = (0..g.voxel_count()).map(|n| (n % 7) as u8).collect();
        let map = place(&g, &g).unwrap().labelmap(&labels, &g);
        assert_eq!(map.labels(), &labels[..]);
    }

    #[test]
    fn a_flipped_and_cropped_grid_lands_on_the_same_voxels() {
        let g = series();
        // RAS-style: x runs backwards from the series' last column, y too;
        // only slices 1..3.
        let file = Geometry::new(
            UVec3::new(8, 6, 2),
            [g.steps[0] * -1.0, g.steps[1] * -1.0, g.steps[2]],
            g.world_of(DVec3::new(7.0, 5.0, 1.0)),
        )
        .unwrap();
        let mut labels = vec![0u8; 8 * 6 * 2];
        labels[0] = 9; // file (0,0,0) = series (7,5,1)
        let map = place(&file, &g).unwrap().labelmap(&labels, &g);
        assert_eq!(map.get([7, 5, 1]), Some(9));
        assert_eq!(map.count(9), 1);
    }

    #[test]
    fn another_grid_is_refused_with_both_described() {
        let g = series();
        let shifted =
            Geometry::new(g.dims, g.steps, g.origin + DVec3::new(0.25, 0.0, 0.0)).unwrap();
        let e = place(&shifted, &g).unwrap_err();
        assert_eq!(e.reason, MismatchReason::Offset);
        let text = e.to_string();
        assert!(
            text.contains("labelmap: 8×6×4 voxels of 0.5000×0.5000×2.0000 mm, origin (-9.7500")
        );
        assert!(text.contains("series:   8×6×4 voxels"));
        let finer = Geometry::axis_aligned(g.dims, DVec3::new(0.5, 0.5, 1.0), g.origin).unwrap();
        assert_eq!(place(&finer, &g).unwrap_err().reason, MismatchReason::Axes);
        let bigger = Geometry::new(UVec3::new(9, 6, 4), g.steps, g.origin).unwrap();
        assert_eq!(
            place(&bigger, &g).unwrap_err().reason,
            MismatchReason::Extent
        );
    }
}
