//! The sacrum below the spine's column. The column (and with it the
//! envelope the vertebrae are split in) ends with the sacral canal; below
//! it everything bony was reached from the sacrum outside the envelope and
//! called pelvis, the lower sacrum and the coccyx too. They are told from
//! the pelvis slice by slice: bone that continues the slice above's sacrum
//! and lies within its width is sacrum; the iliac and ischial bones beside
//! it are apart from it there (sacrospinous and sacrotuberous ligaments,
//! not bone, join them) or outside its width.

use std::collections::VecDeque;

use crate::grid::Grid;
use crate::naming::{PELVIS_LABEL, label_of};

/// Gives the sacrum's label to pelvis voxels that continue it down the
/// slices (towards lower slice indices where `down_is_lower_k`), in each
/// slice those 8-connected to the slice before's sacrum (within one pixel)
/// and no further to either side than it reached there.
pub(crate) fn continue_down(grid: &Grid, labels: &mut [u8], down_is_lower_k: bool) {
    let sacrum = label_of(24);
    let [ni, nj, nk] = grid.dims;
    let plane = ni * nj;
    // The sacrum's last slice down.
    let Some(start) = (0..nk)
        .map(|o| if down_is_lower_k { o } else { nk - 1 - o })
        .find(|&k| labels[k * plane..(k + 1) * plane].contains(&sacrum))
    else {
        return;
    };
    let lateral = |p: usize| {
        grid.plane_mm((p % ni) as f64, (p / ni) as f64)
            .dot(grid.lateral)
    };
    let mut previous: Vec<usize> = (0..plane)
        .filter(|&p| labels[start * plane + p] == sacrum)
        .collect();
    let (mut mid, mut half) = extent(&previous, lateral);
    let midline = mid;
    let mut k = start;
    let mut taken = vec![false; plane];
    let mut queue = VecDeque::new();
    loop {
        k = match (down_is_lower_k, k) {
            (true, 0) => break,
            (true, k) => k - 1,
            (false, k) if k + 1 >= nk => break,
            (false, k) => k + 1,
        };
        let slice = &labels[k * plane..(k + 1) * plane];
        taken.fill(false);
        for &p in &previous {
            queue_pelvis_around(p, [ni, nj], slice, &mut taken, &mut queue);
        }
        let mut kept = Vec::new();
        while let Some(p) = queue.pop_front() {
            if (lateral(p) - mid).abs() <= half {
                kept.push(p);
            }
            queue_pelvis_around(p, [ni, nj], slice, &mut taken, &mut queue);
        }
        let near = |&p: &usize| (lateral(p) - midline).abs() <= MIDLINE_REACH_MM;
        if !kept.iter().any(near) {
            break;
        }
        for &p in &kept {
            labels[k * plane + p] = sacrum;
        }
        // The sacrum narrows down to the coccyx: never wider than above.
        let (m, h) = extent(&kept, lateral);
        mid = m;
        half = half.min(h + grid.spacing.x.max(grid.spacing.y));
        previous = kept;
    }
}

/// How far (mm) from the sacrum's middle, where it leaves the column, the
/// bone that continues it down must reach in some slice. The sacrum and the
/// coccyx end at the midline. An ilium joined to the sacrum at the
/// sacroiliac joint goes on down beside it, past the coccyx's end: on
/// TotalSegmentator's CT at 0.75 mm pixels one reading took the right ilium
/// and acetabulum down to the scan's end as sacrum (196 ml, against 125).
const MIDLINE_REACH_MM: f64 = 15.0;

/// Queues the pelvis pixels of `slice` (`dims` pixels) around `p` not yet
/// `taken`, and takes them.
fn queue_pelvis_around(
    p: usize,
    [ni, nj]: [usize; 2],
    slice: &[u8],
    taken: &mut [bool],
    queue: &mut VecDeque<usize>,
) {
    for q in around(p, ni, nj) {
        if !taken[q] && slice[q] == PELVIS_LABEL {
            taken[q] = true;
            queue.push_back(q);
        }
    }
}

/// Middle and half-width (mm) of pixels along the patient's left-right.
fn extent(pixels: &[usize], lateral: impl Fn(usize) -> f64) -> (f64, f64) {
    let (lo, hi) = pixels.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &p| {
        let l = lateral(p);
        (lo.min(l), hi.max(l))
    });
    ((lo + hi) / 2.0, (hi - lo) / 2.0)
}

/// The pixel and its eight neighbours in a slice of `ni` × `nj`.
fn around(p: usize, ni: usize, nj: usize) -> impl Iterator<Item = usize> {
    let (i, j) = ((p % ni) as i64, (p / ni) as i64);
    (-1..=1).flat_map(move |dj| {
        (-1..=1).filter_map(move |di| {
            let (x, y) = (i + di, j + dj);
            (x >= 0 && y >= 0 && x < ni as i64 && y < nj as i64)
                .then(|| y as usize * ni + x as usize)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1 mm grid of `dims` labelled by `draw(i, j, k)`, continued down from
    /// its top slice.
    fn continued(dims: [usize; 3], draw: impl Fn(usize, usize, usize) -> u8) -> Vec<u8> {
        let volume = crate::grid::blank_volume(dims);
        let grid = Grid::new(&volume).expect("axial");
        let mut labels: Vec<u8> = (0..dims[2])
            .flat_map(|k| (0..dims[1]).flat_map(move |j| (0..dims[0]).map(move |i| (i, j, k))))
            .map(|(i, j, k)| draw(i, j, k))
            .collect();
        continue_down(&grid, &mut labels, true);
        labels
    }

    #[test]
    fn an_ilium_beside_the_sacrum_is_not_followed_past_the_coccyx() {
        // Top slice (k = 7): the sacrum across i = 10..=50, its middle at
        // 30. Below it the pelvis: a coccyx at i = 29..=31 down to k = 4 and
        // an ilium at i = 46..=50 down to the last slice.
        let (sacrum, pelvis) = (label_of(24), PELVIS_LABEL);
        let labels = continued([60, 3, 8], |i, _, k| match (i, k) {
            (10..=50, 7) => sacrum,
            (29..=31, 4..=6) | (46..=50, 0..=6) => pelvis,
            _ => 0,
        });
        let at = |i: usize, k: usize| labels[(k * 3 + 1) * 60 + i];
        assert_eq!(at(30, 4), sacrum, "the coccyx is the sacrum's");
        assert_eq!(at(48, 5), sacrum, "beside the coccyx, within the width");
        assert_eq!(at(48, 3), pelvis, "past the coccyx's end, the ilium");
        assert_eq!(at(48, 0), pelvis);
    }
}
