//! The sacrum's alae beside a candidate's top: what tells the sacrum
//! from a lumbar vertebra.

use glam::DVec2;

use crate::column::{Column, Disc, SliceColumn};
use crate::grid::Grid;
use crate::split::Candidate;

/// How a candidate's alae were seen (see [`alae_beside`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alae {
    /// On lines through the body's middle or 40% of the way to its back:
    /// the evidence a reading of bone is trusted on (see `Analyser::judge`).
    AtBodyDepths,
    /// Only on lines at other depths, from 20% of the body's half-depth in
    /// front of its middle to 45% behind it. A name anchor still, but the
    /// weaker one: on TotalSegmentator's osteoporotic CT with 25 HU of
    /// noise, the 150 HU reading sees alae so while splitting worse than
    /// the 125 HU reading after it (T12 lost, or L4 0.84 against 0.87).
    AtOtherDepths,
}

/// How far (mm) below a candidate's top, along its normal, the slices an
/// ala is sought in lie: the alae's front cortex runs unbroken 15–30 mm
/// below S1's top (see [`alae_beside`]).
const ALAE_BELOW_MM: std::ops::RangeInclusive<f64> = 3.0..=30.0;

/// Depths of the lines an ala is sought on, as fractions of the body's
/// half-depth (+ in front), besides the middle and 40% behind it.
const ALA_DEPTHS: std::ops::RangeInclusive<f64> = -0.45..=0.2;

/// Sacral alae: bone running without a break from the body's side out
/// past 40 mm from the column, level with the body, on each side in at
/// least 30% of the slices of the slab's top 30 mm (a rib touches the body
/// only at its head, and a lumbar transverse process sits behind the
/// body). Each side counts its own slices: a pelvis rotated or tilted
/// against the slices, or dim marrow in one ala, puts the two alae's
/// unbroken runs on different slices (on TotalSegmentator's CT resampled
/// to 1.5 mm, 4 of 17 slices had both, 7 and 9 one side).
///
/// An osteoporotic ala's marrow reads as dim as muscle; what runs unbroken
/// is its front cortex, which lies at a depth that changes from slice to
/// slice (in front of the body's middle 15–30 mm below its top, 30–60%
/// behind it at the top). Lines at the middle and 40% behind it alone
/// found the alae of that CT rolled 4–5° in its coronal plane in 4 of 14
/// slices a side; lines at every depth between, in 6 and 7 of 14.
///
/// The body in each slice is the column's; where that finds no alae, they
/// are sought again with the body on the line down the top's normal
/// ([`down_the_normal`]) in the slices where the column's body is not
/// under the top or lies apart from that line (more than its own outline
/// away: the column follows another body there).
pub(crate) fn alae_beside(grid: &Grid, column: &Column, c: &Candidate) -> Option<Alae> {
    let top = c.upper?;
    let under_top = |k: usize, s: &SliceColumn| {
        let centre = grid.world(
            s.body.x / grid.spacing.x,
            s.body.y / grid.spacing.y,
            k as f64,
        );
        ALAE_BELOW_MM.contains(&(top.centre - centre).dot(top.normal)) && c.contains(centre)
    };
    // The column's body in each slice, where it lies under the top.
    let own: Vec<Option<SliceColumn>> = (0..grid.dims[2])
        .map(|k| column.at(k).copied().filter(|s| under_top(k, s)))
        .collect();
    let own_slices = || own.iter().enumerate().filter_map(|(k, s)| Some((k, (*s)?)));
    alae_in(grid, own_slices()).or_else(|| {
        let on_the_normal = down_the_normal(grid, column, top);
        // Slices whose body the line gives (else the column's).
        let mut moved = 0;
        let slices: Vec<(usize, SliceColumn)> = own
            .iter()
            .enumerate()
            .filter_map(|(k, &own)| {
                let line = on_the_normal(k).filter(|s| under_top(k, s));
                let s = match (own, line) {
                    // The column's body there is another than the one
                    // down the top's normal.
                    (Some(s), Some(l)) if !s.outlines(grid, l.body) => {
                        moved += 1;
                        l
                    }
                    (Some(s), _) => s,
                    (None, l) => {
                        moved += usize::from(l.is_some());
                        l?
                    }
                };
                Some((k, s))
            })
            .collect();
        // Nothing moved: the first look again.
        (moved > 0).then(|| alae_in(grid, slices.into_iter()))?
    })
}

