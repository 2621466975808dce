//! Spine analysis of a CT, classically (no model weights): find the spinal
//! canal and the vertebral body column in front of it, the disc spaces
//! along the column, split the spine's bone into one segment per vertebra
//! (body and posterior elements; ribs and pelvis apart; the sacrum whole),
//! name the levels from anatomical anchors and measure heights and angles.
//! Shared by the CLI (`insitu spine`) and the web app's study worker.
//!
//! Works in patient space on any series one of whose planes is roughly
//! axial (axial, tilted, oblique, unevenly spaced as loaded; stored
//! sagittal or coronal, or running the other way, it is read through a
//! copy in the usual axial order) and says where it is unsure:
//! per-vertebra flags and a level confidence with the anchors it saw.

mod canal;
mod column;
mod endplates;
mod grid;
mod holes;
mod measure;
mod merged;
mod metal;
mod naming;
mod necks;
mod noise;
mod paths;
mod placed;
mod plane;
mod revise;
mod sacrum;
mod spinous;
mod split;
mod stack;
mod steps;
mod thick;
mod turn;
mod vessels;

use glam::{DVec2, DVec3};
use insitu_segment::{Anatomy, Labelmap, Segment, SegmentName, SegmentTable};
use insitu_volume::Volume;
use serde::{Deserialize, Serialize};

pub use grid::ReadPlan;
pub use measure::{BodyFrame, Flag, Heights, coronal_deg, genant_grade, sagittal_deg};
use measure::{coronal_deg_facing, sagittal_deg_facing};
pub use naming::{Anchor, LEVELS, LevelDecision, PELVIS_LABEL, RIBS_LABEL, label_of};
pub use placed::SpineLabels;
pub use revise::{Revision, RevisionError, revise, revise_labels, revise_labels_planned};

/// Why no spine came out.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum SpineError {
    /// None of the volume's three planes is axial enough to find a canal
    /// in it.
    #[error(
        "the slices are {degrees:.0}° from axial and no other plane of the volume is near axial: the spine analysis needs axial, sagittal or coronal slices"
    )]
    NotAxial {
        /// Angle between the slice normal and the patient's long axis.
        degrees: f64,
    },
    /// No chain of bone-ringed soft tissue: no spinal canal in view.
    #[error("no spinal canal found (no soft tissue ringed by bone along the slices)")]
    NoCanal,
    /// A canal but no vertebral bodies in front of it.
    #[error("a canal but no vertebral bodies in front of it")]
    NoBodies,
    /// More disc-like dips than a spine has.
    #[error("{0} disc-like dips along the column: not a spine")]
    TooManyDiscs(usize),
    /// Bone rings a canal-like space, but no piece between its disc-like
    /// gaps is shaped like a whole vertebra and nothing marks a level:
    /// names given to such pieces would be made up (a head CT's skull read
    /// as "T11, T12 with ribs").
    #[error(
        "no vertebra found: bone rings a canal-like space, but none of its {pieces} pieces is shaped like a whole vertebra and nothing (a sacrum, the lowest rib) marks a level (not a spine CT, or too little of one)"
    )]
    NoVertebra {
        /// The pieces the best reading cut.
        pieces: usize,
    },
    /// Not a CT: the analysis reads Hounsfield units.
    #[error("the spine analysis needs a CT (this series is {0:?})")]
    NotCt(insitu_volume::Modality),
    /// The analysis would need more memory than is left (a browser tab's
    /// wasm heap stops at 4 GiB).
    #[error(
        "the spine analysis of this series needs about {needed_mb} MB more memory and only {free_mb} MB is left here"
    )]
    TooLarge {
        /// What the analysis would allocate (MB).
        needed_mb: u64,
        /// What is left (MB).
        free_mb: u64,
    },
    /// The caller asked to stop.
    #[error("cancelled")]
    Cancelled,
}

/// Refuses an analysis of `volume` that would allocate more than
/// `free_bytes`: said before anything is allocated, never a crashed tab
/// (a wasm heap that cannot grow traps). What it allocates: on the grid it
/// reads (in blocks beyond [`grid`]'s limits) its copy of the voxels, its
/// labels and working buffers; and the caller's labelmap its labels are
/// written into (a byte a stored voxel, counted in case it is made for
/// them) with the undo step's record. On a 512²×2500 phantom (read in
/// 2×2×2 blocks, 82 M voxels) a study worker's heap grew by 1.07 GB: the
/// labelmap and five bytes a voxel read. Six are counted (1.15 GB), so an
/// estimate that falls short never lets an analysis start that cannot end.
pub fn fits_in(volume: &Volume, free_bytes: u64) -> Result<(), SpineError> {
    match ReadPlan::of(volume) {
        Ok(plan) => plan.fits_in(free_bytes),
        // Refused later for its orientation; counted as read whole here.
        Err(_) => room_for(volume.geometry().voxel_count() as u64, None, free_bytes),
    }
}

impl ReadPlan {
    /// [`fits_in`] for the volume this plan was made of.
    pub fn fits_in(&self, free_bytes: u64) -> Result<(), SpineError> {
        room_for(self.voxels_stored(), Some(self.voxels_read()), free_bytes)
    }
}

/// What [`fits_in`] counts: a byte a stored voxel and six a voxel read
/// (`read`, all of them when `None`).
fn room_for(stored: u64, read: Option<u64>, free_bytes: u64) -> Result<(), SpineError> {
    let needed = stored + 6 * read.unwrap_or(stored);
    if needed > free_bytes {
        return Err(SpineError::TooLarge {
            needed_mb: needed / 1_000_000,
            free_mb: free_bytes / 1_000_000,
        });
    }
    Ok(())
}

/// Whether a series of `modality` can be analysed: only CT, whose values
/// are Hounsfield units (an MR's bright fat would pass for bone).
pub fn requires_ct(modality: insitu_volume::Modality) -> Result<(), SpineError> {
    if modality == insitu_volume::Modality::Ct {
        Ok(())
    } else {
        Err(SpineError::NotCt(modality))
    }
}

/// What the analysis is doing, for progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Finding the canal slice by slice.
    Canal,
    /// The body column and its disc spaces.
    Discs,
    /// One segment per vertebra.
    Split,
    /// Heights, endplates, angles.
    Measure,
}

