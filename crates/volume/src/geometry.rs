//! Where voxels sit in patient space (DICOM LPS, millimetres).

use glam::{DMat4, DVec3, UVec3};

/// Placement of a voxel grid in patient space (DICOM LPS, millimetres).
///
/// Kept separate from the voxels so that geometry can be checked, hashed and
/// cached without touching pixel data. The columns of the voxel→world matrix
/// are the step vectors along i, j and k; for a gantry-tilted (sheared) stack
/// the k step is not orthogonal to the slice plane, which is why the step
/// vectors are stored rather than a pure rotation and a spacing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Voxels along i (columns), j (rows) and k (slices).
    pub dims: UVec3,
    /// World step in mm for one voxel along i, j and k.
    pub steps: [DVec3; 3],
    /// World position (mm) of the centre of voxel (0, 0, 0).
    pub origin: DVec3,
}

/// Geometry that cannot describe a usable voxel grid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    /// A dimension is zero.
    #[error("volume has an empty dimension: {0} x {1} x {2}")]
    EmptyDimension(u32, u32, u32),
    /// The step vectors are (nearly) linearly dependent or not finite.
    #[error("voxel axes are degenerate (determinant {0:e} mm^3)")]
    DegenerateAxes(f64),
}

impl Geometry {
    /// Axis-aligned geometry: identity direction cosines, the given spacing.
    pub fn axis_aligned(dims: UVec3, spacing: DVec3, origin: DVec3) -> Result<Self, GeometryError> {
        Self::new(
            dims,
            [
                DVec3::X * spacing.x,
                DVec3::Y * spacing.y,
                DVec3::Z * spacing.z,
            ],
            origin,
        )
    }

    /// Geometry from explicit step vectors, rejecting degenerate grids.
    pub fn new(dims: UVec3, steps: [DVec3; 3], origin: DVec3) -> Result<Self, GeometryError> {
        if dims.min_element() == 0 {
            return Err(GeometryError::EmptyDimension(dims.x, dims.y, dims.z));
        }
        let det = steps[0].cross(steps[1]).dot(steps[2]);
        if !det.is_finite() || det.abs() < 1e-9 || !origin.is_finite() {
            return Err(GeometryError::DegenerateAxes(det));
        }
        Ok(Self {
            dims,
            steps,
            origin,
        })
    }

    /// Voxel spacing in mm along i, j, k (lengths of the step vectors).
    pub fn spacing(&self) -> DVec3 {
        DVec3::new(
            self.steps[0].length(),
            self.steps[1].length(),
            self.steps[2].length(),
        )
    }

    /// Unit direction cosines of the i, j and k axes in LPS.
    pub fn directions(&self) -> [DVec3; 3] {
        self.steps.map(DVec3::normalize)
    }

    /// Homogeneous voxel index → world (LPS mm) transform.
    pub fn voxel_to_world(&self) -> DMat4 {
        DMat4::from_cols(
            self.steps[0].extend(0.0),
            self.steps[1].extend(0.0),
            self.steps[2].extend(0.0),
            self.origin.extend(1.0),
        )
    }

    /// World position of a (possibly fractional) voxel index.
    pub fn world_of(&self, ijk: DVec3) -> DVec3 {
        self.voxel_to_world().transform_point3(ijk)
    }

    /// Fractional voxel index of a world (LPS mm) position: the inverse of
    /// [`Geometry::world_of`], so views can sample any patient-space plane.
    pub fn index_of(&self, world: DVec3) -> DVec3 {
        self.voxel_to_world().inverse().transform_point3(world)
    }

    /// Number of voxels in the grid.
    pub fn voxel_count(&self) -> usize {
        self.dims.x as usize * self.dims.y as usize * self.dims.z as usize
    }

    /// Angle in degrees between the slice-stacking step and the slice normal:
    /// zero for an ordinary stack, the gantry tilt for a sheared one.
    pub fn shear_degrees(&self) -> f64 {
        let normal = self.steps[0].cross(self.steps[1]).normalize();
        let k = self.steps[2].normalize();
        normal.dot(k).abs().clamp(-1.0, 1.0).acos().to_degrees()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_aligned_maps_corners_to_millimetres() {
        let g = Geometry::axis_aligned(
            UVec3::new(512, 512, 300),
            DVec3::new(0.5, 0.5, 1.25),
            DVec3::new(-128.0, -100.0, 40.0),
        )
        .unwrap();
        assert_eq!(g.world_of(DVec3::ZERO), DVec3::new(-128.0, -100.0, 40.0));
        assert_eq!(
            g.world_of(DVec3::new(511.0, 511.0, 299.0)),
            DVec3::new(-128.0 + 255.5, -100.0 + 255.5, 40.0 + 373.75)
        );
        assert_eq!(g.spacing(), DVec3::new(0.5, 0.5, 1.25));
        assert_eq!(g.voxel_count(), 512 * 512 * 300);
        assert!(g.shear_degrees() < 1e-9);
    }

    #[test]
    fn sheared_stack_reports_its_tilt() {
        let tilt = 18.5_f64.to_radians();
        let k = DVec3::new(0.0, tilt.sin(), tilt.cos()) * 2.0;
        let g = Geometry::new(UVec3::splat(4), [DVec3::X, DVec3::Y, k], DVec3::ZERO).unwrap();
        assert!((g.shear_degrees() - 18.5).abs() < 1e-9);
        assert!((g.spacing().z - 2.0).abs() < 1e-12);
        let p = g.world_of(DVec3::new(0.0, 0.0, 3.0));
        assert!((p - 3.0 * k).length() < 1e-12);
    }

    #[test]
    fn degenerate_and_empty_grids_are_rejected() {
        assert_eq!(
            Geometry::axis_aligned(UVec3::new(4, 0, 4), DVec3::ONE, DVec3::ZERO),
            Err(GeometryError::EmptyDimension(4, 0, 4))
        );
        assert!(matches!(
            Geometry::new(UVec3::ONE, [DVec3::X, DVec3::X, DVec3::Z], DVec3::ZERO),
            Err(GeometryError::DegenerateAxes(_))
        ));
        assert!(matches!(
            Geometry::axis_aligned(UVec3::ONE, DVec3::new(1.0, f64::NAN, 1.0), DVec3::ZERO),
            Err(GeometryError::DegenerateAxes(_))
        ));
    }
}
