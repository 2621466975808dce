//! Volume-rendering presets, and which one a modality opens with.
//!
//! CT presets are in Hounsfield units (fat −100, soft tissue 20–80, contrast
//! 200–500, cancellous bone 200–400, cortical bone beyond 1,000); the others
//! are placed within the volume's value range.

use insitu_volume::Modality;
use serde::{Deserialize, Serialize};

use crate::transfer::{Point, TransferFunction};
use crate::{Blend, Lighting, Look};

/// A starting point for the look, as in 3D Slicer's and VolView's menus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Bone, lit; soft tissue transparent.
    CtBone,
    /// Skin and soft tissue, bone brighter behind it.
    CtSoftTissue,
    /// Contrast-filled vessels and bone.
    CtAngio,
    /// Lung parenchyma and airways; everything denser transparent.
    CtLung,
    /// A general ramp for MR.
    MrDefault,
    /// The mean value along each ray: a radiograph-like image.
    XRay,
    /// Maximum intensity projection.
    Mip,
    /// Minimum intensity projection.
    MinIp,
}

/// Build a CT point quickly.
const fn point(value: f32, opacity: f32, color: [f32; 3]) -> Point {
    Point {
        value,
        opacity,
        color,
    }
}

impl Preset {
    /// Every preset, in menu order.
    pub const ALL: [Preset; 8] = [
        Preset::CtBone,
        Preset::CtSoftTissue,
        Preset::CtAngio,
        Preset::CtLung,
        Preset::MrDefault,
        Preset::XRay,
        Preset::Mip,
        Preset::MinIp,
    ];

    /// What a volume of this modality opens with: the spine's bone for CT,
    /// the MR ramp for MR, MIP for everything else (PET, NM, angiography
    /// runs, whose values have no fixed meaning).
    pub fn for_modality(modality: Modality) -> Self {
        match modality {
            Modality::Ct => Preset::CtBone,
            Modality::Mr => Preset::MrDefault,
            _ => Preset::Mip,
        }
    }

