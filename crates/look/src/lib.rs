//! How the 3D view shows a volume, as numbers only: the blend (composite,
//! MIP, MinIP, average), a transfer function (colour and opacity points over
//! the voxel values, moved and stretched like a window), lighting and a free
//! clip plane. Presets are chosen from the modality, as VolView and 3D
//! Slicer do. Everything here serialises to numbers and fixed words, so the
//! settings can be kept on the user's computer without ever holding an
//! identifier; the renderer takes the baked tables.

mod clip;
mod histogram;
mod preset;
mod transfer;

pub use clip::ClipPlane;
pub use histogram::Histogram;
pub use preset::Preset;
pub use transfer::{LUT_SIZE, Point, TransferFunction};

use serde::{Deserialize, Serialize};

/// How the samples along a ray combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Blend {
    /// Front-to-back compositing through the transfer function, lit.
    Composite,
    /// Maximum intensity projection: the brightest value on the ray.
    Mip,
    /// Minimum intensity projection: the darkest (airways, lungs).
    MinIp,
    /// The mean value along the ray: a radiograph-like image.
    Average,
}

/// Gradient (Blinn–Phong) shading with a light that follows the camera.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lighting {
    /// Shade at all (off: the transfer function's colours as they are).
    pub enabled: bool,
    /// Light reaching every sample.
    pub ambient: f32,
    /// Lambertian share.
    pub diffuse: f32,
    /// Highlight share.
    pub specular: f32,
    /// Highlight sharpness.
    pub shininess: f32,
    /// Where the light comes from, in the camera's frame (x right, y up,
    /// z towards the viewer): it turns with the camera, so the side facing
    /// the user stays lit, with a little modelling from above left.
    pub from_camera: [f32; 3],
    /// Ambient occlusion, 0 (off) to 1: how much a sample darkens where
    /// visible matter surrounds it (a foramen, the gap between two
    /// processes, a canal), which gives depth that light alone does not.
    /// Looks kept before it existed get the default.
    #[serde(default = "default_occlusion")]
    pub occlusion: f32,
}

/// How far (mm) ambient-occlusion probes reach from a sample: about the
/// size of the gaps between vertebral processes, so contact shadows show
/// between bones, not across a whole body.
pub const OCCLUSION_REACH_MM: f32 = 6.0;

fn default_occlusion() -> f32 {
    0.6
}

impl Default for Lighting {
    fn default() -> Self {
        Self {
            enabled: true,
            ambient: 0.25,
            diffuse: 0.7,
            specular: 0.25,
            shininess: 24.0,
            from_camera: [-0.35, 0.45, 0.82],
            occlusion: default_occlusion(),
        }
    }
}

/// Everything the volume renderer needs besides the volume and the camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Look {
    /// The preset this started from (shown in the menu).
    pub preset: Preset,
    /// How samples combine.
    pub blend: Blend,
    /// Colour and opacity over the voxel values.
    pub transfer: TransferFunction,
    /// Shading (composite only).
    pub lighting: Lighting,
    /// A free clip plane, when one is set.
    pub clip: Option<ClipPlane>,
}

impl Look {
    /// The settings as kept on the user's computer (numbers and fixed
    /// words only).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a look is plain numbers")
    }

    /// Settings kept earlier, if they still parse and make sense; anything
    /// else gives `None` (the caller then uses the modality's preset).
    pub fn from_json(text: &str) -> Option<Self> {
        let look: Self = serde_json::from_str(text).ok()?;
        (look.transfer.is_valid() && (0.0..=1.0).contains(&look.lighting.occlusion)).then_some(look)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insitu_volume::Modality;

    #[test]
    fn a_look_survives_being_kept_and_nonsense_is_refused() {
        let mut look = Preset::for_modality(Modality::Ct).look((-1024.0, 3071.0));
        look.transfer.shift = 120.0;
        look.transfer.scale = 0.5;
        look.clip = Some(ClipPlane {
            normal: [0.0, 0.0, 1.0],
            offset: 0.25,
        });
        let text = look.to_json();
        assert_eq!(Look::from_json(&text), Some(look));
        assert_eq!(Look::from_json("{\"preset\": 3}"), None);
        assert_eq!(Look::from_json("not json"), None);
        // A look kept before ambient occlusion existed gets the default.
        let old = text.replace(",\"occlusion\":0.6", "");
        assert_ne!(old, text);
        assert_eq!(
            Look::from_json(&old).map(|l| l.lighting.occlusion),
            Some(Lighting::default().occlusion)
        );
        let mut broken = Preset::CtBone.look((-1024.0, 3071.0));
        broken.transfer.points.clear();
        assert_eq!(Look::from_json(&broken.to_json()), None);
    }
}
