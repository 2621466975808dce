//! The vertebral body column in front of the canal, its centreline, and the
//! disc spaces along it. Discs are found on a profile of HU sampled across
//! the column *perpendicular to its own axis*, not per axial slice: a lower
//! lumbar disc is tilted 20–40° from the axial plane and an axial slice
//! would smear it away.

use glam::{DVec2, DVec3};
use std::ops::RangeInclusive;

use crate::SpineError;
use crate::canal::Pocket;
use crate::grid::Grid;

/// One slice's canal centre (interpolated between pockets) and the body in
/// front of it, in the slice's (i mm, j mm) plane.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SliceColumn {
    pub canal: DVec2,
    /// Body centre (smoothed), half-width and half-depth (mm).
    pub body: DVec2,
    pub half_width: f64,
    pub half_depth: f64,
}

/// The column per slice over `first..=last` (slices outside have none).
pub(crate) struct Column {
    pub first: usize,
    pub slices: Vec<SliceColumn>,
}

impl SliceColumn {
    /// Where in-plane point `p` (mm) lies against the body's estimated
    /// outline: (ahead, to the side) of its centre in half-depths and
    /// half-widths, so the outline is the unit circle.
    pub fn body_units(&self, grid: &Grid, p: DVec2) -> (f64, f64) {
        let d = p - self.body;
        (
            d.dot(grid.anterior) / self.half_depth,
            d.dot(grid.lateral) / self.half_width,
        )
    }

    /// Whether in-plane point `p` (mm) lies within the body's estimated
    /// outline.
    pub fn outlines(&self, grid: &Grid, p: DVec2) -> bool {
        let (ahead, side) = self.body_units(grid, p);
        ahead.hypot(side) <= 1.0
    }
}

impl Column {
    pub fn at(&self, k: usize) -> Option<&SliceColumn> {
        k.checked_sub(self.first).and_then(|o| self.slices.get(o))
    }
}

/// The body blob in slice `k` in front of the canal at `canal`: bone reached
/// from the canal's front wall, within 70 mm ahead and 35 mm to either side.
fn body_in_slice(grid: &Grid, k: usize, canal: DVec2) -> Option<(DVec2, f64, f64)> {
    let (sx, sy) = (grid.spacing.x, grid.spacing.y);
    let rel = |i: usize, j: usize| grid.plane_mm(i as f64, j as f64) - canal;
    let inside = |i: usize, j: usize| {
        let d = rel(i, j);
        let (a, l) = (d.dot(grid.anterior), d.dot(grid.lateral));
        (4.0..=70.0).contains(&a) && l.abs() <= 35.0
    };
    // First bone straight ahead of the canal.
    let mut start = None;
    let mut t = 4.0;
    while t < 30.0 {
        let p = canal + grid.anterior * t;
        let (i, j) = ((p.x / sx).round(), (p.y / sy).round());
        if i >= 0.0 && j >= 0.0 && (i as usize) < grid.dims[0] && (j as usize) < grid.dims[1] {
            let (i, j) = (i as usize, j as usize);
            if grid.hu_at(i, j, k) >= grid.bone_hu() {
                start = Some((i, j));
                break;
            }
        }
        t += 0.5;
    }
    let (i0, j0) = start?;
    let (w, h) = (grid.dims[0], grid.dims[1]);
    // What the flood has seen, over the box `inside` fits in (70 mm from
    // the canal, and more): a bitmap, not a hash set (hashing each pixel
    // was a twentieth of the analysis in wasm).
    let reach = (71.0 / sx.min(sy)).ceil() as usize + 1;
    let (bi, bj) = (i0.saturating_sub(2 * reach), j0.saturating_sub(2 * reach));
    let bw = (i0 + 2 * reach).min(w - 1) - bi + 1;
    let bh = (j0 + 2 * reach).min(h - 1) - bj + 1;
    let mut seen = vec![false; bw * bh];
    let mut mark =
        |i: usize, j: usize| !std::mem::replace(&mut seen[(j - bj) * bw + (i - bi)], true);
    let mut stack = vec![(i0, j0)];
    mark(i0, j0);
    let mut count = 1usize;
    let (mut lo_a, mut hi_a, mut lo_l, mut hi_l) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let (mut lo_i, mut hi_i, mut lo_j, mut hi_j) = (i0, i0, j0, j0);
    while let Some((i, j)) = stack.pop() {
        (lo_i, hi_i, lo_j, hi_j) = (lo_i.min(i), hi_i.max(i), lo_j.min(j), hi_j.max(j));
        let d = rel(i, j);
        let (a, l) = (d.dot(grid.anterior), d.dot(grid.lateral));
        // Compares, not `f64::min`/`max`: those are calls in wasm.
        (lo_a, hi_a) = (
            if a < lo_a { a } else { lo_a },
            if a > hi_a { a } else { hi_a },
        );
        (lo_l, hi_l) = (
            if l < lo_l { l } else { lo_l },
            if l > hi_l { l } else { hi_l },
        );
        for (di, dj) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
            let (ni, nj) = (i as i64 + di, j as i64 + dj);
            if ni < 0 || nj < 0 || ni >= w as i64 || nj >= h as i64 {
                continue;
            }
            let (ni, nj) = (ni as usize, nj as usize);
            if inside(ni, nj) && grid.hu_at(ni, nj, k) >= grid.bone_hu() && mark(ni, nj) {
                count += 1;
                stack.push((ni, nj));
            }
        }
        if count > 40_000 {
            break;
        }
    }
    if hi_a >= VESSEL_AHEAD_MM {
        let blob = Blob {
            bitmap: &seen,
            corner: (bi, bj),
            stride: bw,
            bounds: ((lo_i, lo_j), (hi_i, hi_j)),
        };
        if let Some(kept) = without_vessel_lumens(grid, &blob, &rel) {
            (lo_a, hi_a, lo_l, hi_l, count) = kept;
        }
    }
    let area = count as f64 * sx * sy;
    let (depth, width) = (hi_a - lo_a, hi_l - lo_l);
    if area < 40.0 || depth < 12.0 || width < 15.0 {
        return None;
    }
    let centre =
        canal + grid.anterior * ((lo_a + hi_a) / 2.0) + grid.lateral * ((lo_l + hi_l) / 2.0);
    Some((centre, width / 2.0, depth / 2.0))
}

