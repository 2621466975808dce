//! One labelled piece measured as a vertebra (or the sacrum): its body
//! frame, heights and endplates in the body's own axis, and the flags they
//! and its neighbours raise. One home for the first analysis and the
//! user's revisions.

use glam::DVec3;

use crate::measure::{self, Flag, HeightAt, HeightLines, Heights, Through, genant_grade};
use crate::naming::{LEVELS, label_of};
use crate::report::Vertebra;
use crate::{canal, column, grid, split};

/// The least Genant grade told where bone is read leniently, and then for
/// a wedge only, whose endplates lean together as its heights say
/// ([`measure::endplates_lean_as_heights`]). Heights from dim, blurred
/// cortex are rough: on TotalSegmentator's osteoporotic CT L1's front
/// reads 18–22% below its back across the readings the spine tests make
/// (18% on the reference's own labels), and on its stand-ins (contrast
/// and noise, turned, pitched, a gantry tilted) bodies with no fracture
/// read 25–75% low in front, in the middle or at the back. Yet osteoporotic
/// bone is where wedge fractures are: that CT with L2's front collapsed to
/// 60% reads it 34–38% lower than its back. A crush there is told by the
/// comparison with its neighbours, a biconcave body by its middle where
/// the endplates sag broadly (`measure::BodyProbe::middle_loss_is_broad`)
/// and it is low against its neighbours' middles too
/// ([`keep_sags_below_neighbours`]): that CT's L3 with both endplates
/// sagging 5 mm read 41% low in the middle, unflagged until then.
const LEAST_GRADE_ON_DIM_BONE: u8 = 2;

/// Endplates of one vertebra this far apart (degrees) mark it irregular.
const IRREGULAR_DEG: f64 = 20.0;

/// The most (degrees) the angle between a vertebra's two discs may raise
/// [`IRREGULAR_DEG`].
const MOST_WEDGE_DEG: f64 = 30.0;

/// How much further apart (degrees) the endplates of a vertebra above a
/// steep disc may lie than its two discs' mid-planes: each mid-plane lies
/// half-way across a wedged disc, so an endplate leans from it by half that
/// disc's wedge (the lumbosacral disc's is 10–20°). Above the steep disc
/// only: allowed at every vertebra, a wrong reading of TotalSegmentator's
/// CT at 0.7 mm pixels and 1 mm slices, thoracic vertebrae no longer
/// irregular, passed the test for a missed disc and paid for one more split
/// (about a second in wasm) before losing as before.
const DISC_HALF_WEDGE_DEG: f64 = 8.0;

/// How far apart (degrees) the endplates of the vertebra between
/// `cand`'s discs may be before it is irregular: `IRREGULAR_DEG`, or the
/// angle between its two discs' mid-planes (and `DISC_HALF_WEDGE_DEG`
/// above a steep disc) when larger (at most `MOST_WEDGE_DEG`). On TotalSegmentator's CT at
/// 0.75 mm pixels and 3 mm slices L5's label spans what the reference's
/// does along every line of its endplate fits, and reads 25° between discs
/// 21° apart: that reading was judged irregular and lost to one whose
/// sacrum took an ilium. A lordotic L5 is wedged between discs far from
/// parallel: on TotalSegmentator's CT its endplates are 16.5° apart on the
/// reference's own labels and its discs 23–28°, and a reading within 2 mm
/// of the reference labels' heights measured 21.9° and lost its heights
/// and its place in the judge.
fn irregular_bound(cand: &split::Candidate) -> f64 {
    let discs = match (cand.upper, cand.lower) {
        (Some(u), Some(l)) => {
            let wedge = if split::is_steep(&l) {
                DISC_HALF_WEDGE_DEG
            } else {
                0.0
            };
            u.normal.angle_between(l.normal).to_degrees() + wedge
        }
        _ => 0.0,
    };
    IRREGULAR_DEG.max(discs.min(MOST_WEDGE_DEG))
}

/// How far (degrees) the sacrum's superior endplate measured on its own
/// frame (the fallback of [`sacrum_top`]) may lean from the L5–S1 disc's
/// mid-plane before the mid-plane stands in: half a lumbosacral disc's
/// wedge (10–20°). That frame takes the label's width, alae and all, and
/// its lines can run into S1's articular processes and alae (55–58°
/// against a 44–45° mid-plane on TotalSegmentator's CT resampled to 1.5
/// and 1 mm).
const SACRUM_PLATE_OFF_DISC_DEG: f64 = 10.0;

