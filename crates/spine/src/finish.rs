//! A split made into the report: pieces named from the anchors seen,
//! labelled (ribs, pelvis, the sacrum continued down and its marrow
//! filled, holes closed, fill in the disc spaces and metal outside bone
//! left out), measured, and
//! placed on the stored volume's grid.

use glam::{DVec2, DVec3};

use crate::angles::angles;
use crate::labels::{BLOCK, all_zero, label_counts, relabel};
use crate::measure::Flag;
use crate::naming::{self, PELVIS_LABEL, RIBS_LABEL, label_of};
use crate::placed::SpineLabels;
use crate::report::{Labelled, Spine};
use crate::vertebra::{Piece, canal_at, measure_vertebra, neighbour_flags};
use crate::{canal, column, disc_fill, grid, holes, metal, sacrum, split};

/// How far (mm) to either side of the sacrum's midline its bone is
/// weighed: the alae reach 45–60 mm, an ilium joined to them much further.
const SACRUM_SIDE_MM: f64 = 35.0;

/// The most (ml) the sacrum's bone beyond `SACRUM_SIDE_MM` may differ
/// between its two sides. On TotalSegmentator's CT the two sides differ
/// by 0–9 ml in every reading taken; a reading of it at 0.75 mm pixels
/// whose sacrum took the right ilium held 13.8 and 58.3 ml there.
const SACRUM_SIDES_APART_ML: f64 = 25.0;

/// The sacrum's bone (ml) beyond `SACRUM_SIDE_MM` of the midline through
/// `midline` (its top's centre), to the patient's right and left.
fn reaches_beyond_sides(grid: &grid::Grid, labels: &[u8], midline: DVec3) -> [f64; 2] {
    let [ni, nj, _] = grid.dims;
    let centre = grid.index_of(midline);
    let centre = grid.plane_mm(centre.x, centre.y);
    let voxel_ml = grid.voxel_ml();
    let mut sides = [0usize; 2];
    for slice in labels.chunks_exact(ni * nj) {
        count_beyond_sides(grid, slice, centre, &mut sides);
    }
    sides.map(|n| n as f64 * voxel_ml)
}

/// [`reaches_beyond_sides`] in one slice, a call per slice (wasm optimises
/// a function between calls).
#[inline(never)]
fn count_beyond_sides(grid: &grid::Grid, slice: &[u8], centre: DVec2, sides: &mut [usize; 2]) {
    let ni = grid.dims[0];
    for (block, labels) in slice.chunks(BLOCK).enumerate() {
        if all_zero(labels) {
            continue;
        }
        for (n, &l) in labels.iter().enumerate() {
            if l != label_of(24) {
                continue;
            }
            let w = block * BLOCK + n;
            let p = grid.plane_mm((w % ni) as f64, (w / ni) as f64) - centre;
            let side = p.dot(grid.lateral);
            if side.abs() > SACRUM_SIDE_MM {
                sides[usize::from(side > 0.0)] += 1;
            }
        }
    }
}

/// Whether the sacrum's bone beyond its sides (`reaches_beyond_sides`) is
/// so uneven that an ilium must be joined to it.
fn is_one_sided([a, b]: [f64; 2]) -> bool {
    (a - b).abs() > SACRUM_SIDES_APART_ML
}

/// The most a level decision is trusted when bone was read leniently.
const LENIENT_CONFIDENCE: f64 = 0.5;

/// C1–L5 (level indices 0–23; the sacrum is 24).
const MOBILE_LEVELS: i32 = 24;

/// How sure names are when more pieces than [`MOBILE_LEVELS`] were found
/// (a 512²×2500 phantom gave 30): no surer than an assumption.
const TOO_MANY_PIECES_CONFIDENCE: f64 = 0.25;

/// Smallest piece worth calling a vertebra (ml).
const MIN_VERTEBRA_ML: f64 = 4.0;

/// Whether a candidate holds enough bone to be a vertebra.
fn big_enough(grid: &grid::Grid, c: &split::Candidate) -> bool {
    vertebra_sized(grid, c.voxels)
}

/// Whether `voxels` of the grid read are enough bone for a vertebra
/// (`MIN_VERTEBRA_ML`): one bound for the pieces named and for the sliver
/// a scan's edge leaves (`spinous`).
pub(crate) fn vertebra_sized(grid: &grid::Grid, voxels: usize) -> bool {
    voxels as f64 * grid.voxel_ml() >= MIN_VERTEBRA_ML
}

/// The sacrum: the highest candidate big enough for a vertebra with alae
/// beside its top; everything below joins it.
pub(crate) fn sacrum_candidate(
    grid: &grid::Grid,
    candidates: &[split::Candidate],
) -> Option<usize> {
    candidates
        .iter()
        .position(|c| big_enough(grid, c) && c.alae.is_some() && c.upper.is_some())
}

