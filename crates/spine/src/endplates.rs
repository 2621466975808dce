//! A disc's mid-plane fitted to the gap between its two endplates.
//!
//! The darkest plane across the body (`column::darkest_plane`) finds a disc
//! but not its tilt: where marrow is as dark as the disc (osteoporosis,
//! fatty marrow) a plane tilted 10–15° through the body is nearly as dark,
//! and which one wins moved with the voxel size (L4–L5 of
//! TotalSegmentator's CT came out at −10°, −12° and −5° on the same CT at 3,
//! 1.5 and 1 mm; L5–S1 at −35° against the −43° to −46° its endplates
//! measure on the reference labels). The endplates themselves are the
//! brightest bone beside the disc even then. So along short lines across
//! the disc, spread over the body's cross-section, the dark run between
//! the two endplate peaks is found, and a plane is fitted to the runs'
//! middles: the same L4–L5 then comes out at −13°, −18° and −20°, L5–S1 at
//! −45° at every spacing.

use glam::{DMat3, DVec2, DVec3};

use crate::grid::Grid;

/// How far (mm) along the normal each line looks for the disc's dark run,
/// either side of the current plane: less than half the lowest body.
const DIP_REACH_MM: f64 = 8.0;
/// How far (mm) past the dark run its endplate peaks are looked for.
const PEAK_REACH_MM: f64 = 8.0;
/// A line counts where both endplates stand this far (HU) above its dip.
const MIN_CONTRAST_HU: f64 = 40.0;
/// Lines spread over this fraction of the body's half-width and half-depth.
const SPREAD: f64 = 0.75;
/// Fewer lines with a clear dip than this: the plane found stays.
const MIN_LINES: usize = 8;
/// Four in five lines' runs must lie this close (mm) to the fitted plane.
/// Where a disc shows, they lie within 0.25–1 mm (TotalSegmentator's CT at
/// 3 and 1 mm, the chest CT's clear discs); where they scatter 4–8 mm
/// (thin mid-thoracic discs on the chest CT) the fit turned 25–45° off its
/// neighbours.
const AGREE_MM: f64 = 1.5;
/// A refit turning the plane more than this (degrees) or moving it more
/// than `MOST_SHIFT_MM` is not the same disc: the plane found stays.
const MOST_TURN_DEG: f64 = 25.0;
/// See `MOST_TURN_DEG`.
const MOST_SHIFT_MM: f64 = 5.0;
/// Profile step along each line (mm).
const STEP_MM: f64 = 0.5;

/// A disc's mid-plane fitted to its endplates, and half its thickness.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fitted {
    pub centre: DVec3,
    pub normal: DVec3,
    /// Half the median length of the dark runs (mm): the disc space
    /// either side of the mid-plane.
    pub half_gap_mm: f64,
}

/// The plane through the middles of the dark runs between the endplates
/// near `(centre, normal)`, over a body of `half_size` (half-width,
/// half-depth, mm); the centre moves only along the normal. `None` where
/// too few lines show a disc between two endplates, or the fit strays.
pub(crate) fn fit(grid: &Grid, centre: DVec3, normal: DVec3, half_size: DVec2) -> Option<Fitted> {
    let (mut c, mut n) = (centre, normal.normalize_or_zero());
    if n == DVec3::ZERO {
        return None;
    }
    let mut halves = Vec::new();
    // Three rounds: each refit's lines run along the better normal.
    for _ in 0..3 {
        let runs = dark_runs(grid, c, n, half_size);
        if runs.len() < MIN_LINES {
            return None;
        }
        let middles: Vec<DVec3> = runs.iter().map(|r| r.0).collect();
        halves = runs.iter().map(|r| r.1).collect();
        let (mc, mn) = plane_through(&middles, c, n, grid.front)?;
        c = mc;
        n = mn;
    }
    let turned = n
        .dot(normal.normalize())
        .clamp(-1.0, 1.0)
        .acos()
        .to_degrees();
    let shifted = (c - centre).dot(n).abs();
    halves.sort_by(f64::total_cmp);
    // The lines' runs, read again across the fitted plane, must lie on it:
    // where they scatter the lines saw something else (a rib head, a vein,
    // a thin thoracic disc under the noise).
    let runs = dark_runs(grid, c, n, half_size);
    let mut off: Vec<f64> = runs.iter().map(|r| (r.0 - c).dot(n).abs()).collect();
    off.sort_by(f64::total_cmp);
    let agree = runs.len() >= MIN_LINES && off[off.len() * 4 / 5] <= AGREE_MM;
    (agree && turned <= MOST_TURN_DEG && shifted <= MOST_SHIFT_MM).then(|| Fitted {
        centre: c,
        normal: n,
        half_gap_mm: halves[halves.len() / 2],
    })
}

/// The anterior and lateral directions in a plane of normal `n`.
fn plane_axes(n: DVec3, front: DVec3) -> Option<(DVec3, DVec3)> {
    let (anterior, lateral) = crate::measure::across(n, front);
    (anterior != DVec3::ZERO).then_some((anterior, lateral))
}

