//! Metal in a spine CT (pedicle screws, rods, cages): what reads as metal,
//! how much of it each label holds, and the metal lying outside the bone
//! (screw heads, rods in the back muscles) left out of the bone's labels.
//! Metal reads brighter than any bone, so the reading takes an implant as
//! bone and joins it to whatever it touches; a reference outline of a
//! vertebra (and a print of it) holds the bone, with the screws' shafts
//! inside it, not the hardware standing out of it.

use crate::grid::Grid;

/// HU from which a voxel is metal, not bone: the densest cortical bone
/// reads under about 2,000 HU, titanium and steel implants 2,500 to the
/// scale's end (3,071 on a 12-bit one).
pub(crate) const METAL_HU: f32 = 2500.0;

/// How far past a metal object's edge (mm) the bone around it is looked
/// for: past the bright rim partial volume and blooming give it.
const CLEAR_MM: f64 = 3.0;

/// How far (mm) a ray stays in metal before it is taken to run along the
/// object (a screw's shaft) rather than across it.
const ALONG_MM: f64 = 60.0;

/// Of the eight directions in a slice, how many must find bone labelled
/// past a metal voxel's object for it to lie inside the bone: a shaft in
/// a pedicle or body has bone on every side but its way out; a head or a
/// rod in muscle has bone on one or two sides.
const BONE_SIDES: usize = 6;

/// Takes out of `labels` the metal that lies outside the bone, with the
/// bright rim around it: what, slice by slice, has labelled bone on fewer
/// than [`BONE_SIDES`] of eight sides past [`CLEAR_MM`]. Gives the metal
/// voxels each label keeps (found in the same pass).
pub(crate) fn leave_out_metal_outside_bone(grid: &Grid, labels: &mut [u8]) -> [usize; 256] {
    let mut kept = [0usize; 256];
    for k in 0..grid.dims[2] {
        leave_out_in_slice(grid, labels, k, &mut kept);
    }
    kept
}

/// Directions in a slice: the four axes and the four diagonals.
const DIRECTIONS: [(isize, isize); 8] = [
    (1, 0),
    (-1, 0),
    (0, 1),
    (0, -1),
    (1, 1),
    (1, -1),
    (-1, 1),
    (-1, -1),
];

/// One slice of [`leave_out_metal_outside_bone`] (a function per slice:
/// wasm has no on-stack replacement), counting the metal kept into `kept`.
#[inline(never)]
fn leave_out_in_slice(grid: &Grid, labels: &mut [u8], k: usize, kept: &mut [usize; 256]) {
    let [ni, nj, _] = grid.dims;
    let is_metal = |i: usize, j: usize| grid.hu_at(i, j, k) >= METAL_HU;
    // Labelled voxels are a few percent of a slice: only their HU is read
    // (reading every voxel's was a tenth of the analysis of a 523×433×336
    // CT; first testing each slice's HU for any metal cost more than it
    // saved, 1.01 G instructions against 0.81 G there).
    let plane = ni * nj;
    let first = grid.index(0, 0, k);
    let mut metal = Vec::new();
    for block in (0..plane).step_by(crate::BLOCK) {
        let end = (block + crate::BLOCK).min(plane);
        if crate::all_zero(&labels[first + block..first + end]) {
            continue;
        }
        for w in block..end {
            if labels[first + w] != 0 && grid.hu(first + w) >= METAL_HU {
                metal.push((w % ni, w / ni));
            }
        }
    }
    if metal.is_empty() {
        return;
    }
    let at = |i: isize, j: isize| {
        (i >= 0 && j >= 0 && (i as usize) < ni && (j as usize) < nj)
            .then_some((i as usize, j as usize))
    };
    // Whether the pixel past (i, j)'s metal (if any) and CLEAR_MM further
    // along each direction is labelled, counted over the eight.
    let bone_sides = |labels: &[u8], i: usize, j: usize| {
        DIRECTIONS
            .iter()
            .filter(|&&(di, dj)| {
                let step = (di as f64 * grid.spacing.x).hypot(dj as f64 * grid.spacing.y);
                let mut t = 0isize;
                while let Some((a, b)) = at(i as isize + t * di, j as isize + t * dj) {
                    if !is_metal(a, b) || t as f64 * step > ALONG_MM {
                        break;
                    }
                    t += 1;
                }
                let past = t + (CLEAR_MM / step).ceil() as isize;
                at(i as isize + past * di, j as isize + past * dj)
                    .is_some_and(|(a, b)| labels[grid.index(a, b, k)] != 0)
            })
            .count()
    };
    let (outside, inside): (Vec<_>, Vec<_>) = metal
        .into_iter()
        .partition(|&(i, j)| bone_sides(labels, i, j) < BONE_SIDES);
    for (i, j) in inside {
        kept[labels[grid.index(i, j, k)] as usize] += 1;
    }
    // The rim: labelled pixels within CLEAR_MM of metal left out that lie
    // outside the bone by the same test.
    let reach = [
        (CLEAR_MM / grid.spacing.x).ceil() as isize,
        (CLEAR_MM / grid.spacing.y).ceil() as isize,
    ];
    let mut rim = Vec::new();
    for &(i, j) in &outside {
        for dj in -reach[1]..=reach[1] {
            for di in -reach[0]..=reach[0] {
                if let Some((a, b)) = at(i as isize + di, j as isize + dj)
                    && labels[grid.index(a, b, k)] != 0
                    && !is_metal(a, b)
                {
                    rim.push((a, b));
                }
            }
        }
    }
    rim.sort_unstable();
    rim.dedup();
    let rim: Vec<(usize, usize)> = rim
        .into_iter()
        .filter(|&(i, j)| bone_sides(labels, i, j) < BONE_SIDES)
        .collect();
    for (i, j) in outside.into_iter().chain(rim) {
        labels[grid.index(i, j, k)] = 0;
    }
}