/// How deep inside a body blob (mm) a vessel's lumen lies: a contrast-
/// filled aorta or vena cava, 20–30 mm across, is above the bone threshold
/// of osteoporotic bone and joined to the body's front by partial volume.
/// On TotalSegmentator's CT with arterial contrast resampled to 1 mm, the
/// aorta took the body's depth to the flood's 70 mm limit, and T12's disc
/// was lost.
const LUMEN_DEPTH_MM: f32 = 7.0;

/// A lumen's middle lies this far ahead of the canal's centre (mm) at
/// least, in front of the body's middle; a blob reaching no further than
/// this holds none.
const VESSEL_AHEAD_MM: f64 = 45.0;

/// A thick core touching the column's midline (mm either side) is the
/// body's own: a dense body is one thick core, and where L5 lies in front
/// of the sacrum its core lies as far ahead as a vessel's (on the same CT
/// with its bone made denser). The aorta and the vena cava lie to the
/// sides of it.
const MIDLINE_MM: f64 = 6.0;

/// Taken off around a lumen past its depth (mm): its wall, blurred.
const LUMEN_RIM_MM: f64 = 3.0;

/// The pixels a body flood reached: a bitmap over a box of the slice.
struct Blob<'a> {
    bitmap: &'a [bool],
    /// The box's first pixel, and its width.
    corner: (usize, usize),
    stride: usize,
    /// First and last pixels (i, j) of the blob.
    bounds: ((usize, usize), (usize, usize)),
}

/// The blob's extent (fewest and most mm ahead, fewest and most to the
/// side, from the canal's centre as `rel` places a pixel) and its pixels,
/// without the lumens of vessels lying on the body's front: thick cores of
/// the blob whose middle lies [`VESSEL_AHEAD_MM`] ahead or more and that do
/// not touch the midline, each taken off with a disc of its depth and a
/// rim around its middle. `None` when the blob holds no such lumen.
fn without_vessel_lumens(
    grid: &Grid,
    blob: &Blob,
    rel: &impl Fn(usize, usize) -> DVec2,
) -> Option<(f64, f64, f64, f64, usize)> {
    // The blob's bounds and one pixel more, so every member has an outside
    // neighbour in the window.
    let ((i0, j0), (i1, j1)) = blob.bounds;
    let (oi, oj) = (i0.saturating_sub(1), j0.saturating_sub(1));
    let (w, h) = (i1 + 2 - oi, j1 + 2 - oj);
    let member = |c: usize| {
        let (i, j) = (oi + c % w, oj + c / w);
        (i0..=i1).contains(&i)
            && (j0..=j1).contains(&j)
            && blob.bitmap[(j - blob.corner.1) * blob.stride + (i - blob.corner.0)]
    };
    let inside: Vec<bool> = (0..w * h).map(member).collect();
    let mut depth: Vec<f32> = inside
        .iter()
        .map(|&m| if m { f32::MAX } else { 0.0 })
        .collect();
    crate::thick::chamfer(&mut depth, w, h, grid.spacing.x.max(grid.spacing.y) as f32);
    let place = |c: usize| {
        let d = rel(oi + c % w, oj + c / w);
        (d, d.dot(grid.anterior), d.dot(grid.lateral))
    };
    let mut lumens = Vec::new();
    for core in crate::plane::components(w, h, |c| depth[c] >= LUMEN_DEPTH_MM) {
        let deepest = core
            .iter()
            .copied()
            .max_by(|&a, &b| depth[a].total_cmp(&depth[b]))?;
        let (middle, ahead, _) = place(deepest);
        let own = core.iter().any(|&c| place(c).2.abs() <= MIDLINE_MM);
        if !own && ahead >= VESSEL_AHEAD_MM {
            lumens.push((middle, f64::from(depth[deepest]) + LUMEN_RIM_MM));
        }
    }
    if lumens.is_empty() {
        return None;
    }
    let (mut lo_a, mut hi_a, mut lo_l, mut hi_l) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let mut count = 0;
    for c in (0..w * h).filter(|&c| inside[c]) {
        let (d, a, l) = place(c);
        if lumens.iter().any(|&(m, r)| (d - m).length() <= r) {
            continue;
        }
        (lo_a, hi_a, lo_l, hi_l) = (lo_a.min(a), hi_a.max(a), lo_l.min(l), hi_l.max(l));
        count += 1;
    }
    (count > 0).then_some((lo_a, hi_a, lo_l, hi_l, count))
}

