//! Disc spaces in the split: what lies between two bodies' endplates is
//! no vertebra's. A steep disc (the lumbosacral one, crossed obliquely by
//! axial slices) seeds neither body, the rim of the body above it is given
//! back to it, and every disc space is cleared of the labels the paths
//! gave it.

use glam::DVec3;

use crate::column::{Column, Disc};
use crate::grid::{Grid, Reading};
use crate::split::{Candidate, SEED_CORE, Window};

/// A surface voxel below this is more soft tissue than bone (HU).
const EDGE_HU: f32 = 350.0;

/// The part of a disc's half-gap cleared: its edge is where the HU is
/// half-way to the endplate, partly the endplate's rim.
const CLEARED_OF_GAP: f64 = 0.75;

/// How far (mm) from the body's estimated outline, in its slice, a disc
/// space is cleared: a disc bulges past its endplates' rim.
const DISC_BULGE: f64 = 1.2;

/// The bone's edge at half-way between soft tissue and cortex, not at the
/// low threshold that kept thin cortex connected: a voxel next to soft
/// tissue and under it is mostly soft tissue (marrow inside a body is not
/// soft tissue here: the body's holes were filled); a dim voxel in a disc
/// space is disc. In a lenient reading the cortex itself is dim
/// (osteoporosis, 3 mm voxels): half-way lies just above the bone threshold.
pub(crate) fn edge_hu(grid: &Grid) -> f32 {
    if grid.reading.lenient {
        grid.bone_hu() + 25.0
    } else {
        EDGE_HU
    }
}

/// Where a label's edge is placed on the stored voxels of a grid read in
/// blocks ([`crate::SpineLabels::peel_dim_edges`]: a 3×3×3 mean under it
/// is peeled). At the split's own edge ([`edge_hu`]) where a lenient
/// reading was taken though the bodies' marrow is as bright as the strict
/// reading's threshold: noise, not dim bone, made it lenient (the strict
/// one's marrow broke into speckles), so the cortex is a normal CT's and
/// a layer of tissue between the reading's threshold and half-way to it
/// is no bone. On TotalSegmentator's CT made denser (marrow 211–214 HU)
/// with 40 HU of noise at 1 mm, read at 150 HU in 2 mm blocks, T12–L5
/// 0.002–0.014 of Dice more under three draws of the noise (L5 0.827 →
/// 0.835 with contrast). Elsewhere at the reading's own threshold: on the
/// same CT as it is (marrow 19–131 HU), read at 125 HU in blocks for
/// noise or fine pixels, the split's edge peeled dim cortex that is bone
/// (0.004–0.013 less).
pub(crate) fn placed_edge_hu(grid: &Grid) -> f32 {
    let strict = Reading::LADDER[0].bone_hu;
    let bright_marrow = grid
        .marrow_hu
        .is_some_and(|marrow| marrow >= f64::from(strict));
    if grid.reading.lenient && bright_marrow {
        edge_hu(grid)
    } else {
        grid.bone_hu()
    }
}

/// A disc tilted this far (degrees) from the axial plane is crossed
/// obliquely by the slices: the lumbosacral disc, 35–50° in a lordosis.
const STEEP_DISC_DEG: f64 = 30.0;

/// Whether axial slices cut `disc` steeply enough that a slice holds the
/// front of the vertebra above and the back of the one below (see
/// [`unseed_steep_disc_spaces`]).
pub(crate) fn is_steep(disc: &Disc) -> bool {
    disc.half_gap_mm > 0.0 && disc.normal.z.abs() < STEEP_DISC_DEG.to_radians().cos()
}

/// The slices `disc` can cross within a body's reach (a lumbar body 35 mm
/// from its centre, a disc tilted 50°: 42 mm), within the column.
fn disc_slices(grid: &Grid, column: &Column, disc: &Disc) -> std::ops::RangeInclusive<usize> {
    let last = column.first + column.slices.len() - 1;
    let reach = 45.0 + disc.half_gap_mm;
    let (a, b) = (
        grid.index_of(disc.centre - DVec3::Z * reach).z,
        grid.index_of(disc.centre + DVec3::Z * reach).z,
    );
    let lo = (a.min(b).floor().max(0.0) as usize).max(column.first);
    let hi = (a.max(b).ceil().max(0.0) as usize).min(last);
    lo..=hi
}

/// The window's pixels of slice `k` near enough to the body for `disc`'s
/// space to reach them: within the bulge's outline's box.
fn disc_box(
    grid: &Grid,
    s: &crate::column::SliceColumn,
    win: &Window,
) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let reach = DISC_BULGE * s.half_width.max(s.half_depth);
    let span = |centre: f64, step: f64, from: usize, len: usize| {
        let lo = ((centre - reach) / step).floor().max(from as f64) as usize;
        let hi = (((centre + reach) / step).ceil().max(0.0) as usize + 1).min(from + len);
        lo..hi.max(lo)
    };
    (
        span(s.body.x, grid.spacing.x, win.ox, win.wi),
        span(s.body.y, grid.spacing.y, win.oy, win.wj),
    )
}

