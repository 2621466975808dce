//! Surface meshes: marching cubes, the indexed triangle mesh type, mesh
//! analysis and file writers (STL, OBJ, PLY).
//!
//! Pure Rust, no web or GPU dependencies: the CLI, the browser and the GPU
//! crate's readback all produce and consume this one [`Mesh`] type.

mod analysis;
pub mod cleanup;
pub mod decimate;
mod indexed;
pub mod marching;
pub mod obj;
pub mod ply;
pub mod stl;

pub use analysis::{Topology, topology};
pub use indexed::Mesh;
pub use marching::{SurfaceOptions, extract_surface};