/// One vertebra (or the sacrum).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vertebra {
    /// "T12", "L1", …, "sacrum".
    pub name: String,
    /// Its value in the labelmap.
    pub label: u8,
    /// Its voxels in the labelmap.
    pub voxels: usize,
    /// Its volume (ml).
    pub volume_ml: f64,
    /// Centre of all its voxels (patient mm).
    pub centroid_mm: [f64; 3],
    /// Body heights (not for the sacrum).
    pub heights_mm: Option<Heights>,
    /// The body's frame the heights were measured in.
    pub frame: Option<BodyFrame>,
    /// Unit normals (pointing up) of the superior and inferior endplates.
    pub superior_normal: Option<[f64; 3]>,
    /// See `superior_normal`.
    pub inferior_normal: Option<[f64; 3]>,
    /// Canal front-to-back diameter at this level (mm).
    pub canal_ap_mm: Option<f64>,
    /// What to look at.
    pub flags: Vec<Flag>,
    /// Whether it bears ribs.
    pub ribs: bool,
}

/// A named angle between two endplates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndplateAngle {
    /// The angle.
    pub degrees: f64,
    /// The upper vertebra's name.
    pub from: String,
    /// The lower vertebra's name.
    pub to: String,
}

/// Angles of the whole spine (degrees), where its levels are in view.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Angles {
    /// L1 superior to S1 superior endplate, sagittal; positive = lordosis.
    pub lumbar_lordosis_deg: Option<f64>,
    /// T4 superior to T12 inferior endplate, sagittal; positive = kyphosis.
    pub thoracic_kyphosis_deg: Option<f64>,
    /// The largest coronal angle between a superior endplate and the
    /// inferior endplate of a vertebra two or more levels lower, with its
    /// end vertebrae (whole vertebrae only).
    pub cobb: Option<EndplateAngle>,
    /// Sagittal angle between the superior endplates of each neighbouring
    /// pair, top down.
    pub segmental: Vec<EndplateAngle>,
}

/// Everything the analysis found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spine {
    /// Top down; the sacrum last when found.
    pub vertebrae: Vec<Vertebra>,
    /// Angles of the whole spine.
    pub angles: Angles,
    /// How the levels were named.
    pub levels: LevelDecision,
    /// Voxels labelled as ribs.
    pub ribs_voxels: usize,
    /// Voxels labelled as pelvis.
    pub pelvis_voxels: usize,
    /// Disc spaces found, top down: centre (mm) and unit normal.
    pub discs: Vec<([f64; 3], [f64; 3])>,
    /// Bone was read from this HU up: 180 unless that gave no plausible
    /// spine (osteoporotic bone, 3 mm voxels) and a lower reading did.
    #[serde(default = "default_bone_hu")]
    pub bone_hu: f32,
    /// The CT's noise (HU, a standard deviation in blocks of about 2 mm),
    /// where enough soft tissue shows to tell.
    #[serde(default)]
    pub noise_hu: Option<f32>,
    /// The voxel (mm) the analysis read: the series' own, or blocks of it
    /// averaged (fine pixels, a very long series, or noise).
    #[serde(default)]
    pub read_mm: [f64; 3],
    /// The CT was read in coarser blocks than otherwise for its noise: the
    /// outlines are as coarse as `read_mm`.
    #[serde(default)]
    pub averaged_for_noise: bool,
    /// The patient's anterior (a unit vector in patient space) that the
    /// angles and each body's mid-sagittal plane are measured against: −y,
    /// or turned with a patient lying turned on the table, whose slices
    /// the analysis read turned back (see `turn`). Measured against −y, a
    /// lordotic lumbar spine turned 20° showed its endplates 15° apart in
    /// the coronal plane: a scoliosis that was not there.
    #[serde(default = "default_anterior")]
    pub anterior: [f64; 3],
}

fn default_anterior() -> [f64; 3] {
    DVec3::NEG_Y.to_array()
}

fn default_bone_hu() -> f32 {
    grid::Reading::LADDER[0].bone_hu
}

impl Spine {
    /// How far (degrees) the patient lay turned about the long axis, as
    /// read turned back (positive when the front turns towards the
    /// patient's left); 0 when read as stored.
    pub fn turned_deg(&self) -> f64 {
        let a = DVec3::from_array(self.anterior);
        DVec3::NEG_Y
            .cross(a)
            .z
            .atan2(DVec3::NEG_Y.dot(a))
            .to_degrees()
    }

    /// What the user is told when the patient lay turned and the slices
    /// were read turned back: the angles are in the patient's own planes,
    /// not the scanner's.
    pub fn turn_note(&self) -> Option<String> {
        let degrees = self.turned_deg();
        (degrees.abs() >= 0.5).then(|| {
            format!("patient turned {:.0}° on the table: read turned back, angles in the patient's planes", degrees.abs())
        })
    }

    /// What the user is told when the CT was read in blocks for its noise
    /// (the outlines are only as fine as the blocks), in one wording for
    /// the app and the CLI; `None` when it was not.
    pub fn noise_note(&self) -> Option<String> {
        let hu = self.noise_hu.filter(|_| self.averaged_for_noise)?;
        let [x, y, z] = self.read_mm;
        Some(format!(
            "noisy CT ({hu:.0} HU): read in {x:.1} × {y:.1} × {z:.1} mm blocks"
        ))
    }
}

/// The result: the report and the labelmap on the volume's grid.
pub struct Analysis {
    /// The report.
    pub spine: Spine,
    /// Vertebrae, sacrum, pelvis and ribs by [`label_of`] and the
    /// fixed labels.
    pub labelmap: Labelmap,
}

/// The result as the analysis holds it: the report, and the labels on the
/// grid it read, placed on the volume's grid as they are handed over (a
/// caller that keeps a labelmap of its own writes them into it: no second
/// volume-sized labelmap).
pub struct Labelled {
    /// The report.
    pub spine: Spine,
    /// Vertebrae, sacrum, pelvis and ribs by [`label_of`] and the
    /// fixed labels.
    pub labels: SpineLabels,
}

impl Labelled {
    /// The report with its labels as a labelmap on the volume's grid.
    pub fn into_analysis(self) -> Analysis {
        Analysis {
            spine: self.spine,
            labelmap: self.labels.into_labelmap(),
        }
    }
}

