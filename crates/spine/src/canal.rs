//! The spinal canal: in each axial slice, a pocket of soft tissue (CSF, cord,
//! epidural fat) closed all round by bone, 5 to 35 mm across; across slices,
//! the longest chain of such pockets that moves little from slice to slice.
//! Nothing else in a CT is a long soft tube inside a bony ring, which is why
//! the spine is found from its canal rather than from "the biggest bone".

use glam::DVec2;

use crate::grid::Grid;
use crate::{BONE_HU, SpineError};

/// A canal cross-section found in one slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pocket {
    pub k: usize,
    /// Centre in the slice's (i mm, j mm) plane.
    pub centre: DVec2,
    /// Extent along the patient's anterior-posterior axis (mm).
    pub ap_mm: f64,
}

/// Soft-tissue pockets closed by bone in slice `k`, read at a stride that
/// keeps pixels at about 1.5 mm (thin cortex still closes the ring: a block
/// is bone when any of its pixels is).
fn pockets_in_slice(grid: &Grid, k: usize) -> Vec<Pocket> {
    let stride = (1.5 / grid.spacing.x.min(grid.spacing.y)).round().max(1.0) as usize;
    let (w, h) = (grid.dims[0].div_ceil(stride), grid.dims[1].div_ceil(stride));
    let mut bone = vec![false; w * h];
    let mut sum = vec![0f32; w * h];
    for j in 0..grid.dims[1] {
        for i in 0..grid.dims[0] {
            let v = grid.hu_at(i, j, k);
            let cell = (j / stride) * w + i / stride;
            bone[cell] |= v >= BONE_HU;
            sum[cell] += v;
        }
    }
    let per_cell = (stride * stride) as f32;
    let pixel = DVec2::new(grid.spacing.x, grid.spacing.y) * stride as f64;
    let cell_area = pixel.x * pixel.y;
    let mut seen = vec![false; w * h];
    let mut found = Vec::new();
    let mut stack = Vec::new();
    let mut members = Vec::new();
    for start in 0..w * h {
        if bone[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        members.clear();
        let mut touches_edge = false;
        while let Some(c) = stack.pop() {
            members.push(c);
            let (x, y) = (c % w, c / w);
            if x == 0 || y == 0 || x == w - 1 || y == h - 1 {
                touches_edge = true;
            }
            let mut visit = |n: usize| {
                if !bone[n] && !seen[n] {
                    seen[n] = true;
                    stack.push(n);
                }
            };
            if x > 0 {
                visit(c - 1);
            }
            if x + 1 < w {
                visit(c + 1);
            }
            if y > 0 {
                visit(c - w);
            }
            if y + 1 < h {
                visit(c + w);
            }
        }
        let area = members.len() as f64 * cell_area;
        if touches_edge || !(50.0..=700.0).contains(&area) {
            continue;
        }
        let mean = members.iter().map(|&c| sum[c]).sum::<f32>() / (members.len() as f32 * per_cell);
        if !(-150.0..=110.0).contains(&mean) {
            continue;
        }
        let points = members
            .iter()
            .map(|&c| DVec2::new((c % w) as f64 + 0.5, (c / w) as f64 + 0.5) * pixel);
        let (mut lo_a, mut hi_a, mut lo_l, mut hi_l) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        let mut centre = DVec2::ZERO;
        for p in points {
            centre += p;
            let (a, l) = (p.dot(grid.anterior), p.dot(grid.lateral));
            lo_a = lo_a.min(a);
            hi_a = hi_a.max(a);
            lo_l = lo_l.min(l);
            hi_l = hi_l.max(l);
        }
        centre /= members.len() as f64;
        let (ap, lr) = (hi_a - lo_a + pixel.x, hi_l - lo_l + pixel.x);
        let fill = area / (ap * lr);
        if !(5.0..=35.0).contains(&ap) || !(5.0..=35.0).contains(&lr) || fill < 0.45 {
            continue;
        }
        found.push(Pocket {
            k,
            centre,
            ap_mm: ap,
        });
    }
    found
}

/// Pockets in slice `k` (see [`pockets_in_slice`]).
pub(crate) fn pockets(grid: &Grid, k: usize) -> Vec<Pocket> {
    pockets_in_slice(grid, k)
}

/// The canal: the longest chain of pockets, consecutive members at most 30
/// mm apart along the slices and moving at most 6 mm + 80% of that
/// in-plane (a sacral canal leans 40°).
pub(crate) fn chain(grid: &Grid, pockets: &[Pocket]) -> Result<Vec<Pocket>, SpineError> {
    let dz = grid.spacing.z;
    let mut score = vec![1usize; pockets.len()];
    let mut from = vec![usize::MAX; pockets.len()];
    for b in 0..pockets.len() {
        for a in (0..b).rev() {
            let gap = (pockets[b].k - pockets[a].k) as f64 * dz;
            if gap > 30.0 {
                break;
            }
            if gap == 0.0 {
                continue;
            }
            let moved = (pockets[b].centre - pockets[a].centre).length();
            if moved <= 6.0 + 0.8 * gap && score[a] + 1 > score[b] {
                score[b] = score[a] + 1;
                from[b] = a;
            }
        }
    }
    let Some(mut end) = (0..pockets.len()).max_by_key(|&b| score[b]) else {
        return Err(SpineError::NoCanal);
    };
    if score[end] < 5 {
        return Err(SpineError::NoCanal);
    }
    let mut chain = vec![pockets[end]];
    while from[end] != usize::MAX {
        end = from[end];
        chain.push(pockets[end]);
    }
    chain.reverse();
    Ok(chain)
}
