//! The user's corrections where the first split was wrong: two pieces that
//! are one vertebra merged, one piece holding two vertebrae split at the
//! disc-like gap clicked, and any hand edit of the labels (segment tools,
//! undo) measured again. The report is made from the labels themselves:
//! each vertebra label present is a piece, its body is found along the
//! column's centreline (drawn by the discs), its discs are the ones at the
//! ends of its body (a disc inside a merged piece is passed over, so an
//! undone merge finds it again), and every piece is measured by the same
//! code as the first analysis. After a merge or split the pieces are named
//! again from the end the names were anchored on (the sacrum keeps L5 where
//! it was), so the names, the labelmap and the angles agree. A body's
//! height line moved by hand is kept: that body is graded on the lines
//! the user placed from then on, through every later measuring (not past
//! a merge or split, which makes the bodies anew).

use glam::{DVec2, DVec3};
use insitu_segment::Labelmap;
use insitu_volume::Volume;
use serde::{Deserialize, Serialize};

use crate::column::{
    Disc, Station, cross_section_mean, disc_plane, ranked_dip, smoothed, within_scan,
};
use crate::grid::{Grid, ReadPlan, Reading};
use crate::measure::{HeightAt, HeightLine, HeightLines};
use crate::naming::{Anchor, LEVELS, PELVIS_LABEL, RIBS_LABEL, label_of};
use crate::split::Candidate;
use crate::{
    Analysis, Flag, Labelled, Piece, Spine, SpineError, angles, measure_vertebra, measured_by_hand,
    neighbour_flags,
};

/// A correction to the vertebrae.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Revision {
    /// The vertebra labelled `label` and the next one down are one
    /// vertebra (the first split cut it at a fracture line or a vein
    /// channel).
    MergeWithBelow {
        /// The upper one's label.
        label: u8,
    },
    /// The vertebra at `point` (patient mm) holds two (a disc was not
    /// seen): split it at the disc-like gap nearest the point.
    SplitAt {
        /// Where the user clicked, on or near the gap.
        point: [f64; 3],
    },
    /// The labels were edited by hand: measure every vertebra again,
    /// names kept.
    Remeasure,
    /// The reader placed a body's height line (one end dragged to where
    /// the endplate's edge is): that body's heights are read on its lines
    /// from now on, and every vertebra is graded again.
    SetHeight {
        /// The vertebra's label.
        label: u8,
        /// Which of its three heights.
        at: HeightAt,
        /// The line, from the lower endplate to the upper (patient mm).
        line: HeightLine,
    },
    /// The lines a reader placed on a body dropped: its heights measured
    /// by the analysis again.
    MeasureHeights {
        /// The vertebra's label.
        label: u8,
    },
}

/// A reader's edit of one body's height lines.
#[derive(Debug, Clone, Copy)]
enum HandEdit {
    /// One line placed (see [`Revision::SetHeight`]).
    Place {
        label: u8,
        at: HeightAt,
        line: HeightLine,
    },
    /// The body's lines measured again (see [`Revision::MeasureHeights`]).
    Clear { label: u8 },
}

/// The shortest height line (mm) a reader may place: shorter is a slip of
/// the mouse, not a body.
pub const SHORTEST_HEIGHT_MM: f64 = 2.0;

/// Why a correction was not made.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum RevisionError {
    /// The point or label is not a vertebra's (C1–L5).
    #[error("there is no vertebra there")]
    NotAVertebra,
    /// A merge needs a vertebra below.
    #[error("{name} has no vertebra below it to merge with")]
    NothingBelow {
        /// The vertebra's name.
        name: String,
    },
    /// No disc-like dip in HU along the column near the click.
    #[error("no disc-like gap in {name} within {SEARCH_MM} mm of the point")]
    NoGap {
        /// The vertebra's name.
        name: String,
    },
    /// Renaming would run past C1 or L5.
    #[error("the new names would run past C1 or L5")]
    OutOfLevels,
    /// Every label value is in use.
    #[error("no label value is free for the new vertebra")]
    NoFreeLabel,
    /// The labels are not on the volume's grid.
    #[error("the labels are on another grid")]
    WrongGrid,
    /// A height was placed on a vertebra whose heights were not measured
    /// (the sacrum, or a body not found).
    #[error("{name} has no body heights to move")]
    NoHeights {
        /// The vertebra's name.
        name: String,
    },
    /// A height line placed shorter than [`SHORTEST_HEIGHT_MM`].
    #[error("a height of {mm:.1} mm in {name} is too short for a body")]
    TooShort {
        /// The vertebra's name.
        name: String,
        /// The line's length.
        mm: f64,
    },
    /// The volume cannot be analysed (not axial).
    #[error(transparent)]
    Spine(#[from] SpineError),
}

