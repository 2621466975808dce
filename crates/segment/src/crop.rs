//! The crop box: an axis-aligned region of the volume's grid that limits
//! every tool, surface and rendering.

use serde::{Deserialize, Serialize};

/// Voxels `min..max` (half-open) along each axis of the volume's grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CropBox {
    /// First voxel inside, per axis.
    pub min: [u32; 3],
    /// One past the last voxel inside, per axis.
    pub max: [u32; 3],
}

impl CropBox {
    /// The whole grid of `dims`.
    pub fn whole(dims: [u32; 3]) -> Self {
        Self {
            min: [0; 3],
            max: dims,
        }
    }

    /// A box from any two corners (inclusive voxel indices), clamped to the
    /// grid of `dims`.
    pub fn from_corners(a: [u32; 3], b: [u32; 3], dims: [u32; 3]) -> Self {
        let mut min = [0; 3];
        let mut max = [0; 3];
        for axis in 0..3 {
            let (lo, hi) = (a[axis].min(b[axis]), a[axis].max(b[axis]));
            min[axis] = lo.min(dims[axis]);
            max[axis] = (hi + 1).min(dims[axis]);
        }
        Self { min, max }
    }

    /// Whether voxel (i, j, k) is inside.
    pub fn contains(&self, [i, j, k]: [u32; 3]) -> bool {
        (self.min[0]..self.max[0]).contains(&i)
            && (self.min[1]..self.max[1]).contains(&j)
            && (self.min[2]..self.max[2]).contains(&k)
    }

    /// Voxels inside.
    pub fn voxel_count(&self) -> usize {
        (0..3)
            .map(|a| self.max[a].saturating_sub(self.min[a]) as usize)
            .product()
    }

    /// Whether nothing is inside.
    pub fn is_empty(&self) -> bool {
        self.voxel_count() == 0
    }

    /// The voxels inside both, if any.
    pub fn intersect(&self, other: &CropBox) -> Option<CropBox> {
        let c = CropBox {
            min: [0, 1, 2].map(|a| self.min[a].max(other.min[a])),
            max: [0, 1, 2].map(|a| self.max[a].min(other.max[a])),
        };
        (!c.is_empty()).then_some(c)
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &CropBox) -> CropBox {
        CropBox {
            min: [0, 1, 2].map(|a| self.min[a].min(other.min[a])),
            max: [0, 1, 2].map(|a| self.max[a].max(other.max[a])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corners_in_any_order_make_the_same_clamped_box() {
        let dims = [10, 8, 6];
        let a = CropBox::from_corners([7, 1, 9], [2, 5, 3], dims);
        assert_eq!(a.min, [2, 1, 3]);
        assert_eq!(a.max, [8, 6, 6]);
        assert_eq!(a, CropBox::from_corners([2, 5, 3], [7, 1, 9], dims));
        assert!(a.contains([2, 1, 3]) && a.contains([7, 5, 5]));
        assert!(!a.contains([8, 1, 3]) && !a.contains([2, 0, 3]));
        assert_eq!(a.voxel_count(), 6 * 5 * 3);
        assert_eq!(CropBox::whole(dims).voxel_count(), 480);
    }
}