/// How far past each end of the column (mm) the spine is looked for.
const BEYOND_MM: f64 = 30.0;

/// Whether vertebral bodies go on above the column's top (its end up the
/// patient): in two thirds of the slices up to [`BEYOND_MM`] past it, a
/// body lies in front of where the canal ended. A strict reading of bone
/// can lose the canal's ring for a whole vertebra (on TotalSegmentator's CT
/// with its bone made 100 HU denser, resampled to 1.5 mm, the chain stopped
/// 50 mm short of the top, and T12 was called rib), so a reading that stops
/// short is not taken at once. Not below: under the sacral canal's end the
/// sacrum and coccyx go on by nature (on the demo spine every reading
/// stopped "short" there, and all three were run for the same result).
pub(crate) fn continues_above(grid: &Grid, column: &Column) -> bool {
    let reach = (BEYOND_MM / grid.spacing.z).round() as usize;
    let last = column.first + column.slices.len() - 1;
    let up_is_higher_k =
        grid.world(0.0, 0.0, last as f64).z > grid.world(0.0, 0.0, column.first as f64).z;
    let (end, canal, dir) = if up_is_higher_k {
        (last, column.slices[column.slices.len() - 1].canal, 1i64)
    } else {
        (column.first, column.slices[0].canal, -1)
    };
    let ks: Vec<usize> = (1..=reach as i64)
        .map(|n| end as i64 + dir * n)
        .take_while(|&k| k >= 0 && (k as usize) < grid.dims[2])
        .map(|k| k as usize)
        .collect();
    let bodies = ks
        .iter()
        .filter(|&&k| body_in_slice(grid, k, canal).is_some())
        .count();
    ks.len() as f64 * grid.spacing.z >= 10.0 && bodies * 3 >= ks.len() * 2
}

/// Median of a slice of numbers (0 when empty).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Canal centres for every slice of the chain's span (linear between
/// pockets, held 25 mm past its ends), then the body in front of each, its
/// offset and size smoothed by a running median over ±20 mm.
pub(crate) fn build(grid: &Grid, chain: &[Pocket]) -> Result<Column, SpineError> {
    let dz = grid.spacing.z;
    let pad = (25.0 / dz).round() as usize;
    let first = chain[0].k.saturating_sub(pad);
    let last = (chain[chain.len() - 1].k + pad).min(grid.dims[2] - 1);
    let mut canal = Vec::with_capacity(last - first + 1);
    let mut next = 0;
    for k in first..=last {
        while next < chain.len() && chain[next].k < k {
            next += 1;
        }
        let c = if next == 0 {
            chain[0].centre
        } else if next == chain.len() {
            chain[chain.len() - 1].centre
        } else {
            let (a, b) = (chain[next - 1], chain[next]);
            let t = (k - a.k) as f64 / (b.k - a.k).max(1) as f64;
            a.centre.lerp(b.centre, t)
        };
        canal.push(c);
    }
    let raw: Vec<Option<(DVec2, f64, f64)>> = (first..=last)
        .map(|k| body_in_slice(grid, k, canal[k - first]))
        .collect();
    if raw.iter().flatten().count() < 5 {
        return Err(SpineError::NoBodies);
    }
    let window = (20.0 / dz).round() as usize;
    let mut slices = Vec::with_capacity(raw.len());
    for o in 0..raw.len() {
        let lo = o.saturating_sub(window);
        let hi = (o + window).min(raw.len() - 1);
        let near: Vec<(DVec2, f64, f64)> = (lo..=hi)
            .filter_map(|n| raw[n].map(|(c, w, d)| (c - canal[n], w, d)))
            .collect();
        let (offset, half_width, half_depth) = if near.is_empty() {
            let all: Vec<_> = raw
                .iter()
                .enumerate()
                .filter_map(|(n, r)| r.map(|(c, w, d)| (c - canal[n], w, d)))
                .collect();
            summarise(&all)
        } else {
            summarise(&near)
        };
        slices.push(SliceColumn {
            canal: canal[o],
            body: canal[o] + offset,
            half_width,
            half_depth,
        });
    }
    Ok(Column { first, slices })
}

fn summarise(samples: &[(DVec2, f64, f64)]) -> (DVec2, f64, f64) {
    let mut x: Vec<f64> = samples.iter().map(|s| s.0.x).collect();
    let mut y: Vec<f64> = samples.iter().map(|s| s.0.y).collect();
    let mut w: Vec<f64> = samples.iter().map(|s| s.1).collect();
    let mut d: Vec<f64> = samples.iter().map(|s| s.2).collect();
    (
        DVec2::new(median(&mut x), median(&mut y)),
        median(&mut w),
        median(&mut d),
    )
}

