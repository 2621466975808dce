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

mod alae;
mod analyser;
mod angles;
mod budget;
mod canal;
mod column;
mod disc_fill;
mod discspace;
mod endplates;
mod export;
mod finish;
mod grid;
mod holes;
mod judge;
mod labels;
mod measure;
mod merged;
mod metal;
mod naming;
mod necks;
mod noise;
mod outside;
mod paths;
mod placed;
mod plane;
mod reading;
mod report;
mod revise;
mod sacrum;
mod spinous;
mod split;
mod stack;
mod steps;
mod table;
mod thick;
mod turn;
mod vertebra;
mod vessels;

use serde::{Deserialize, Serialize};

pub use analyser::{Analyser, analyse};
pub use angles::angles;
pub use budget::fits_in;
pub use export::{ReportFormat, report_csv, report_json, report_text};
pub use grid::ReadPlan;
pub use measure::{
    BodyFrame, Flag, HeightAt, HeightLine, HeightLines, Heights, coronal_deg, genant_grade,
    sagittal_deg,
};
pub use naming::{Anchor, LEVELS, LevelDecision, PELVIS_LABEL, RIBS_LABEL, label_of};
pub use placed::SpineLabels;
pub use reading::{SpineReading, VertebraReading, measured_again_on_reopen};
pub use report::{Analysis, Angles, EndplateAngle, Labelled, Spine, Stage, Vertebra};
pub use revise::{
    Revision, RevisionError, SHORTEST_HEIGHT_MM, revise, revise_labels, revise_labels_planned,
};
pub use table::{holds_vertebrae, is_spine_label, segment_table, segment_table_keeping, shifted};

pub(crate) use finish::on_stored_grid;
pub(crate) use labels::{BLOCK, all_zero};
pub(crate) use vertebra::{Piece, measure_vertebra, measured_by_hand, neighbour_flags};

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

/// Whether a series of `modality` can be analysed: only CT, whose values
/// are Hounsfield units (an MR's bright fat would pass for bone).
pub fn requires_ct(modality: insitu_volume::Modality) -> Result<(), SpineError> {
    if modality == insitu_volume::Modality::Ct {
        Ok(())
    } else {
        Err(SpineError::NotCt(modality))
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
