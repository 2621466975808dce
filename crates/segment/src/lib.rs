//! Segments: what a user isolates in a volume to print or to teach — one
//! vertebra, the mandible, the spine in one colour and the pelvis in
//! another.
//!
//! A [`Labelmap`] holds one label per voxel on the volume's grid (0: no
//! segment); a [`SegmentTable`] names and colours each label. The tools
//! ([`tools`]) — threshold, grow from a seed, paint and erase, islands,
//! fill holes, margin, logical operations — work inside a [`CropBox`] and
//! return the [`Change`] they made, so [`History`] can undo and redo them
//! while storing changes, never copies of the labelmap.
//!
//! Pure Rust with no web or GPU dependencies: the web app, the CLI and the
//! tests share every tool.

mod crop;
pub mod files;
mod history;
mod labelmap;
mod overlay;
mod pick;
mod stats;
mod surface;
mod table;
pub mod tools;
mod workbench;

pub use crop::CropBox;
pub use files::{LabelFile, LabelFileError, LabelmapFormat};
pub use history::{Change, History};
pub use labelmap::Labelmap;
pub use overlay::{OverlayStyle, overlay_rows};
pub use pick::{crop_frame, pick, voxel_at};
pub use surface::segment_surface;
pub use table::{Anatomy, Segment, SegmentName, SegmentTable, TableFull};
pub use tools::ValueRange;
pub use workbench::{Applied, BrushShape, Edit, EditError, GROW_LIMIT_VOXELS, Islands, Workbench};