/// A station along the body centreline: position, axis (pointing up the
/// patient, whichever way the slices run), and the mean HU across the
/// column there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Station {
    pub position: DVec3,
    pub axis: DVec3,
    pub hu: f64,
    /// The level height to expect here (mm): about the body's depth.
    pub expected_mm: f64,
    /// The body's half-width and half-depth here (mm, from axial slices).
    pub half_size: DVec2,
}

/// A disc space: its mid-plane and how clear it was.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Disc {
    pub centre: DVec3,
    /// Unit normal, pointing up the column.
    pub normal: DVec3,
    /// How far the profile dips there (HU).
    pub depth: f64,
    /// Half the disc space's thickness (mm) where its endplates were seen,
    /// 0 where not (nothing is cleared there).
    pub half_gap_mm: f64,
}

/// The span of the centreline a station's axis is read over, in levels.
const AXIS_SPAN_LEVELS: f64 = 1.0;

/// Stations every 0.5 mm along the smoothed body centreline.
pub(crate) fn stations(grid: &Grid, column: &Column) -> Vec<Station> {
    let centres: Vec<DVec3> = column
        .slices
        .iter()
        .enumerate()
        .map(|(o, s)| {
            let k = (column.first + o) as f64;
            grid.world(s.body.x / grid.spacing.x, s.body.y / grid.spacing.y, k)
        })
        .collect();
    // Arc-length resampling.
    let mut path = vec![centres[0]];
    let step = 0.5;
    let mut carry = 0.0;
    for pair in centres.windows(2) {
        let seg = pair[1] - pair[0];
        let len = seg.length();
        let mut t = step - carry;
        while t <= len {
            path.push(pair[0] + seg * (t / len));
            t += step;
        }
        carry = len - (t - step);
    }
    let sizes: Vec<(f64, f64)> = column
        .slices
        .iter()
        .map(|s| (s.half_width, s.half_depth))
        .collect();
    let mut out = Vec::with_capacity(path.len());
    for n in 0..path.len() {
        let k = grid
            .index_of(path[n])
            .z
            .round()
            .clamp(column.first as f64, (column.first + sizes.len() - 1) as f64)
            as usize;
        let (hw, hd) = sizes[k - column.first];
        let expected_mm = (1.9 * hd).clamp(12.0, 45.0);
        // The axis spans one level: the canal's centre (and so the body's)
        // shifts within every level (pedicles close the canal, foramina
        // open it), and over a shorter span that shift tilts the axis by
        // up to 40° (seen at L4–L5 on a 3 mm CT); over a whole level it
        // cancels, and the discs' own planes are searched around it.
        let reach = ((AXIS_SPAN_LEVELS * expected_mm).max(12.0) / 2.0 / step) as usize;
        let a = path[n.saturating_sub(reach)];
        let b = path[(n + reach).min(path.len() - 1)];
        let along = (b - a).normalize_or_zero();
        if along == DVec3::ZERO {
            continue;
        }
        // Up the patient (+z), whichever way the slices run.
        let axis = if along.z < 0.0 { -along } else { along };
        out.push(Station {
            position: path[n],
            axis,
            hu: cross_section_mean(grid, path[n], axis, 0.55 * hw, 0.55 * hd),
            expected_mm,
            half_size: DVec2::new(hw, hd),
        });
    }
    out
}

/// Mean HU over the front of an ellipse across the column at `p`,
/// perpendicular to `axis`. Only the front: the basivertebral veins enter a
/// body from behind at mid-height and darken its back half like a disc.
pub(crate) fn cross_section_mean(grid: &Grid, p: DVec3, axis: DVec3, rw: f64, rd: f64) -> f64 {
    let (anterior, lateral) = crate::measure::across(axis, grid.front);
    let mut sum = 0.0;
    let mut n = 0.0;
    for r in [0.35, 0.65, 0.9] {
        for s in 0..16 {
            let angle = std::f64::consts::TAU * s as f64 / 16.0;
            if angle.sin() < -0.1 {
                continue;
            }
            let q = p + lateral * (rw * r * angle.cos()) + anterior * (rd * r * angle.sin());
            sum += f64::from(grid.sample(q)).clamp(-200.0, 1200.0);
            n += 1.0;
        }
    }
    sum / n
}

/// The run of a profile's sample indices in `range` around `from` (one of
/// them) whose points `at(n)` the scan [holds](Grid::holds), if it holds
/// three or more. Past the scan's edge (from half a voxel inside the
/// outermost voxels) every sample reads as air and drags the profile's
/// median, which a disc must dip under, down: on TotalSegmentator's CT
/// pitched 20°, the T12–L1 disc near the scan's top read 94 HU between
/// endplates of 134–190 against a median of about 100 with the air, 116
/// without, and was missed (T12's remnant joined L1).
pub(crate) fn within_scan(
    grid: &Grid,
    range: RangeInclusive<i64>,
    from: i64,
    at: impl Fn(i64) -> DVec3,
) -> Option<RangeInclusive<i64>> {
    let inside = |n: &i64| grid.holds(at(*n));
    let first = (*range.start()..=from).rev().take_while(inside).last()?;
    let last = (from..=*range.end()).take_while(inside).last()?;
    (last - first >= 2).then_some(first..=last)
}