/// Radius (mm) of the column's core around its centreline: the bodies,
/// not the posterior elements.
const CORE_MM: f64 = 12.0;
/// How far (mm) from a body's end its disc may lie.
const DISC_REACH_MM: f64 = 12.0;
/// How far (mm) from the click the gap is looked for.
const SEARCH_MM: f64 = 8.0;
/// How far (HU) a gap must dip below the brighter endplates beside it.
/// The first analysis keeps dips of 8 HU and more when they stand out from
/// the column; a disc the user points at on real CT dips 70–650 HU (a
/// faint one on 3 mm osteoporotic bone 70), a body's middle a few.
const MIN_GAP_HU: f64 = 30.0;
/// A body's half-width and half-depth (mm) where the piece has no frame.
const USUAL_HALF_SIZE: DVec2 = DVec2::new(18.0, 14.0);
/// The sacrum's label.
const SACRUM: u8 = 25;

/// `spine` corrected by `revision` on `labels` (the labelmap as it is now,
/// possibly edited since): the new report and labelmap.
pub fn revise(
    volume: &Volume,
    labels: &Labelmap,
    spine: &Spine,
    revision: Revision,
) -> Result<Analysis, RevisionError> {
    revise_labels(volume, labels, spine, revision).map(Labelled::into_analysis)
}

/// [`revise`], its labels placed on the volume's grid only as they are
/// handed over (see [`Labelled`]).
pub fn revise_labels(
    volume: &Volume,
    labels: &Labelmap,
    spine: &Spine,
    revision: Revision,
) -> Result<Labelled, RevisionError> {
    revise_labels_planned(volume, ReadPlan::of(volume)?, labels, spine, revision)
}

