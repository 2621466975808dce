//! Seeds for contrast-filled vessels in front of the bodies, to compete
//! with the vertebrae's seeds for the bone region. The aorta's bifurcation,
//! the iliac arteries and veins drape over L4 and L5 and, filled with
//! contrast, are as bright as osteoporotic bone and touch it. The
//! thick-tissue pass (`thick`) takes only lumens over 14 mm across, and
//! not where they touch the body; here each blob owns what lies nearer to
//! it than to a body's core, so the border falls at the body's wall.
//!
//! Four kinds of seed: a slice's blob whose deep part stands apart from
//! the body's; the wall beside a lumen the thick-tissue pass left out; and,
//! where the CT shows contrast, the middle of a tube that runs on along
//! the column though it touches a body on every slice, and, on pixels fine
//! enough, what rises again past the low under a body's cortex, or lies
//! right on it dimmer than cortex, along rays from its centre.

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

/// What the seeds are found in: a window of `dims` voxels from `origin`,
/// on the column's slices (from `column.first`).
pub(crate) struct Window<'a> {
    /// The bone region the vertebrae's and the vessels' seeds compete for.
    pub region: &'a [bool],
    /// Bright tissue left out of the region as a vessel's lumen.
    pub lumen: &'a [bool],
    pub dims: [usize; 3],
    pub origin: [usize; 2],
}

/// Region voxels (window-linear) to seed as vessel.
pub(crate) fn seeds(grid: &Grid, column: &Column, window: &Window) -> Vec<usize> {
    let Window {
        region,
        dims,
        origin,
        ..
    } = *window;
    let [wi, wj, wk] = dims;
    let plane = wi * wj;
    let pixel = grid.spacing.x.max(grid.spacing.y) as f32;
    let mut depth = vec![0f32; plane];
    // Members of a slice's blobs already taken whole: a deeper middle
    // inside one holds no seed they did not.
    let mut taken = vec![false; plane];
    let mut out = Vec::new();
    let mut middles = Vec::new();
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
        let ahead_outside = |c: usize| {
            let (a, l) = units(c);
            a >= AHEAD_AT_LEAST && radius((a, l)) >= 1.0
        };
        tube_middles(&depth, [wi, wj], kk, ahead_outside, &mut middles);
    }
    out.extend(beside_lumens(grid, column, window, pixel));
    if with_contrast(grid, window.lumen) {
        out.extend(beyond_the_cortex(grid, column, window));
        out.extend(middles_in_long_tubes(
            &middles,
            [wi, wj],
            pixel,
            grid.spacing.z,
        ));
    }
    long_enough(out, dims, grid.spacing.z)
}

/// How far (mm) from a lumen left out of the region its wall's seeds
/// reach: where a contrast-filled aorta lies on a body, the thick-tissue
/// pass leaves out its lumen but not the part that touches the body, which
/// went whole to the body (the aorta took 110–190 voxels of 27 mm³ from each
/// of T12 to L3 on TotalSegmentator's CT with contrast at 1 mm).
const LUMEN_WALL_MM: f32 = 3.0;

/// How much lumen (ml) the thick-tissue pass leaves out in front of the
/// column where vessels hold contrast: 29–88 ml on TotalSegmentator's CT
/// with contrast (3 and 1 mm), 0–6 ml on the same CT without (bright
/// tissue beside the sacrum and the iliac bones in a lenient reading).
const CONTRAST_LUMENS_ML: f64 = 15.0;

/// Whether the vessels in front of the column hold contrast: a tube's
/// middle is seeded only then, since without contrast nothing in front of
/// the bodies as bright as bone is a vessel (on TotalSegmentator's CT with
/// denser bone, a chain along the sacrum's front cost it 0.02 of Dice).
fn with_contrast(grid: &Grid, lumen: &[bool]) -> bool {
    let voxel_ml = grid.voxel_ml();
    lumen.iter().filter(|&&l| l).count() as f64 * voxel_ml >= CONTRAST_LUMENS_ML
}

