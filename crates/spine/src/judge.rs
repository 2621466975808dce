//! Whether the pieces a reading cut look like a spine: vertebrae of the
//! right size and shape, two merged in one piece, one cut in two at a
//! false disc.

use glam::DVec3;

use crate::column;
use crate::measure::Flag;
use crate::report::{Spine, Vertebra};

/// Whether `spine` has nothing a name could rest on: no whole vertebra
/// that looks right (see [`quality`]), and no sacrum or rib seen or a
/// piece (but the sacrum) bigger than several vertebrae run together. The
/// real head CT of `../shared/fixtures/ct-ge-head-tilt` came out as a
/// 142 ml "T11" and a 42 ml "T12", both with ribs, both cut by the scan's
/// edges; 40 × 40 × 400 voxels of 3 mm of random HU as a 5–14-litre "L5"
/// (or "L4") on a 3.6–7.4-litre "sacrum", named from it.
pub(crate) fn is_made_up(spine: &Spine) -> bool {
    let beyond_any_spine = spine
        .vertebrae
        .iter()
        .any(|v| v.name != "sacrum" && v.volume_ml > FEW_VERTEBRAE_ML);
    quality(&spine.vertebrae).0 == 0 && (!spine.levels.anchor.is_anatomical() || beyond_any_spine)
}

/// The most a piece of several vertebrae run together holds (ml): four
/// of the largest.
const FEW_VERTEBRAE_ML: f64 = 4.0 * MOST_VERTEBRA_ML;

/// Of `vertebrae`, those that look right (whole, 8–120 ml, a label
/// running up its body's middle or back as far as `FRAGMENT_FRACTION` of
/// the median does, endplates near parallel) and whole vertebrae in all.
pub(crate) fn quality(vertebrae: &[Vertebra]) -> (usize, usize) {
    let whole: Vec<&Vertebra> = vertebrae
        .iter()
        .filter(|v| v.name != "sacrum" && !v.flags.contains(&Flag::Partial))
        .collect();
    // A crushed, wedged or biconcave body keeps its back or its middle; a
    // high front alone is the rim of the next body's endplate that a false
    // disc cut off with a fragment (27 mm in front, 7 in the middle and 9
    // at the back on TotalSegmentator's CT resampled to 1 mm). The label's
    // own run, not the body's height: a reading that left a body's marrow
    // out is the worse one (read through such holes, a strict reading of
    // the CT over an oblique pelvis passed, and T12 came out 0.599).
    let highest = |v: &Vertebra| v.label_height_mm;
    let mut heights: Vec<f64> = whole.iter().filter_map(|v| highest(v)).collect();
    heights.sort_by(f64::total_cmp);
    let median = heights.get(heights.len() / 2).copied().unwrap_or(0.0);
    let good = whole
        .iter()
        .filter(|v| {
            (8.0..=MOST_VERTEBRA_ML).contains(&v.volume_ml)
                && highest(v).is_some_and(|h| h >= FRAGMENT_FRACTION * median)
                && !v.flags.iter().any(|f| matches!(f, Flag::Irregular { .. }))
        })
        .count();
    // A one-sided sacrum (an ilium taken with it) counts as one wrong piece.
    let one_sided = vertebrae
        .iter()
        .any(|v| v.name == "sacrum" && v.flags.contains(&Flag::OneSided));
    (good, whole.len() + usize::from(one_sided))
}

/// Whether `good` right vertebrae of `whole` make a plausible spine: four
/// in five, and three at least unless all are right. (On TotalSegmentator's
/// CT resampled to 1 mm a 150 HU reading with L5 and the sacrum merged had
/// 3 of 5 right, and was taken when three in five sufficed.)
pub(crate) fn plausible(good: usize, whole: usize) -> bool {
    good >= 1 && good * 10 >= whole * 8 && (good >= 3 || good == whole)
}