/// Analyses `volume`. `progress(stage, fraction)` returns false to cancel.
pub fn analyse(
    volume: &Volume,
    progress: &mut dyn FnMut(Stage, f32) -> bool,
) -> Result<Analysis, SpineError> {
    let mut analyser = Analyser::new(volume)?;
    loop {
        if let Some(done) = analyser.step()? {
            return Ok(done.into_analysis());
        }
        let (stage, fraction) = analyser.progress();
        if !progress(stage, fraction) {
            return Err(SpineError::Cancelled);
        }
    }
}

/// The analysis in steps of a fraction of a second each, so a caller on a
/// single thread (the browser's study worker) can report progress and
/// take a cancel between them.
pub struct Analyser<'a> {
    grid: grid::Grid<'a>,
    next_slice: usize,
    pockets: Vec<canal::Pocket>,
    /// The next rung's pockets, read with this rung's when the two differ
    /// only in cutting at necks (see [`canal::pockets_without_and_with_necks`]).
    next_pockets: Option<Vec<canal::Pocket>>,
    found: Option<Found>,
    /// The split of `found`, measured in the next step (a step of its own,
    /// so a cancel waits for one of the two, not both).
    split: Option<split::Split>,
    /// `found`'s discs hold one the search for a missed disc added.
    mended: bool,
    /// `found`'s discs lack one that cut a vertebra in two ([`false_disc`]).
    joined: bool,
    /// Which reading of [`grid::Reading::LADDER`] runs now.
    rung: usize,
    /// The best analysis so far and its rank (see `judge`).
    best: Option<((i64, bool, bool), Labelled)>,
    /// Why the first reading failed, if it did.
    first_error: Option<SpineError>,
    /// The vertebral bodies' marrow (HU, the median along the column) as
    /// the first reading's column found it (see [`next_rung`]).
    first_marrow_hu: Option<f64>,
}

/// What the steps before the split found.
struct Found {
    chain: Vec<canal::Pocket>,
    column: column::Column,
    discs: Vec<column::Disc>,
    /// Vertebral bodies go on above the column's top.
    stops_short: bool,
    /// What every split of `column` in this reading reads.
    prepared: Option<split::Prepared>,
}

/// Slices read for the canal per step.
const SLICES_PER_STEP: usize = 24;

impl<'a> Analyser<'a> {
    /// Ready to analyse `volume` (refused when it is not axial).
    pub fn new(volume: &'a Volume) -> Result<Self, SpineError> {
        Self::planned(volume, ReadPlan::of(volume)?)
    }

    /// Ready to analyse `volume` as `plan` (made of it, and checked for
    /// room) says.
    pub fn planned(volume: &'a Volume, plan: ReadPlan) -> Result<Self, SpineError> {
        Ok(Self {
            grid: grid::Grid::planned(volume, plan)?,
            next_slice: 0,
            pockets: Vec::new(),
            next_pockets: None,
            found: None,
            split: None,
            mended: false,
            joined: false,
            rung: 0,
            best: None,
            first_error: None,
            first_marrow_hu: None,
        })
    }

    /// Where the analysis stands: the stage next to run and the fraction
    /// of the whole done.
    pub fn progress(&self) -> (Stage, f32) {
        let slices = self.grid.dims[2];
        let (stage, fraction) = if self.next_slice < slices {
            (Stage::Canal, 0.5 * self.next_slice as f32 / slices as f32)
        } else if self.found.is_none() {
            (Stage::Discs, 0.5)
        } else if self.split.is_none() {
            (Stage::Split, 0.6)
        } else {
            (Stage::Measure, 0.85)
        };
        // A later reading goes on from where the last one stopped.
        let base = 1.0 - 0.4f32.powi(self.rung as i32);
        (stage, base + (1.0 - base) * fraction)
    }

    /// Runs the next step; the analysis when it was the last.
    pub fn step(&mut self) -> Result<Option<Labelled>, SpineError> {
        let slices = self.grid.dims[2];
        if self.next_slice < slices {
            let end = (self.next_slice + SLICES_PER_STEP).min(slices);
            let reading = self.grid.reading;
            let next_cuts_necks = grid::Reading::LADDER.get(self.rung + 1)
                == Some(&grid::Reading {
                    split_necks: true,
                    ..reading
                })
                && !reading.split_necks;
            for k in self.next_slice..end {
                if next_cuts_necks {
                    let [now, next] = canal::pockets_without_and_with_necks(&self.grid, k);
                    self.pockets.extend(now);
                    self.next_pockets.get_or_insert_default().extend(next);
                } else {
                    self.pockets.extend(canal::pockets(&self.grid, k));
                }
            }
            self.next_slice = end;
            return Ok(None);
        }
        let Some(mut found) = self.found.take() else {
            if let Err(e) = self.find() {
                return self.judge(Err(e), false, false, true);
            }
            if self.strict_sees_shells() {
                return self.next_reading();
            }
            return Ok(None);
        };
        let Some(split) = self.split.take() else {
            // The envelope and bone region in a step of their own (a cancel
            // waits for one step), kept for a second split at a missed disc.
            let Some(prepared) = &found.prepared else {
                found.prepared = Some(split::prepare(&self.grid, &found.column));
                self.found = Some(found);
                return Ok(None);
            };
            return match split::split(
                &self.grid,
                &found.column,
                &found.discs,
                prepared,
                &mut |_| true,
            ) {
                Ok(split) => {
                    self.split = Some(split);
                    self.found = Some(found);
                    Ok(None)
                }
                Err(e) => {
                    let mended = self.take_mends();
                    self.judge(Err(e), found.stops_short, mended, true)
                }
            };
        };
        if self.mended {
            // No third split of this column: its working arrays go now.
            found.prepared = None;
        }
        let candidates = split.candidates.clone();
        let alae = sacrum_candidate(&self.grid, &candidates).and_then(|c| candidates[c].alae);
        let analysis = finish(&self.grid, &found.chain, split, &found.discs);
        if !self.mended
            && !self.joined
            && let Some(disc) = self.missed_disc(&found, &candidates, &analysis)
        {
            // Split again, with the disc found, in the next step.
            found.discs.push(disc);
            found
                .discs
                .sort_by(|a, b| b.centre.z.total_cmp(&a.centre.z));
            self.mended = true;
            self.found = Some(found);
            return Ok(None);
        }
        if !self.joined
            && let Some(n) = false_disc(&analysis.spine.vertebrae, &found.discs)
        {
            // Split again without it, in the next steps.
            found.discs.remove(n);
            self.joined = true;
            self.found = Some(found);
            return Ok(None);
        }
        let mended = self.take_mends();
        let firm_sacrum = alae != Some(split::Alae::AtOtherDepths);
        self.judge(Ok(analysis), found.stops_short, mended, firm_sacrum)
    }

