//! A free clip plane through the volume.

use glam::{DMat3, DMat4, DVec3};
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

    /// The plane through world point `point` (mm) with world normal
    /// `normal`, keeping the side the normal points to, for a box whose
    /// unit coordinates map to world mm by `box_to_world` (the texture's
    /// 0..1 to patient space): how a 2D view's plane becomes a clip plane.
    /// `None` for a degenerate normal or box.
    pub fn through(point: DVec3, normal: DVec3, box_to_world: DMat4) -> Option<Self> {
        let linear = DMat3::from_mat4(box_to_world);
        let origin = box_to_world.w_axis.truncate();
        // n·(L b + t − c) ≥ 0  ⇔  (Lᵀ n)·b ≥ n·(c − t).
        let m = linear.transpose() * normal;
        let length = m.length();
        if !length.is_finite() || length < 1e-12 {
            return None;
        }
        let offset = (normal.dot(point - origin) - m.dot(DVec3::splat(0.5))) / length;
        let n = m / length;
        Some(Self {
            normal: [n.x as f32, n.y as f32, n.z as f32],
            offset: offset as f32,
        })
    }

    /// The same plane in world mm for a box mapped by `box_to_world`: a
    /// unit normal `n` and `d` such that world points `w` with
    /// `n·w ≥ d` are kept (how surfaces are cut where the volume is).
    pub fn in_world(&self, box_to_world: DMat4) -> Option<([f32; 3], f32)> {
        let world_to_box = box_to_world.inverse();
        let linear = DMat3::from_mat4(world_to_box);
        let origin = world_to_box.w_axis.truncate();
        let nb = DVec3::new(
            self.normal[0].into(),
            self.normal[1].into(),
            self.normal[2].into(),
        );
        // nb·(M w + c − 0.5) ≥ offset  ⇔  (Mᵀ nb)·w ≥ offset − nb·(c − 0.5).
        let m = linear.transpose() * nb;
        let length = m.length();
        if !length.is_finite() || length < 1e-12 {
            return None;
        }
        let d = (f64::from(self.offset) - nb.dot(origin - DVec3::splat(0.5))) / length;
        let n = m / length;
        Some(([n.x as f32, n.y as f32, n.z as f32], d as f32))
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
    fn a_world_plane_keeps_the_same_points_in_box_units() {
        // A tilted, anisotropic box: 0..1 spans 40 × 30 × 90 mm, sheared.
        let box_to_world = DMat4::from_cols_array(&[
            40.0, 0.0, 0.0, 0.0, //
            0.0, 30.0, 0.0, 0.0, //
            0.0, 8.0, 90.0, 0.0, //
            -20.0, 5.0, 100.0, 1.0,
        ]);
        let point = DVec3::new(-3.0, 20.0, 150.0);
        let normal = DVec3::new(0.2, -0.3, 0.93).normalize();
        let plane = ClipPlane::through(point, normal, box_to_world).unwrap();
        for i in 0..6 {
            for j in 0..6 {
                for k in 0..6 {
                    let b = DVec3::new(f64::from(i), f64::from(j), f64::from(k)) / 5.0;
                    let world = box_to_world.transform_point3(b);
                    let side = normal.dot(world - point);
                    if side.abs() < 1e-3 {
                        continue;
                    }
                    let b32 = [b.x as f32, b.y as f32, b.z as f32];
                    assert_eq!(plane.keeps(b32), side > 0.0, "{b}: {side}");
                }
            }
        }
        assert_eq!(ClipPlane::through(point, DVec3::ZERO, box_to_world), None);
        // Back in world mm it is the plane it came from.
        let (n, d) = plane.in_world(box_to_world).unwrap();
        let n = DVec3::new(n[0].into(), n[1].into(), n[2].into());
        assert!((n - normal).length() < 1e-5, "{n} vs {normal}");
        assert!((f64::from(d) - normal.dot(point)).abs() < 1e-3);
    }

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
