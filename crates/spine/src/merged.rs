//! A disc the column's profile missed, looked for again inside a piece too
//! big to be one vertebra. The profile follows the body centres of axial
//! slices, smoothed over a level; at the lumbosacral junction the column
//! bends by 20–40° within one level and an axial slice there holds L5's
//! front and S1's back, so the smoothed centreline can run through S1's
//! bright top beside the disc instead of across it (TotalSegmentator's CT
//! resampled to 0.75 mm pixels with its 3 mm slices: L5 and the sacrum one
//! piece of 185 ml, the pelvis taken for ribs, every name wrong). Here the
//! path bends: from the piece's upper disc, down the bisector of that
//! disc's normal and a candidate normal tilted about the patient's
//! left–right axis, the way a body's axis lies between its endplates. A
//! piece cut by the scan's top has no upper disc: the path runs up from
//! its lower one (osteoporotic bone under noise can hide a disc anywhere).

use glam::{DVec2, DVec3};

use crate::column::{
    Column, Disc, Station, cross_section_mean, disc_plane, median, ranked_dip, smoothed,
    within_scan,
};
use crate::grid::Grid;
use crate::split::Candidate;

/// The disc missed inside the candidate nearest `piece` (the centroid of
/// a vertebra too big to be one), if a clear one is there: searched down
/// from its upper disc or, where the scan's top cut it and it has none, up
/// from its lower one.
pub(crate) fn missed_disc(
    grid: &Grid,
    column: &Column,
    discs: &[Disc],
    candidates: &[Candidate],
    piece: DVec3,
) -> Option<Disc> {
    // Searched from `start` away from its normal; the other disc bounds
    // it. A candidate with neither disc has nowhere to search from. Every
    // disc's normal points to the head, as the column's do.
    let (_, start, bound, head) = candidates
        .iter()
        .filter(|c| c.alae.is_none())
        .filter_map(|c| match (c.upper, c.lower) {
            (Some(upper), lower) => Some((c, upper, lower, upper.normal)),
            (None, Some(lower)) => Some((
                c,
                Disc {
                    normal: -lower.normal,
                    ..lower
                },
                None,
                lower.normal,
            )),
            (None, None) => None,
        })
        .min_by(|(a, ..), (b, ..)| {
            a.centroid
                .distance_squared(piece)
                .total_cmp(&b.centroid.distance_squared(piece))
        })?;
    // One level's height: the level beyond the start, or the body's depth.
    let beyond = discs
        .iter()
        .filter(|d| (d.centre - start.centre).dot(start.normal) > 1.0)
        .min_by(|a, b| {
            let along = |d: &Disc| (d.centre - start.centre).dot(start.normal);
            along(a).total_cmp(&along(b))
        });
    let k = grid.index_of(start.centre).z.round().max(0.0) as usize;
    let body = column.at(k.clamp(column.first, column.first + column.slices.len() - 1))?;
    let half_size = DVec2::new(body.half_width, body.half_depth);
    let level_mm = beyond
        .map_or(1.9 * body.half_depth, |d| d.centre.distance(start.centre))
        .clamp(15.0, 45.0);
    let mut found = bent_gap(grid, &start, level_mm, half_size, bound.map(|d| d.centre))?;
    if found.normal.dot(head) < 0.0 {
        found.normal = -found.normal;
    }
    Some(found)
}

/// Tilts (degrees) of the missed disc against the upper one, about the
/// left–right axis, positive with the lower disc facing more forward (a
/// lordosis: L5–S1 is 20–40° more tilted than L4–L5; a kyphosis bends the
/// other way, less).
const TILTS_DEG: [f64; 11] = [
    -10.0, -5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0,
];

/// The missed disc lies this many levels below the upper one.
const LEVELS_BELOW: (f64, f64) = (0.6, 1.5);

/// How far (HU) the missed disc must dip below the brighter endplates
/// beside it: as the user's split asks (see `revise`'s `MIN_GAP_HU`).
const MIN_GAP_HU: f64 = 30.0;

/// The most (mm) a disc's two endplates, the profile's nearest peaks
/// either side of its dip, may lie apart: a thick lumbar disc is 10–15 mm
/// between them; between peaks further apart lies a body's marrow. On
/// TotalSegmentator's osteoporotic CT with the L4–L5 disc squeezed to 40%
/// or 20% of its height (a degenerate disc), the two endplates read as one
/// bright band with a shallow notch, and the deepest dip on any bent path
/// was L5's dim marrow (the path tilted as the L5–S1 disc, between peaks
/// 21 mm apart): L5 was cut in its middle (3 mm: L4 0.77–0.79, L5 0.64;
/// 1.5 mm at 20%: 0.74, 0.60). Passing over such dips leaves the notch
/// (peaks 6.5 mm apart): 3 mm at 40% L4 0.93, L5 0.85; at 20% 0.86, 0.80;
/// 1.5 mm at 20% 0.86, 0.84. No other reading of the spine suite changed.
const MOST_ENDPLATES_APART_MM: f64 = 18.0;

