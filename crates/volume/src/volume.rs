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
    /// A part of the grid that holds no voxel (an empty crop box).
    #[error("the part of the grid is empty: {0}")]
    EmptyPart(#[from] crate::GeometryError),
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

    /// The part `min..max` (voxels, half-open, inside the grid) of this
    /// volume's grid holding `voxels` (the caller's values there), placed
    /// where that part lies in patient space, true slice positions kept.
    pub fn sub_grid(
        &self,
        min: [u32; 3],
        max: [u32; 3],
        voxels: Voxels,
    ) -> Result<Volume, VolumeError> {
        let g = &self.geometry;
        let dims = glam::UVec3::from(max).saturating_sub(glam::UVec3::from(min));
        let at = glam::DVec3::new(min[0].into(), min[1].into(), min[2].into());
        let k0 = min[2] as usize;
        let offsets = self
            .slice_offsets_mm
            .as_ref()
            .filter(|o| (max[2] as usize) <= o.len() && k0 < max[2] as usize);
        // With true slice positions, the part starts at its first slice's.
        let origin = match offsets {
            Some(o) => {
                g.origin + g.steps[0] * at.x + g.steps[1] * at.y + g.steps[2].normalize() * o[k0]
            }
            None => g.world_of(at),
        };
        let geometry = Geometry::new(dims, g.steps, origin)?;
        let part = Volume::new(geometry, voxels)?;
        Ok(match offsets {
            Some(o) => {
                part.with_slice_offsets(o[k0..max[2] as usize].iter().map(|t| t - o[k0]).collect())
            }
            None => part,
        })
    }

    /// The part `min..max` of this volume (a crop box): its voxels copied,
    /// its place in patient space kept, so a surface of it lies exactly
    /// where the same part of the whole volume's surface does.
    pub fn cropped(&self, min: [u32; 3], max: [u32; 3]) -> Result<Volume, VolumeError> {
        let d = self.geometry.dims;
        let max = [max[0].min(d.x), max[1].min(d.y), max[2].min(d.z)];
        let min = [0, 1, 2].map(|a| min[a].min(max[a]));
        let rows = (min[2]..max[2]).flat_map(|k| (min[1]..max[1]).map(move |j| (j, k)));
        let row = |j: u32, k: u32| {
            let start = self.index(min[0], j, k).unwrap_or(0);
            start..start + (max[0] - min[0]) as usize
        };
        let voxels = match &self.voxels {
            Voxels::I16(v) => Voxels::I16(
                rows.flat_map(|(j, k)| v[row(j, k)].iter().copied())
                    .collect(),
            ),
            Voxels::F32(v) => Voxels::F32(
                rows.flat_map(|(j, k)| v[row(j, k)].iter().copied())
                    .collect(),
            ),
        };
        self.sub_grid(min, max, voxels)
    }

    /// Lowest and highest value (i16 compared as integers: a cheaper pass
    /// than through f32); (0, 0) for an empty volume.
    pub fn value_range(&self) -> (f32, f32) {
        if self.voxels.is_empty() {
            return (0.0, 0.0);
        }
        match &self.voxels {
            Voxels::I16(v) => {
                let (low, high) = i16_range(v);
                (low.into(), high.into())
            }
            Voxels::F32(v) => v
                .iter()
                .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x))),
        }
    }
}

/// Lowest and highest of `values` ((i16::MAX, i16::MIN) when empty), in
/// one loop the compiler vectorises.
pub(crate) fn i16_range(values: &[i16]) -> (i16, i16) {
    values
        .iter()
        .fold((i16::MAX, i16::MIN), |(a, b), &x| (a.min(x), b.max(x)))
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
    fn a_cropped_part_keeps_its_voxels_and_its_place() {
        let g = Geometry::axis_aligned(
            UVec3::new(4, 3, 3),
            DVec3::new(0.5, 0.5, 2.0),
            DVec3::new(10.0, 0.0, 0.0),
        )
        .unwrap();
        let v = Volume::new(g, Voxels::I16((0..36).collect()))
            .unwrap()
            .with_slice_offsets(vec![0.0, 2.0, 5.0]);
        let part = v.cropped([1, 1, 1], [3, 3, 9]).unwrap();
        assert_eq!(part.geometry().dims, UVec3::new(2, 2, 2));
        assert_eq!(part.value(0, 0, 0), v.value(1, 1, 1));
        assert_eq!(part.value(1, 1, 1), v.value(2, 2, 2));
        assert_eq!(part.geometry().origin, DVec3::new(10.5, 0.5, 2.0));
        assert_eq!(part.slice_offsets_mm(), Some(&[0.0, 3.0][..]));
        assert!(v.cropped([2, 0, 0], [2, 3, 3]).is_err());
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