    /// The stable word for menus, tests and kept settings.
    pub fn word(self) -> &'static str {
        match self {
            Preset::CtBone => "ct-bone",
            Preset::CtSoftTissue => "ct-soft-tissue",
            Preset::CtAngio => "ct-angio",
            Preset::CtLung => "ct-lung",
            Preset::MrDefault => "mr-default",
            Preset::XRay => "x-ray",
            Preset::Mip => "mip",
            Preset::MinIp => "min-ip",
        }
    }

    /// From [`Preset::word`].
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.word() == word)
    }

    /// The menu's label.
    pub fn label(self) -> &'static str {
        match self {
            Preset::CtBone => "CT bone",
            Preset::CtSoftTissue => "CT soft tissue",
            Preset::CtAngio => "CT angio",
            Preset::CtLung => "CT lung",
            Preset::MrDefault => "MR default",
            Preset::XRay => "X-ray-like",
            Preset::Mip => "MIP",
            Preset::MinIp => "MinIP",
        }
    }

    /// The look for a volume whose values span `range` (min, max).
    pub fn look(self, range: (f32, f32)) -> Look {
        let (low, high) = (range.0.min(range.1), range.0.max(range.1));
        let width = (high - low).max(1.0);
        let within = |f: f32| low + f * width;
        // CT presets read HU; a range without air is not HU-like, so the
        // projections fall back to fractions of the range.
        let hu = low <= -500.0 && high >= 300.0;
        let (blend, points) = match self {
            Preset::CtBone => (
                Blend::Composite,
                vec![
                    point(-1024.0, 0.0, [0.0; 3]),
                    point(140.0, 0.0, [0.55, 0.25, 0.18]),
                    point(250.0, 0.18, [0.8, 0.6, 0.45]),
                    point(600.0, 0.85, [0.93, 0.88, 0.76]),
                    point(3071.0, 0.95, [1.0, 1.0, 0.97]),
                ],
            ),
            Preset::CtSoftTissue => (
                Blend::Composite,
                vec![
                    point(-1024.0, 0.0, [0.0; 3]),
                    point(-300.0, 0.0, [0.6, 0.3, 0.25]),
                    point(-80.0, 0.015, [0.85, 0.6, 0.45]),
                    point(80.0, 0.05, [0.88, 0.5, 0.42]),
                    point(250.0, 0.5, [0.95, 0.88, 0.78]),
                    point(3071.0, 0.9, [1.0, 1.0, 0.97]),
                ],
            ),
            Preset::CtAngio => (
                Blend::Composite,
                vec![
                    point(-1024.0, 0.0, [0.0; 3]),
                    point(110.0, 0.0, [0.55, 0.08, 0.06]),
                    point(180.0, 0.25, [0.85, 0.25, 0.2]),
                    point(320.0, 0.75, [0.98, 0.7, 0.55]),
                    point(1000.0, 0.9, [1.0, 0.97, 0.9]),
                    point(3071.0, 0.9, [1.0, 1.0, 1.0]),
                ],
            ),
            Preset::CtLung => (
                Blend::Composite,
                vec![
                    point(-1024.0, 0.0, [0.0; 3]),
                    point(-930.0, 0.0, [0.7, 0.45, 0.4]),
                    point(-750.0, 0.06, [0.85, 0.6, 0.55]),
                    point(-550.0, 0.12, [0.95, 0.8, 0.75]),
                    point(-350.0, 0.0, [0.95, 0.85, 0.8]),
                    point(3071.0, 0.0, [1.0; 3]),
                ],
            ),
            Preset::MrDefault => (
                Blend::Composite,
                vec![
                    point(low, 0.0, [0.0; 3]),
                    point(within(0.08), 0.0, [0.35, 0.3, 0.28]),
                    point(within(0.3), 0.08, [0.7, 0.62, 0.55]),
                    point(within(0.6), 0.35, [0.95, 0.9, 0.85]),
                    point(high, 0.6, [1.0; 3]),
                ],
            ),
            Preset::XRay => {
                let (a, b) = if hu {
                    (-1000.0, 150.0)
                } else {
                    (low, within(0.5))
                };
                (Blend::Average, TransferFunction::grey_ramp(a, b).points)
            }
            Preset::Mip => {
                let (a, b) = if hu {
                    (-200.0, 1500.0)
                } else {
                    (low, within(0.8))
                };
                (Blend::Mip, TransferFunction::grey_ramp(a, b).points)
            }
            Preset::MinIp => {
                let (a, b) = if hu {
                    (-1000.0, -400.0)
                } else {
                    (low, within(0.4))
                };
                (Blend::MinIp, TransferFunction::grey_ramp(a, b).points)
            }
        };
        Look {
            preset: self,
            blend,
            transfer: TransferFunction::new(points),
            lighting: Lighting {
                enabled: blend == Blend::Composite,
                ..Lighting::default()
            },
            clip: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: (f32, f32) = (-1024.0, 3071.0);

    #[test]
    fn every_preset_is_valid_and_its_word_round_trips() {
        for preset in Preset::ALL {
            for range in [CT, (0.0, 4095.0), (0.0, 1.0)] {
                let look = preset.look(range);
                assert!(look.transfer.is_valid(), "{preset:?} over {range:?}");
                assert_eq!(look.preset, preset);
            }
            assert_eq!(Preset::from_word(preset.word()), Some(preset));
        }
        assert_eq!(Preset::from_word("bone"), None);
    }

    #[test]
    fn the_modality_picks_the_preset() {
        assert_eq!(Preset::for_modality(Modality::Ct), Preset::CtBone);
        assert_eq!(Preset::for_modality(Modality::Mr), Preset::MrDefault);
        assert_eq!(Preset::for_modality(Modality::Pt), Preset::Mip);
    }

    #[test]
    fn bone_hides_soft_tissue_and_soft_tissue_shows_it() {
        let bone = Preset::CtBone.look(CT).transfer;
        let soft = Preset::CtSoftTissue.look(CT).transfer;
        assert_eq!(bone.at(40.0)[3], 0.0, "muscle is transparent in bone");
        assert!(bone.at(1000.0)[3] > 0.8, "cortical bone is opaque");
        assert!(soft.at(40.0)[3] > 0.02, "muscle shows in soft tissue");
        let lung = Preset::CtLung.look(CT).transfer;
        assert!(lung.at(-650.0)[3] > 0.05 && lung.at(40.0)[3] == 0.0);
        let angio = Preset::CtAngio.look(CT).transfer;
        assert!(angio.at(300.0)[3] > 0.5 && angio.at(40.0)[3] == 0.0);
    }

    #[test]
    fn projections_use_hu_windows_on_ct_and_the_range_elsewhere() {
        let mip = Preset::Mip.look(CT);
        assert_eq!(mip.blend, Blend::Mip);
        assert_eq!(mip.transfer.points[0].value, -200.0);
        let mr_mip = Preset::Mip.look((0.0, 1000.0));
        assert_eq!(mr_mip.transfer.points[1].value, 800.0);
        assert!(!mip.lighting.enabled && Preset::CtBone.look(CT).lighting.enabled);
    }
}
