//! Holes in a vertebra's label, closed along the slices' axis and across
//! the body in front of the canal.
//!
//! On osteoporotic CT a body's marrow can be as dim as a disc, and where the
//! basivertebral veins enter at the back of the body the fill that labels
//! enclosed marrow is reached from the canal: the label keeps a hole there,
//! open to the back. Up or down through a body a gap between two voxels of
//! the same vertebra is such a hole: a disc lies between two vertebrae, and
//! the canal and foramina between parts of two.

use glam::DVec2;

use crate::canal::Pocket;
use crate::column::Disc;
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

/// Widest gap (mm) closed side to side across a body: the basivertebral
/// veins' entry is 10–15 mm wide.
const ACROSS_MM: f64 = 20.0;

/// How far (mm) in front of the canal's front wall a gap side to side is
/// closed: the back of the body, where the veins enter, not its middle.
const BACK_MM: f64 = 15.0;

/// How far (mm) from a disc's mid-plane no gap side to side is closed: the
/// disc's middle, in the concavity of an endplate, is encircled by the
/// endplate's rim in an axial slice (closing it moved the lordosis 3°).
pub(crate) const DISC_REACH_MM: f64 = 8.0;

/// Gives each run of unlabelled voxels side to side, no wider than
/// `ACROSS_MM`, between two voxels of the same vertebra (C1–L5), in the
/// `BACK_MM` in front of the canal's front wall (in slices with a pocket
/// of the canal's `chain`) and more than `DISC_REACH_MM` from every disc's
/// mid-plane, the label of that vertebra. Where the basivertebral veins
/// enter the back of a body its wall is broken, and the hole behind it,
/// open to the canal, is not enclosed in the slice; on TotalSegmentator's
/// CT at 1 mm pixels and 3 mm slices one in L5 was 12 mm tall, more than
/// [`close_along_slices`] closes, and the reference labels it bone.
pub(crate) fn close_across_bodies(
    grid: &Grid,
    labels: &mut [u8],
    chain: &[Pocket],
    discs: &[Disc],
) {
    // Side to side is along rows (i) or columns (j), whichever the
    // patient's left-right runs nearer.
    let along_i = grid.lateral.x.abs() >= grid.lateral.y.abs();
    for pocket in chain {
        let wall = pocket.centre + grid.anterior * (pocket.ap_mm / 2.0);
        close_across_slice(grid, labels, pocket.k, along_i, wall, discs);
    }
}

/// [`close_across_bodies`] in slice `k`, along rows where `along_i`, else
/// columns. A function per slice: wasm has no on-stack replacement (see
/// [`close_up_to`]).
#[inline(never)]
fn close_across_slice(
    grid: &Grid,
    labels: &mut [u8],
    k: usize,
    along_i: bool,
    wall: DVec2,
    discs: &[Disc],
) {
    let vertebra = |l: u8| (label_of(0)..=label_of(23)).contains(&l);
    let [ni, nj, _] = grid.dims;
    let plane = ni * nj;
    let (lines, length) = if along_i { (nj, ni) } else { (ni, nj) };
    let step_mm = if along_i {
        grid.spacing.x
    } else {
        grid.spacing.y
    };
    let widest = (ACROSS_MM / step_mm).floor() as usize;
    for line in 0..lines {
        let ij = |n: usize| if along_i { (n, line) } else { (line, n) };
        let index = |n: usize| {
            let (i, j) = ij(n);
            k * plane + j * ni + i
        };
        let ahead = |n: usize| {
            let (i, j) = ij(n);
            (grid.plane_mm(i as f64, j as f64) - wall).dot(grid.anterior)
        };
        // Only lines that pass through the back of the bodies: most of a
        // slice is in front of them or behind the canal.
        let (a0, a1) = (ahead(0), ahead(length - 1));
        if a0.max(a1) <= 0.0 || a0.min(a1) > BACK_MM {
            continue;
        }
        // Dim marrow, not fat; at the back of the body, clear of the discs.
        let closable = |n: usize| {
            let (i, j) = ij(n);
            let p = grid.world(i as f64, j as f64, k as f64);
            let a = ahead(n);
            grid.hu(index(n)) >= HOLE_FLOOR_HU
                && a > 0.0
                && a <= BACK_MM
                && discs
                    .iter()
                    .all(|d| (p - d.centre).dot(d.normal).abs() > DISC_REACH_MM)
        };
        let mut last: Option<(usize, u8)> = None;
        for n in 0..length {
            let l = labels[index(n)];
            if l == 0 {
                continue;
            }
            if let Some((from, before)) = last {
                let gap = n - from - 1;
                if gap > 0
                    && gap <= widest
                    && before == l
                    && vertebra(l)
                    && (from + 1..n).all(closable)
                {
                    (from + 1..n).for_each(|m| labels[index(m)] = l);
                }
            }
            last = Some((n, l));
        }
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
    // Most of a slice is unlabelled: a block of pixels skipped at once.
    for block in (0..plane).step_by(crate::BLOCK) {
        let columns = block..(block + crate::BLOCK).min(plane);
        if crate::all_zero(&labels[k * plane + block..k * plane + columns.end]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_across_the_back_of_a_body_close_and_no_others() {
        // One 1 mm slice, 0 HU (fatty marrow's floor is −50). The canal's
        // centre at j = 25 mm, 10 mm front to back: its front wall at j =
        // 20; anterior is −j, so rows j < 20 lie in front of it. Each row
        // has L3 at i = 10 and at i = 10 + gap + 1.
        let dims = [50, 40, 1];
        let volume = crate::grid::blank_volume(dims);
        let grid = Grid::new(&volume).expect("axial");
        let l3 = label_of(20);
        let drawn = || {
            let mut labels = vec![0u8; dims[0] * dims[1]];
            for (j, gap) in [(10, 14), (2, 14), (25, 14), (12, 25)] {
                labels[j * dims[0] + 10] = l3;
                labels[j * dims[0] + 11 + gap] = l3;
            }
            labels
        };
        let canal = [Pocket {
            k: 0,
            centre: DVec2::new(20.0, 25.0),
            ap_mm: 10.0,
        }];
        let disc_at = |z: f64| Disc {
            centre: glam::DVec3::new(20.0, 20.0, z),
            normal: glam::DVec3::Z,
            depth: 100.0,
            half_gap_mm: 4.0,
        };
        let closed = |labels: &[u8], j: usize| {
            labels[j * dims[0] + 11..j * dims[0] + 11 + 14]
                .iter()
                .all(|&l| l == l3)
        };
        let mut labels = drawn();
        close_across_bodies(&grid, &mut labels, &canal, &[disc_at(30.0)]);
        assert!(
            closed(&labels, 10),
            "10 mm in front of the wall, 14 mm wide"
        );
        assert!(
            !closed(&labels, 2),
            "18 mm in front of the wall: the body's middle"
        );
        assert!(!closed(&labels, 25), "behind the wall: the canal");
        assert!(!closed(&labels, 12), "25 mm wide");
        let mut labels = drawn();
        close_across_bodies(&grid, &mut labels, &canal, &[disc_at(6.0)]);
        assert!(!closed(&labels, 10), "6 mm from a disc's mid-plane");
    }
}