/// The pieces, top down, that hold two vertebrae (the sacrum apart): bigger
/// than any one vertebra, or than [`MERGED_OVER_NEIGHBOUR`] times the
/// largest of the whole vertebrae within two levels of it. Next to its
/// neighbours a merged pair shows even where both are small
/// (TotalSegmentator's osteoporotic CT at 1 mm with 25 HU of noise: T12,
/// cut by the scan's top, and L1 in one piece of 118 ml beside L2's 61).
/// Two levels, not one: beside a crushed body a whole vertebra is 1.5
/// times its only whole neighbour (L5 beside L4 crushed to 70%), and
/// was split in two at a false disc.
pub(crate) fn merged_pieces(vertebrae: &[Vertebra]) -> impl Iterator<Item = &Vertebra> {
    vertebrae.iter().enumerate().filter_map(|(i, v)| {
        if v.name == "sacrum" {
            return None;
        }
        let beside = largest_whole_ml(
            vertebrae,
            [i.checked_sub(2), i.checked_sub(1), Some(i + 1), Some(i + 2)],
        );
        let bound = if v.flags.contains(&Flag::Partial) {
            CUT_OVER_NEIGHBOUR
        } else {
            MERGED_OVER_NEIGHBOUR
        };
        let over_neighbours = beside.is_finite() && v.volume_ml > bound * beside;
        (v.volume_ml > MOST_VERTEBRA_ML || over_neighbours).then_some(v)
    })
}

/// The top piece, where the scan's top cuts it and it holds at least
/// [`TOP_OVER_BELOW`] times the bone of the larger of the two whole
/// vertebrae under it: a vertebra the scan cuts holds less than a whole
/// one, and down a spine each level is 5–15% bigger than the one above,
/// so such a piece most likely holds a remnant of the vertebra above as
/// well, their disc lost at the scan's edge. (TotalSegmentator's CT at
/// 1.5 mm on a grid tilted −15° as a gantry tilts it, or pitched −20°:
/// L1 with 10 ml of T12's remnant, 79 and 77 ml beside L3's 71 and 68,
/// under the bound of [`merged_pieces`].) Two below, not one: on the grid
/// tilted +20° a false disc cut L1 to 34 ml under a 49 ml piece of T12
/// and L1's top, and a disc sought in that piece cut it at T12's real
/// disc, naming the pieces above "L1" T11 and T12.
pub(crate) fn top_heavy_piece(vertebrae: &[Vertebra]) -> Option<&Vertebra> {
    let top = vertebrae.first()?;
    let cut = top.name != "sacrum" && top.flags.contains(&Flag::Partial);
    let below = largest_whole_ml(vertebrae, [Some(1), Some(2)]);
    (cut && below.is_finite() && top.volume_ml >= TOP_OVER_BELOW * below).then_some(top)
}

/// See [`top_heavy_piece`].
const TOP_OVER_BELOW: f64 = 1.0;

/// The index in `discs` (top down) of a disc that cut one vertebra in
/// two: the faint disc between two whole pieces, each under
/// `HALF_UNDER_NEIGHBOUR` of the larger of their whole neighbours and
/// together about its size (`ONE_OVER_NEIGHBOUR`). A crushed vertebra is
/// small beside whole ones; two of them in a row keep a clear disc
/// between them. (TotalSegmentator's CT on a grid tilted −20°, a gantry
/// tilt: L2 came out as pieces of 38 and 25 ml between L1's 64 and L3's
/// 76, each flagged for a faint disc, and every name above was a level
/// off.)
pub(crate) fn false_disc(vertebrae: &[Vertebra], discs: &[column::Disc]) -> Option<usize> {
    let faint = |v: &Vertebra| v.flags.contains(&Flag::FaintDisc);
    (1..vertebrae.len()).find_map(|i| {
        let (upper, lower) = (&vertebrae[i - 1], &vertebrae[i]);
        if !(is_whole(upper) && is_whole(lower) && faint(upper) && faint(lower)) {
            return None;
        }
        let beside = largest_whole_ml(vertebrae, [i.checked_sub(2), Some(i + 1)]);
        let small = |v: &Vertebra| v.volume_ml < HALF_UNDER_NEIGHBOUR * beside;
        let together = (upper.volume_ml + lower.volume_ml) / beside;
        if !(beside.is_finite()
            && small(upper)
            && small(lower)
            && ONE_OVER_NEIGHBOUR.contains(&together))
        {
            return None;
        }
        // The disc nearest the middle of the two bodies, between them.
        let body = |v: &Vertebra| {
            v.frame
                .map_or(DVec3::from_array(v.centroid_mm), |f| f.centre)
        };
        let (a, b) = (body(upper), body(lower));
        let middle = (a + b) / 2.0;
        discs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.centre.z < a.z && d.centre.z > b.z)
            .min_by(|(_, d), (_, e)| {
                d.centre
                    .distance_squared(middle)
                    .total_cmp(&e.centre.distance_squared(middle))
            })
            .map(|(n, _)| n)
    })
}

