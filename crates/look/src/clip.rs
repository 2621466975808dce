//! A free clip plane through the volume.

use serde::{Deserialize, Serialize};

/// Keeps what lies on the plane's front: points `p` of the volume's unit box
/// (0..1 along each voxel axis) with `dot(normal, p - 0.5) >= offset`.
/// In box units so it stays put when the volume's spacing is odd, and so a
/// slider from −0.87 to 0.87 sweeps the whole box whatever its tilt.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClipPlane {
    /// Unit normal in the box's axes (x, y, z voxel axes).
    pub normal: [f32; 3],
    /// Signed distance of the plane from the box centre, box units.
    pub offset: f32,
}

impl ClipPlane {
    /// The plane perpendicular to voxel axis `axis` (0 x, 1 y, 2 z), keeping
    /// the part beyond `offset` (−0.5 keeps all, 0 half, 0.5 nothing), or the
    /// part before it when `flip`.
    pub fn across_axis(axis: usize, offset: f32, flip: bool) -> Self {
        let mut normal = [0.0; 3];
        let sign = if flip { -1.0 } else { 1.0 };
        normal[axis.min(2)] = sign;
        Self {
            normal,
            offset: offset * sign,
        }
    }

    /// Whether a point of the unit box is kept.
    pub fn keeps(&self, p: [f32; 3]) -> bool {
        let d: f32 = (0..3).map(|i| self.normal[i] * (p[i] - 0.5)).sum();
        d >= self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_axis_plane_keeps_the_far_side_or_the_near_one_when_flipped() {
        let plane = ClipPlane::across_axis(0, 0.0, false);
        assert!(plane.keeps([0.75, 0.1, 0.9]));
        assert!(!plane.keeps([0.25, 0.1, 0.9]));
        let flipped = ClipPlane::across_axis(0, 0.0, true);
        assert!(flipped.keeps([0.25, 0.1, 0.9]));
        assert!(!flipped.keeps([0.75, 0.1, 0.9]));
        // Offset 0.25 along z keeps only the top quarter.
        let top = ClipPlane::across_axis(2, 0.25, false);
        assert!(top.keeps([0.5, 0.5, 0.8]) && !top.keeps([0.5, 0.5, 0.7]));
        let below = ClipPlane::across_axis(2, 0.25, true);
        assert!(below.keeps([0.5, 0.5, 0.7]) && !below.keeps([0.5, 0.5, 0.8]));
    }
}