/// Region voxels within `LUMEN_WALL_MM` of a lumen in their slice and no
/// brighter than the slice's lumens on average: a vessel's wall fades from
/// its lumen to the tissue around it, while a body's cortex is brighter
/// than the marrow inside it, which the thick-tissue pass takes for a
/// lumen where the body lies outside its rough outline (L5 leaning over
/// S1: on TotalSegmentator's CT with denser bone and contrast at 1 mm, L5
/// lost its lower third, Dice 0.887 → 0.826, while its cortex was seeded).
fn beside_lumens(grid: &Grid, column: &Column, window: &Window, pixel: f32) -> Vec<usize> {
    let [wi, wj, wk] = window.dims;
    let [ox, oy] = window.origin;
    let plane = wi * wj;
    let mut from_lumen = vec![0f32; plane];
    let mut out = Vec::new();
    for kk in 0..wk {
        let lumen = &window.lumen[kk * plane..(kk + 1) * plane];
        if !lumen.contains(&true) {
            continue;
        }
        let k = column.first + kk;
        let hu = |c: usize| grid.hu_at(ox + c % wi, oy + c / wi, k);
        let (sum, n) = (0..plane)
            .filter(|&c| lumen[c])
            .fold((0f64, 0usize), |(s, n), c| (s + f64::from(hu(c)), n + 1));
        let lumen_hu = (sum / n as f64) as f32;
        for (d, &l) in from_lumen.iter_mut().zip(lumen) {
            *d = if l { 0.0 } else { f32::MAX };
        }
        crate::thick::chamfer(&mut from_lumen, wi, wj, pixel);
        let region = &window.region[kk * plane..(kk + 1) * plane];
        out.extend(
            (0..plane)
                .filter(|&c| region[c] && from_lumen[c] <= LUMEN_WALL_MM && hu(c) <= lumen_hu)
                .map(|c| kk * plane + c),
        );
    }
    out
}

/// How much brighter than bone (HU) a body's cortex is at least, in the
/// reading's own terms: the ring about the marrow that a vessel lying on
/// the body stays dimmer than (contrast-filled iliac veins at 150–180 HU on
/// an osteoporotic L5 with marrow at 110–130 and a cortex at 200–300).
const CORTEX_ABOVE_BONE_HU: f32 = 70.0;
/// How far (HU) below the cortex's peak the tissue just outside it falls,
/// at least, where a vessel lies on the body: the vessel's wall and the fat
/// or ligament under it (87–130 HU between a 230–290 HU cortex and a vein).
const UNDER_CORTEX_HU: f32 = 60.0;
/// How far (HU) the vessel's lumen rises again above that low, at least.
const RISE_TO_LUMEN_HU: f32 = 30.0;
/// The coarsest pixels (mm) that resolve the low between a cortex and a
/// vessel lying on it (1–2 mm thick): on TotalSegmentator's CT with
/// contrast as stored, 3 mm pixels, a ray found a low and a rise inside
/// L4 and L5 as often as in a vein (L5 0.856 → 0.809 with it); on the
/// same with denser bone at 1 mm and 40 HU of noise, read in 2 mm blocks,
/// it found the veins (L4 0.853 → 0.893, L5 0.761 → 0.791).
const RESOLVED_PIXEL_MM: f64 = 2.1;
/// Rays cast from a body's centre per slice, over the front and the sides
/// (`RAYS_REACH_RAD` either side of straight ahead).
const RAYS: usize = 120;
/// See `RAYS`: the arches behind do not start from the body's cortex.
const RAYS_REACH_RAD: f64 = 0.6 * std::f64::consts::PI;
/// How far (mm) a ray runs through the vessel at least: a lumen lying on
/// the body is 6–8 mm thick; a wall between the body and a lumen left out
/// of the region (the aorta's, on L1) is a sliver.
const LUMEN_AT_LEAST_MM: f64 = 4.0;
/// How many pixels a ray runs through the vessel at least.
const LUMEN_PIXELS_AT_LEAST: usize = 3;
/// How far (mm) a ray runs from the body's centre at most.
const RAY_MM: f64 = 80.0;