/// For each line along `n` through a grid of points across the body, the
/// middle of its dark run (patient mm) and half the run's length (mm),
/// where it has one between two endplates.
fn dark_runs(grid: &Grid, c: DVec3, n: DVec3, half_size: DVec2) -> Vec<(DVec3, f64)> {
    let Some((anterior, lateral)) = plane_axes(n, grid.front) else {
        return Vec::new();
    };
    let steps = |mm: f64| (mm / STEP_MM).round() as usize;
    let (reach, peak) = (steps(DIP_REACH_MM), steps(PEAK_REACH_MM));
    let half = reach + peak;
    let mut out = Vec::new();
    let mut raw = vec![0f64; 2 * half + 1];
    for a in -3..=3 {
        for b in -3..=3 {
            let (u, v) = (f64::from(a) / 3.0 * SPREAD, f64::from(b) / 3.0 * SPREAD);
            if u * u + v * v > SPREAD * SPREAD {
                continue;
            }
            let base = c + lateral * (u * half_size.x) + anterior * (v * half_size.y);
            let t_of = |s: usize| (s as f64 - half as f64) * STEP_MM;
            let mut outside = false;
            for (s, r) in raw.iter_mut().enumerate() {
                *r = f64::from(grid.sample(base + n * t_of(s)));
                outside |= *r <= -1000.0;
            }
            if outside {
                continue;
            }
            let profile = crate::column::smoothed(&raw);
            let dip = (half - reach..=half + reach)
                .min_by(|&x, &y| profile[x].total_cmp(&profile[y]))
                .expect("a non-empty range");
            let above = profile[dip..=(dip + peak).min(2 * half)]
                .iter()
                .copied()
                .fold(f64::MIN, f64::max);
            let below = profile[dip.saturating_sub(peak)..=dip]
                .iter()
                .copied()
                .fold(f64::MIN, f64::max);
            let rim = above.min(below);
            if rim - profile[dip] < MIN_CONTRAST_HU {
                continue;
            }
            // The dark run: below half-way from the dip to the lower rim.
            let level = profile[dip] + 0.5 * (rim - profile[dip]);
            let (mut lo, mut hi) = (dip, dip);
            while lo > 0 && profile[lo - 1] < level {
                lo -= 1;
            }
            while hi < 2 * half && profile[hi + 1] < level {
                hi += 1;
            }
            out.push((
                base + n * (0.5 * (t_of(lo) + t_of(hi))),
                0.5 * (t_of(hi) - t_of(lo)),
            ));
        }
    }
    out
}

/// Least-squares plane through `points` as a height over the plane
/// `(c, n)`, fitted twice: the second time without the points farther from
/// the first fit than most (a line through a foramen or an osteophyte).
/// The centre moves from `c` along the new normal only.
fn plane_through(points: &[DVec3], c: DVec3, n: DVec3, front: DVec3) -> Option<(DVec3, DVec3)> {
    let (anterior, lateral) = plane_axes(n, front)?;
    let local: Vec<DVec3> = points
        .iter()
        .map(|&p| {
            let d = p - c;
            DVec3::new(d.dot(lateral), d.dot(anterior), d.dot(n))
        })
        .collect();
    let solve = |pts: &[&DVec3]| -> Option<DVec3> {
        // Normal equations of h = a·u + b·v + d.
        let mut m = DMat3::ZERO;
        let mut r = DVec3::ZERO;
        for p in pts {
            let row = DVec3::new(p.x, p.y, 1.0);
            m += DMat3::from_cols(row * row.x, row * row.y, row * row.z);
            r += row * p.z;
        }
        (m.determinant().abs() > 1e-9).then(|| m.inverse() * r)
    };
    let all: Vec<&DVec3> = local.iter().collect();
    let first = solve(&all)?;
    let residual = |p: &DVec3| (p.z - (first.x * p.x + first.y * p.y + first.z)).abs();
    let mut sorted: Vec<f64> = local.iter().map(residual).collect();
    sorted.sort_by(f64::total_cmp);
    let cut = sorted[sorted.len() * 4 / 5].max(1.0);
    let kept: Vec<&DVec3> = local.iter().filter(|p| residual(p) <= cut).collect();
    let fit = if kept.len() >= MIN_LINES {
        solve(&kept)?
    } else {
        first
    };
    // h = a·u + b·v + d: normal ∝ (−a, −b, 1) in (lateral, anterior, n).
    let normal = (n - lateral * fit.x - anterior * fit.y).normalize();
    Some((c + n * fit.z, normal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plane_through_tilted_points_is_found_again() {
        // Points on h = 0.3·u − 0.1·v + 2 around the origin, one outlier.
        let mut points: Vec<DVec3> = Vec::new();
        for u in -3..=3 {
            for v in -3..=3 {
                let (u, v) = (f64::from(u) * 4.0, f64::from(v) * 4.0);
                // lateral = z × (−y) = x, anterior = −y for n = z.
                points.push(DVec3::new(u, -v, 0.3 * u - 0.1 * v + 2.0));
            }
        }
        points.push(DVec3::new(0.0, 0.0, 40.0));
        let (c, n) = plane_through(&points, DVec3::ZERO, DVec3::Z, DVec3::NEG_Y).expect("a fit");
        let expected = DVec3::new(-0.3, -0.1, 1.0).normalize();
        assert!(n.dot(expected) > 0.9999, "normal {n} against {expected}");
        assert!(
            (c.z - 2.0).abs() < 0.01 && c.x == 0.0 && c.y == 0.0,
            "centre {c}"
        );
    }
}
