//! What a spine report cannot be measured again from its labels: how the
//! analysis read the CT (bone threshold, noise blocks, marrow, the
//! patient's front), the discs it found, how the levels were named, and
//! what each vertebra's measuring does not see again (ribs, canal, a
//! faint disc, height lines a reader placed). Numbers and fixed kinds
//! only, never text: the cache keeps it beside a volume's segments, and a
//! reopened study measures its
//! report again from it ([`SpineReading::skeleton`], then
//! `revise(…, Revision::Remeasure)`).

use serde::{Deserialize, Serialize};

use crate::grid::MOST_ANALYSED_VOXELS;
use crate::measure::{Flag, HeightLines};
use crate::naming::{LEVELS, LevelDecision};
use crate::report::{Angles, Spine, Vertebra};

/// A report's reading (see the module's doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpineReading {
    /// How the levels were named.
    pub levels: LevelDecision,
    /// See [`Spine::discs`].
    pub discs: Vec<([f64; 3], [f64; 3])>,
    /// See [`Spine::bone_hu`].
    pub bone_hu: f32,
    /// See [`Spine::noise_hu`].
    pub noise_hu: Option<f32>,
    /// See [`Spine::read_mm`].
    pub read_mm: [f64; 3],
    /// See [`Spine::averaged_for_noise`].
    pub averaged_for_noise: bool,
    /// See [`Spine::marrow_hu`].
    pub marrow_hu: Option<f64>,
    /// See [`Spine::anterior`].
    pub anterior: [f64; 3],
    /// Each vertebra's label and what its measuring does not find again.
    pub vertebrae: Vec<VertebraReading>,
}

/// What one vertebra's measuring does not see again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VertebraReading {
    /// Its label value (its level: the name follows from it).
    pub label: u8,
    /// It bears ribs.
    pub ribs: bool,
    /// Its canal's front-to-back size (mm).
    pub canal_ap_mm: Option<f64>,
    /// The flags a revision carries over (a faint disc beside it, much more
    /// of it on one side).
    pub carried: Vec<Flag>,
    /// Its height lines, where a reader placed them
    /// ([`Flag::HeightsSetByHand`]): it is measured on them again.
    #[serde(default)]
    pub lines_by_hand: Option<HeightLines>,
}

/// The flags `revise` carries over rather than finds again.
const CARRIED: [Flag; 2] = [Flag::FaintDisc, Flag::OneSided];

impl Spine {
    /// What a reopened study needs to measure this report again.
    pub fn reading(&self) -> SpineReading {
        SpineReading {
            levels: self.levels.clone(),
            discs: self.discs.clone(),
            bone_hu: self.bone_hu,
            noise_hu: self.noise_hu,
            read_mm: self.read_mm,
            averaged_for_noise: self.averaged_for_noise,
            marrow_hu: self.marrow_hu,
            anterior: self.anterior,
            vertebrae: self
                .vertebrae
                .iter()
                .map(|v| VertebraReading {
                    label: v.label,
                    ribs: v.ribs,
                    canal_ap_mm: v.canal_ap_mm,
                    carried: v
                        .flags
                        .iter()
                        .copied()
                        .filter(|f| CARRIED.contains(f))
                        .collect(),
                    lines_by_hand: v
                        .height_lines_mm
                        .filter(|_| v.flags.contains(&Flag::HeightsSetByHand)),
                })
                .collect(),
        }
    }
}

/// Whether a reopened study measures its report again at once: where the
/// analysis reads the volume whole ([`MOST_ANALYSED_VOXELS`], 512×512×640).
/// A longer series is read in blocks, and its re-measuring holds the study
/// worker for seconds (6.0 s on a 512²×2500 CT, the 2D views waiting
/// behind it, the heap 0.5 GB higher): its report waits for the user.
pub fn measured_again_on_reopen(volume: &insitu_volume::Volume) -> bool {
    volume.geometry().voxel_count() <= MOST_ANALYSED_VOXELS
}

impl SpineReading {
    /// A report holding only what was read, each vertebra named by its
    /// label and measured nowhere: what `revise(…, Revision::Remeasure)`
    /// measures again on the labels. `None` where a label names no level.
    pub fn skeleton(&self) -> Option<Spine> {
        let vertebrae = self
            .vertebrae
            .iter()
            .map(|v| {
                let name = LEVELS.get(usize::from(v.label).checked_sub(1)?)?;
                let mut flags = v.carried.clone();
                if v.lines_by_hand.is_some() {
                    flags.push(Flag::HeightsSetByHand);
                }
                Some(Vertebra {
                    ribs: v.ribs,
                    canal_ap_mm: v.canal_ap_mm,
                    flags,
                    height_lines_mm: v.lines_by_hand,
                    ..Vertebra::unmeasured(name, v.label)
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Spine {
            vertebrae,
            angles: Angles::default(),
            levels: self.levels.clone(),
            ribs_voxels: 0,
            pelvis_voxels: 0,
            discs: self.discs.clone(),
            bone_hu: self.bone_hu,
            noise_hu: self.noise_hu,
            read_mm: self.read_mm,
            averaged_for_noise: self.averaged_for_noise,
            marrow_hu: self.marrow_hu,
            anterior: self.anterior,
        })
    }
}
