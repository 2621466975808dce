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
/// slices (away from the vertebrae above it), in each slice those
/// 8-connected to the slice before's sacrum (within one pixel) and no
/// further to either side than it reached there.
pub(crate) fn continue_down(grid: &Grid, labels: &mut [u8]) {
    let sacrum = label_of(24);
    let [ni, nj, nk] = grid.dims;
    let plane = ni * nj;
    // Mean slice of the sacrum and of the vertebrae: which way is down.
    let (mut sacrum_k, mut sacrum_n, mut others_k, mut others_n) = (0.0, 0.0, 0.0, 0.0);
    let mut lowest: Option<usize> = None;
    let mut highest: Option<usize> = None;
    for (at, &l) in labels.iter().enumerate() {
        let k = at / plane;
        if l == sacrum {
            sacrum_k += k as f64;
            sacrum_n += 1.0;
            lowest = Some(lowest.map_or(k, |m: usize| m.min(k)));
            highest = Some(highest.map_or(k, |m: usize| m.max(k)));
        } else if l >= label_of(0) && l < sacrum {
            others_k += k as f64;
            others_n += 1.0;
        }
    }
    let (Some(lowest), Some(highest)) = (lowest, highest) else {
        return;
    };
    if others_n == 0.0 {
        return;
    }
    let down_is_lower_k = sacrum_k / sacrum_n < others_k / others_n;
    let start = if down_is_lower_k { lowest } else { highest };
    let lateral = |p: usize| {
        grid.plane_mm((p % ni) as f64, (p / ni) as f64)
            .dot(grid.lateral)
    };
    let mut previous: Vec<usize> = (0..plane)
        .filter(|&p| labels[start * plane + p] == sacrum)
        .collect();
    let (mut mid, mut half) = extent(&previous, lateral);
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
        let base = k * plane;
        taken.fill(false);
        for &p in &previous {
            for q in around(p, ni, nj) {
                if !taken[q] && labels[base + q] == PELVIS_LABEL {
                    taken[q] = true;
                    queue.push_back(q);
                }
            }
        }
        let mut kept = Vec::new();
        while let Some(p) = queue.pop_front() {
            if (lateral(p) - mid).abs() <= half {
                kept.push(p);
            }
            for q in around(p, ni, nj) {
                if !taken[q] && labels[base + q] == PELVIS_LABEL {
                    taken[q] = true;
                    queue.push_back(q);
                }
            }
        }
        if kept.is_empty() {
            break;
        }
        for &p in &kept {
            labels[base + p] = sacrum;
        }
        // The sacrum narrows down to the coccyx: never wider than above.
        let (m, h) = extent(&kept, lateral);
        mid = m;
        half = half.min(h + grid.spacing.x.max(grid.spacing.y));
        previous = kept;
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