/// A mobile vertebra the scan's edge does not cut.
fn is_whole(v: &Vertebra) -> bool {
    v.name != "sacrum" && !v.flags.contains(&Flag::Partial)
}

/// The volume (ml) of the largest whole vertebra at the indices `at`
/// (`None` and those past the end skipped); NaN where there is none.
fn largest_whole_ml(vertebrae: &[Vertebra], at: impl IntoIterator<Item = Option<usize>>) -> f64 {
    at.into_iter()
        .flatten()
        .filter_map(|n| vertebrae.get(n))
        .filter(|v| is_whole(v))
        .map(|v| v.volume_ml)
        .fold(f64::NAN, f64::max)
}

/// See [`false_disc`]: a piece of a vertebra cut in two is at most this
/// fraction of its whole neighbour (of L2's pieces on the tilted CT, 0.50
/// and 0.33 of L3).
const HALF_UNDER_NEIGHBOUR: f64 = 0.65;

/// See [`false_disc`]: how big (times the larger whole neighbour) the two
/// pieces of one vertebra are together; one level differs from the next
/// by 5–15% down a spine (the tilted CT's L2: 0.83 of L3).
const ONE_OVER_NEIGHBOUR: std::ops::RangeInclusive<f64> = 0.7..=1.2;

/// How many times the larger of its whole neighbours a piece may hold
/// before it is taken for two vertebrae: one level differs from the next
/// by 5–15% down a spine; two are twice one, and a vertebra with a body
/// crushed to half its height and the one above it 1.5 times (on
/// TotalSegmentator's osteoporotic CT: L1 and L2 crushed to 50–60%, one
/// piece beside L3, every name above a level off at the 1.6 used before).
const MERGED_OVER_NEIGHBOUR: f64 = 1.4;

/// The same for a piece the scan's edge cuts: a cut vertebra holds less
/// than a whole one. On TotalSegmentator's osteoporotic CT with contrast
/// and 25 HU of noise at 1 mm, T12, cut by the scan's top, and L1 came out
/// as one piece of 75 ml beside L2's 54 (1.4 times).
const CUT_OVER_NEIGHBOUR: f64 = 1.25;

/// The largest vertebra (ml) with its posterior elements: a big adult L5
/// is 80–100 ml.
const MOST_VERTEBRA_ML: f64 = 120.0;

/// A body lower in its middle and at its back than this fraction of the
/// median body is a slice of one cut off by a false disc, not a vertebra:
/// along a whole spine C3's body is roughly 0.65 of the median (about 14 mm
/// against 21; textbook sizes, not measured here), and a crushed body keeps
/// its back.
/// (On TotalSegmentator's CT resampled to 1.5 mm, a 150 HU reading cut T12
/// and L1 into pieces 10–16 mm high against a median of 30, and merged L5
/// with the sacrum; its score let it pass.)
const FRAGMENT_FRACTION: f64 = 0.6;

#[cfg(test)]
mod false_disc_tests {
    use super::*;

    /// A vertebra of `ml` whose body's middle is at height `z` (mm).
    fn vertebra(name: &str, ml: f64, z: f64, flags: &[Flag]) -> Vertebra {
        Vertebra {
            volume_ml: ml,
            centroid_mm: [0.0, 0.0, z],
            ..Vertebra::bare(name, flags)
        }
    }

    /// Discs every 30 mm from 15 to 135 mm, faint or not as `depth` says.
    fn discs(depth: f64) -> Vec<column::Disc> {
        (0..5)
            .rev()
            .map(|n| column::Disc {
                centre: DVec3::new(0.0, 0.0, 15.0 + 30.0 * f64::from(n)),
                normal: DVec3::Z,
                depth,
                half_gap_mm: 0.0,
            })
            .collect()
    }

