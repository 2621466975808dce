//! Surface meshes: marching cubes, the indexed triangle mesh type, mesh
//! analysis and file writers (STL, OBJ, PLY).
//!
//! Pure Rust, no web or GPU dependencies: the CLI, the browser and the GPU
//! crate's readback all produce and consume this one [`Mesh`] type.

mod analysis;
pub mod cleanup;
pub mod decimate;
pub mod export;
mod indexed;
pub mod marching;
pub mod obj;
pub mod parts;
pub mod ply;
pub mod preview;
pub mod stl;
pub mod surface;
mod writer;

pub use analysis::{Topology, topology};
pub use export::{MeshFormat, ModelFormat, UnknownFormat};
pub use indexed::Mesh;
pub use marching::{MarchingOptions, extract_surface};
pub use parts::{Part, PartsFormat};
pub use surface::{Engine, SurfaceFacts, SurfaceOptions, clean_up};