/// How far apart (mm) the nearest peaks either side of the dip at `i` of
/// a profile sampled every `step` mm lie (a peak: where the profile stops
/// rising, walking away from the dip).
fn peak_to_peak_mm(smooth: &[f64], i: usize, step: f64) -> f64 {
    let mut before = i;
    while before > 0 && smooth[before - 1] >= smooth[before] {
        before -= 1;
    }
    let mut after = i;
    while after + 1 < smooth.len() && smooth[after + 1] >= smooth[after] {
        after += 1;
    }
    (after - before) as f64 * step
}

/// Profiles down bent paths from `upper`, one per tilt; the deepest
/// ranked dip within [`LEVELS_BELOW`] (and above `lower_bound`, the
/// piece's lower disc) between endplates no further apart than
/// [`MOST_ENDPLATES_APART_MM`], refined as every disc is.
fn bent_gap(
    grid: &Grid,
    upper: &Disc,
    level_mm: f64,
    half_size: DVec2,
    lower_bound: Option<DVec3>,
) -> Option<Disc> {
    let up = upper.normal;
    let (anterior, _) = crate::measure::across(up, grid.front);
    if anterior == DVec3::ZERO {
        return None;
    }
    let step = 0.5;
    // Room beyond the search for the dip's flats and the endplates beside.
    let (from, to) = (0.3 * level_mm, LEVELS_BELOW.1 * level_mm + 10.0);
    let count = ((to - from) / step) as usize;
    let mut best: Option<(f64, f64, DVec3, DVec3)> = None;
    for tilt in TILTS_DEG {
        let t = tilt.to_radians();
        let normal = (up * t.cos() + anterior * t.sin()).normalize();
        let axis = (up + normal).normalize();
        let at = |n: usize| upper.centre - axis * (from + n as f64 * step);
        // The profile ends where the path leaves the scan.
        let Some(run) = within_scan(grid, 0..=count as i64 - 1, 0, |n| at(n as usize)) else {
            continue;
        };
        let count = *run.end() as usize + 1;
        let raw: Vec<f64> = (0..count)
            .map(|n| {
                cross_section_mean(grid, at(n), normal, 0.55 * half_size.x, 0.55 * half_size.y)
            })
            .collect();
        let smooth = smoothed(&raw);
        let typical = median(&mut smooth.clone());
        for i in 1..count - 1 {
            let below = from + i as f64 * step;
            if below < LEVELS_BELOW.0 * level_mm || below > LEVELS_BELOW.1 * level_mm {
                continue;
            }
            let p = at(i);
            if lower_bound.is_some_and(|l| (p - l).dot(normal) < 5.0) {
                continue;
            }
            let Some((depth, rank)) = ranked_dip(&smooth, i, typical, true) else {
                continue;
            };
            if peak_to_peak_mm(&smooth, i, step) > MOST_ENDPLATES_APART_MM {
                continue;
            }
            if depth >= MIN_GAP_HU && best.is_none_or(|b| rank > b.0) {
                best = Some((rank, depth, p, normal));
            }
        }
    }
    let (_, depth, position, normal) = best?;
    let station = Station {
        position,
        axis: normal,
        hu: 0.0,
        expected_mm: level_mm,
        half_size,
    };
    let (centre, fitted, half_gap_mm) = disc_plane(grid, &station);
    Some(Disc {
        centre,
        normal: if fitted.dot(up) < 0.0 {
            -fitted
        } else {
            fitted
        },
        depth,
        half_gap_mm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notch_lies_between_close_endplates_and_marrow_between_far_ones() {
        // Every 0.5 mm: a body's endplate, 10 mm of dim marrow, then its
        // other endplate fused with the next body's across a 1 mm notch.
        let mut profile = vec![150.0, 220.0, 150.0];
        profile.extend([120.0; 20]);
        profile.extend([150.0, 230.0, 240.0, 200.0, 240.0, 230.0, 150.0]);
        profile.extend([120.0; 20]);
        let (marrow, notch) = (13, 3 + 20 + 3);
        // From the marrow the profile rises to the endplate above and to
        // the fused band's first peak below: 12 mm apart (a body's
        // 20–30 mm in life); the notch's peaks are its two endplates.
        assert_eq!(peak_to_peak_mm(&profile, marrow, 0.5), 12.0);
        assert_eq!(peak_to_peak_mm(&profile, notch, 0.5), 1.0);
    }
}