    #[test]
    fn a_vertebra_cut_in_two_at_a_faint_disc_is_joined_and_two_crushed_are_not() {
        let faint = [Flag::FaintDisc];
        // L1 64 ml; L2 in pieces of 38 and 25 ml either side of the disc at
        // 75 mm; L3 76 ml: that disc (index 2, top down) goes.
        let cut = [
            vertebra("L1", 64.0, 120.0, &[]),
            vertebra("L2", 38.0, 90.0, &faint),
            vertebra("L3", 25.0, 60.0, &faint),
            vertebra("L4", 76.0, 30.0, &[]),
        ];
        assert_eq!(false_disc(&cut, &discs(40.0)), Some(2));
        // Two crushed vertebrae in a row keep the clear disc between them.
        let crushed = [
            vertebra("L1", 64.0, 120.0, &[]),
            vertebra("L2", 35.0, 90.0, &[]),
            vertebra("L3", 33.0, 60.0, &[]),
            vertebra("L4", 76.0, 30.0, &[]),
        ];
        assert_eq!(false_disc(&crushed, &discs(150.0)), None);
        // Pieces that together make far less or more than a vertebra, or
        // one cut by the scan's edge, are left.
        let mut small = cut.clone();
        small[2].volume_ml = 10.0;
        assert_eq!(false_disc(&small, &discs(40.0)), None);
        let mut partial = cut.clone();
        partial[1].flags.push(Flag::Partial);
        assert_eq!(false_disc(&partial, &discs(40.0)), None);
    }

    #[test]
    fn a_cut_top_piece_bigger_than_the_two_below_holds_a_remnant() {
        let cut = [Flag::Partial];
        let name = |v: Option<&Vertebra>| v.map(|v| v.name.clone());
        // L1 with T12's remnant, 79 ml over L2's 64 and L3's 71.
        let spine = |top_ml: f64, flags: &[Flag]| {
            [
                vertebra("L1", top_ml, 150.0, flags),
                vertebra("L2", 64.0, 120.0, &[]),
                vertebra("L3", 71.0, 90.0, &[]),
            ]
        };
        assert_eq!(name(top_heavy_piece(&spine(79.0, &cut))), Some("L1".into()));
        // A cut vertebra holds less than those under it; one the scan's
        // top does not cut is left to `merged_pieces`.
        assert_eq!(name(top_heavy_piece(&spine(60.0, &cut))), None);
        assert_eq!(name(top_heavy_piece(&spine(79.0, &[]))), None);
        // Beside a fragment cut off at a false disc, the next one down
        // weighs: T12 with L1's top (49 ml) over L1's rest (34) and L2 (69).
        let beside_a_fragment = [
            vertebra("T12", 49.0, 150.0, &cut),
            vertebra("L1", 34.0, 120.0, &[]),
            vertebra("L2", 69.0, 90.0, &[]),
        ];
        assert_eq!(name(top_heavy_piece(&beside_a_fragment)), None);
    }
}

#[cfg(test)]
mod quality_tests {
    use super::*;
    use crate::measure::Heights;

    /// A whole vertebra of 60 ml whose label runs `label_mm` up its body,
    /// its heights read through the label's holes 30 mm throughout.
    fn vertebra(name: &str, label_mm: f64) -> Vertebra {
        Vertebra {
            volume_ml: 60.0,
            heights_mm: Some(Heights {
                anterior: 30.0,
                middle: 30.0,
                posterior: 30.0,
            }),
            label_height_mm: Some(label_mm),
            ..Vertebra::bare(name, &[])
        }
    }

    #[test]
    fn a_body_whose_label_runs_short_is_not_a_good_vertebra_whatever_its_height() {
        let column = |l2_label_mm: f64| {
            [30.0, l2_label_mm, 30.0]
                .into_iter()
                .zip(["L1", "L2", "L3"])
                .map(|(label_mm, name)| vertebra(name, label_mm))
                .collect::<Vec<_>>()
        };
        assert_eq!(quality(&column(30.0)), (3, 3));
        // Its marrow left out: the label a third of the body, though the
        // heights passed over the hole.
        assert_eq!(quality(&column(10.0)), (2, 3));
    }
}
