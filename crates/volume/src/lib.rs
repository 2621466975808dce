//! DICOM files → series → Hounsfield-unit volume.
//!
//! Pure Rust with no web dependencies, so the same code runs natively (CLI,
//! tests, benchmarks) and in the browser's decode workers. The [`Volume`] type
//! that leaves this crate carries voxels and geometry only: it has no field
//! that could hold a patient identifier, so whatever consumes it (GPU, cache,
//! export) cannot leak one.
//!
//! Loading is two passes over the files ([`scan`], then [`Scan::build`]) so
//! that only one input file is held beside the volume at any time.

pub mod budget;
mod codec;
mod content_key;
pub mod display;
mod early;
mod error;
mod geometry;
mod header;
mod load;
mod meta;
mod modality;
pub mod nrrd;
mod parse;
pub mod phantom;
mod pixels;
mod reduce;
pub mod reslice;
mod series;
mod source;
mod split;
pub mod transfer_syntax;
mod volume;
#[cfg(target_arch = "wasm32")]
mod wasm_libc;

pub use early::EarlyVolume;
pub use error::{FileError, Problem};
pub use geometry::{Geometry, GeometryError};
pub use header::Rescale;
pub use load::{BuildError, Loaded, Scan, ScannedFile, scan};
pub use meta::{DicomMeta, TagEntry, read_meta};
pub use modality::Modality;
pub use parse::{DICOM_HEAD_BYTES, could_be_dicom};
pub use reduce::{ReducedLoad, Reduction};
pub use series::{SeriesInfo, SeriesPlan, Warning};
#[cfg(not(target_arch = "wasm32"))]
pub use source::{DiskFile, files_under};
pub use source::{MemoryFile, Source};
pub use split::{Assembly, DecodeJob, JobOutcome, JobSlice, NeedsFloat, run_job};
pub use volume::{Volume, VolumeError, Voxels};

/// The shared real-DICOM fixtures (`INSITU_FIXTURES`, else `../shared`
/// beside the repository), for the unit tests that read them.
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) fn fixtures_root() -> std::path::PathBuf {
    std::env::var_os("INSITU_FIXTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        })
}
