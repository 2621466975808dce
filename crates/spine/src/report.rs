//! What the analysis reports: the vertebrae with their measures and
//! flags, the spine's angles, how the levels were named, and the labels.

use glam::DVec3;
use insitu_segment::Labelmap;
use serde::{Deserialize, Serialize};

use crate::grid;
use crate::measure::{BodyFrame, Flag, HeightLines, Heights};
use crate::naming::LevelDecision;
use crate::placed::SpineLabels;

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
    /// Where each of `heights_mm` was read (none with it, or in a report
    /// written before the lines were kept).
    #[serde(default)]
    pub height_lines_mm: Option<HeightLines>,
    /// The taller of the body's middle and back as far as its label runs
    /// unbroken (holes over `holes::HOLE_MM` end it): how much of the body
    /// the reading labelled, which the judge weighs readings by. Not
    /// reported (the heights pass over such holes), so none in a report
    /// read back: only a fresh analysis is judged.
    #[serde(skip)]
    pub(crate) label_height_mm: Option<f64>,
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

impl Vertebra {
    /// Vertebra `name` with label `label`, nothing measured: what a
    /// report's reading ([`crate::SpineReading::skeleton`]) starts from.
    pub(crate) fn unmeasured(name: &str, label: u8) -> Self {
        Self {
            name: name.into(),
            label,
            voxels: 0,
            volume_ml: 0.0,
            centroid_mm: [0.0; 3],
            heights_mm: None,
            height_lines_mm: None,
            label_height_mm: None,
            frame: None,
            superior_normal: None,
            inferior_normal: None,
            canal_ap_mm: None,
            flags: Vec::new(),
            ribs: false,
        }
    }

    /// A vertebra named `name` with `flags` and nothing measured: what the
    /// crate's unit tests build theirs from.
    #[cfg(test)]
    pub(crate) fn bare(name: &str, flags: &[Flag]) -> Self {
        Self {
            flags: flags.to_vec(),
            ..Self::unmeasured(name, 0)
        }
    }
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
    /// The vertebral bodies' marrow (HU, the median along the column) as
    /// the first, strict reading of bone measured it: dim in osteoporosis
    /// (TotalSegmentator's example CT: 19–131 HU), over 180 in normal bone.
    /// Not a calibrated density. None where that reading found no column.
    #[serde(default)]
    pub marrow_hu: Option<f64>,
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
    /// Vertebrae, sacrum, pelvis and ribs by [`crate::label_of`] and the
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
    /// Vertebrae, sacrum, pelvis and ribs by [`crate::label_of`] and the
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
