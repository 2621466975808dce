//! Window/level: HU → grey, and the presets radiologists expect.

/// A named window (width, centre) in HU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    /// Shown in the menu.
    pub name: &'static str,
    /// Window width.
    pub window: f64,
    /// Window centre.
    pub level: f64,
}

/// Standard CT windows.
pub const PRESETS: [Preset; 4] = [
    Preset {
        name: "Bone",
        window: 2000.0,
        level: 400.0,
    },
    Preset {
        name: "Soft tissue",
        window: 400.0,
        level: 40.0,
    },
    Preset {
        name: "Lung",
        window: 1500.0,
        level: -600.0,
    },
    Preset {
        name: "Brain",
        window: 80.0,
        level: 40.0,
    },
];

/// Writes RGBA for `values` (NaN: outside the volume, drawn black) with a
/// linear window.
pub fn to_rgba(values: &[f32], window: f64, level: f64, out: &mut [u8]) {
    let low = (level - window / 2.0) as f32;
    let scale = (255.0 / window.max(1e-6)) as f32;
    for (v, px) in values.iter().zip(out.chunks_exact_mut(4)) {
        let g = if v.is_nan() {
            0
        } else {
            ((v - low) * scale).clamp(0.0, 255.0) as u8
        };
        px.copy_from_slice(&[g, g, g, 255]);
    }
}

/// A sensible first window for a modality and value range: soft tissue for
/// CT, the full range otherwise.
pub fn initial_window(modality: &str, (min, max): (f32, f32)) -> (f64, f64) {
    if modality == "CT" {
        (PRESETS[1].window, PRESETS[1].level)
    } else {
        let (min, max) = (f64::from(min), f64::from(max));
        ((max - min).max(1.0), (max + min) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_maps_its_ends_to_black_and_white() {
        let mut out = [0u8; 16];
        to_rgba(&[-160.0, 240.0, 40.0, f32::NAN], 400.0, 40.0, &mut out);
        assert_eq!(&out[0..4], &[0, 0, 0, 255]);
        assert_eq!(&out[4..8], &[255, 255, 255, 255]);
        assert_eq!(out[8], 127);
        assert_eq!(&out[12..16], &[0, 0, 0, 255]);
    }

    #[test]
    fn ct_opens_in_soft_tissue_and_mr_in_its_range() {
        assert_eq!(initial_window("CT", (-1024.0, 3000.0)), (400.0, 40.0));
        assert_eq!(initial_window("MR", (0.0, 1000.0)), (1000.0, 500.0));
    }
}