/// How far (degrees) S1's top read under the L5–S1 disc may lean from the
/// disc's mid-plane before that read is taken for a failure: a lumbosacral
/// disc's whole wedge (10–20°) and a mid-plane left at the darkest plane,
/// 10–15° off, where its endplates could not be fitted (on TotalSegmentator's
/// CT with denser bone at 1.5 mm: 33° against S1's 50°).
const SACRUM_TOP_OFF_DISC_DEG: f64 = 25.0;

/// One labelled piece to measure as a vertebra (or, labelled
/// `label_of(24)`, the sacrum).
pub(crate) struct Piece<'c> {
    /// Its slab between disc planes, centroid and edge flags.
    pub cand: &'c split::Candidate,
    pub label: u8,
    pub voxels: usize,
    /// Of them, how many read as metal ([`crate::metal::METAL_HU`]).
    pub metal_voxels: usize,
    pub ribs: bool,
    pub canal_ap_mm: Option<f64>,
}

/// Metal in a vertebra (ml) from which it is flagged [`Flag::Metal`]: a
/// pedicle screw is 1–2 ml; a stray bright voxel or a small surgical clip
/// is less.
const METAL_ML: f64 = 0.05;

/// The sacrum's superior endplate under the L5–S1 `disc`: fitted to S1's
/// top where lines dropped through the disc meet it
/// ([`measure::BodyProbe::top_below`]); where that fails or leans further
/// than `SACRUM_TOP_OFF_DISC_DEG` from the disc, the disc's own plane, and
/// without that the plane `measured` on the sacrum's frame within
/// `SACRUM_PLATE_OFF_DISC_DEG` of it.
fn sacrum_top(probe: &measure::BodyProbe, disc: &column::Disc, measured: DVec3) -> DVec3 {
    let off = |n: DVec3| n.angle_between(disc.normal).to_degrees();
    match probe.top_below(disc.centre, disc.normal) {
        Some(top) if off(top) <= SACRUM_TOP_OFF_DISC_DEG => top,
        Some(_) => disc.normal,
        None if off(measured) <= SACRUM_PLATE_OFF_DISC_DEG => measured,
        None => disc.normal,
    }
}