/// How far (mm) past its half-gap above a disc's mid-plane its space may
/// reach: into the upper vertebra's concave inferior endplate, whose rim
/// encloses the disc's middle in an axial slice, so the hole fill had
/// labelled it bone (L5's middle height 2.2–2.7 mm over the reference
/// labels' on TotalSegmentator's CT at 3 and 1 mm; within 0.3 mm at 1 mm
/// with this). Not below: there the lower vertebra's superior endplate
/// and S1's top moved, and the lordosis with them (61.1° → 69.3° at 1.5 mm).
const INTO_UPPER_ENDPLATE_MM: f64 = 3.0;

/// Whether voxel (i, j, k), of `hu`, lies in `disc`'s space, inside the
/// bulge: dim, and within the cleared part of its half-gap of the
/// mid-plane, or above that up to `INTO_UPPER_ENDPLATE_MM` past the
/// half-gap and joined to the cleared part by a dim line along the disc's
/// normal (no endplate between).
#[inline(always)]
fn in_disc_space(
    grid: &Grid,
    s: &crate::column::SliceColumn,
    disc: &Disc,
    (i, j, k): (usize, usize, usize),
    hu: f32,
    dim_below_hu: f32,
) -> bool {
    if hu >= dim_below_hu {
        return false;
    }
    let p = grid.world(i as f64, j as f64, k as f64);
    let height = (p - disc.centre).dot(disc.normal);
    let cleared = CLEARED_OF_GAP * disc.half_gap_mm;
    if height.abs() > cleared
        && !(height > 0.0 && height <= disc.half_gap_mm + INTO_UPPER_ENDPLATE_MM)
    {
        return false;
    }
    let (a, l) = s.body_units(grid, grid.plane_mm(i as f64, j as f64));
    if a * a + l * l > DISC_BULGE * DISC_BULGE {
        return false;
    }
    height <= cleared || dim_down_to(grid, p, disc, height - cleared, dim_below_hu)
}

/// Whether the line from `p` down `disc`'s normal for `length` mm stays
/// under `dim_below_hu` (sampled every half voxel).
fn dim_down_to(grid: &Grid, p: DVec3, disc: &Disc, length: f64, dim_below_hu: f32) -> bool {
    let step = 0.5 * grid.spacing.min_element();
    let steps = (length / step).ceil() as usize;
    (1..=steps).all(|n| grid.sample(p - disc.normal * (n as f64 * step).min(length)) < dim_below_hu)
}

/// Takes the seeds off the steep discs' spaces (`own`: the window from the
/// column's first slice). A slice through the lumbosacral disc holds L5's
/// front lower rim ahead of S1's back, and the slice's body outline is
/// S1's: the dim disc between them was seeded as S1 wherever it lay below
/// the disc's mid-plane, and the paths from those seeds, along the slice,
/// took much of L5's lower rim (TotalSegmentator's CT at 0.75 mm pixels and
/// 3 mm slices: L5's lower endplate read 24° for the reference labels'
/// 39°; now 38°). Steep discs only: unseeded at every disc, L5 took the
/// back of L4's lower body beside the L4–L5 disc on the 3 mm CT.
pub(crate) fn unseed_steep_disc_spaces(
    grid: &Grid,
    column: &Column,
    win: &Window,
    discs: &[Disc],
    dim_below_hu: f32,
    own: &mut [u8],
) {
    let plane = win.wi * win.wj;
    for disc in discs.iter().filter(|d| is_steep(d)) {
        for k in disc_slices(grid, column, disc) {
            let s = column.at(k).expect("in the column");
            let base = (k - column.first) * plane;
            let slice = &mut own[base..base + plane];
            let at = |i: usize, j: usize| (j - win.oy) * win.wi + (i - win.ox);
            unlabel_disc_in_slice(grid, s, win, disc, k, dim_below_hu, slice, at);
        }
    }
}

/// How far (mm) past the front of a slice's body outline the vertebra
/// above a steep disc takes its rim back (see [`rims_above_steep_discs`]):
/// a lumbar body is 30–40 mm deep and its lower front rim lies up to half
/// of that ahead of the outline of the body below.
const RIM_AHEAD_MM: f64 = 20.0;

