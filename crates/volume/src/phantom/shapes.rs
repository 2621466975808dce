//! Signed-distance shapes (mm, negative inside) and the one-voxel
//! anti-aliasing that turns them into partial-volume HU, as a scanner's
//! finite voxels do.

use glam::DVec3;

/// Fraction of a voxel inside a shape whose signed distance is `d`: a
/// one-voxel ramp instead of a hard staircase.
pub(crate) fn coverage(d: f64, voxel_mm: f64) -> f64 {
    (0.5 - d / voxel_mm).clamp(0.0, 1.0)
}

/// Paints `value` over `current` with partial-volume `cover`.
pub(crate) fn paint(current: &mut f64, value: f64, cover: f64) {
    *current += (value - *current) * cover;
}

/// Approximate signed distance to an axis-aligned ellipse.
pub(crate) fn ellipse(dx: f64, dy: f64, a: f64, b: f64) -> f64 {
    let r = ((dx / a).powi(2) + (dy / b).powi(2)).sqrt();
    (r - 1.0) * a.min(b)
}

/// Signed distance to an axis-aligned box given by its corners.
pub(crate) fn cuboid(p: DVec3, min: DVec3, max: DVec3) -> f64 {
    let centre = (min + max) * 0.5;
    let half = (max - min) * 0.5;
    let q = (p - centre).abs() - half;
    q.max(DVec3::ZERO).length() + q.max_element().min(0.0)
}

/// Signed distance to a rod from `a` to `b` whose cross-section is round
/// with radius `r`.
pub(crate) fn rod(p: DVec3, a: DVec3, b: DVec3, r: f64) -> f64 {
    let ab = b - a;
    let t = ((p - a).dot(ab) / ab.length_squared()).clamp(0.0, 1.0);
    (p - (a + ab * t)).length() - r
}

/// Deterministic noise in [-1, 1] from a voxel index (no RNG dependency).
pub(crate) fn noise(i: u32, j: u32, k: u32) -> f64 {
    let mut h =
        i.wrapping_mul(0x9E37_79B1) ^ j.wrapping_mul(0x85EB_CA77) ^ k.wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    f64::from(h & 0xFFFF) / 32767.5 - 1.0
}

/// An orthonormal frame: local (lateral, anterior, up) coordinates of a
/// patient-space point. `up` is the bone's own axis, so a vertebra tilted by
/// lordosis or scoliosis is drawn in its own coordinates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub origin: DVec3,
    pub lateral: DVec3,
    pub anterior: DVec3,
    pub up: DVec3,
}

impl Frame {
    /// A frame whose up axis is `up`, anterior as close to patient anterior
    /// (LPS −y) as that allows.
    pub fn new(origin: DVec3, up: DVec3) -> Self {
        let up = up.normalize();
        let anterior = (DVec3::NEG_Y - up * up.dot(DVec3::NEG_Y)).normalize();
        Self {
            origin,
            lateral: anterior.cross(up),
            anterior,
            up,
        }
    }

    /// Patient → local (lateral, anterior, up).
    pub fn local(&self, p: DVec3) -> DVec3 {
        let d = p - self.origin;
        DVec3::new(d.dot(self.lateral), d.dot(self.anterior), d.dot(self.up))
    }

    /// Local → patient.
    pub fn world(&self, l: DVec3) -> DVec3 {
        self.origin + self.lateral * l.x + self.anterior * l.y + self.up * l.z
    }
}