pub(crate) fn finish(
    grid: &grid::Grid,
    chain: &[canal::Pocket],
    split: split::Split,
    discs: &[column::Disc],
) -> Labelled {
    let split::Split {
        mut labels,
        candidates,
    } = split;
    let real: Vec<usize> = (0..candidates.len())
        .filter(|&c| big_enough(grid, &candidates[c]))
        .collect();
    let sacrum = sacrum_candidate(grid, &candidates);
    let mut sacrum_at = real.iter().position(|&c| Some(c) == sacrum);
    let mut mobile: Vec<usize> = match sacrum_at {
        Some(s) => real[..s].to_vec(),
        None => real.clone(),
    };
    let mut reaching: Vec<bool> = mobile.iter().map(|&c| candidates[c].ribs).collect();
    let partial: Vec<bool> = mobile.iter().map(|&c| candidates[c].partial).collect();
    let ml: Vec<f64> = mobile
        .iter()
        .map(|&c| candidates[c].voxels as f64 * grid.voxel_ml())
        .collect();
    let whole_ml: Vec<Option<f64>> = ml
        .iter()
        .zip(&partial)
        .map(|(&ml, &cut)| (!cut).then_some(ml))
        .collect();
    let mut ribs = naming::ribs_of_the_thorax(&reaching, &whole_ml);
    let (mut top, mut levels) = naming::decide(&ribs, &partial, sacrum_at.is_some());
    if sacrum_at.is_none() && naming::sacrum_cut_below_l5(top, &partial, &ml) {
        // The last piece is the sacrum's top: from here on it is the sacrum.
        mobile.pop();
        reaching.pop();
        ribs.pop();
        sacrum_at = Some(mobile.len());
    }
    // Anchors read from dim bone (a lenient reading) are themselves
    // unsure: an L5 transverse process near the ilium passes for an ala.
    if grid.reading.lenient {
        levels.confidence = levels.confidence.min(LENIENT_CONFIDENCE);
    }
    let n = mobile.len() as i32;
    if n > MOBILE_LEVELS {
        // More pieces than mobile levels: one is no vertebra, or a
        // vertebra came out in two. The names run from C1 and the pieces
        // past the 24th join L5: none of them is sure.
        levels.confidence = levels.confidence.min(TOO_MANY_PIECES_CONFIDENCE);
    }
    top = top.clamp(0, (MOBILE_LEVELS - n).max(0));
    // Final labels: candidate id → level label, ribs, pelvis.
    let mut map = [0u8; 256];
    for (m, &c) in mobile.iter().enumerate() {
        let level = (top + m as i32).min(MOBILE_LEVELS - 1) as usize;
        map[c + 1] = label_of(level);
        map[split::OUTSIDE as usize + c] = if ribs[m] {
            RIBS_LABEL
        } else if reaching[m] {
            PELVIS_LABEL
        } else {
            label_of(level)
        };
    }
    if let Some(s) = sacrum_at {
        for &c in &real[s..] {
            map[c + 1] = label_of(24);
            map[split::OUTSIDE as usize + c] = PELVIS_LABEL;
        }
        // Pieces below the sacrum's top too small to be vertebrae are sacrum.
        for c in real[s]..candidates.len() {
            map[c + 1] = label_of(24);
            map[split::OUTSIDE as usize + c] = PELVIS_LABEL;
        }
    }
    relabel(&mut labels, &map);
    // Down is away from the vertebrae above the sacrum.
    if let Some(s) = sacrum_at.filter(|&s| s > 0) {
        let k_of = |c: usize| grid.index_of(candidates[c].centroid).z;
        let above = mobile.iter().map(|&c| k_of(c)).sum::<f64>() / mobile.len() as f64;
        sacrum::continue_down(grid, &mut labels, k_of(real[s]) < above);
    }
    if sacrum_at.is_some() {
        let mut extents = sacrum::Extents::find(grid, &labels);
        sacrum::fill_marrow(grid, &mut labels, &mut extents, chain, discs);
        sacrum::return_iliac_cortex(grid, &mut labels, &extents);
    }
    holes::close_across_bodies(grid, &mut labels, chain, discs);
    holes::close_along_slices(grid, &mut labels);
    // After the holes are closed (the fill would be one between the two
    // bodies), before the metal is counted (a cage is no vertebra's).
    disc_fill::leave_out_of_discs(grid, &mut labels, discs);
    let metal = metal::leave_out_metal_outside_bone(grid, &mut labels);
    let counts = label_counts(&labels);
    let (ribs_voxels, pelvis_voxels) = (counts[RIBS_LABEL as usize], counts[PELVIS_LABEL as usize]);
    let mut vertebrae = Vec::new();
    let mut order: Vec<(usize, Option<usize>)> = mobile
        .iter()
        .enumerate()
        .map(|(m, &c)| (c, Some(m)))
        .collect();
    if let Some(s) = sacrum_at {
        order.push((real[s], None));
    }
    // Pieces past the 24th share L5's label: measured once, as one.
    let mut measured = [false; 256];
    for (c, m) in order {
        let cand = &candidates[c];
        let label = match m {
            Some(m) => label_of((top + m as i32).min(MOBILE_LEVELS - 1) as usize),
            None => label_of(24),
        };
        if std::mem::replace(&mut measured[label as usize], true) {
            continue;
        }
        vertebrae.push(measure_vertebra(
            grid,
            &labels,
            &Piece {
                cand,
                label,
                voxels: counts[label as usize],
                metal_voxels: metal[label as usize],
                ribs: m.is_some_and(|m| ribs[m]),
                canal_ap_mm: canal_at(grid, chain, cand),
            },
        ));
    }
    if let Some(top) = sacrum_at.and_then(|s| candidates[real[s]].upper) {
        let sacrum = vertebrae.last_mut().expect("the sacrum, measured last");
        if is_one_sided(reaches_beyond_sides(grid, &labels, top.centre)) {
            sacrum.flags.push(Flag::OneSided);
        }
    }
    neighbour_flags(&mut vertebrae, grid.reading.lenient);
    let angles = angles(&vertebrae, grid.front);
    let mut spine = Spine {
        vertebrae,
        angles,
        levels,
        ribs_voxels,
        pelvis_voxels,
        discs: discs
            .iter()
            .map(|d| (d.centre.to_array(), d.normal.to_array()))
            .collect(),
        bone_hu: grid.bone_hu(),
        noise_hu: grid.noise.hu,
        read_mm: grid.spacing.to_array(),
        averaged_for_noise: grid.noise.averaged,
        marrow_hu: grid.marrow_hu,
        anterior: grid.front.to_array(),
    };
    let labels = on_stored_grid(grid, labels, &mut spine);
    Labelled { spine, labels }
}