/// [`revise_labels`] reading `volume` as `plan` (made of it, and checked
/// for room) says.
pub fn revise_labels_planned(
    volume: &Volume,
    plan: ReadPlan,
    labels: &Labelmap,
    spine: &Spine,
    revision: Revision,
) -> Result<Labelled, RevisionError> {
    // Read as the analysis was: voxel by voxel where its noise's blocks
    // gave way to that (see `ReadPlan::without_noise_blocks`).
    let plan = match plan.without_noise_blocks() {
        Some(unaveraged) if !spine.averaged_for_noise => unaveraged,
        _ => plan,
    };
    let mut grid = Grid::planned(volume, plan)?;
    if let Some(reading) = Reading::LADDER
        .into_iter()
        .find(|r| r.bone_hu == spine.bone_hu)
    {
        grid.reading = reading;
    }
    grid.marrow_hu = spine.marrow_hu;
    let labels = grid.labels_of(labels).ok_or(RevisionError::WrongGrid)?;
    let mut discs: Vec<Disc> = spine
        .discs
        .iter()
        .map(|(c, n)| {
            let n = DVec3::from_array(*n);
            // Depth not known again; `FaintDisc` and `OneSided` flags are
            // carried over.
            plane_disc(DVec3::from_array(*c), if n.z < 0.0 { -n } else { n })
        })
        .collect();
    let mut map = labels.labels().to_vec();
    let mut present = [false; 256];
    for &l in &map {
        present[l as usize] = true;
    }
    let line = Centreline::new(&discs);
    let mut inherit = None;
    let mut hand = None;
    let rename = match revision {
        Revision::Remeasure => false,
        Revision::MeasureHeights { label } => {
            if !spine
                .vertebrae
                .iter()
                .any(|v| v.label == label && present[label as usize])
            {
                return Err(RevisionError::NotAVertebra);
            }
            hand = Some(HandEdit::Clear { label });
            false
        }
        Revision::SetHeight { label, at, line } => {
            let vertebra = spine
                .vertebrae
                .iter()
                .find(|v| v.label == label && present[label as usize])
                .ok_or(RevisionError::NotAVertebra)?;
            let name = vertebra.name.clone();
            if vertebra.height_lines_mm.is_none() {
                return Err(RevisionError::NoHeights { name });
            }
            if line.length() < SHORTEST_HEIGHT_MM {
                return Err(RevisionError::TooShort {
                    name,
                    mm: line.length(),
                });
            }
            hand = Some(HandEdit::Place { label, at, line });
            false
        }
        Revision::MergeWithBelow { label } => {
            if !(1..=24).contains(&label) || !present[label as usize] {
                return Err(RevisionError::NotAVertebra);
            }
            let below = (label + 1..=24)
                .find(|&l| present[l as usize])
                .ok_or_else(|| RevisionError::NothingBelow {
                    name: LEVELS[label as usize - 1].to_owned(),
                })?;
            for l in map.iter_mut().filter(|l| **l == below) {
                *l = label;
            }
            true
        }
        Revision::SplitAt { point } => {
            let free = (RIBS_LABEL + 1..=255)
                .rev()
                .find(|&l| !present[l as usize])
                .ok_or(RevisionError::NoFreeLabel)?;
            let (source, disc) = split_at(
                &grid,
                &labels,
                &mut map,
                &line,
                DVec3::from_array(point),
                free,
                spine,
            )?;
            // The same disc found again (a split undone by hand, redone)
            // is kept once.
            discs.retain(|d| d.centre.distance(disc.centre) > 3.0);
            discs.push(disc);
            inherit = Some((free, source));
            true
        }
    };
    discs.sort_by(|a, b| b.centre.z.total_cmp(&a.centre.z));
    rebuild(&grid, map, &discs, spine, rename, inherit, hand)
}

/// The height lines a vertebra is measured on by hand: the lines it was
/// shown with (`before`'s), with the line `edit` places where it is this
/// one's; none where `edit` clears this one's; else those a reader placed
/// before, if any.
fn lines_by_hand(
    before: Option<&crate::Vertebra>,
    label: u8,
    edit: Option<HandEdit>,
) -> Option<HeightLines> {
    let before = before?;
    let shown = before.height_lines_mm?;
    match edit {
        Some(HandEdit::Place { label: l, at, line }) if l == label => Some(shown.with(at, line)),
        Some(HandEdit::Clear { label: l }) if l == label => None,
        _ => before
            .flags
            .contains(&Flag::HeightsSetByHand)
            .then_some(shown),
    }
}

/// The body column's centreline as the discs draw it (their centres lie
/// on it), extended beyond the end discs along their normals.
struct Centreline {
    /// Disc centres and normals, lowest first.
    points: Vec<(DVec3, DVec3)>,
}

impl Centreline {
    fn new(discs: &[Disc]) -> Self {
        let mut points: Vec<(DVec3, DVec3)> = discs.iter().map(|d| (d.centre, d.normal)).collect();
        points.sort_by(|a, b| a.0.z.total_cmp(&b.0.z));
        Self { points }
    }

    /// The discs either side of `gap` on the centreline and `gap`, top
    /// down (a missing one repeats `gap`): what the arch step reads each
    /// level's height from.
    fn around(&self, point: DVec3, gap: Disc) -> [Disc; 3] {
        let below = self
            .points
            .iter()
            .rev()
            .find(|p| p.0.z < point.z - APART_MM);
        let above = self.points.iter().find(|p| p.0.z > point.z + APART_MM);
        [
            above.map_or(gap, |&(c, n)| plane_disc(c, n)),
            gap,
            below.map_or(gap, |&(c, n)| plane_disc(c, n)),
        ]
    }