    /// Whether this reading's split was mended (a disc added or taken
    /// away), cleared for the next reading.
    fn take_mends(&mut self) -> bool {
        std::mem::take(&mut self.mended) | std::mem::take(&mut self.joined)
    }

    /// A piece too big for one vertebra, in a reading that splitting it
    /// could make plausible, is searched once for a disc the column's
    /// profile missed (see [`merged`]).
    fn missed_disc(
        &self,
        found: &Found,
        candidates: &[split::Candidate],
        analysis: &Labelled,
    ) -> Option<column::Disc> {
        let piece = merged_piece(&analysis.spine.vertebrae)?;
        // Split, the piece adds a whole vertebra (and the sacrum, not
        // counted) or, between two discs, two right for one wrong now.
        let (good, whole) = quality(&analysis.spine);
        let (good, whole) = if piece.flags.contains(&Flag::Partial) {
            (good + 1, whole + 1)
        } else {
            (good + 2, whole + 1)
        };
        if !plausible(good, whole) {
            return None;
        }
        merged::missed_disc(
            &self.grid,
            &found.column,
            &found.discs,
            candidates,
            DVec3::from_array(piece.centroid_mm),
        )
    }

    /// The canal chain, the column and its discs from the pockets read.
    fn find(&mut self) -> Result<(), SpineError> {
        {
            let chain = canal::chain(&self.grid, &self.pockets)?;
            let column = column::build(&self.grid, &chain)?;
            let stations = column::stations(&self.grid, &column);
            let mut discs = column::discs(&self.grid, &stations);
            if self.rung == 0 && !stations.is_empty() {
                let mut marrow: Vec<f64> = stations.iter().map(|s| s.hu).collect();
                self.first_marrow_hu = Some(column::median(&mut marrow));
            }
            discs.sort_by(|a, b| b.centre.z.total_cmp(&a.centre.z));
            let stops_short = column::continues_above(&self.grid, &column);
            self.found = Some(Found {
                chain,
                column,
                discs,
                stops_short,
                prepared: None,
            });
            Ok(())
        }
    }

    /// Takes a plausible analysis of the whole spine in view; otherwise
    /// keeps the best so far and starts over with the next, more lenient
    /// reading of bone; at the ladder's end returns the best (or the first
    /// reading's error). `stops_short`: bodies go on above the column's top.
    /// `mended`: split at a disc found by the search for one missed; such
    /// an analysis is kept, not taken, so that a later reading whose own
    /// profile finds that disc wins at an equal score. `firm_sacrum`: no
    /// sacrum, or one whose alae were seen at the body's own depths; names
    /// resting on alae seen only at other depths are kept, not taken
    /// (see [`split::Alae::AtOtherDepths`]).
    fn judge(
        &mut self,
        result: Result<Labelled, SpineError>,
        stops_short: bool,
        mended: bool,
        firm_sacrum: bool,
    ) -> Result<Option<Labelled>, SpineError> {
        match result {
            Ok(analysis) => {
                let (good, whole) = quality(&analysis.spine);
                let merged = merged_piece(&analysis.spine.vertebrae).is_some();
                // Taken at once when plausible and no body is left above
                // the column's top; otherwise the more lenient readings are
                // tried too and the best kept. Nor when one piece is bigger
                // than any vertebra: two merged (L5 with the sacrum where
                // the L5–S1 disc was lost).
                // Nor when its names rest on no anatomy: a more lenient
                // reading may find the sacrum or a rib (on
                // TotalSegmentator's osteoporotic CT with 25 HU of noise at
                // 1 mm, with or without contrast, a 150 or 125 HU reading
                // missed the sacrum's alae, called it a 79–110 ml "T12"
                // and named the rest T6–T11, while the next reading named
                // T12–L5 from the sacrum).
                let anchored = analysis.spine.levels.anchor.is_anatomical();
                let taken_at_once = plausible(good, whole)
                    && !stops_short
                    && !merged
                    && !mended
                    && anchored
                    && firm_sacrum;
                if taken_at_once {
                    return Ok(Some(analysis));
                }
                // Right ones count for, wrong ones half as much against;
                // names resting on anatomy count as one more right. At an
                // equal score a firm sacrum wins over a mended split (on
                // TotalSegmentator's osteoporotic CT with contrast and
                // noise: L4 0.87 mended, 0.84 on alae seen at other depths).
                let rank = (
                    3 * good as i64 - whole as i64 + 3 * i64::from(anchored),
                    firm_sacrum,
                    !mended,
                );
                if self.best.as_ref().is_none_or(|(best, _)| rank > *best) {
                    self.best = Some((rank, analysis));
                }
            }
            Err(SpineError::Cancelled) => return Err(SpineError::Cancelled),
            Err(e) => {
                self.first_error.get_or_insert(e);
            }
        }
        self.next_reading()
    }

    /// Whether the first, strict reading has just measured marrow below the
    /// bone threshold of every reading but the most lenient ones (it sees
    /// each body as a cortical shell) or too near its own for the noise:
    /// then its split is not made. On
    /// TotalSegmentator's osteoporotic CT (marrow 19–131 HU) that split
    /// found one right vertebra of four and was never taken; its
    /// 523×433×336 resample spent 0.9 s of 5–6 s on it natively (the whole
    /// analysis takes about 10% less since, in alternating runs).
    fn strict_sees_shells(&self) -> bool {
        self.rung == 0
            && (next_rung(0, self.first_marrow_hu).is_some_and(|next| next > 1)
                || self.strict_sees_speckles())
    }

    /// Whether, on a CT read in blocks for its noise, the first reading's
    /// marrow lies within [`SPECKLE_SIGMAS`] of the noise above the strict
    /// threshold: that reading loses the marrow in speckles, and the rims
    /// with it, yet can look plausible.
    fn strict_sees_speckles(&self) -> bool {
        let (Some(marrow), Some(noise)) = (self.first_marrow_hu, self.grid.noise.hu) else {
            return false;
        };
        self.grid.noise.averaged
            && marrow < f64::from(grid::Reading::LADDER[0].bone_hu + SPECKLE_SIGMAS * noise)
    }

