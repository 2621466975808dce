//! Seeds for contrast-filled vessels in front of the bodies, to compete
//! with the vertebrae's seeds for the bone region. The aorta's bifurcation,
//! the iliac arteries and veins drape over L4 and L5 and, filled with
//! contrast, are as bright as osteoporotic bone and touch it. The
//! thick-tissue pass (`thick`) takes only lumens over 14 mm across, and
//! not where they touch the body; here each blob owns what lies nearer to
//! it than to a body's core, so the border falls at the body's wall.

use crate::column::Column;
use crate::grid::Grid;

/// How far in front of the body's middle (in half-depths) a vessel seed
/// lies at least: the sacral alae and the transverse processes lie beside
/// the body, not in front of it.
const AHEAD_AT_LEAST: f64 = 0.6;

/// How far outside the body's estimated outline (in units of it).
const OUTSIDE_AT_LEAST: f64 = 1.2;

/// How deep inside bright tissue (mm) a vessel's middle lies, where the
/// vessel lies on the body: iliac arteries and veins filled with contrast
/// are 10–16 mm across and touch L4 and L5 in front and to the side along
/// 15–20 mm (on TotalSegmentator's CT with its vessels made as bright as
/// bone, L5 took both iliac arteries and veins).
const CORE_DEPTH_AT_LEAST_MM: f32 = 4.5;

/// A third, deeper look for a vessel's middle (mm): on TotalSegmentator's
/// CT with arterial contrast resampled to 1 mm, the aorta's and the vena
/// cava's middles stayed joined to L3's at 4.5 mm deep, and the vessels
/// went to L3 (its Dice 0.87; 0.90 with this pass).
const DEEPER_CORE_MM: f32 = 6.5;

/// How deep inside bright tissue (mm) a seed lies: a vessel 6 mm across
/// has such a middle; an osteophyte's or a cortex's rim has not.
const DEPTH_AT_LEAST_MM: f32 = 3.0;

/// Region voxels (in a window of `dims` from `origin`, slices from
/// `column.first`) to seed as vessel.
pub(crate) fn seeds(
    grid: &Grid,
    column: &Column,
    region: &[bool],
    dims: [usize; 3],
    origin: [usize; 2],
) -> Vec<usize> {
    let [wi, wj, wk] = dims;
    let plane = wi * wj;
    let pixel = grid.spacing.x.max(grid.spacing.y) as f32;
    let mut depth = vec![0f32; plane];
    // Members of a slice's blobs already taken whole: a deeper middle
    // inside one holds no seed they did not.
    let mut taken = vec![false; plane];
    let mut out = Vec::new();
    let radius = |(a, l): (f64, f64)| (a * a + l * l).sqrt();
    for kk in 0..wk {
        let s = column.at(column.first + kk).expect("in the column");
        let slab = &region[kk * plane..(kk + 1) * plane];
        let units = |c: usize| {
            let p = grid.plane_mm((origin[0] + c % wi) as f64, (origin[1] + c / wi) as f64);
            s.body_units(grid, p)
        };
        // Where no bone lies in front of the body and outside its outline
        // (most slices of a CT without contrast), no seed can: the depths
        // are not worked out.
        let seedable = |c: usize| {
            let (a, l) = units(c);
            a >= AHEAD_AT_LEAST && radius((a, l)) >= OUTSIDE_AT_LEAST
        };
        if !any_region_where(slab, seedable) {
            continue;
        }
        start_depths(slab, &mut depth);
        crate::thick::chamfer(&mut depth, wi, wj, pixel);
        // The deep parts in this slice, joined side by side; one that
        // reaches into the body's outline is the body's own (a body leaning
        // forward at L5–S1 outgrows its estimated outline).
        // Then the deeper middles alone, twice: a vessel lying on the body
        // joins its deep part to the body's, but its own middle stands
        // apart from the body's past a neck.
        taken.fill(false);
        for least in [DEPTH_AT_LEAST_MM, CORE_DEPTH_AT_LEAST_MM, DEEPER_CORE_MM] {
            for members in crate::plane::components(wi, wj, |c| depth[c] >= least) {
                if members.iter().any(|&c| taken[c] || radius(units(c)) <= 1.0) {
                    continue;
                }
                for c in members {
                    taken[c] = true;
                    if seedable(c) {
                        out.push(kk * plane + c);
                    }
                }
            }
        }
    }
    long_enough(out, dims, grid.spacing.z)
}

/// Whether a `region` cell of one slice is one `wanted` takes. A function
/// per slice (wasm optimises a function between calls, never during one).
#[inline(never)]
fn any_region_where(region: &[bool], wanted: impl Fn(usize) -> bool) -> bool {
    region.iter().enumerate().any(|(c, &r)| r && wanted(c))
}

/// A slice's depths before the distance pass: 0 off the region, far on it.
#[inline(never)]
fn start_depths(region: &[bool], depth: &mut [f32]) {
    for (d, &r) in depth.iter_mut().zip(region) {
        *d = if r { f32::MAX } else { 0.0 };
    }
}

/// How long (mm, along the slices) a vessel's run of seeds is at least: an
/// artery or a vein runs on past a level, while an endplate's rim or an
/// osteophyte beside a disc, as deep and as far in front, spans only a few
/// slices (on TotalSegmentator's CT at 1.5 mm, the rim of L4's lower
/// endplate was taken for a vessel).
const RUN_AT_LEAST_MM: f64 = 12.0;

/// The seeds in 3D runs (joined face to face) spanning `RUN_AT_LEAST_MM`.
fn long_enough(seeds: Vec<usize>, dims: [usize; 3], dz: f64) -> Vec<usize> {
    let [wi, wj, wk] = dims;
    let plane = wi * wj;
    let mut is_seed = vec![false; plane * wk];
    for &w in &seeds {
        is_seed[w] = true;
    }
    let mut seen = vec![false; plane * wk];
    let mut out = Vec::new();
    for &start in &seeds {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![start];
        let mut members = vec![start];
        let (mut lo, mut hi) = (start / plane, start / plane);
        while let Some(w) = stack.pop() {
            let (x, y, k) = (w % wi, (w / wi) % wj, w / plane);
            lo = lo.min(k);
            hi = hi.max(k);
            let near = [
                (x > 0).then(|| w - 1),
                (x + 1 < wi).then(|| w + 1),
                (y > 0).then(|| w - wi),
                (y + 1 < wj).then(|| w + wi),
                (k > 0).then(|| w - plane),
                (k + 1 < wk).then(|| w + plane),
            ];
            for n in near.into_iter().flatten() {
                if is_seed[n] && !seen[n] {
                    seen[n] = true;
                    stack.push(n);
                    members.push(n);
                }
            }
        }
        if (hi - lo + 1) as f64 * dz >= RUN_AT_LEAST_MM {
            out.extend(members);
        }
    }
    out
}