    /// The centreline's point and direction (up) at height `z`.
    fn at(&self, z: f64) -> Option<(DVec3, DVec3)> {
        let (first, last) = (self.points.first()?, self.points.last()?);
        let along = |(c, n): (DVec3, DVec3)| {
            let t = if n.z.abs() > 0.2 {
                (z - c.z) / n.z
            } else {
                0.0
            };
            (c + n * t, n)
        };
        if z <= first.0.z {
            return Some(along(*first));
        }
        if z >= last.0.z {
            return Some(along(*last));
        }
        let pair = self.points.windows(2).find(|w| w[1].0.z >= z)?;
        let (a, b) = (pair[0], pair[1]);
        let f = (z - a.0.z) / (b.0.z - a.0.z).max(1e-9);
        Some((a.0.lerp(b.0, f), a.1.lerp(b.1, f).normalize_or(DVec3::Z)))
    }

    /// Whether `q` lies in the column's core.
    fn in_core(&self, q: DVec3) -> bool {
        self.at(q.z).is_none_or(|(c, n)| {
            let d = q - c;
            (d - n * d.dot(n)).length() < CORE_MM
        })
    }
}

/// Splits the vertebra under `point` at the gap of bone nearest it along
/// the column: the part above goes to label `free`, each voxel following
/// the half nearest it through the vertebra (so posterior elements follow
/// their body). Returns the split label and the new disc.
fn split_at(
    grid: &Grid,
    labels: &Labelmap,
    map: &mut [u8],
    line: &Centreline,
    point: DVec3,
    free: u8,
    spine: &Spine,
) -> Result<(u8, Disc), RevisionError> {
    let (centre, up) = line.at(point.z).unwrap_or((point, DVec3::Z));
    // A click on the gap itself (soft tissue) means the vertebra beside it:
    // the nearest along the column.
    let label = (0..=2 * SEARCH_MM as i32)
        .map(|n| f64::from((n + 1) / 2) * if n % 2 == 0 { 1.0 } else { -1.0 })
        .filter_map(|mm| grid.voxel_of(point + up * mm))
        .map(|[i, j, k]| map[grid.index(i, j, k)])
        .find(|l| (1..=24).contains(l))
        .ok_or(RevisionError::NotAVertebra)?;
    let name = LEVELS[label as usize - 1].to_owned();
    let no_gap = || RevisionError::NoGap { name: name.clone() };
    let half_size = spine
        .vertebrae
        .iter()
        .find(|v| v.label == label)
        .and_then(|v| v.frame.as_ref())
        .map_or(USUAL_HALF_SIZE, |f| {
            DVec2::new(f.half_width_mm, f.half_depth_mm)
        });
    // The click's height on the centreline: the core is the centreline's,
    // wherever across the body the user clicked.
    let centre = centre + up * (point - centre).dot(up);
    let (plane_centre, normal) = gap_plane(grid, centre, up, half_size).ok_or_else(no_gap)?;
    let bounds = labels.bounds(label).ok_or(RevisionError::NotAVertebra)?;
    let [wi, wj, wk] = [0, 1, 2].map(|a| (bounds.max[a] - bounds.min[a]) as usize);
    let origin = bounds.min.map(|m| m as usize);
    let mut region = vec![false; wi * wj * wk];
    // The piece's voxels, and its core's on either side of the gap's plane.
    let mut core = Vec::new();
    for k in 0..wk {
        for j in 0..wj {
            for i in 0..wi {
                let (gi, gj, gk) = (origin[0] + i, origin[1] + j, origin[2] + k);
                if map[grid.index(gi, gj, gk)] != label {
                    continue;
                }
                let w = (k * wj + j) * wi + i;
                region[w] = true;
                let q = grid.world(gi as f64, gj as f64, gk as f64);
                let d = q - centre;
                if (d - up * d.dot(up)).length() < CORE_MM {
                    core.push((w, (q - plane_centre).dot(normal)));
                }
            }
        }
    }
    // Bone on both sides: two bodies, not a body's end.
    let side = |from: f64, to: f64| core.iter().filter(|(_, t)| (from..to).contains(t)).count();
    let voxel_ml = grid.voxel_ml();
    if (side(2.0, 20.0).min(side(-20.0, -2.0)) as f64) * voxel_ml < 1.0 {
        return Err(no_gap());
    }
    // Seeds: the two bodies' cores; then every voxel of the vertebra goes
    // to the body nearest it through the vertebra, and the arches follow
    // their spinous processes as in the first split (the canal read from
    // the piece's own rings): without that step, L2 and L3 of
    // TotalSegmentator's CT, merged and split again, came back 0.951 and
    // 0.960 of the first analysis (0.976 and 0.978 with it).
    let mut own = vec![0u8; region.len()];
    for &(w, t) in &core {
        if t > 1.5 && t < 25.0 {
            own[w] = 1;
        } else if t < -1.5 && t > -25.0 {
            own[w] = 2;
        }
    }
    let weight = crate::paths::step_weights(grid, &region, [wi, wj, wk], origin);
    crate::paths::nearest_seed(&region, [wi, wj, wk], grid.step_costs(), &weight, &mut own);
    let gap = plane_disc(plane_centre, normal);
    if let Some(column) = canal_column(grid, line, &region, [wi, wj, wk], origin) {
        let window = crate::spinous::Window {
            region: &region,
            dims: [wi, wj, wk],
            origin,
        };
        let discs = line.around(plane_centre, gap);
        crate::spinous::join_processes(grid, &column, &discs, &window, &weight, &mut own);
    }
    for (w, &inside) in region.iter().enumerate() {
        if !inside {
            continue;
        }
        let (i, j, k) = (w % wi, (w / wi) % wj, w / (wi * wj));
        let (gi, gj, gk) = (origin[0] + i, origin[1] + j, origin[2] + k);
        let upper = match own[w] {
            1 => true,
            2 => false,
            // Not reached from either body: by the side of the gap.
            _ => (grid.world(gi as f64, gj as f64, gk as f64) - plane_centre).dot(normal) > 0.0,
        };
        if upper {
            map[grid.index(gi, gj, gk)] = free;
        }
    }
    Ok((label, gap))
}