/// Disc spaces: dips of the smoothed profile. Every local minimum that
/// dips below the brightest HU on either side within 7 mm (its endplates)
/// is a candidate, scored by that dip plus its darkness against the
/// column's median; the deepest are kept at least 0.6 of a level apart; where two
/// kept discs are more than 1.6 levels apart, the deepest candidate in
/// between is taken too (a faint disc between two clear ones).
pub(crate) fn discs(grid: &Grid, stations: &[Station]) -> Vec<Disc> {
    let n = stations.len();
    if n < 20 {
        return Vec::new();
    }
    let raw: Vec<f64> = stations.iter().map(|s| s.hu).collect();
    let smooth = smoothed(&raw);
    let mut sorted = smooth.clone();
    let typical = median(&mut sorted);
    let low = sorted[sorted.len() / 20];
    let clear = (0.15 * (typical - low)).max(20.0);
    // Distances between stations are read straight, not along the path:
    // the path follows the canal's pockets, which jitter by a millimetre
    // or two from slice to slice on a noisy CT (on TotalSegmentator's
    // osteoporotic CT with contrast and 25 HU of noise at 1 mm, read in 2
    // mm blocks, the path ran 1.4–2.0 times as long as the column, discs
    // kept 0.7 of a level apart along it stood 0.4 of one apart, and a
    // false disc cut L4 in two: every name above it one level off).
    let apart_mm = |i: usize, j: usize| stations[i].position.distance(stations[j].position);
    let mut candidates: Vec<(usize, f64)> = Vec::new();
    for i in 1..n - 1 {
        // In a lenient reading a broad dip ranks lower (osteoporotic marrow
        // dips as dark as a disc, but over the body's middle, not thin).
        if let Some((_, rank)) = ranked_dip(&smooth, i, typical, grid.reading.lenient) {
            candidates.push((i, rank));
        }
    }
    let mut by_depth = candidates.clone();
    by_depth.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut kept: Vec<(usize, f64)> = Vec::new();
    // Osteoporotic marrow is as dark as a disc, so in a lenient reading a
    // body's dark middle dips like one: kept discs stand further apart.
    let spacing = if grid.reading.lenient { 0.7 } else { 0.6 };
    for &(i, depth) in &by_depth {
        let apart = spacing * stations[i].expected_mm;
        if depth >= clear && kept.iter().all(|&(j, _)| apart_mm(i, j) >= apart) {
            kept.push((i, depth));
        }
    }
    kept.sort_by_key(|&(i, _)| i);
    // Faint discs in long gaps.
    loop {
        let mut added = false;
        let gaps: Vec<f64> = kept.windows(2).map(|w| apart_mm(w[0].0, w[1].0)).collect();
        for (g, pair) in kept.clone().windows(2).enumerate() {
            let (a, b) = (pair[0].0, pair[1].0);
            let expected = stations[(a + b) / 2].expected_mm;
            let level = if grid.reading.lenient {
                expected
            } else {
                measured_level(&gaps, g, expected)
            };
            if apart_mm(a, b) <= LONG_GAP_LEVELS * level {
                continue;
            }
            let apart = 0.6 * level;
            // Not a dip ranked below nothing: in a lenient reading that is
            // a body's broad dim middle (on TotalSegmentator's CT resampled
            // to 1 mm, one cut L1 in two).
            let best = candidates
                .iter()
                .filter(|&&(i, rank)| {
                    (a..=b).contains(&i)
                        && apart_mm(a, i) >= apart
                        && apart_mm(i, b) >= apart
                        && rank > 0.0
                })
                .max_by(|x, y| x.1.total_cmp(&y.1))
                .copied()
                .or_else(|| {
                    let inside =
                        (a..=b).filter(|&i| apart_mm(a, i) >= apart && apart_mm(i, b) >= apart);
                    filled_disc(&smooth, inside, typical, level).map(|i| (i, FILLED_DISC_DEPTH))
                });
            if let Some(c) = best {
                kept.push(c);
                added = true;
            }
        }
        if !added {
            break;
        }
        kept.sort_by_key(|&(i, _)| i);
    }
    drop_splits_of_one_level(&mut kept, apart_mm, |i| stations[i].expected_mm);
    kept.into_iter()
        .map(|(i, depth)| {
            // A filled disc keeps its station's plane through the bright
            // band's middle: the darkest plane near it lies beside the
            // band, tilted into a body (with a 6 mm ball of cement, L3 read
            // Irregular 37° and 0.957 of its labels without the ball).
            let (centre, normal, half_gap_mm) = if depth == FILLED_DISC_DEPTH {
                (stations[i].position, stations[i].axis, 0.0)
            } else {
                disc_plane(grid, &stations[i])
            };
            Disc {
                centre,
                normal,
                depth,
                half_gap_mm,
            }
        })
        .collect()
}