    /// Starts over with the next, more lenient reading of bone; at the
    /// ladder's end returns the best analysis kept (or the first reading's
    /// error).
    fn next_reading(&mut self) -> Result<Option<Labelled>, SpineError> {
        if let Some(rung) = next_rung(self.rung, self.first_marrow_hu) {
            let skipped = rung > self.rung + 1;
            self.rung = rung;
            self.grid.reading = grid::Reading::LADDER[rung];
            if skipped {
                // Pockets read ahead were for the rung skipped.
                self.next_pockets = None;
            }
            // Every slice was read for the next rung too, or none was.
            (self.pockets, self.next_slice) = match self.next_pockets.take() {
                Some(read) => (read, self.grid.dims[2]),
                None => (Vec::new(), 0),
            };
            self.found = None;
            return Ok(None);
        }
        match (self.best.take(), self.first_error.take()) {
            (Some((_, analysis)), _) if is_made_up(&analysis.spine) => {
                Err(SpineError::NoVertebra {
                    pieces: analysis.spine.vertebrae.len(),
                })
            }
            (Some((_, analysis)), _) => Ok(Some(analysis)),
            (None, Some(e)) => Err(e),
            (None, None) => Err(SpineError::NoCanal),
        }
    }
}

/// How many of the noise's standard deviations (in the blocks the CT is
/// read in) the marrow must lie above the strict threshold for the strict
/// reading to be made. TotalSegmentator's CT with normal-density bone
/// (marrow 211–214 HU) and 25–40 HU of noise added (19–28 HU in 2 mm
/// blocks): under two draws the strict reading was plausible, taken at
/// once, and 15–19 ml short of each vertebra's bone (T12–L5 0.76–0.84);
/// the 150 or 125 HU reading taken since, 0.85–0.93.
const SPECKLE_SIGMAS: f32 = 2.0;

/// The rung of [`grid::Reading::LADDER`] worth reading after `rung`, if any. A
/// reading whose bone threshold lies above the bodies' marrow, as the
/// first reading measured it, sees each body as a cortical shell, as
/// the first did, and is skipped where a later rung reads bone lower.
/// On TotalSegmentator's osteoporotic CT the first reading measures
/// the marrow at 19–131 HU in every resampling the tests make of it,
/// and the 150 HU rung was never the one taken (a 125 HU rung always
/// ranked higher), so every test's labels and measures stay as they
/// were; its 523×433×336 resample is analysed in 4.2–4.3 s instead
/// of 6.0 s in the browser. The denser stand-in measures 210–215 HU
/// and still reads at 150.
fn next_rung(rung: usize, first_marrow_hu: Option<f64>) -> Option<usize> {
    let ladder = &grid::Reading::LADDER;
    (rung + 1..ladder.len()).find(|&next| {
        let reads_lower_later = ladder[next + 1..]
            .iter()
            .any(|later| later.bone_hu < ladder[next].bone_hu);
        let sees_shells =
            first_marrow_hu.is_some_and(|marrow| marrow < f64::from(ladder[next].bone_hu));
        !(reads_lower_later && sees_shells)
    })
}

/// Whether `spine` has nothing a name could rest on: no whole vertebra
/// that looks right (see [`quality`]) and no sacrum or rib seen. The real
/// head CT of `../shared/fixtures/ct-ge-head-tilt` came out as a 142 ml
/// "T11" and a 42 ml "T12", both with ribs, both cut by the scan's edges.
fn is_made_up(spine: &Spine) -> bool {
    quality(spine).0 == 0 && !spine.levels.anchor.is_anatomical()
}

/// Vertebrae that look right (whole, 8–120 ml, a body as high in its
/// middle or back as `FRAGMENT_FRACTION` of the median, endplates near
/// parallel) and whole vertebrae in all.
fn quality(spine: &Spine) -> (usize, usize) {
    let whole: Vec<&Vertebra> = spine
        .vertebrae
        .iter()
        .filter(|v| v.name != "sacrum" && !v.flags.contains(&Flag::Partial))
        .collect();
    // A crushed, wedged or biconcave body keeps its back or its middle; a
    // high front alone is the rim of the next body's endplate that a false
    // disc cut off with a fragment (27 mm in front, 7 in the middle and 9
    // at the back on TotalSegmentator's CT resampled to 1 mm).
    let highest = |v: &Vertebra| v.heights_mm.map(|h| h.middle.max(h.posterior));
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
    let one_sided = spine
        .vertebrae
        .iter()
        .any(|v| v.name == "sacrum" && v.flags.contains(&Flag::OneSided));
    (good, whole.len() + usize::from(one_sided))
}

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

/// Whether `good` right vertebrae of `whole` make a plausible spine: four
/// in five, and three at least unless all are right. (On TotalSegmentator's
/// CT resampled to 1 mm a 150 HU reading with L5 and the sacrum merged had
/// 3 of 5 right, and was taken when three in five sufficed.)
fn plausible(good: usize, whole: usize) -> bool {
    good >= 1 && good * 10 >= whole * 8 && (good >= 3 || good == whole)
}