/// A disc known by its mid-plane only: no depth, no gap to clear.
fn plane_disc(centre: DVec3, normal: DVec3) -> Disc {
    Disc {
        centre,
        normal,
        depth: f64::INFINITY,
        half_gap_mm: 0.0,
    }
}

/// How far (mm) along the column another disc lies from the gap at the
/// least: closer, it is the gap's own disc, as the first analysis found it.
const APART_MM: f64 = 10.0;

/// The smallest canal (mm²) a ring of the piece's label is taken for.
const LEAST_CANAL_MM2: f64 = 40.0;

/// The canal's centre in each slice of the box of `dims` voxels from grid
/// voxel `origin` over which `region` holds the piece: the largest hole in
/// the piece's label behind its body's centreline, where its arch closes a
/// ring; held from the nearest slice with one elsewhere. None where no
/// slice has a ring. The first split's arch step needs only the canal.
fn canal_column(
    grid: &Grid,
    line: &Centreline,
    region: &[bool],
    [wi, wj, wk]: [usize; 3],
    origin: [usize; 3],
) -> Option<crate::column::Column> {
    let plane = wi * wj;
    let pixel_mm2 = grid.spacing.x * grid.spacing.y;
    let found: Vec<Option<DVec2>> = (0..wk)
        .map(|kk| {
            let slice = &region[kk * plane..(kk + 1) * plane];
            let k = origin[2] + kk;
            let (centre, _) = line.at(grid.world(0.0, 0.0, k as f64).z)?;
            let body = grid.index_of(centre);
            let body = grid.plane_mm(body.x, body.y);
            crate::plane::components_inside(wi, wj, |c| !slice[c])
                .into_iter()
                .filter(|hole| hole.len() as f64 * pixel_mm2 >= LEAST_CANAL_MM2)
                .map(|hole| {
                    let sum = hole.iter().fold(DVec2::ZERO, |sum, &c| {
                        sum + grid
                            .plane_mm((origin[0] + c % wi) as f64, (origin[1] + c / wi) as f64)
                    });
                    (hole.len(), sum / hole.len() as f64)
                })
                .filter(|&(_, c)| (c - body).dot(grid.anterior) < 0.0)
                .max_by_key(|&(n, _)| n)
                .map(|(_, c)| c)
        })
        .collect();
    let rings: Vec<usize> = (0..wk).filter(|&kk| found[kk].is_some()).collect();
    if rings.is_empty() {
        return None;
    }
    let slices = (0..wk)
        .map(|kk| {
            let nearest = rings
                .iter()
                .min_by_key(|&&r| r.abs_diff(kk))
                .expect("a ring");
            let canal = found[*nearest].expect("a ring");
            crate::column::SliceColumn {
                canal,
                body: canal,
                half_width: 0.0,
                half_depth: 0.0,
            }
        })
        .collect();
    Some(crate::column::Column {
        first: origin[2],
        slices,
    })
}