/// A labelled piece's report: its body frame, heights and endplates in the
/// body's own axis, and the flags they raise. One home for the first
/// analysis and for the user's revisions (merge, split).
pub(crate) fn measure_vertebra(grid: &grid::Grid, labels: &[u8], piece: &Piece) -> Vertebra {
    let Piece {
        cand,
        label,
        voxels,
        metal_voxels,
        ribs,
        canal_ap_mm,
    } = *piece;
    let sacrum = label == label_of(24);
    let voxel_ml = grid.voxel_ml();
    let probe = measure::BodyProbe {
        grid,
        labels,
        label,
        discs: [cand.upper, cand.lower].map(|d| d.map(|d| (d.centre, d.normal))),
    };
    let up = body_axis(cand);
    // The sacrum's body is its top: measure about 12 mm under S1's endplate.
    let centre = match (sacrum, cand.upper) {
        (true, Some(d)) => d.centre - d.normal * 14.0,
        _ => body_centre(cand),
    };
    // The disc planes give a first axis; the body's own endplates give
    // its true one (a wedge-shaped disc tilts the column's line).
    let first = probe
        .nearest_body(centre, up)
        .and_then(|c| probe.frame(c, up));
    let own_axis = first
        .as_ref()
        .and_then(|f| probe.endplates(f))
        .map(|(sup, inf)| (sup + inf).normalize())
        .filter(|a| a.dot(up) > 0.9);
    let frame = match (own_axis, &first) {
        (Some(axis), Some(f)) => probe.frame(f.centre, axis).or(first),
        _ => first,
    };
    let body = frame.as_ref().filter(|_| !sacrum);
    let measured = body.and_then(|f| probe.heights_with_lines(f, Through::Body));
    let heights = measured.map(|(heights, _)| heights);
    let label_height = body
        .and_then(|f| probe.heights(f, Through::Label))
        .map(|h| h.middle.max(h.posterior));
    let plates = frame
        .as_ref()
        .and_then(|f| probe.endplates(f))
        .map(|(sup, inf)| match cand.upper.filter(|_| sacrum) {
            Some(disc) => (sacrum_top(&probe, &disc, sup), inf),
            None => (sup, inf),
        });
    let mut flags = Vec::new();
    if cand.partial {
        flags.push(Flag::Partial);
    }
    if [cand.upper, cand.lower]
        .iter()
        .flatten()
        .any(|d| d.depth < 80.0)
    {
        flags.push(Flag::FaintDisc);
    }
    // A vertebra's endplates are near parallel: 20° or more between
    // them means the split or the measurement went wrong there (or a
    // severe fracture); either way a reader must look, and its heights
    // and endplates are not graded or used for the spine's angles.
    let spread = plates.map(|(sup, inf)| sup.angle_between(inf).to_degrees());
    // (The sacrum's lower "endplate" is its curved end: not compared.)
    let irregular = !sacrum && spread.is_some_and(|d| d >= irregular_bound(cand));
    if let Some(degrees) = spread.filter(|_| irregular) {
        flags.push(Flag::Irregular { degrees });
    }
    let mismeasured = heights.is_some_and(|h| !measure::plausible_heights(&h));
    if mismeasured {
        flags.push(Flag::ImplausibleHeights);
    }
    if let Some(h) = heights.filter(|_| !irregular && !mismeasured) {
        let max = h.tallest();
        let loss = |v: f64| 1.0 - v / max;
        // A middle low only in a pit of an endplate is no fracture (Genant):
        // said so, and the front and back graded alone.
        let least = if grid.reading.lenient {
            LEAST_GRADE_ON_DIM_BONE
        } else {
            1
        };
        let pitted = genant_grade(loss(h.middle)) >= least
            && !cand.partial
            && frame
                .as_ref()
                .is_some_and(|f| !probe.middle_loss_is_broad(f, max, loss(h.middle)));
        if pitted {
            flags.push(Flag::FocalEndplateDefect);
        }
        let worst = worst_loss(&h, pitted);
        let grade = genant_grade(worst.0);
        let told = if grid.reading.lenient {
            // On dim bone: a moderate or severe wedge whose endplates lean
            // together as its heights say, or such a broad sag in the middle.
            let leaning = match (plates, frame.as_ref()) {
                (Some((sup, inf)), Some(f)) => measure::endplates_lean_as_heights(f, sup, inf, &h),
                _ => false,
            };
            let sagging = worst.1 == HeightAt::Middle;
            grade >= LEAST_GRADE_ON_DIM_BONE
                && ((worst.1 == HeightAt::Anterior && leaning) || sagging)
        } else {
            grade > 0
        };
        if told && !cand.partial {
            flags.push(fracture(worst.1, grade));
        }
    }
    let name = LEVELS[label as usize - 1].to_owned();
    if name.starts_with('L') && canal_ap_mm.is_some_and(|d| d < 12.0) {
        flags.push(Flag::NarrowCanal);
    }
    if metal_voxels as f64 * voxel_ml >= METAL_ML {
        flags.push(Flag::Metal);
    }
    Vertebra {
        name,
        label,
        voxels,
        volume_ml: voxels as f64 * voxel_ml,
        centroid_mm: cand.centroid.to_array(),
        heights_mm: heights,
        height_lines_mm: measured.map(|(_, lines)| lines),
        label_height_mm: label_height,
        frame,
        superior_normal: plates.map(|p| p.0.to_array()),
        inferior_normal: plates.map(|p| p.1.to_array()),
        canal_ap_mm,
        flags,
        ribs,
    }
}

/// A body's largest height loss against its tallest height, and where it
/// is (a middle low only in an endplate's pit, `pitted`, not counted; of
/// equal losses the later of front, middle, back).
fn worst_loss(h: &Heights, pitted: bool) -> (f64, HeightAt) {
    let loss = |v: f64| 1.0 - v / h.tallest();
    [
        (loss(h.anterior), HeightAt::Anterior),
        (if pitted { 0.0 } else { loss(h.middle) }, HeightAt::Middle),
        (loss(h.posterior), HeightAt::Posterior),
    ]
    .into_iter()
    .max_by(|a, b| a.0.total_cmp(&b.0))
    .expect("three")
}