/// The level (mm) about gap `g` of `gaps` (between kept discs): the
/// `expected` one (the bodies' depth), or the gaps beside `g` (their mean,
/// those of one level) where shorter. Thoracic bodies are deeper than
/// tall: on the chest CT the mid-thoracic discs stand 19–23 mm apart
/// against 28–30 mm expected, so a body shortened by a fracture (both
/// endplates sagging 5 mm into T8) held its discs 17 mm apart, under
/// the 0.6 of a level that kept discs stand apart; one was not kept, the
/// gap of 43 mm was not long enough to look again, and T8 and T9 came
/// out as one piece (and the names went wrong). Not in a lenient
/// reading, whose dim marrow dips as discs do: with the gaps beside it,
/// TotalSegmentator's osteoporotic CT scanned with the gantry tilted −20°
/// gained a disc in a body's dim middle, and its names went a level off.
fn measured_level(gaps: &[f64], g: usize, expected: f64) -> f64 {
    let beside: Vec<f64> = [g.checked_sub(1), Some(g + 1)]
        .into_iter()
        .flatten()
        .filter_map(|n| gaps.get(n).copied())
        .filter(|&gap| gap <= LONG_GAP_LEVELS * expected)
        .collect();
    if beside.is_empty() {
        return expected;
    }
    expected.min(beside.iter().sum::<f64>() / beside.len() as f64)
}

/// A disc that cuts one level into two pieces, each under
/// `SPLIT_PIECE_MOST` of the levels beside them and together within
/// `SPLIT_SUM_WITHIN` of them, is dropped: that is a dark band across one
/// body (osteoporotic marrow, the basivertebral veins), not a disc. (On
/// TotalSegmentator's CT stored rotated half a turn, L1 came out as pieces
/// of 18.9 and 15.1 mm against L2's 34.9.) A crushed vertebra beside a
/// whole one does not add up to one level, nor do two crushed ones to
/// within 15%; a run of short cervical levels has short levels beside it.
fn drop_splits_of_one_level(
    kept: &mut Vec<(usize, f64)>,
    apart_mm: impl Fn(usize, usize) -> f64,
    expected_mm: impl Fn(usize) -> f64,
) {
    loop {
        let gaps: Vec<f64> = kept.windows(2).map(|w| apart_mm(w[0].0, w[1].0)).collect();
        // A gap of two levels (a disc missed there) is no level to weigh
        // pieces against: with the L2–L3 disc hidden (bone cement leaked
        // into it), L4's 37 mm and L5's 31 mm made one 72 mm "level" and
        // the L4–L5 disc was dropped.
        let one_level = |g: usize| {
            let (a, b) = (kept[g].0, kept[g + 1].0);
            gaps[g] <= LONG_GAP_LEVELS * expected_mm((a + b) / 2)
        };
        let split = (1..kept.len().saturating_sub(1)).find(|&i| {
            let (a, b) = (gaps[i - 1], gaps[i]);
            let beside: Vec<f64> = [i.checked_sub(2), Some(i + 1).filter(|&g| g < gaps.len())]
                .into_iter()
                .flatten()
                .filter(|&g| one_level(g))
                .map(|g| gaps[g])
                .collect();
            if beside.is_empty() {
                return false;
            }
            let level = beside.iter().sum::<f64>() / beside.len() as f64;
            a < SPLIT_PIECE_MOST * level
                && b < SPLIT_PIECE_MOST * level
                && ((a + b) / level - 1.0).abs() <= SPLIT_SUM_WITHIN
        });
        match split {
            Some(i) => {
                kept.remove(i);
            }
            None => return,
        }
    }
}

/// Kept discs further apart than this many levels (the body's depth)
/// have one missed between them.
const LONG_GAP_LEVELS: f64 = 1.6;

/// The disc in a long gap that no dip shows because something far
/// brighter than bone fills its middle: bone cement leaked into it from a
/// vertebroplasty, or a calcified nucleus. Where that covers much of a
/// cross-section the disc is a narrow bright band where a dip should be
/// (with a 6 mm ball of 2,200 HU between L2 and L3 of TotalSegmentator's
/// CT, L2 and L3 came out as one piece, and a median across the section
/// read 1,053 HU there against the column's 116: no dip for any robust
/// mean to find). The brightest station of `inside` is taken where it
/// reads at least [`FILLED_DISC_TIMES`] the column's median and
/// [`FILLED_DISC_OVER_HU`] over it, and its band (over halfway from the
/// median to it) is under [`FILLED_DISC_LEVELS`] of a level thick: a
/// sclerotic or cemented body is bright over most of its height.
fn filled_disc(
    smooth: &[f64],
    inside: impl Iterator<Item = usize>,
    typical: f64,
    level_mm: f64,
) -> Option<usize> {
    let peak = inside.max_by(|&x, &y| smooth[x].total_cmp(&smooth[y]))?;
    let bright = smooth[peak];
    if bright < FILLED_DISC_TIMES * typical || bright < typical + FILLED_DISC_OVER_HU {
        return None;
    }
    let half = (typical + bright) / 2.0;
    let first = (0..=peak).rev().take_while(|&i| smooth[i] > half).last()?;
    let last = (peak..smooth.len())
        .take_while(|&i| smooth[i] > half)
        .last()?;
    let band_mm = (last - first + 1) as f64 * 0.5;
    (band_mm < FILLED_DISC_LEVELS * level_mm).then_some(peak)
}