/// The disc nearest `centre` along the column, found as the first analysis
/// finds discs: the deepest dip within `SEARCH_MM` of the mean HU across
/// the column's front (a dip between two bright endplates, so a body's dim
/// middle is not one), then the darkest plane there. Reading HU rather than
/// counting labelled bone: an oblique disc cut by axial slices is ringed by
/// its endplates' rims, so the labels fill it as the body's marrow.
fn gap_plane(grid: &Grid, centre: DVec3, up: DVec3, half_size: DVec2) -> Option<(DVec3, DVec3)> {
    // Room either side of the search for the dip's flat and its endplates.
    let margin = 25.0;
    let steps = ((SEARCH_MM + margin) / 0.5) as i64;
    let at = |n: i64| centre + up * (n as f64 * 0.5);
    // Within the scan only, so a faint disc clicked near its top or
    // bottom is found too.
    let (first, last) = within_scan(grid, -steps..=steps, 0, at)?.into_inner();
    let raw: Vec<f64> = (first..=last)
        .map(|n| cross_section_mean(grid, at(n), up, 0.55 * half_size.x, 0.55 * half_size.y))
        .collect();
    let smooth = smoothed(&raw);
    let typical = crate::column::median(&mut smooth.clone());
    let reach = (SEARCH_MM / 0.5) as usize;
    let middle = (-first) as usize;
    // Ranked as the first analysis ranks discs, a broad dip always ranked
    // down (a body's dim marrow between its two endplates is a dip 12 mm
    // wide or more; a disc seen along the column is a few mm, a thick one
    // 10).
    let (best, _) = (middle.saturating_sub(reach).max(1)..=(middle + reach).min(smooth.len() - 2))
        .filter_map(|i| ranked_dip(&smooth, i, typical, true).map(|dip| (i, dip)))
        .filter(|&(_, (depth, _))| depth >= MIN_GAP_HU)
        .max_by(|a, b| a.1.1.total_cmp(&b.1.1))?;
    let station = Station {
        position: at(best as i64 + first),
        axis: up,
        hu: smooth[best],
        expected_mm: 1.9 * half_size.y,
        half_size,
    };
    let (c, n, _) = disc_plane(grid, &station);
    Some((c, if n.dot(up) < 0.0 { -n } else { n }))
}

/// What one pass over the labels gathers about a label.
#[derive(Clone, Copy, Default)]
struct Gathered {
    voxels: usize,
    /// Sum of voxel indices (for the centroid).
    sum: DVec3,
    /// Lowest and highest height (patient z) of its core voxels.
    core: Option<(f64, f64)>,
    /// It touches the first or last slice.
    edge: bool,
    /// Its voxels reading as metal.
    metal: usize,
}