/// Region voxels that lie outside a body's cortex, past a low and a rise
/// again, along rays from the body's centre over its front and sides: a
/// vessel lying on the body, which a path through bone reaches across the
/// thin low under it. On TotalSegmentator's osteoporotic CT with contrast
/// at 1 mm the iliac veins lie on L5's front as crescents 6–8 mm thick
/// with no middle of their own (`middles_in_long_tubes` finds none) and
/// went to L5 (Dice 0.785). The body's own bone never rises again past
/// its cortex; an osteophyte carries a cortex of its own, the outermost
/// peak then. Where a vein lies right on the cortex, with no low between,
/// it begins where the ray comes off the cortex into tissue bone-bright
/// but dimmer than cortex (L5 0.832 → 0.838 there at 1 mm, 0.849 → 0.854
/// at 1.5 mm; on denser bone with contrast at 1.5 mm 0.877 → 0.888).
fn beyond_the_cortex(grid: &Grid, column: &Column, window: &Window) -> Vec<usize> {
    if grid.spacing.x.max(grid.spacing.y) > RESOLVED_PIXEL_MM {
        return Vec::new();
    }
    let [wi, wj, wk] = window.dims;
    let [ox, oy] = window.origin;
    let plane = wi * wj;
    let cortex = grid.bone_hu() + CORTEX_ABOVE_BONE_HU;
    let step = 0.5 * grid.spacing.x.min(grid.spacing.y);
    let mut out = Vec::new();
    let mut ray: Vec<(usize, f32)> = Vec::new();
    for kk in 0..wk {
        let k = column.first + kk;
        let s = column.at(k).expect("in the column");
        let region = &window.region[kk * plane..(kk + 1) * plane];
        for r in 0..RAYS {
            let angle = -RAYS_REACH_RAD + 2.0 * RAYS_REACH_RAD * r as f64 / (RAYS - 1) as f64;
            let direction = grid.anterior * angle.cos() + grid.lateral * angle.sin();
            ray.clear();
            let mut t = 0.0;
            while t <= RAY_MM {
                let p = s.body + direction * t;
                t += step;
                let (x, y) = (p.x / grid.spacing.x, p.y / grid.spacing.y);
                let (x, y) = (x.round() - ox as f64, y.round() - oy as f64);
                if x < 0.0 || y < 0.0 || x >= wi as f64 || y >= wj as f64 {
                    break;
                }
                let c = y as usize * wi + x as usize;
                if ray.last().is_some_and(|&(last, _)| last == c) {
                    continue;
                }
                let hu = grid.hu_at(ox + c % wi, oy + c / wi, k);
                if hu < 0.0 {
                    break;
                }
                ray.push((c, hu));
            }
            let Some(from) = past_the_cortex(&ray, cortex, grid.bone_hu()) else {
                continue;
            };
            // In front of the body's middle: beside and behind it lie the
            // pedicles and processes, bone past the body's cortex.
            let (c, _) = ray[from];
            let p = grid.plane_mm((ox + c % wi) as f64, (oy + c / wi) as f64);
            if s.body_units(grid, p).0 < 0.0 {
                continue;
            }
            let run = ray[from..].iter().take_while(|&&(c, _)| region[c]).count();
            let Some(&(last, _)) = ray[from..].get(run.saturating_sub(1)) else {
                continue;
            };
            let at = |c: usize| grid.plane_mm((c % wi) as f64, (c / wi) as f64);
            if run < LUMEN_PIXELS_AT_LEAST || at(last).distance(at(c)) + step < LUMEN_AT_LEAST_MM {
                continue;
            }
            out.extend(ray[from..from + run].iter().map(|&(c, _)| kk * plane + c));
        }
    }
    out
}

/// Where, along a ray's HU samples out from a body's centre, a vessel
/// begins past the outermost cortex peak (at least `cortex`): where tissue
/// rises again past a low under it, or, where the vessel lies right on
/// the cortex with no low between, where the ray has come down off the
/// peak and stays bone-bright (at least `bone`) but under `cortex` for a
/// lumen's pixels. (Without that upper bound a dense body's rim past its
/// peak passed for a vein: L5 0.887 → 0.827 on the denser CT with
/// contrast at 1 mm.)
fn past_the_cortex(ray: &[(usize, f32)], cortex: f32, bone: f32) -> Option<usize> {
    let hu = |i: usize| ray[i].1;
    let peak = (1..ray.len().saturating_sub(1))
        .rev()
        .find(|&i| hu(i) >= cortex && hu(i) >= hu(i - 1) && hu(i) >= hu(i + 1))?;
    let off_the_peak = hu(peak) - UNDER_CORTEX_HU;
    let foot = (peak + 1..ray.len()).find(|&i| hu(i) <= off_the_peak)?;
    let bright = ray[foot..]
        .iter()
        .take_while(|&&(_, h)| h >= bone && h < cortex)
        .count();
    if bright >= LUMEN_PIXELS_AT_LEAST {
        return Some(foot);
    }
    let mut low = hu(foot);
    for i in foot..ray.len() {
        low = low.min(hu(i));
        if hu(i) >= low + RISE_TO_LUMEN_HU {
            return Some(i);
        }
    }
    None
}

/// A tube's middle in one slice (window cell `x`, `y` of slice `kk`): a
/// local maximum of the depth (mm) inside bright tissue.
struct Middle {
    kk: usize,
    x: usize,
    y: usize,
    depth: f32,
}