/// The first piece that holds two vertebrae (the sacrum apart): bigger
/// than any one vertebra, or than [`MERGED_OVER_NEIGHBOUR`] times the
/// largest of the whole vertebrae within two levels of it. Next to its
/// neighbours a merged pair shows even where both are small
/// (TotalSegmentator's osteoporotic CT at 1 mm with 25 HU of noise: T12,
/// cut by the scan's top, and L1 in one piece of 118 ml beside L2's 61).
/// Two levels, not one: beside a crushed body a whole vertebra is 1.5
/// times its only whole neighbour (L5 beside L4 crushed to 70%), and
/// was split in two at a false disc.
fn merged_piece(vertebrae: &[Vertebra]) -> Option<&Vertebra> {
    vertebrae.iter().enumerate().find_map(|(i, v)| {
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

/// The index in `discs` (top down) of a disc that cut one vertebra in
/// two: the faint disc between two whole pieces, each under
/// `HALF_UNDER_NEIGHBOUR` of the larger of their whole neighbours and
/// together about its size (`ONE_OVER_NEIGHBOUR`). A crushed vertebra is
/// small beside whole ones; two of them in a row keep a clear disc
/// between them. (TotalSegmentator's CT on a grid tilted −20°, a gantry
/// tilt: L2 came out as pieces of 38 and 25 ml between L1's 64 and L3's
/// 76, each flagged for a faint disc, and every name above was a level
/// off.)
fn false_disc(vertebrae: &[Vertebra], discs: &[column::Disc]) -> Option<usize> {
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

/// The most a level decision is trusted when bone was read leniently.
const LENIENT_CONFIDENCE: f64 = 0.5;

/// Smallest piece worth calling a vertebra (ml).
const MIN_VERTEBRA_ML: f64 = 4.0;

/// Whether a candidate holds enough bone to be a vertebra.
fn big_enough(grid: &grid::Grid, c: &split::Candidate) -> bool {
    c.voxels as f64 * grid.voxel_ml() >= MIN_VERTEBRA_ML
}

/// The sacrum: the highest candidate big enough for a vertebra with alae
/// beside its top; everything below joins it.
fn sacrum_candidate(grid: &grid::Grid, candidates: &[split::Candidate]) -> Option<usize> {
    candidates
        .iter()
        .position(|c| big_enough(grid, c) && c.alae.is_some() && c.upper.is_some())
}

fn finish(
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
    top = top.clamp(0, (24 - n).max(0));
    // Final labels: candidate id → level label, ribs, pelvis.
    let mut map = [0u8; 256];
    for (m, &c) in mobile.iter().enumerate() {
        let level = (top + m as i32).min(23) as usize;
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
    for (c, m) in order {
        let cand = &candidates[c];
        let label = match m {
            Some(m) => label_of((top + m as i32).min(23) as usize),
            None => label_of(24),
        };
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
    neighbour_flags(&mut vertebrae);
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
        let counts = placed.stored_counts();
        for v in &mut spine.vertebrae {
            v.voxels = counts[v.label as usize];
            v.volume_ml = v.voxels as f64 * grid.stored_voxel_ml;
        }
        spine.ribs_voxels = counts[RIBS_LABEL as usize];
        spine.pelvis_voxels = counts[PELVIS_LABEL as usize];
    }
    placed
}

/// One labelled piece to measure as a vertebra (or, labelled
/// `label_of(24)`, the sacrum).
pub(crate) struct Piece<'c> {
    /// Its slab between disc planes, centroid and edge flags.
    pub cand: &'c split::Candidate,
    pub label: u8,
    pub voxels: usize,
    /// Of them, how many read as metal ([`metal::METAL_HU`]).
    pub metal_voxels: usize,
    pub ribs: bool,
    pub canal_ap_mm: Option<f64>,
}

/// Metal in a vertebra (ml) from which it is flagged [`Flag::Metal`]: a
/// pedicle screw is 1–2 ml; a stray bright voxel or a small surgical clip
/// is less.
const METAL_ML: f64 = 0.05;

/// Each label replaced through `map` (which keeps 0). Most of a CT is
/// unlabelled: eight voxels at a time are skipped while all are 0, which in
/// wasm (no vectorised gather) makes the pass over the volume a fraction of
/// a lookup per voxel. In parts of a mebibyte: wasm has no on-stack
/// replacement, so one loop over the whole volume would run in the
/// browser's baseline code to its end.
fn relabel(labels: &mut [u8], map: &[u8; 256]) {
    for part in labels.chunks_mut(PART) {
        relabel_part(part, map);
    }
}

/// Voxels per labelled part of the volume (see [`relabel`]).
const PART: usize = 1 << 20;

#[inline(never)]
fn relabel_part(labels: &mut [u8], map: &[u8; 256]) {
    let (blocks, rest) = labels.as_chunks_mut::<BLOCK>();
    for block in blocks {
        if !block_is_zero(block) {
            block.iter_mut().for_each(|l| *l = map[*l as usize]);
        }
    }
    for l in rest {
        *l = map[*l as usize];
    }
}

/// Labels per block the whole-volume passes skip at once where all are 0
/// (most of a CT): one branch per 64 labels, not per 8. Tested as eight
/// 64-bit words ORed: a fold over the bytes ran in wasm at a third of the
/// speed of the word-at-a-time test it replaced.
pub(crate) const BLOCK: usize = 64;

/// Whether a block's labels are all 0.
#[inline(always)]
fn block_is_zero(block: &[u8; BLOCK]) -> bool {
    let (words, _) = block.as_chunks::<8>();
    words
        .iter()
        .fold(0u64, |any, &word| any | u64::from_ne_bytes(word))
        == 0
}

/// Whether labels (a [`BLOCK`] of them, or the fewer left at a row's end)
/// are all 0.
#[inline(always)]
pub(crate) fn all_zero(labels: &[u8]) -> bool {
    match labels.try_into() {
        Ok(block) => block_is_zero(block),
        Err(_) => labels.iter().all(|&l| l == 0),
    }
}

/// The smaller of two distances, neither NaN. Not `f32::min`: its NaN
/// rule has no wasm instruction, so in wasm it is a call to `fminf` per
/// cell (a twelfth of the browser's analysis in the chamfer distances); a
/// compare and select is one instruction each.
#[inline(always)]
pub(crate) fn lesser(a: f32, b: f32) -> f32 {
    if b < a { b } else { a }
}

/// Voxels per label, eight unlabelled voxels at a time where they are
/// (in parts, as [`relabel`]).
fn label_counts(labels: &[u8]) -> [usize; 256] {
    let mut counts = [0usize; 256];
    for part in labels.chunks(PART) {
        count_part(part, &mut counts);
    }
    counts
}

/// Counts `labels` (at most [`PART`]) into `counts`. A labelled block
/// is counted into four tallies in turn: one tally for every voxel made
/// each count wait for the one before when neighbours share a label, as
/// they mostly do.
#[inline(never)]
fn count_part(labels: &[u8], counts: &mut [usize; 256]) {
    let mut tallies = [[0u32; 256]; 4];
    let (blocks, rest) = labels.as_chunks::<BLOCK>();
    let mut zero_blocks = 0;
    for block in blocks {
        if block_is_zero(block) {
            zero_blocks += 1;
        } else {
            for four in block.as_chunks::<4>().0 {
                for (tally, &l) in tallies.iter_mut().zip(four) {
                    tally[l as usize] += 1;
                }
            }
        }
    }
    counts[0] += zero_blocks * BLOCK;
    for &l in rest {
        counts[l as usize] += 1;
    }
    for tally in &tallies {
        for (count, &n) in counts.iter_mut().zip(tally) {
            *count += n as usize;
        }
    }
}

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
    let heights = frame
        .as_ref()
        .filter(|_| !sacrum)
        .and_then(|f| probe.heights(f));
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
        let max = h.anterior.max(h.middle).max(h.posterior);
        let loss = |v: f64| 1.0 - v / max;
        let worst = [
            (loss(h.anterior), 0),
            (loss(h.middle), 1),
            (loss(h.posterior), 2),
        ]
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .expect("three");
        let grade = genant_grade(worst.0);
        // Heights from dim, blurred cortex are too rough to grade.
        if grade > 0 && !cand.partial && !grid.reading.lenient {
            flags.push(match worst.1 {
                0 => Flag::Wedge { grade },
                1 => Flag::Biconcave { grade },
                _ => Flag::Crush { grade },
            });
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
        frame,
        superior_normal: plates.map(|p| p.0.to_array()),
        inferior_normal: plates.map(|p| p.1.to_array()),
        canal_ap_mm,
        flags,
        ribs,
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
fn canal_at(grid: &grid::Grid, chain: &[canal::Pocket], c: &split::Candidate) -> Option<f64> {
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

/// Posterior height ≥ 20% below the mean of its neighbours'. Made on
/// every reading, dim bone's too: a body's back wall reads as well as its
/// neighbours', where its own front, middle and back compared are not
/// graded on a lenient reading (see `measure_vertebra`). A body whose
/// heights are implausible (a missed endplate reads its middle too high)
/// is compared by the largest of its heights, an over-estimate: low even
/// so, it is low (on TotalSegmentator's CT at 3 mm, L2 crushed to half its
/// height read 9 / 15 / 9 mm against neighbours' 30 and went unflagged).
fn neighbour_flags(vertebrae: &mut [Vertebra]) {
    // The height each body is compared by, and whether it reads right (a
    // neighbour is compared by such heights only).
    let compared: Vec<Option<(f64, bool)>> = vertebrae
        .iter()
        .map(|v| {
            let cut_or_irregular = v
                .flags
                .iter()
                .any(|f| matches!(f, Flag::Partial | Flag::Irregular { .. }));
            let implausible = v.flags.contains(&Flag::ImplausibleHeights);
            v.heights_mm.filter(|_| !cut_or_irregular).map(|h| {
                if implausible {
                    (h.anterior.max(h.middle).max(h.posterior), false)
                } else {
                    (h.posterior, true)
                }
            })
        })
        .collect();
    for n in 0..vertebrae.len() {
        let around: Vec<f64> = [n.checked_sub(1), Some(n + 1)]
            .into_iter()
            .flatten()
            .filter_map(|m| compared.get(m).copied().flatten())
            .filter_map(|(height, reads_right)| reads_right.then_some(height))
            .collect();
        if let (Some((own, _)), false) = (compared[n], around.is_empty()) {
            let mean = around.iter().sum::<f64>() / around.len() as f64;
            if own < 0.8 * mean {
                vertebrae[n].flags.push(Flag::LowerThanNeighbours);
            }
        }
    }
}

fn normal(v: &[f64; 3]) -> DVec3 {
    DVec3::from_array(*v)
}

/// The spine's angles from the named vertebrae's endplates, in the planes
/// of a patient whose anterior is `anterior` (see [`Spine::anterior`]).
pub fn angles(vertebrae: &[Vertebra], anterior: DVec3) -> Angles {
    let sagittal_deg = |n: DVec3| sagittal_deg_facing(n, anterior);
    let coronal_deg = |n: DVec3| coronal_deg_facing(n, anterior);
    // An irregular vertebra's endplates are not trusted for any angle.
    let find = |name: &str| {
        vertebrae
            .iter()
            .find(|v| v.name == name)
            .filter(|v| !v.flags.iter().any(|f| matches!(f, Flag::Irregular { .. })))
    };
    let sup = |name: &str| find(name).and_then(|v| v.superior_normal.as_ref().map(normal));
    let inf = |name: &str| find(name).and_then(|v| v.inferior_normal.as_ref().map(normal));
    let lumbar_lordosis_deg = sup("L1")
        .zip(sup("sacrum"))
        .map(|(l1, s1)| sagittal_deg(s1) - sagittal_deg(l1));
    let thoracic_kyphosis_deg = sup("T4")
        .zip(inf("T12"))
        .map(|(t4, t12)| sagittal_deg(t12) - sagittal_deg(t4))
        .map(f64::abs);
    // A vertebra cut by the scan's edge, or irregular, has unreliable
    // endplates.
    let mobile: Vec<&Vertebra> = vertebrae
        .iter()
        .filter(|v| {
            v.name != "sacrum"
                && !v
                    .flags
                    .iter()
                    .any(|f| matches!(f, Flag::Partial | Flag::Irregular { .. }))
        })
        .collect();
    let mut cobb: Option<EndplateAngle> = None;
    for (i, upper) in mobile.iter().enumerate() {
        let Some(s) = upper.superior_normal.as_ref().map(normal) else {
            continue;
        };
        // A curve spans at least three vertebrae: end vertebrae are two
        // or more levels apart (next to each other it is a segmental angle).
        for lower in mobile.iter().skip(i + 2) {
            let Some(f) = lower.inferior_normal.as_ref().map(normal) else {
                continue;
            };
            let degrees = (coronal_deg(s) - coronal_deg(f)).abs();
            if cobb.as_ref().is_none_or(|c| degrees > c.degrees) {
                cobb = Some(EndplateAngle {
                    degrees,
                    from: upper.name.clone(),
                    to: lower.name.clone(),
                });
            }
        }
    }
    let segmental = vertebrae
        .windows(2)
        .filter_map(|pair| {
            let (a, b) = (
                pair[0].superior_normal.as_ref()?,
                pair[1].superior_normal.as_ref()?,
            );
            Some(EndplateAngle {
                degrees: sagittal_deg(normal(b)) - sagittal_deg(normal(a)),
                from: pair[0].name.clone(),
                to: pair[1].name.clone(),
            })
        })
        .collect();
    Angles {
        lumbar_lordosis_deg,
        thoracic_kyphosis_deg,
        cobb,
        segmental,
    }
}

/// The segment table for a spine labelmap: each vertebra, the sacrum,
/// pelvis and ribs under their anatomical names and colours.
pub fn segment_table(spine: &Spine) -> SegmentTable {
    let mut table = SegmentTable::default();
    let mut add = |label: u8, name: &str| {
        if let Some(anatomy) = Anatomy::from_name(name) {
            table.insert(Segment {
                label,
                name: SegmentName::Anatomy(anatomy),
                color: anatomy.color(),
                visible: true,
            });
        }
    };
    for v in &spine.vertebrae {
        add(v.label, &v.name);
    }
    if spine.pelvis_voxels > 0 {
        add(PELVIS_LABEL, "pelvis");
    }
    if spine.ribs_voxels > 0 {
        add(RIBS_LABEL, "ribs");
    }
    table
}

/// Whether `label` is one the spine labelmap gives (a level, the sacrum,
/// the pelvis or the ribs).
pub fn is_spine_label(label: u8) -> bool {
    (1..=RIBS_LABEL).contains(&label)
}

/// Whether `table` still holds the spine's vertebrae: a segment named as
/// the level its label stands for. Not so once the analysis is undone
/// (the user's own segments are back, whatever their labels), and then
/// there is nothing to re-measure.
pub fn holds_vertebrae(table: &SegmentTable) -> bool {
    table.segments().iter().any(|s| {
        (1..=label_of(24)).contains(&s.label)
            && matches!(&s.name, SegmentName::Anatomy(a)
                if a.name() == LEVELS[s.label as usize - 1])
    })
}

/// [`segment_table`] with the segments of `others` the spine does not
/// label (ones the user made after the analysis) kept.
pub fn segment_table_keeping(spine: &Spine, others: &SegmentTable) -> SegmentTable {
    let mut table = segment_table(spine);
    for s in others.segments() {
        if !is_spine_label(s.label) {
            table.insert(s.clone());
        }
    }
    table
}

/// The same spine with every vertebra's level moved by `by` (the user
/// knows better: a transitional vertebra, a thoracic-only scan), and the
/// label map old → new to apply to the labelmap; `None` when a level
/// would leave C1..L5. The sacrum, pelvis and ribs keep theirs; the level
/// decision becomes the user's.
pub fn shifted(spine: &Spine, by: i32) -> Option<(Spine, [u8; 256])> {
    let mut map: [u8; 256] = std::array::from_fn(|l| l as u8);
    let mut out = spine.clone();
    for v in out.vertebrae.iter_mut().filter(|v| v.name != "sacrum") {
        let level = i32::from(v.label) - 1 + by;
        if !(0..24).contains(&level) {
            return None;
        }
        let label = label_of(level as usize);
        map[v.label as usize] = label;
        v.label = label;
        v.name = LEVELS[level as usize].to_owned();
    }
    out.angles = angles(&out.vertebrae, DVec3::from_array(spine.anterior));
    out.levels = LevelDecision {
        anchor: Anchor::User,
        confidence: 1.0,
        seen: spine.levels.seen.clone(),
    };
    Some((out, map))
}

#[cfg(test)]
mod table_tests {
    use super::*;

    fn table(segments: &[(u8, SegmentName)]) -> SegmentTable {
        let mut table = SegmentTable::default();
        for (label, name) in segments {
            table.insert(Segment {
                label: *label,
                name: name.clone(),
                color: [200, 200, 200],
                visible: true,
            });
        }
        table
    }

    #[test]
    fn vertebrae_are_told_by_a_level_name_on_its_own_label() {
        let l1 = || SegmentName::Anatomy(Anatomy::from_name("L1").expect("L1"));
        assert!(holds_vertebrae(&table(&[(20, l1())])));
        // The user's own segments after the analysis was undone.
        assert!(!holds_vertebrae(&table(&[(1, SegmentName::Numbered(1))])));
        // A level name on another level's label is not the spine's.
        assert!(!holds_vertebrae(&table(&[(21, l1())])));
        assert!(!holds_vertebrae(&SegmentTable::default()));
    }
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

#[cfg(test)]
mod memory_tests {
    use super::*;

    #[test]
    fn an_analysis_that_would_not_fit_is_refused_before_it_starts() {
        // 1,000 voxels of 1 mm, read whole: a labelmap and six bytes a
        // voxel read, 7,000 bytes.
        let volume = grid::blank_volume([10, 10, 10]);
        assert!(matches!(
            fits_in(&volume, 6_999),
            Err(SpineError::TooLarge { .. })
        ));
        assert!(fits_in(&volume, 7_000).is_ok());
    }
}

#[cfg(test)]
mod ladder_tests {
    use super::next_rung;

    #[test]
    fn a_reading_above_the_marrow_is_skipped_only_for_a_lower_one() {
        // Dim marrow: 150 HU would see shells; 125 is read next.
        assert_eq!(next_rung(0, Some(112.0)), Some(2));
        // Marrow above 150, or not measured: every rung in turn.
        assert_eq!(next_rung(0, Some(212.0)), Some(1));
        assert_eq!(next_rung(0, None), Some(1));
        // The 125 HU rungs are never skipped, however dim the marrow:
        // nothing reads lower after them.
        assert_eq!(next_rung(1, Some(40.0)), Some(2));
        assert_eq!(next_rung(2, Some(40.0)), Some(3));
        assert_eq!(next_rung(3, Some(40.0)), None);
    }
}

#[cfg(test)]
mod false_disc_tests {
    use super::*;

    /// A vertebra of `ml` whose body's middle is at height `z` (mm).
    fn vertebra(name: &str, ml: f64, z: f64, flags: &[Flag]) -> Vertebra {
        Vertebra {
            name: name.into(),
            label: 0,
            voxels: 0,
            volume_ml: ml,
            centroid_mm: [0.0, 0.0, z],
            heights_mm: None,
            frame: None,
            superior_normal: None,
            inferior_normal: None,
            canal_ap_mm: None,
            flags: flags.to_vec(),
            ribs: false,
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
}