/// The report and labelmap from the labels as they are: each vertebra
/// label present is a piece (`inherit`: a new label and the one it was
/// split from, whose canal and flags it shares); `rename` names the pieces
/// again from the anchored end, else heights set by hand are kept (`hand`:
/// the reader's edit of them now).
fn rebuild(
    grid: &Grid,
    mut map: Vec<u8>,
    discs: &[Disc],
    spine: &Spine,
    rename: bool,
    inherit: Option<(u8, u8)>,
    hand: Option<HandEdit>,
) -> Result<Labelled, RevisionError> {
    let line = Centreline::new(discs);
    let gathered = gather(grid, &map, &line);
    let is_piece =
        |l: usize| (1..=24).contains(&l) || inherit.is_some_and(|(new, _)| new as usize == l);
    let centroid = |g: &Gathered| {
        let m = g.sum / g.voxels.max(1) as f64;
        grid.world(m.x, m.y, m.z)
    };
    let height = |l: usize| {
        let g = &gathered[l];
        g.core.map_or(centroid(g).z, |(a, b)| (a + b) / 2.0)
    };
    // Top down: by label (its level) when names are kept, by height when
    // they are made again.
    let mut pieces: Vec<usize> = (1..256)
        .filter(|&l| is_piece(l) && gathered[l].voxels > 0)
        .collect();
    if rename {
        pieces.sort_by(|&a, &b| height(b).total_cmp(&height(a)));
    }
    let old = |label: usize| {
        let source = match inherit {
            Some((new, from)) if new as usize == label => from,
            _ => label as u8,
        };
        spine.vertebrae.iter().find(|v| v.label == source)
    };
    let mut relabel: [u8; 256] = std::array::from_fn(|l| l as u8);
    if rename {
        let n = pieces.len() as i32;
        let mobile: Vec<i32> = spine
            .vertebrae
            .iter()
            .filter(|v| v.label != SACRUM)
            .map(|v| i32::from(v.label) - 1)
            .collect();
        let (Some(&top), Some(&bottom)) = (mobile.first(), mobile.last()) else {
            return Err(RevisionError::NotAVertebra);
        };
        // The names rest on the sacrum or the lowest rib (the bottom) unless
        // the highest rib anchored them; the other end if that runs out.
        let from_bottom = bottom - (n - 1);
        let starts = if spine.levels.anchor == Anchor::HighestRib {
            [top, from_bottom]
        } else {
            [from_bottom, top]
        };
        let first = starts
            .into_iter()
            .find(|&t| t >= 0 && t + n - 1 <= 23)
            .ok_or(RevisionError::OutOfLevels)?;
        for (m, &l) in pieces.iter().enumerate() {
            relabel[l] = label_of((first + m as i32) as usize);
        }
        for l in map.iter_mut() {
            *l = relabel[*l as usize];
        }
    }
    let mut vertebrae = Vec::new();
    let with_sacrum = pieces
        .iter()
        .copied()
        .chain((gathered[SACRUM as usize].voxels > 0).then_some(SACRUM as usize));
    for l in with_sacrum {
        let g = gathered[l];
        let label = relabel[l];
        let (upper, lower) = bounding_discs(discs, g.core);
        let centroid = centroid(&g);
        let before = old(l);
        let ribs = before.is_some_and(|v| v.ribs);
        let cand = Candidate {
            upper,
            lower,
            voxels: g.voxels,
            centroid,
            outside_voxels: 0,
            outside_reach_mm: 0.0,
            // Named by the analysis, not seen again: taken as it was named.
            alae: (label == SACRUM).then_some(crate::split::Alae::AtBodyDepths),
            ribs,
            partial: upper.is_none() || lower.is_none() || g.edge,
        };
        let mut vertebra = measure_vertebra(
            grid,
            &map,
            &Piece {
                cand: &cand,
                label,
                voxels: g.voxels,
                metal_voxels: g.metal,
                ribs,
                canal_ap_mm: before.and_then(|v| v.canal_ap_mm),
            },
        );
        for carried in [Flag::FaintDisc, Flag::OneSided] {
            if before.is_some_and(|v| v.flags.contains(&carried))
                && !vertebra.flags.contains(&carried)
            {
                vertebra.flags.push(carried);
            }
        }
        if let Some(lines) = lines_by_hand(before, label, hand).filter(|_| !rename) {
            measured_by_hand(&mut vertebra, lines);
        }
        vertebrae.push(vertebra);
    }
    neighbour_flags(&mut vertebrae, grid.reading.lenient);
    let count = |label: u8| gathered[label as usize].voxels;
    let mut revised = Spine {
        angles: angles(&vertebrae, grid.front),
        vertebrae,
        levels: spine.levels.clone(),
        ribs_voxels: count(RIBS_LABEL),
        pelvis_voxels: count(PELVIS_LABEL),
        discs: discs
            .iter()
            .map(|d| (d.centre.to_array(), d.normal.to_array()))
            .collect(),
        bone_hu: spine.bone_hu,
        noise_hu: spine.noise_hu,
        read_mm: spine.read_mm,
        averaged_for_noise: spine.averaged_for_noise,
        marrow_hu: spine.marrow_hu,
        anterior: grid.front.to_array(),
    };
    let labels = crate::on_stored_grid(grid, map, &mut revised);
    Ok(crate::finish::with_edges_placed(
        grid,
        Labelled {
            spine: revised,
            labels,
        },
    ))
}