/// Genant's kind of a fracture whose largest loss is at `at`.
fn fracture(at: HeightAt, grade: u8) -> Flag {
    match at {
        HeightAt::Anterior => Flag::Wedge { grade },
        HeightAt::Middle => Flag::Biconcave { grade },
        HeightAt::Posterior => Flag::Crush { grade },
    }
}

/// The flags a body's heights give it on their own (made again when the
/// heights are set by hand).
fn graded_by_own_heights(flag: &Flag) -> bool {
    flag.fracture_grade().is_some()
        || matches!(
            flag,
            Flag::ImplausibleHeights | Flag::FocalEndplateDefect | Flag::HeightsSetByHand
        )
}

/// `vertebra` measured on `lines` the user placed: its heights their
/// lengths, graded again by Genant's rule as read (a reader's points are
/// taken as they stand: no leniency for dim bone, no pit looked for), the
/// grades its measured heights gave dropped. A body cut by the scan's
/// edge is still not graded. Its neighbours are compared with it after
/// ([`neighbour_flags`]).
pub(crate) fn measured_by_hand(vertebra: &mut Vertebra, lines: HeightLines) {
    let h = lines.heights();
    vertebra.flags.retain(|f| !graded_by_own_heights(f));
    vertebra.flags.push(Flag::HeightsSetByHand);
    vertebra.heights_mm = Some(h);
    vertebra.height_lines_mm = Some(lines);
    if !measure::plausible_heights(&h) {
        vertebra.flags.push(Flag::ImplausibleHeights);
        return;
    }
    let (loss, at) = worst_loss(&h, false);
    let grade = genant_grade(loss);
    if grade > 0 && !vertebra.flags.contains(&Flag::Partial) {
        vertebra.flags.push(fracture(at, grade));
    }
}

/// The body's axis: the mean of its two disc normals (one at a scan edge).
fn body_axis(c: &split::Candidate) -> DVec3 {
    let mut axis = DVec3::ZERO;
    for d in [c.upper, c.lower].into_iter().flatten() {
        axis += if d.normal.z < 0.0 {
            -d.normal
        } else {
            d.normal
        };
    }
    if axis == DVec3::ZERO {
        DVec3::Z
    } else {
        axis.normalize()
    }
}

/// Midway between its discs on the column; at a scan edge, on the column
/// at the height of the centroid.
fn body_centre(c: &split::Candidate) -> DVec3 {
    match (c.upper, c.lower) {
        (Some(u), Some(l)) => (u.centre + l.centre) / 2.0,
        (Some(d), None) | (None, Some(d)) => {
            d.centre + d.normal * (c.centroid - d.centre).dot(d.normal)
        }
        (None, None) => c.centroid,
    }
}

/// The canal's front-to-back size at the pockets inside this vertebra's slab.
pub(crate) fn canal_at(
    grid: &grid::Grid,
    chain: &[canal::Pocket],
    c: &split::Candidate,
) -> Option<f64> {
    let mut sizes: Vec<f64> = chain
        .iter()
        .filter(|p| {
            let w = grid.world(
                p.centre.x / grid.spacing.x,
                p.centre.y / grid.spacing.y,
                p.k as f64,
            );
            c.upper.is_none_or(|d| (w - d.centre).dot(d.normal) < 0.0)
                && c.lower.is_none_or(|d| (w - d.centre).dot(d.normal) >= 0.0)
        })
        .map(|p| p.ap_mm)
        .collect();
    (!sizes.is_empty()).then(|| column::median(&mut sizes))
}

