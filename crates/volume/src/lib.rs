//! DICOM files → series → Hounsfield-unit volume.
//!
//! Pure Rust with no web dependencies, so the same code runs natively (CLI,
//! tests, benchmarks) and in the browser's decode workers. The [`Volume`] type
//! that leaves this crate carries voxels and geometry only: it has no field
//! that could hold a patient identifier, so whatever consumes it (GPU, cache,
//! export) cannot leak one.

mod geometry;
mod volume;

pub use geometry::{Geometry, GeometryError};
pub use volume::{Volume, VolumeError, Voxels};