/// Voxels, centroid sums, core heights and edge contact of every label, in
/// one pass.
fn gather(grid: &Grid, map: &[u8], line: &Centreline) -> Vec<Gathered> {
    let [ni, nj, nk] = grid.dims;
    let mut gathered = vec![Gathered::default(); 256];
    for k in 0..nk {
        for j in 0..nj {
            let row = &map[grid.index(0, j, k)..grid.index(0, j, k) + ni];
            for (i, &l) in row.iter().enumerate() {
                if l == 0 {
                    continue;
                }
                let g = &mut gathered[l as usize];
                g.voxels += 1;
                g.sum += DVec3::new(i as f64, j as f64, k as f64);
                g.edge |= k == 0 || k + 1 == nk;
                if grid.hu_at(i, j, k) >= crate::metal::METAL_HU {
                    g.metal += 1;
                }
                if (1..=24).contains(&l) || l == SACRUM || l > RIBS_LABEL {
                    let q = grid.world(i as f64, j as f64, k as f64);
                    if line.in_core(q) {
                        g.core = Some(g.core.map_or((q.z, q.z), |(a, b)| (a.min(q.z), b.max(q.z))));
                    }
                }
            }
        }
    }
    gathered
}

/// The discs at the ends of a body spanning heights `core`: the nearest
/// to each end within reach, on the body's side of its middle. Discs
/// inside a body (a merged piece) are passed over.
fn bounding_discs(discs: &[Disc], core: Option<(f64, f64)>) -> (Option<Disc>, Option<Disc>) {
    let Some((low, high)) = core else {
        return (None, None);
    };
    let middle = (low + high) / 2.0;
    let nearest = |end: f64, above: bool| {
        discs
            .iter()
            .filter(|d| (d.centre.z > middle) == above && (d.centre.z - end).abs() <= DISC_REACH_MM)
            .min_by(|a, b| {
                (a.centre.z - end)
                    .abs()
                    .total_cmp(&(b.centre.z - end).abs())
            })
            .copied()
    };
    (nearest(high, true), nearest(low, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centreline_follows_the_discs_and_runs_on_past_them() {
        let discs = [
            Disc {
                centre: DVec3::new(0.0, 0.0, 0.0),
                normal: DVec3::Z,
                depth: 1.0,
                half_gap_mm: 0.0,
            },
            Disc {
                centre: DVec3::new(0.0, 10.0, 30.0),
                normal: DVec3::Z,
                depth: 1.0,
                half_gap_mm: 0.0,
            },
        ];
        let line = Centreline::new(&discs);
        let (mid, _) = line.at(15.0).expect("a line");
        assert!((mid - DVec3::new(0.0, 5.0, 15.0)).length() < 1e-9);
        let (below, up) = line.at(-20.0).expect("a line");
        assert!((below - DVec3::new(0.0, 0.0, -20.0)).length() < 1e-9);
        assert_eq!(up, DVec3::Z);
        assert!(line.in_core(DVec3::new(5.0, 5.0, 15.0)));
        assert!(!line.in_core(DVec3::new(0.0, 30.0, 15.0)));
        // A body from 3 to 27 mm: its discs are the two ends.
        let (upper, lower) = bounding_discs(&discs, Some((3.0, 27.0)));
        assert_eq!(upper.map(|d| d.centre.z), Some(30.0));
        assert_eq!(lower.map(|d| d.centre.z), Some(0.0));
        // Two bodies merged (-27 to 27): the disc inside is passed over,
        // and none lies near the bottom.
        let (upper, lower) = bounding_discs(&discs, Some((-27.0, 27.0)));
        assert_eq!(upper.map(|d| d.centre.z), Some(30.0));
        assert!(lower.is_none());
    }
}