/// On dim bone a broad sag of a body's middle (graded biconcave by its own
/// heights) stays graded only where its middle is also
/// [`SAG_UNDER_NEIGHBOURS`] of its neighbours' middles or less (those
/// that read right; with none, it is not graded). Over the spine tests'
/// stand-ins of TotalSegmentator's osteoporotic CT, two bodies with no
/// fracture read so by their own heights: L1 of the CT pitched, and L4
/// where a bony bar runs over its discs' fronts (its front read long).
fn keep_sags_below_neighbours(vertebrae: &mut [Vertebra]) {
    let is_sag = |f: &Flag| matches!(f, Flag::Biconcave { .. });
    let middles: Vec<Option<f64>> = vertebrae
        .iter()
        .map(|v| {
            let off = v.flags.iter().any(|f| {
                is_sag(f)
                    || matches!(
                        f,
                        Flag::Partial | Flag::Irregular { .. } | Flag::ImplausibleHeights
                    )
            });
            v.heights_mm.filter(|_| !off).map(|h| h.middle)
        })
        .collect();
    for (n, vertebra) in vertebrae.iter_mut().enumerate() {
        // Heights set by hand are graded as the reader placed them.
        if !vertebra.flags.iter().any(is_sag) || vertebra.flags.contains(&Flag::HeightsSetByHand) {
            continue;
        }
        let own = vertebra.heights_mm.map(|h| h.middle);
        let below = match (own, mean_beside(&middles, n)) {
            (Some(own), Some(mean)) => own <= SAG_UNDER_NEIGHBOURS * mean,
            _ => false,
        };
        if !below {
            vertebra.flags.retain(|f| !is_sag(f));
        }
    }
}

/// See [`keep_sags_below_neighbours`]: Genant's 20%.
const SAG_UNDER_NEIGHBOURS: f64 = 0.8;

/// The mean of the heights beside entry `n` of `heights` (those known).
fn mean_beside(heights: &[Option<f64>], n: usize) -> Option<f64> {
    let around: Vec<f64> = [n.checked_sub(1), Some(n + 1)]
        .into_iter()
        .flatten()
        .filter_map(|m| heights.get(m).copied().flatten())
        .collect();
    (!around.is_empty()).then(|| around.iter().sum::<f64>() / around.len() as f64)
}

/// Posterior height ≥ 20% below the mean of its neighbours', and its
/// tallest height so below theirs too: the whole body lower, not one
/// height misread (on TotalSegmentator's osteoporotic CT cut through L1,
/// a hole of dim marrow 12 mm tall under L4's upper endplate at its back
/// ended the measured run there, its back read 12.0 mm for 27.1 against
/// a front of 30.2, and it was flagged lower than its neighbours, a crush
/// of grade 3). Made on
/// every reading, dim bone's too: a body's back wall reads as well as its
/// neighbours', where its own front, middle and back compared are graded
/// on a lenient reading only for a clear wedge or sag (see
/// `measure_vertebra`); on such a reading (`dim_bone`) a sag stays graded
/// only where it is low against its neighbours too
/// ([`keep_sags_below_neighbours`]). A body whose
/// heights are implausible (a missed endplate reads its middle too high)
/// is compared by the largest of its heights, an over-estimate: low even
/// so, it is low (on TotalSegmentator's CT at 3 mm, L2 crushed to half its
/// height read 9 / 15 / 9 mm against neighbours' 30 and went unflagged).
pub(crate) fn neighbour_flags(vertebrae: &mut [Vertebra], dim_bone: bool) {
    if dim_bone {
        keep_sags_below_neighbours(vertebrae);
    }
    // The heights each body is compared by (its back's, or where they are
    // implausible its tallest; and its tallest), and whether they read
    // right (a neighbour is compared by such heights only).
    let compared: Vec<Option<([f64; 2], bool)>> = vertebrae
        .iter()
        .map(|v| {
            let cut_or_irregular = v
                .flags
                .iter()
                .any(|f| matches!(f, Flag::Partial | Flag::Irregular { .. }));
            let implausible = v.flags.contains(&Flag::ImplausibleHeights);
            v.heights_mm.filter(|_| !cut_or_irregular).map(|h| {
                if implausible {
                    ([h.tallest(); 2], false)
                } else {
                    ([h.posterior, h.tallest()], true)
                }
            })
        })
        .collect();
    // The heights a neighbour is compared by: those that read right.
    let reading_right = |which: usize| -> Vec<Option<f64>> {
        compared
            .iter()
            .map(|c| c.and_then(|(heights, reads_right)| reads_right.then_some(heights[which])))
            .collect()
    };
    let (backs, tallests) = (reading_right(0), reading_right(1));
    for (n, vertebra) in vertebrae.iter_mut().enumerate() {
        let Some(([back, top], _)) = compared[n] else {
            continue;
        };
        if let (Some(backs_beside), Some(tallest_beside)) =
            (mean_beside(&backs, n), mean_beside(&tallests, n))
            && back < 0.8 * backs_beside
            && top < 0.8 * tallest_beside
        {
            vertebra.flags.push(Flag::LowerThanNeighbours);
            graded_as_crush(
                &mut vertebra.flags,
                genant_grade(1.0 - back / backs_beside),
                dim_bone,
            );
        }
    }
}

