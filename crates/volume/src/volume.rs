//! The Hounsfield-unit volume: voxels plus geometry, nothing else.

use crate::Geometry;

/// Voxel storage: i16 when every HU value is an exact integer in range,
/// f32 otherwise (fractional rescale slopes). Index order is i fastest, then
/// j, then k, matching DICOM rows within a frame and frames along the stack.
#[derive(Debug, Clone, PartialEq)]
pub enum Voxels {
    /// Exact integer Hounsfield units.
    I16(Vec<i16>),
    /// Non-integer values (fractional slope or intercept).
    F32(Vec<f32>),
}

impl Voxels {
    /// Number of voxels stored.
    pub fn len(&self) -> usize {
        match self {
            Voxels::I16(v) => v.len(),
            Voxels::F32(v) => v.len(),
        }
    }

    /// Whether no voxel is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value at a linear index as f32, for code that does not care about storage.
    pub fn get_f32(&self, index: usize) -> Option<f32> {
        match self {
            Voxels::I16(v) => v.get(index).map(|&x| f32::from(x)),
            Voxels::F32(v) => v.get(index).copied(),
        }
    }
}

/// Voxel count and geometry disagree.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VolumeError {
    /// The voxel buffer does not have dims.x × dims.y × dims.z entries.
    #[error("voxel buffer holds {actual} values but the geometry needs {expected}")]
    SizeMismatch {
        /// What the geometry requires.
        expected: usize,
        /// What the buffer holds.
        actual: usize,
    },
}

/// A scalar volume in patient space. Deliberately holds no DICOM metadata:
/// identifiers live in a separate in-memory structure that never reaches the
/// GPU, the cache or an exported file.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    geometry: Geometry,
    voxels: Voxels,
    slice_offsets_mm: Option<Vec<f64>>,
}

impl Volume {
    /// Pairs voxels with their geometry, checking that the sizes agree.
    pub fn new(geometry: Geometry, voxels: Voxels) -> Result<Self, VolumeError> {
        let expected = geometry.voxel_count();
        if voxels.len() != expected {
            return Err(VolumeError::SizeMismatch {
                expected,
                actual: voxels.len(),
            });
        }
        Ok(Self {
            geometry,
            voxels,
            slice_offsets_mm: None,
        })
    }

    /// Records the true slice offsets (mm from slice 0 along the stacking
    /// direction) of a non-uniformly spaced stack. Voxels stay as acquired;
    /// the geometry's k step is then the mean distance.
    pub fn with_slice_offsets(mut self, offsets: Vec<f64>) -> Self {
        if offsets.len() == self.geometry.dims.z as usize {
            self.slice_offsets_mm = Some(offsets);
        }
        self
    }

    /// True slice offsets when spacing is non-uniform, else `None`.
    pub fn slice_offsets_mm(&self) -> Option<&[f64]> {
        self.slice_offsets_mm.as_deref()
    }

    /// Where the voxels sit in patient space.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The voxel values.
    pub fn voxels(&self) -> &Voxels {
        &self.voxels
    }

    /// Linear index of voxel (i, j, k), or `None` outside the grid.
    pub fn index(&self, i: u32, j: u32, k: u32) -> Option<usize> {
        let d = self.geometry.dims;
        (i < d.x && j < d.y && k < d.z)
            .then(|| i as usize + d.x as usize * (j as usize + d.y as usize * k as usize))
    }

    /// HU value at voxel (i, j, k), or `None` outside the grid.
    pub fn value(&self, i: u32, j: u32, k: u32) -> Option<f32> {
        self.index(i, j, k).and_then(|n| self.voxels.get_f32(n))
    }

    /// Lowest and highest value (i16 compared as integers: a cheaper pass
    /// than through f32); (0, 0) for an empty volume.
    pub fn value_range(&self) -> (f32, f32) {
        if self.voxels.is_empty() {
            return (0.0, 0.0);
        }
        match &self.voxels {
            Voxels::I16(v) => {
                let (low, high) = v
                    .iter()
                    .fold((i16::MAX, i16::MIN), |(a, b), &x| (a.min(x), b.max(x)));
                (low.into(), high.into())
            }
            Voxels::F32(v) => v
                .iter()
                .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::{DVec3, UVec3};

    fn grid(dims: UVec3) -> Geometry {
        Geometry::axis_aligned(dims, DVec3::ONE, DVec3::ZERO).unwrap()
    }

    #[test]
    fn values_are_addressed_i_fastest() {
        let dims = UVec3::new(3, 2, 2);
        let voxels: Vec<i16> = (0..12).collect();
        let v = Volume::new(grid(dims), Voxels::I16(voxels)).unwrap();
        assert_eq!(v.value(0, 0, 0), Some(0.0));
        assert_eq!(v.value(2, 0, 0), Some(2.0));
        assert_eq!(v.value(0, 1, 0), Some(3.0));
        assert_eq!(v.value(0, 0, 1), Some(6.0));
        assert_eq!(v.value(2, 1, 1), Some(11.0));
        assert_eq!(v.value(3, 0, 0), None);
    }

    #[test]
    fn the_value_range_spans_every_voxel() {
        let v = Volume::new(grid(UVec3::new(3, 2, 2)), Voxels::I16((-5..7).collect())).unwrap();
        assert_eq!(v.value_range(), (-5.0, 6.0));
        let f = Volume::new(grid(UVec3::new(2, 1, 1)), Voxels::F32(vec![0.25, -1.5])).unwrap();
        assert_eq!(f.value_range(), (-1.5, 0.25));
    }

    #[test]
    fn wrong_buffer_size_is_an_error() {
        let err = Volume::new(grid(UVec3::splat(2)), Voxels::F32(vec![0.0; 7])).unwrap_err();
        assert_eq!(
            err,
            VolumeError::SizeMismatch {
                expected: 8,
                actual: 7
            }
        );
    }
}