/// The analysis' `labels` placed on the stored volume's grid; where the
/// grid read the volume in blocks, the report's voxel counts and volumes
/// are counted again there, so that they are the labelmap's.
pub(crate) fn on_stored_grid(grid: &grid::Grid, labels: Vec<u8>, spine: &mut Spine) -> SpineLabels {
    let placed = grid.placed(labels);
    if grid.is_reduced() {
        counted_on_stored_grid(grid, &placed, spine);
    }
    placed
}

/// `labelled` with its labels' edges placed by the stored voxels where the
/// grid read them in blocks ([`grid::Grid::place_edges`]), its voxel counts
/// and volumes counted again. Done to the analysis taken (and to each
/// revision), not to every reading weighed: the readings are weighed by
/// their pieces' volumes as the blocks give them, and a layer peeled off
/// every piece (more, for its size, off a small one) changed which was
/// taken (a piece of T12 cut by the scan's top and L1 came out as one).
pub(crate) fn with_edges_placed(grid: &grid::Grid, mut labelled: Labelled) -> Labelled {
    if grid.place_edges(&mut labelled.labels) {
        counted_on_stored_grid(grid, &labelled.labels, &mut labelled.spine);
    }
    labelled
}

/// `spine`'s voxel counts and volumes as `placed` hands them over.
fn counted_on_stored_grid(grid: &grid::Grid, placed: &SpineLabels, spine: &mut Spine) {
    let counts = placed.stored_counts();
    for v in &mut spine.vertebrae {
        v.voxels = counts[v.label as usize];
        v.volume_ml = v.voxels as f64 * grid.stored_voxel_ml;
    }
    spine.ribs_voxels = counts[RIBS_LABEL as usize];
    spine.pelvis_voxels = counts[PELVIS_LABEL as usize];
}

#[cfg(test)]
mod sacrum_side_tests {
    use super::*;

    /// The sacrum's bone beyond its sides on a 1 mm grid of 200 × 50 × 10
    /// voxels whose labels `draw(i)` gives along each row, the midline at
    /// i = 70.
    fn beyond_sides(draw: impl Fn(usize) -> u8) -> [f64; 2] {
        let dims = [200usize, 50, 10];
        let volume = grid::blank_volume(dims);
        let grid = grid::Grid::new(&volume).expect("axial");
        let labels: Vec<u8> = (0..dims.iter().product::<usize>())
            .map(|w| draw(w % 200))
            .collect();
        reaches_beyond_sides(&grid, &labels, DVec3::new(70.0, 25.0, 5.0))
    }

    #[test]
    fn a_sacrum_with_an_ilium_on_one_side_is_one_sided() {
        // Alae to 40 mm either side: 5 mm of each beyond 35, 2.5 ml.
        let sacrum = |i: usize| {
            if (30..=110).contains(&i) {
                label_of(24)
            } else {
                0
            }
        };
        let sides = beyond_sides(sacrum);
        assert!(sides.iter().all(|&ml| (ml - 2.5).abs() < 1e-9), "{sides:?}");
        assert!(!is_one_sided(sides));
        // An ilium taken with it on one side, 80 mm out: 40 ml more there.
        let with_ilium = |i: usize| {
            if i > 110 && i <= 190 {
                label_of(24)
            } else {
                sacrum(i)
            }
        };
        let sides = beyond_sides(with_ilium);
        assert!((sides[0] - sides[1]).abs() > 39.9, "{sides:?}");
        assert!(is_one_sided(sides));
        // Other labels there do not count.
        let with_pelvis = |i: usize| if i > 110 { PELVIS_LABEL } else { sacrum(i) };
        assert!(!is_one_sided(beyond_sides(with_pelvis)));
    }
}