/// A body whose back is low against its neighbours' is collapsed as a
/// whole: Genant's crush (the posterior height reduced too), graded by
/// that loss, unless its own heights tell another kind on a reading that
/// measures them well: the chest CT's T8 with both endplates sagging 5 mm
/// reads 14.9 / 10.1 / 14.9 mm, its back 27% below its neighbours', a
/// severe biconcave fracture. On dim bone (`dim_bone`) a thin body's own
/// heights are too rough for its kind, and the kind they gave yields to a
/// crush, graded by the larger loss: TotalSegmentator's osteoporotic CT
/// (3 mm) with L4 crushed to half its height reads 12.0 / 9.0 / 15.1 mm,
/// "biconcave 3" before.
fn graded_as_crush(flags: &mut Vec<Flag>, by_neighbours: u8, dim_bone: bool) {
    // Heights set by hand tell their kind on any bone.
    let rough = dim_bone && !flags.contains(&Flag::HeightsSetByHand);
    let own_grades = || flags.iter().filter_map(Flag::fracture_grade);
    if !rough && own_grades().next().is_some() {
        return;
    }
    let grade = own_grades().fold(by_neighbours, u8::max);
    flags.retain(|f| f.fracture_grade().is_none());
    flags.push(Flag::Crush { grade });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Heights;

    /// Three vertebrae, the middle one with heights `middle` (front,
    /// middle, back) and `flags`, its neighbours 30 mm tall throughout.
    fn column_with(middle: [f64; 3], flags: &[Flag]) -> Vec<Vertebra> {
        let vertebra =
            |name: &str, [anterior, middle, posterior]: [f64; 3], flags: &[Flag]| Vertebra {
                heights_mm: Some(Heights {
                    anterior,
                    middle,
                    posterior,
                }),
                ..Vertebra::bare(name, flags)
            };
        vec![
            vertebra("L1", [30.0; 3], &[]),
            vertebra("L2", middle, flags),
            vertebra("L3", [30.0; 3], &[]),
        ]
    }

    fn flags_of(middle: [f64; 3], flags: &[Flag], dim_bone: bool) -> Vec<Flag> {
        let mut column = column_with(middle, flags);
        neighbour_flags(&mut column, dim_bone);
        assert!(column[0].flags.is_empty() && column[2].flags.is_empty());
        column[1].flags.clone()
    }

    #[test]
    fn a_body_low_against_its_neighbours_is_a_crush_unless_its_shape_says_otherwise() {
        // Uniformly 30% lower: a crush of grade 2, on any reading.
        for dim_bone in [false, true] {
            assert_eq!(
                flags_of([21.0; 3], &[], dim_bone),
                [Flag::LowerThanNeighbours, Flag::Crush { grade: 2 }]
            );
        }
        // A sag measured well keeps its kind; on dim bone it yields to a
        // crush graded by the larger loss.
        let sag = [20.0, 14.0, 20.0];
        let biconcave = Flag::Biconcave { grade: 3 };
        assert_eq!(
            flags_of(sag, &[biconcave], false),
            [biconcave, Flag::LowerThanNeighbours]
        );
        assert_eq!(
            flags_of(sag, &[biconcave], true),
            [Flag::LowerThanNeighbours, Flag::Crush { grade: 3 }]
        );
        // Back within 20% of the neighbours': nothing added.
        assert!(flags_of([25.0; 3], &[], false).is_empty());
        // The back alone low, the front as tall as the neighbours' (a hole
        // in the label at the back, misread): not the whole body lower.
        assert!(flags_of([30.0, 24.0, 12.0], &[], true).is_empty());
    }
}