/// Collects slice `kk`'s local maxima of `depth` at least
/// `DEPTH_AT_LEAST_MM` deep where `wanted` (ahead of the body, outside its
/// outline). A vessel lying on the body along its side joins its deep part
/// to the body's at every depth a thin vessel has (iliac arteries and veins
/// 8–12 mm across on L4 and L5, at 1 mm): its middle is still a ridge of
/// its own, a maximum of the distance to its edge.
#[inline(never)]
fn tube_middles(
    depth: &[f32],
    [wi, wj]: [usize; 2],
    kk: usize,
    wanted: impl Fn(usize) -> bool,
    middles: &mut Vec<Middle>,
) {
    for y in 1..wj.saturating_sub(1) {
        for x in 1..wi.saturating_sub(1) {
            let c = y * wi + x;
            let d = depth[c];
            if d < DEPTH_AT_LEAST_MM {
                continue;
            }
            let highest = [c - wi - 1, c - wi, c - wi + 1, c - 1, c + 1]
                .into_iter()
                .chain([c + wi - 1, c + wi, c + wi + 1])
                .all(|n| depth[n] <= d);
            if highest && wanted(c) {
                middles.push(Middle { kk, x, y, depth: d });
            }
        }
    }
}

/// How far (mm) a tube's middle moves from one slice to the next, at most:
/// this per mm between slices, and this at least (the iliac arteries part
/// at about 30° from the column's axis).
const MIDDLE_SHIFT_MM: f64 = 2.0;

/// How deep (mm) a tube's middle lies at most: an iliac artery or vein is
/// up to about 20 mm across, and a wider lumen is the thick-tissue pass's
/// (`thick`). A chain with a deeper middle is bone: a body or a sacrum
/// lying outside its rough outline (on TotalSegmentator's CT cut through
/// L2, the sacrum's front chained over 21 mm, 19 mm deep at its middle).
const TUBE_DEPTH_AT_MOST_MM: f32 = 12.0;

/// How deep (mm) a tube's deepest middle lies at least: the iliac vessels
/// on TotalSegmentator's CT with contrast at 1 mm are 6–10 mm deep at their
/// widest. A chain never deeper is a band under 10 mm thick all along: on
/// coarse pixels, where every cell of a cortex two cells thick is a
/// maximum one pixel deep, a cortex or a rim more often than a vessel.
const TUBE_DEPTH_AT_LEAST_MM: f32 = 5.0;

