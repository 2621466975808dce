//! The insitu web app: a thin shell that wires the page to the cores.
//!
//! Everything heavy lives in the pure crates (`volume`, `mesh`) and in `gpu`.
//! The UI thread (`app`) draws and handles input; a worker (`worker`, over
//! the pure `study`) reads files, decodes, reslices and meshes, so the page
//! never freezes.

pub mod cache;
pub mod protocol;
pub mod study;
pub mod windowing;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
mod decoders;
#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod laps;
#[cfg(target_arch = "wasm32")]
pub mod worker;