/// [`alae_beside`] on the bodies `slices` places, slice by slice.
fn alae_in(grid: &Grid, slices: impl Iterator<Item = (usize, SliceColumn)>) -> Option<Alae> {
    // Osteoporotic alae are marrow (75–125 HU) inside thin cortex; the
    // psoas beside a lumbar body (40–60 HU) still breaks the run.
    let ala_hu = if grid.reading.lenient {
        grid.bone_hu() - 50.0
    } else {
        grid.bone_hu()
    };
    let bone_at = |p: DVec2, k: usize| {
        let (i, j) = (
            (p.x / grid.spacing.x).round(),
            (p.y / grid.spacing.y).round(),
        );
        i >= 0.0
            && j >= 0.0
            && (i as usize) < grid.dims[0]
            && (j as usize) < grid.dims[1]
            && grid.hu_at(i as usize, j as usize, k) >= ala_hu
    };
    // A gap of one voxel does not break an ala on 3 mm voxels.
    let tolerance = 2.0f64.max(1.1 * grid.spacing.max_element());
    let step = grid.spacing.y.min(1.0);
    // Slices with a run: [at the body's depths, at any depth] × [left, right].
    let mut seen = [[0usize; 2]; 2];
    let mut counted = 0;
    for (k, s) in slices {
        counted += 1;
        let reaches = |side: f64, depth: f64| {
            let mut gap = 0.0;
            let mut l = 0.8 * s.half_width;
            while l <= 42.0 {
                let p = s.body + grid.anterior * depth + grid.lateral * (side * l);
                if bone_at(p, k) {
                    gap = 0.0;
                } else {
                    gap += 0.5;
                    if gap > tolerance {
                        return false;
                    }
                }
                l += 0.5;
            }
            true
        };
        let lines = ((ALA_DEPTHS.end() - ALA_DEPTHS.start()) * s.half_depth / step) as usize;
        let other_depths = (0..=lines).map(|m| ALA_DEPTHS.end() * s.half_depth - m as f64 * step);
        for (n, side) in [-1.0, 1.0].into_iter().enumerate() {
            let at_body_depths = [0.0, -0.4 * s.half_depth]
                .into_iter()
                .any(|d| reaches(side, d));
            seen[0][n] += usize::from(at_body_depths);
            seen[1][n] +=
                usize::from(at_body_depths || other_depths.clone().any(|d| reaches(side, d)));
        }
    }
    let on_both_sides =
        |[left, right]: [usize; 2]| counted > 0 && left.min(right) * 10 >= counted * 3;
    if on_both_sides(seen[0]) {
        Some(Alae::AtBodyDepths)
    } else if on_both_sides(seen[1]) {
        Some(Alae::AtOtherDepths)
    } else {
        None
    }
}

/// The body in slice `k` where the line down `top`'s normal from its
/// centre crosses it, as wide and deep as the column's there (or at its
/// nearest end). The column follows the bodies slice by slice; where the
/// sacrum is steep against the slices, its slices under S1's top hold
/// L5's body in front and then end with the sacral canal. On
/// TotalSegmentator's CT with the patient lying pitched 20°, no slice of
/// the column lay 12–30 mm under S1's top, where the alae show; pitched
/// 25°, in the deepest of those slices the column's body lay 0.75–1.45
/// half-depths in front of the line. Either way the sacrum was taken for
/// L5, and every name was a level off.
fn down_the_normal(
    grid: &Grid,
    column: &Column,
    top: Disc,
) -> impl Fn(usize) -> Option<SliceColumn> {
    let from = grid.index_of(top.centre);
    // Slices per mm down the normal.
    let per_mm = grid.index_of(top.centre - top.normal).z - from.z;
    move |k| {
        if per_mm.abs() < 1e-6 {
            return None;
        }
        let down = (k as f64 - from.z) / per_mm;
        let at = grid.index_of(top.centre - top.normal * down);
        let last = column.first + column.slices.len().checked_sub(1)?;
        let s = column.at(k.clamp(column.first, last))?;
        Some(SliceColumn {
            body: grid.plane_mm(at.x, at.y),
            ..*s
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;

    #[test]
    fn the_body_down_a_steep_tops_normal_is_where_the_line_crosses_each_slice() {
        let volume = crate::grid::blank_volume([40, 60, 40]);
        let grid = Grid::new(&volume).expect("a grid");
        let body = |half_width| SliceColumn {
            canal: DVec2::new(20.0, 40.0),
            body: DVec2::new(20.0, 20.0),
            half_width,
            half_depth: 15.0,
        };
        // The column over slices 10..=30, wider further up.
        let column = Column {
            first: 10,
            slices: (10..=30).map(|k| body(f64::from(k))).collect(),
        };
        // A top at slice 30 tilted 45° about the left–right axis.
        let top = Disc {
            centre: DVec3::new(20.0, 20.0, 30.0),
            normal: DVec3::new(0.0, -1.0, 1.0).normalize(),
            depth: 100.0,
            half_gap_mm: 0.0,
        };
        let at = down_the_normal(&grid, &column, top);
        // 10 slices down the line has moved 10 mm along +y.
        let s = at(20).expect("a body");
        assert!((s.body - DVec2::new(20.0, 30.0)).length() < 1e-9, "{s:?}");
        assert_eq!(s.half_width, 20.0);
        // Past the column's end the size of its nearest slice is kept.
        let s = at(4).expect("a body");
        assert!((s.body - DVec2::new(20.0, 46.0)).length() < 1e-9, "{s:?}");
        assert_eq!(s.half_width, 10.0);
    }
}
