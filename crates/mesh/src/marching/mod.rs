//! Marching cubes on the CPU: an indexed mesh with one vertex per cut grid
//! edge, in patient millimetres, in a canonical order the GPU reproduces.
//!
//! Canonical order — the contract shared with `insitu-gpu`:
//! - vertices: by owning voxel in linear order (x fastest, then y, then z),
//!   then by axis (x, y, z) of the edge leaving that voxel;
//! - triangles: by cube in linear order, then in case-table order.
//!
//! With `close_borders` the grid is padded by one background voxel on every
//! side, so a surface touching the volume's edge is capped: printed parts
//! come out watertight.

pub mod cases;
mod extract;

pub use extract::{
    EDGE_MARGIN, MarchingOptions, SteppedExtraction, edge_fraction, extract_surface,
    extract_surface_lean, world_transform,
};
