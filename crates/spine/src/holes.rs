//! Holes in a vertebra's label, closed along the slices' axis.
//!
//! On osteoporotic CT a body's marrow can be as dim as a disc, and where the
//! basivertebral veins enter at the back of the body the fill that labels
//! enclosed marrow is reached from the canal: the label keeps a hole there,
//! open to the back. Up or down through a body a gap between two voxels of
//! the same vertebra is such a hole: a disc lies between two vertebrae, and
//! the canal and foramina between parts of two.

use crate::grid::Grid;
use crate::naming::label_of;

/// Longest gap (mm) closed: a third of a lumbar body's height.
pub(crate) const HOLE_MM: f64 = 10.0;

/// Dimmest voxel (HU) a hole may hold: fatty marrow, not the fat around
/// the dura (−100 HU) or air.
const HOLE_FLOOR_HU: f32 = -50.0;

/// Gives each run of unlabelled voxels along k, no longer than `HOLE_MM`
/// and bounded above and below by the same vertebra (C1–L5; not the
/// sacrum, ribs or pelvis), the label of that vertebra.
pub(crate) fn close_along_slices(grid: &Grid, labels: &mut [u8]) {
    let [ni, nj, nk] = grid.dims;
    let longest = (HOLE_MM / grid.spacing.z).floor() as usize;
    if longest == 0 {
        return;
    }
    let plane = ni * nj;
    // Slice by slice (memory order), each column's last labelled slice
    // and its label kept: a column at a time strides a whole slice per
    // step and cost a twentieth of the analysis.
    let mut last: Vec<Option<(usize, u8)>> = vec![None; plane];
    for k in 0..nk {
        close_up_to(grid, labels, k, longest, &mut last);
    }
}

/// Slice `k` against each column's last labelled slice below it: a hole
/// between them is closed. A function per slice: wasm has no on-stack
/// replacement, so a loop over the slices here ran in the browser's
/// baseline code throughout.
#[inline(never)]
fn close_up_to(
    grid: &Grid,
    labels: &mut [u8],
    k: usize,
    longest: usize,
    last: &mut [Option<(usize, u8)>],
) {
    let vertebra = |l: u8| (label_of(0)..=label_of(23)).contains(&l);
    let plane = last.len();
    // Most of a slice is unlabelled: eight pixels skipped at once.
    for word in (0..plane).step_by(8) {
        let columns = word..(word + 8).min(plane);
        if crate::all_zero(&labels[k * plane + word..k * plane + columns.end]) {
            continue;
        }
        for column in columns {
            let l = labels[k * plane + column];
            if l == 0 {
                continue;
            }
            if let Some((from, before)) = last[column] {
                let gap = k - from - 1;
                if gap > 0 && gap <= longest && before == l && vertebra(l) {
                    let hole = (from + 1..k).map(|g| g * plane + column);
                    if hole.clone().all(|i| grid.hu(i) >= HOLE_FLOOR_HU) {
                        hole.for_each(|i| labels[i] = l);
                    }
                }
            }
            last[column] = Some((k, l));
        }
    }
}