/// The seeds of the middles that chain (slice to slice, each within
/// `MIDDLE_SHIFT_MM` of one in the next slice) into a tube spanning
/// `RUN_AT_LEAST_MM`: the disk of radius depth less a pixel around each,
/// which lies inside the tube (its edge is `depth` away). A
/// vertebral body's own ridge outside its rough outline (L5 leaning forward
/// over S1 in a lenient reading) chains over a few slices only; the aorta,
/// the vena cava and the iliac vessels over 11–39 mm on TotalSegmentator's
/// CT with contrast at 1 mm.
fn middles_in_long_tubes(
    middles: &[Middle],
    [wi, wj]: [usize; 2],
    pixel: f32,
    dz: f64,
) -> Vec<usize> {
    let reach = MIDDLE_SHIFT_MM.max(MIDDLE_SHIFT_MM * dz) / f64::from(pixel);
    let near = |a: &Middle, b: &Middle| {
        let (dx, dy) = (a.x as f64 - b.x as f64, a.y as f64 - b.y as f64);
        dx.abs() <= reach && dy.abs() <= reach
    };
    // Middles are in slice order: each links to those of its own slice and
    // the next.
    let mut parent: Vec<usize> = (0..middles.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut start = 0;
    for i in 0..middles.len() {
        while middles[start].kk + 1 < middles[i].kk {
            start += 1;
        }
        for j in start..i {
            if near(&middles[i], &middles[j]) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    let mut span = vec![(usize::MAX, 0usize); middles.len()];
    let mut deepest = vec![0f32; middles.len()];
    for (i, m) in middles.iter().enumerate() {
        let r = root(&mut parent, i);
        span[r] = (span[r].0.min(m.kk), span[r].1.max(m.kk));
        deepest[r] = deepest[r].max(m.depth);
    }
    let round = round_chains(middles, &mut |i| root(&mut parent, i), pixel);
    let plane = wi * wj;
    let mut out = Vec::new();
    for (i, m) in middles.iter().enumerate() {
        let chain = root(&mut parent, i);
        let (lo, hi) = span[chain];
        let span_mm = (hi - lo + 1) as f64 * dz;
        let tube_wide = (TUBE_DEPTH_AT_LEAST_MM..=TUBE_DEPTH_AT_MOST_MM).contains(&deepest[chain]);
        if ((hi - lo + 1) as f64 * dz) < RUN_AT_LEAST_MM
            || !tube_wide
            || (span_mm < SPREAD_CHECKED_BELOW_MM && !round.contains(&chain))
        {
            continue;
        }
        let cells = (m.depth - pixel) / pixel;
        let n = cells.floor() as i64;
        for dy in -n..=n {
            for dx in -n..=n {
                let (x, y) = (m.x as i64 + dx, m.y as i64 + dy);
                let inside = (dx * dx + dy * dy) as f32 <= cells * cells;
                if inside && (0..wi as i64).contains(&x) && (0..wj as i64).contains(&y) {
                    out.push(m.kk * plane + y as usize * wi + x as usize);
                }
            }
        }
    }
    out
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

/// How long (in depths) a tube's middles spread across a slice at most,
/// in its median slice. A tube cut across or obliquely has one middle or
/// a short ridge of them (1–2.4 depths for the aorta and the iliac vessels
/// on TotalSegmentator's CT with contrast at 1 mm); the front rim of a body
/// lying outside its rough outline is a ridge many depths long (5 for L5
/// leaning over S1 on the same CT with denser bone, whose lower third went
/// to the vessels before this test).
const SPREAD_AT_MOST: f32 = 3.5;

/// How long (mm) a chain spans at least to be taken as a tube whatever
/// its spread: on coarse pixels the middles of a tube spread 3–4 depths
/// (TotalSegmentator's CT with contrast at 3 mm: the aorta's and the vena
/// cava's chains, linked, 4.3 over 126 mm), and no body's rim runs on so
/// far outside its outline (L5's, 12 mm).
const SPREAD_CHECKED_BELOW_MM: f64 = 20.0;

/// The chains (by their root, `chain_of` a middle) whose middles, in their
/// median slice, spread no further than `SPREAD_AT_MOST` times as far as
/// they lie deep.
fn round_chains(
    middles: &[Middle],
    chain_of: &mut dyn FnMut(usize) -> usize,
    pixel: f32,
) -> std::collections::HashSet<usize> {
    use std::collections::HashMap;
    // Per chain and slice: the middles' box and the deepest.
    let mut slices: HashMap<(usize, usize), ([usize; 4], f32)> = HashMap::new();
    for (i, m) in middles.iter().enumerate() {
        let at = slices
            .entry((chain_of(i), m.kk))
            .or_insert(([m.x, m.x, m.y, m.y], 0.0));
        at.0 = [
            at.0[0].min(m.x),
            at.0[1].max(m.x),
            at.0[2].min(m.y),
            at.0[3].max(m.y),
        ];
        at.1 = at.1.max(m.depth);
    }
    let mut spreads: HashMap<usize, Vec<f32>> = HashMap::new();
    for ((chain, _), ([x0, x1, y0, y1], deepest)) in slices {
        let across = ((x1 - x0) as f32).hypot((y1 - y0) as f32) * pixel + pixel;
        spreads.entry(chain).or_default().push(across / deepest);
    }
    spreads
        .into_iter()
        .filter_map(|(chain, mut spread)| {
            spread.sort_by(f32::total_cmp);
            (spread[spread.len() / 2] <= SPREAD_AT_MOST).then_some(chain)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slices of `wi` × `wj` 1 mm cells holding a body 14 mm in radius
    /// centred at (25, 30) and, beside it, what `with(kk, x, y)` adds.
    fn depths_of(
        wi: usize,
        wj: usize,
        wk: usize,
        with: impl Fn(usize, f64, f64) -> bool,
    ) -> Vec<Vec<f32>> {
        (0..wk)
            .map(|kk| {
                let mut depth: Vec<f32> = (0..wi * wj)
                    .map(|c| {
                        let (x, y) = ((c % wi) as f64, (c / wi) as f64);
                        let body = (x - 25.0).hypot(y - 30.0) <= 14.0;
                        if body || with(kk, x, y) {
                            f32::MAX
                        } else {
                            0.0
                        }
                    })
                    .collect();
                crate::thick::chamfer(&mut depth, wi, wj, 1.0);
                depth
            })
            .collect()
    }

    fn seeded(depths: &[Vec<f32>], wi: usize, wj: usize) -> Vec<(usize, usize, usize)> {
        let mut middles = Vec::new();
        for (kk, depth) in depths.iter().enumerate() {
            tube_middles(depth, [wi, wj], kk, |_| true, &mut middles);
        }
        middles_in_long_tubes(&middles, [wi, wj], 1.0, 1.0)
            .into_iter()
            .map(|w| (w % wi, w / wi % wj, w / (wi * wj)))
            .collect()
    }

    /// A vessel 10 mm across lying on the body along 30 slices is seeded in
    /// its own middle on every slice; the body, whose middle is deeper than
    /// any vessel's, is not.
    #[test]
    fn a_tube_lying_on_the_body_is_seeded_in_its_middle() {
        let (wi, wj, wk) = (64, 60, 30);
        let vessel = |x: f64, y: f64| (x - 44.0).hypot(y - 30.0) <= 5.0;
        let depths = depths_of(wi, wj, wk, |_, x, y| vessel(x, y));
        let seeds = seeded(&depths, wi, wj);
        let slices: std::collections::BTreeSet<_> = seeds.iter().map(|s| s.2).collect();
        assert_eq!(slices.len(), wk, "seeded on every slice");
        for &(x, y, kk) in &seeds {
            assert!(
                vessel(x as f64, y as f64),
                "({x}, {y}) of slice {kk} lies in the vessel"
            );
        }
    }

    /// Rays out from a body's centre (HU per pixel): a vein lying on the
    /// cortex begins where the tissue rises again past the low under it,
    /// or, with no low between, where the ray comes off the cortex into
    /// tissue bone-bright but dimmer than cortex; a body's surface falling
    /// to fat, a dense body's rim still as bright as cortex, and an
    /// osteophyte with a cortex of its own, hold none.
    #[test]
    fn a_vessel_begins_past_the_low_under_the_outermost_cortex() {
        let ray = |hu: &[f32]| {
            hu.iter()
                .enumerate()
                .map(|(c, &h)| (c, h))
                .collect::<Vec<_>>()
        };
        let cortex = 125.0 + CORTEX_ABOVE_BONE_HU;
        let vein = ray(&[
            110., 120., 115., 250., 160., 95., 150., 165., 170., 160., 40.,
        ]);
        assert_eq!(past_the_cortex(&vein, cortex, 125.0), Some(6));
        let lying_on_it = ray(&[110., 120., 115., 250., 160., 150., 165., 170., 160., 40.]);
        assert_eq!(past_the_cortex(&lying_on_it, cortex, 125.0), Some(4));
        let surface = ray(&[110., 120., 115., 250., 160., 95., 30.]);
        assert_eq!(past_the_cortex(&surface, cortex, 125.0), None);
        let dense_rim = ray(&[200., 300., 450., 600., 520., 480., 300., 60.]);
        assert_eq!(past_the_cortex(&dense_rim, cortex, 125.0), None);
        let osteophyte = ray(&[110., 115., 250., 140., 95., 150., 260., 150., 60.]);
        assert_eq!(past_the_cortex(&osteophyte, cortex, 125.0), None);
    }

    /// A bump as wide, on the body's front for 8 slices only (a rim or an
    /// osteophyte, not a vessel running on), holds no seed.
    #[test]
    fn a_short_bump_is_not_a_tube() {
        let (wi, wj, wk) = (64, 60, 30);
        let depths = depths_of(wi, wj, wk, |kk, x, y| {
            (10..18).contains(&kk) && (x - 44.0).hypot(y - 30.0) <= 5.0
        });
        assert!(seeded(&depths, wi, wj).is_empty());
    }

    /// A band 10 mm thick and 52 mm wide in front of the body over 14
    /// slices (a body's rim outside its outline, not a tube) holds no seed,
    /// though a vessel as deep and as long would.
    #[test]
    fn a_wide_ridge_is_not_a_tube() {
        let (wi, wj, wk) = (64, 60, 14);
        let band = |x: f64, y: f64| (4.0..=56.0).contains(&y) && (41.0..=51.0).contains(&x);
        let depths = depths_of(wi, wj, wk, |_, x, y| band(x, y));
        assert!(seeded(&depths, wi, wj).is_empty());
        let vessel = depths_of(wi, wj, wk, |_, x, y| (x - 46.0).hypot(y - 30.0) <= 5.0);
        assert!(!seeded(&vessel, wi, wj).is_empty());
    }
}
