//! Bone-bright fill in a disc space belongs to no vertebra: bone cement
//! leaked through an endplate in a vertebroplasty (a common leak), or a
//! metal interbody cage. It reads brighter than bone, so the reading
//! takes it for bone and the split hands each half to the vertebra on its
//! side: a print of either would carry half the ball.

use crate::column::Disc;
use crate::grid::Grid;
use crate::naming::{PELVIS_LABEL, RIBS_LABEL};

/// How far (mm) from a disc's centre, across the column, fill is looked
/// for: to the bodies' outline (lumbar bodies are 15–20 mm in half-depth,
/// 20–25 mm in half-width), short of the rods and screw heads 35 mm and
/// more behind it.
const WITHIN_MM: f64 = 25.0;

/// Half a disc space (mm) where its endplates were not seen (a disc
/// filled with cement, whose plane runs through the fill's middle): half
/// of a thin lumbar disc.
const HALF_DISC_MM: f64 = 3.0;

/// The least fill reads (HU): bone cement with its contrast agent reads
/// 2,000–3,000, metal more. Not the 1,500 over which `measure` reads no
/// endplate (cement filling a body's middle there): the dense cortex of
/// the real chest CT's thoracic endplates reads up to about 1,580 within a
/// voxel of its thin discs, and 100 such voxels (1,120 with their rims)
/// were taken off its vertebrae.
const FILL_HU: f32 = 2000.0;

/// The least a voxel beside fill reads (HU) to be taken out with it: the
/// fill's rim, blurred by the voxel's size, not the disc around it.
const RIM_HU: f32 = 0.5 * FILL_HU;

/// The most noise (HU, as [`crate::grid::Noise`] has it) fill is looked
/// for in: the real and resampled CTs of the tests read 6–23.
const FILL_NOISE_HU: f32 = 100.0;

/// Takes fill (voxels of [`FILL_HU`] or more, and their blurred rim) in
/// the disc spaces of `discs` out of the vertebrae's labels: what lies
/// within the disc's half-gap of its mid-plane (or [`HALF_DISC_MM`] where
/// its endplates were not seen) and half a voxel,
/// within [`WITHIN_MM`] of its centre across the column. Cement filling a
/// body's middle lies beyond its endplates, outside every disc space,
/// and stays.
///
/// Only where the CT's noise is known and at most [`FILL_NOISE_HU`]: HU
/// tells fill from bone only where noise cannot lift bone to it (in a
/// volume of random HU, whose noise is not known, taking out its bright
/// voxels in the "discs", up to 516 with their rims, made pieces of it
/// look like vertebrae).
pub(crate) fn leave_out_of_discs(grid: &Grid, labels: &mut [u8], discs: &[Disc]) {
    if !grid.noise.hu.is_some_and(|hu| hu <= FILL_NOISE_HU) {
        return;
    }
    for disc in discs {
        leave_out_of_disc(grid, labels, disc);
    }
}

/// One disc of [`leave_out_of_discs`].
fn leave_out_of_disc(grid: &Grid, labels: &mut [u8], disc: &Disc) {
    // Half a voxel more: a voxel whose centre lies that far past the
    // disc's edge still straddles it (TotalSegmentator's CT at 3 mm: a
    // 4 mm ball of cement reached 3.8 mm from a plane whose endplate
    // edges lay 3.25 mm off).
    let half = if disc.half_gap_mm > 0.0 {
        disc.half_gap_mm
    } else {
        HALF_DISC_MM
    } + 0.5 * grid.spacing.max_element();
    let reach = WITHIN_MM + half;
    let centre = grid.index_of(disc.centre);
    let range = |axis: usize| {
        let c = centre[axis];
        let r = reach / grid.spacing[axis] + 1.0;
        let last = grid.dims[axis] as f64 - 1.0;
        let (lo, hi) = ((c - r).max(0.0), (c + r).min(last));
        (lo <= hi).then(|| lo.ceil() as usize..=hi.floor() as usize)
    };
    let (Some(is), Some(js), Some(ks)) = (range(0), range(1), range(2)) else {
        return;
    };
    let in_space = |[i, j, k]: [usize; 3]| {
        let p = grid.world(i as f64, j as f64, k as f64);
        let d = (p - disc.centre).dot(disc.normal);
        d.abs() <= half && (p - disc.centre - disc.normal * d).length() <= WITHIN_MM
    };
    for k in ks {
        for j in js.clone() {
            for i in is.clone() {
                let at = grid.index(i, j, k);
                let label = labels[at];
                if label == 0 || label == RIBS_LABEL || label == PELVIS_LABEL {
                    continue;
                }
                let hu = grid.hu_at(i, j, k);
                let fill = hu >= FILL_HU || (hu >= RIM_HU && beside_fill(grid, [i, j, k]));
                if fill && in_space([i, j, k]) {
                    labels[at] = 0;
                }
            }
        }
    }
}

/// Whether a voxel next to `ijk` (of the 26) reads as fill.
fn beside_fill(grid: &Grid, [i, j, k]: [usize; 3]) -> bool {
    let near = |n: usize, last: usize| n.saturating_sub(1)..=(n + 1).min(last - 1);
    let [ni, nj, nk] = grid.dims;
    near(k, nk)
        .any(|kk| near(j, nj).any(|jj| near(i, ni).any(|ii| grid.hu_at(ii, jj, kk) >= FILL_HU)))
}