/// The depth (HU) a [`filled_disc`] is given: it dips nowhere, and no
/// disc found by its dip is this shallow (a dip ranks from 8 HU, a kept
/// one from 20). A reader is told it is faint.
const FILLED_DISC_DEPTH: f64 = 0.0;
/// See [`filled_disc`].
const FILLED_DISC_TIMES: f64 = 2.5;
/// See [`filled_disc`].
const FILLED_DISC_OVER_HU: f64 = 250.0;
/// See [`filled_disc`].
const FILLED_DISC_LEVELS: f64 = 0.5;

/// See [`drop_splits_of_one_level`].
const SPLIT_PIECE_MOST: f64 = 0.6;
/// See [`drop_splits_of_one_level`].
const SPLIT_SUM_WITHIN: f64 = 0.15;

/// A profile of HU sampled every 0.5 mm along the column, box-smoothed
/// over ±0.5 mm only: a thoracic disc can be 2 mm thin between bright
/// endplates, and more smoothing moves its dip into the body beside it.
pub(crate) fn smoothed(raw: &[f64]) -> Vec<f64> {
    let n = raw.len();
    (0..n)
        .map(|i| {
            let (lo, hi) = (i.saturating_sub(1), (i + 1).min(n - 1));
            raw[lo..=hi].iter().sum::<f64>() / (hi - lo + 1) as f64
        })
        .collect()
}

/// The disc-like dip at `i` of a smoothed profile whose median is
/// `typical`: its depth (HU, [`dip_at`]) and its rank, the depth plus how
/// dark it is against the column, a dip wider than 6 mm ranked down where
/// `broad_ranked_down`. `None` where `i` (not at either end) is no local
/// minimum 15 HU under `typical`, or dips less than 8 HU. One ranking for
/// the first analysis's discs and the user's split at a disc.
pub(crate) fn ranked_dip(
    smooth: &[f64],
    i: usize,
    typical: f64,
    broad_ranked_down: bool,
) -> Option<(f64, f64)> {
    if smooth[i] > smooth[i - 1] || smooth[i] > smooth[i + 1] {
        return None;
    }
    let (depth, width_mm) = dip_at(smooth, i);
    // A disc lies between two endplates at least as bright as the column's
    // median: past the sacrum's end the column runs through soft tissue,
    // whose dips (a canal chain followed down the sacral canal found one
    // 40 mm under S1's top) are no disc.
    if depth < 8.0 || smooth[i] > typical - 15.0 || smooth[i] + depth < typical {
        return None;
    }
    let broad = if broad_ranked_down {
        3.0 * (width_mm - 6.0).max(0.0)
    } else {
        0.0
    };
    Some((depth, depth + (typical - smooth[i]).max(0.0) - broad))
}

/// How deep (HU) and how wide (mm) the dip at `i` of a profile sampled
/// every 0.5 mm is. A disc is a dip between its two endplates, each within
/// 7 mm of the dip's edge (a thick lumbar disc is a flat dip 10 mm wide):
/// the depth is the lower of the two brightest sides less the dip.
fn dip_at(smooth: &[f64], i: usize) -> (f64, f64) {
    let n = smooth.len();
    let steps = |mm: f64| (mm / 0.5).round().max(1.0) as usize;
    let flat = smooth[i] + 25.0;
    let (mut lo, mut hi) = (i, i);
    while lo > 0 && i - lo < steps(15.0) && smooth[lo - 1] <= flat {
        lo -= 1;
    }
    while hi + 1 < n && hi - i < steps(15.0) && smooth[hi + 1] <= flat {
        hi += 1;
    }
    let reach = steps(7.0);
    let left = smooth[lo.saturating_sub(reach)..=lo]
        .iter()
        .copied()
        .fold(f64::MIN, f64::max);
    let right = smooth[hi..=(hi + reach).min(n - 1)]
        .iter()
        .copied()
        .fold(f64::MIN, f64::max);
    (left.min(right) - smooth[i], (hi - lo) as f64 * 0.5)
}

/// A disc's mid-plane near a station and half its thickness: found as the
/// darkest plane across the body, then fitted to the gap between its
/// endplates where they show ([`crate::endplates::fit`]; elsewhere the
/// darkest plane stays and the thickness is 0). One policy for the first
/// analysis's discs and the user's split at a disc.
pub(crate) fn disc_plane(grid: &Grid, station: &Station) -> (DVec3, DVec3, f64) {
    let (centre, normal) = darkest_plane(grid, station);
    crate::endplates::fit(grid, centre, normal, station.half_size)
        .map_or((centre, normal, 0.0), |f| {
            (f.centre, f.normal, f.half_gap_mm)
        })
}