/// Gives the vertebra above each steep disc its front lower rim (`own`:
/// the window from the column's first slice, after the paths). In a slice
/// through the lumbosacral disc the body outline is S1's, so L5's front
/// lower rim, ahead of it, had no seed, and the paths along the slice from
/// S1's seeds took it (TotalSegmentator's CT at 0.75 mm pixels and 3 mm
/// slices: L5's front height read 26 mm for the reference labels' 33.5).
/// What the vertebra below took above the disc's plane, ahead of the
/// outline and within its width, goes to the vertebra above; not seeded
/// before the paths, where contrast-filled vessels in front of L5 would be
/// seeded with it (L5's Dice 0.84 → 0.82).
pub(crate) fn rims_above_steep_discs(
    grid: &Grid,
    column: &Column,
    win: &Window,
    candidates: &[Candidate],
    own: &mut [u8],
) {
    let plane = win.wi * win.wj;
    for (n, c) in candidates.iter().enumerate().take(candidates.len() - 1) {
        let Some(disc) = c.lower.filter(is_steep) else {
            continue;
        };
        for k in disc_slices(grid, column, &disc) {
            let slice = &mut own[(k - column.first) * plane..][..plane];
            rim_in_slice(grid, column, win, c, n as u8 + 1, k, slice);
        }
    }
}

/// [`rims_above_steep_discs`] in window slice `k` for candidate `c`
/// (label `above`; the one below it is `above + 1`). A function per
/// slice: wasm has no on-stack replacement (see `split::bone_in_envelope`).
#[inline(never)]
fn rim_in_slice(
    grid: &Grid,
    column: &Column,
    win: &Window,
    c: &Candidate,
    above: u8,
    k: usize,
    slice: &mut [u8],
) {
    let s = column.at(k).expect("in the column");
    for (w, owner) in slice.iter_mut().enumerate() {
        if *owner != above + 1 {
            continue;
        }
        let (i, j) = (win.ox + w % win.wi, win.oy + w / win.wi);
        let (a, l) = s.body_units(grid, grid.plane_mm(i as f64, j as f64));
        let ahead_mm = (a - SEED_CORE) * s.half_depth;
        if l.abs() <= SEED_CORE
            && ahead_mm > 0.0
            && ahead_mm <= RIM_AHEAD_MM
            && c.contains(grid.world(i as f64, j as f64, k as f64))
        {
            *owner = above;
        }
    }
}

/// Unlabels the disc spaces: dim voxels within each disc's half-gap of its
/// mid-plane, across the body. The slices' hole fill encloses a disc cut
/// obliquely by axial slices between the bone around it, and the paths
/// through bone then hand it to one of its vertebrae, which grows into the
/// disc (on TotalSegmentator's CT, L1's middle height 2 mm long at 3 mm,
/// L5's 5 mm at 1.5 mm).
pub(crate) fn clear_disc_spaces(
    grid: &Grid,
    column: &Column,
    win: &Window,
    discs: &[Disc],
    dim_below_hu: f32,
    labels: &mut [u8],
) {
    for disc in discs.iter().filter(|d| d.half_gap_mm > 0.0) {
        for k in disc_slices(grid, column, disc) {
            let s = column.at(k).expect("in the column");
            let at = |i: usize, j: usize| grid.index(i, j, k);
            unlabel_disc_in_slice(grid, s, win, disc, k, dim_below_hu, labels, at);
        }
    }
}

/// Sets to 0 the labelled voxels of `disc`'s space in slice `k`, where
/// `at(i, j)` indexes `labels` (a window's slice, or the whole grid). Only
/// the box of the bulge's outline is visited.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn unlabel_disc_in_slice(
    grid: &Grid,
    s: &crate::column::SliceColumn,
    win: &Window,
    disc: &Disc,
    k: usize,
    dim_below_hu: f32,
    labels: &mut [u8],
    at: impl Fn(usize, usize) -> usize,
) {
    let (columns, rows) = disc_box(grid, s, win);
    for j in rows {
        for i in columns.clone() {
            let w = at(i, j);
            if labels[w] != 0
                && in_disc_space(grid, s, disc, (i, j, k), grid.hu_at(i, j, k), dim_below_hu)
            {
                labels[w] = 0;
            }
        }
    }
}

#[cfg(test)]
mod placed_edge_tests {
    use super::*;

    #[test]
    fn a_lenient_reading_of_bright_marrow_places_edges_at_the_splits_own() {
        let volume = crate::grid::blank_volume([4, 4, 4]);
        let mut grid = Grid::new(&volume).expect("a grid");
        let lenient = Reading::LADDER
            .into_iter()
            .find(|r| r.lenient)
            .expect("a lenient rung");
        grid.reading = lenient;
        // Normal marrow read leniently for the noise: the split's edge.
        grid.marrow_hu = Some(212.0);
        assert_eq!(placed_edge_hu(&grid), edge_hu(&grid));
        assert!(placed_edge_hu(&grid) > lenient.bone_hu);
        // Dim (osteoporotic) marrow, or none measured: the reading's own.
        for marrow in [Some(120.0), None] {
            grid.marrow_hu = marrow;
            assert_eq!(placed_edge_hu(&grid), lenient.bone_hu);
        }
        // The strict reading keeps its threshold whatever the marrow.
        grid.reading = Reading::LADDER[0];
        grid.marrow_hu = Some(212.0);
        assert_eq!(placed_edge_hu(&grid), Reading::LADDER[0].bone_hu);
    }
}
