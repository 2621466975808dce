//! Surface meshes: the indexed triangle mesh type and file writers.
//!
//! Pure Rust, no web or GPU dependencies: the CLI, the browser and the GPU
//! crate's readback all produce and consume this one [`Mesh`] type.

mod indexed;
pub mod stl;

pub use indexed::Mesh;