/// The disc's own plane near a station: the darkest plane across the body
/// within ±4 mm and ±20° (sagittal) / ±10° (coronal) of the column's cross
/// section there. Where the spine curves (upper thoracic kyphosis, the
/// lumbosacral junction) discs are wedges whose planes differ from the
/// centreline's normal by 10–15°: a cut along the normal would give one
/// vertebra a sliver of its neighbour's body. Coarse then fine; a small
/// cost per degree and mm keeps a flat dip (a thick lumbar disc) centred.
fn darkest_plane(grid: &Grid, station: &Station) -> (DVec3, DVec3) {
    let axis = station.axis;
    let (anterior, lateral) = crate::measure::across(axis, grid.front);
    if anterior == DVec3::ZERO {
        return (station.position, axis);
    }
    // Inside the body: axial extents overstate a tilted body's depth.
    let radii = station.half_size * 0.7;
    let cost = |sagittal: f64, coronal: f64, offset: f64| {
        let (sagittal, coronal) = (sagittal.to_radians(), coronal.to_radians());
        let normal = (axis + anterior * sagittal.tan() + lateral * coronal.tan()).normalize();
        let centre = station.position + axis * offset;
        let front = (anterior - normal * anterior.dot(normal)).normalize();
        let side = normal.cross(front);
        let mut sum = 0.0;
        let mut n = 0.0;
        for r in [0.3, 0.6, 0.9] {
            for s in 0..16 {
                let angle = std::f64::consts::TAU * s as f64 / 16.0;
                let q = centre
                    + side * (radii.x * r * angle.cos())
                    + front * (radii.y * r * angle.sin());
                let hu = grid.sample(q);
                if hu <= -1000.0 {
                    // Past the scan's edge: no plane to judge.
                    return (f64::MAX, centre, normal);
                }
                sum += f64::from(hu).clamp(-200.0, 1200.0);
                n += 1.0;
            }
        }
        let penalty = 0.5 * (sagittal.abs() + coronal.abs()).to_degrees() + offset.abs();
        (sum / n + penalty, centre, normal)
    };
    let mut best = cost(0.0, 0.0, 0.0);
    let mut at = (0.0, 0.0, 0.0);
    let mut search = |sag: &[f64], cor: &[f64], off: &[f64], at: &mut (f64, f64, f64)| {
        let around = *at;
        for &a in sag {
            for &b in cor {
                for &t in off {
                    let (sa, co, of) = (around.0 + a, around.1 + b, around.2 + t);
                    if sa.abs() > 20.0 || co.abs() > 10.0 || of.abs() > 4.0 {
                        continue;
                    }
                    let c = cost(sa, co, of);
                    if c.0 < best.0 {
                        best = c;
                        *at = (sa, co, of);
                    }
                }
            }
        }
    };
    let coarse = |step: f64, n: i32| (-n..=n).map(|i| f64::from(i) * step).collect::<Vec<_>>();
    search(&coarse(4.0, 5), &coarse(5.0, 2), &coarse(1.0, 4), &mut at);
    search(&coarse(1.0, 3), &coarse(1.0, 3), &coarse(0.25, 4), &mut at);
    (best.1, best.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kept discs at these millimetres along a straight column whose
    /// levels are 34 mm deep, after [`drop_splits_of_one_level`].
    fn after_dropping_splits(at_mm: &[usize]) -> Vec<usize> {
        let mut kept: Vec<(usize, f64)> = at_mm.iter().map(|&mm| (mm, 100.0)).collect();
        drop_splits_of_one_level(&mut kept, |i, j| i.abs_diff(j) as f64, |_| 34.0);
        kept.into_iter().map(|(mm, _)| mm).collect()
    }

    #[test]
    fn a_gap_is_weighed_against_the_levels_beside_it_where_shorter_than_expected() {
        // Thoracic levels of 20 and 21 mm beside a 43 mm gap, 29 mm expected.
        assert_eq!(measured_level(&[20.0, 43.0, 21.0], 1, 29.0), 20.5);
        // A double gap beside is no level; none beside leaves the expected.
        assert_eq!(measured_level(&[50.0, 43.0, 21.0], 1, 29.0), 21.0);
        assert_eq!(measured_level(&[43.0], 0, 29.0), 29.0);
        // Longer levels than expected leave the expected.
        assert_eq!(measured_level(&[35.0, 60.0], 1, 29.0), 29.0);
    }

    #[test]
    fn a_dark_band_across_one_body_is_dropped_but_not_a_disc_beside_a_missed_one() {
        // 19 + 16 mm between levels of 35: one body cut by its marrow.
        assert_eq!(
            after_dropping_splits(&[0, 35, 70, 89, 105, 140]),
            [0, 35, 70, 105, 140]
        );
        // 37 + 31 mm beside a 72 mm gap (a disc missed in it): two levels.
        assert_eq!(
            after_dropping_splits(&[0, 34, 106, 143, 174]),
            [0, 34, 106, 143, 174]
        );
    }

    /// A profile every 0.5 mm at 110 HU with `band_mm` reading `hu` around
    /// its middle.
    fn profile_with_band(band_mm: f64, hu: f64) -> Vec<f64> {
        let n = 141;
        (0..n)
            .map(|i| {
                let off_mm = (i as f64 - 70.0).abs() * 0.5;
                if off_mm <= band_mm / 2.0 { hu } else { 110.0 }
            })
            .collect()
    }

    #[test]
    fn a_narrow_band_far_brighter_than_bone_is_a_filled_disc_and_nothing_else_is() {
        let found = |band_mm: f64, hu: f64| {
            filled_disc(&profile_with_band(band_mm, hu), 20..121, 110.0, 34.0)
        };
        assert!(found(6.0, 1000.0).is_some_and(|i| (64..=76).contains(&i)));
        // A cemented or sclerotic body: bright over most of a level.
        assert_eq!(found(25.0, 1000.0), None);
        // Endplates: brighter than the column, not far brighter.
        assert_eq!(found(6.0, 220.0), None);
    }
}
